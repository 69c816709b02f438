"""The audit log: append-only, hash-chained, verifiable on both databases."""

from __future__ import annotations

import hashlib
import stat
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kms import audit
from kms.config import get_config
from kms.db import session_scope
from kms.errors import KmsError


def _fill(session: Session) -> None:
    audit.record(
        session,
        entity="invoice",
        entity_id=1,
        action="issued",
        actor="erika",
        total=Decimal("119.00"),
        number="RE-2026-0001",
    )
    audit.record(session, entity="invoice", entity_id=1, action="paid", amount=Decimal("19.99"))
    audit.record(session, entity="invoice", entity_id=2, action="issued")
    session.commit()


def test_chain_verifies_and_links_each_entry_to_the_previous(session: Session) -> None:
    """Three events chain from GENESIS; verify finds nothing wrong."""
    _fill(session)
    events = audit.history(session, "invoice", 1)
    assert [e.action for e in events] == ["issued", "paid"]
    assert events[0].prev_hash == audit.GENESIS
    assert events[1].prev_hash == events[0].hash
    assert audit.verify(session) == []
    assert '"total":"119.00"' in events[0].payload


def test_a_changed_payload_breaks_the_chain(session: Session) -> None:
    """Tampering in SQL (bypassing the ORM) is detected with the entry's id."""
    _fill(session)
    session.execute(text("UPDATE audit_events SET payload = '{}' WHERE id = 2"))
    session.commit()
    problems = audit.verify(session)
    assert [p.event_id for p in problems] == [2]


def test_a_removed_entry_breaks_the_chain(session: Session) -> None:
    """Deleting an entry in SQL leaves the next one pointing at a missing hash."""
    _fill(session)
    session.execute(text("DELETE FROM audit_events WHERE id = 2"))
    session.commit()
    assert [p.event_id for p in audit.verify(session)] == [3]


def test_orm_refuses_to_update_or_delete_entries(session: Session) -> None:
    """The ORM never changes or deletes an audit entry."""
    _fill(session)
    entry = audit.history(session, "invoice", 2)[0]
    entry.action = "forged"
    with pytest.raises(KmsError):
        session.flush()
    session.rollback()
    session.delete(audit.history(session, "invoice", 2)[0])
    with pytest.raises(KmsError):
        session.flush()


# --- keyed and anchored (issue 11) -----------------------------------------------------------


def _six(db_url: str) -> None:
    with session_scope(db_url) as s:
        for n in range(1, 7):
            audit.record(s, entity="invoice", entity_id=n, action="issued", number=f"RE-{n}")


def _ids(problems: list[audit.ChainProblem]) -> list[int]:
    return [p.event_id for p in problems]


def test_deleting_the_newest_three_entries_is_noticed(db_url: str) -> None:
    """The chain of the remaining entries is intact, but the anchor names entry 6: verify
    says that entries 4–6 are missing."""
    _six(db_url)
    with session_scope(db_url) as s:
        s.execute(text("DELETE FROM audit_events WHERE id > 3"))
    with session_scope(db_url, write=False) as s:
        problems = audit.verify(s)
    assert _ids(problems) == [6]
    assert problems[0].message.startswith("Einträge 4–6 fehlen: der Anker in data/secrets")
    assert "das Protokoll endet bei 3" in problems[0].message


def test_editing_an_entry_and_rechaining_the_rest_is_noticed(db_url: str) -> None:
    """Who can write the table but lacks the key cannot re-chain: an edited entry with every
    later hash recomputed (plain SHA-256, as before issue 11) fails verification."""
    _six(db_url)
    with session_scope(db_url) as s:
        s.execute(text('UPDATE audit_events SET payload = \'{"number":"RE-X"}\' WHERE id = 2'))
        prev = s.scalar(text("SELECT hash FROM audit_events WHERE id = 1"))
        for entry in s.scalars(select(audit.AuditEvent).where(audit.AuditEvent.id >= 2)):
            body = audit.canonical(
                {
                    "at": entry.at,
                    "actor": entry.actor,
                    "entity": entry.entity,
                    "entity_id": entry.entity_id,
                    "action": entry.action,
                    "payload": entry.payload,
                    "prev": prev,
                }
            )
            new = hashlib.sha256(body.encode()).hexdigest()
            s.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": prev, "h": new, "i": entry.id},
            )
            prev = new
        s.expire_all()
    with session_scope(db_url, write=False) as s:
        problems = audit.verify(s)
    assert set(_ids(problems)) >= {2, 3, 4, 5, 6}
    assert any("anderen Hash als der Anker" in p.message for p in problems)


def test_entries_from_before_the_key_still_verify_and_cannot_follow_keyed_ones(
    db_url: str,
) -> None:
    """Plain SHA-256 entries (scheme 1, written before the migration) verify, keyed entries
    chain on from them; a plain entry after a keyed one is reported."""
    with session_scope(db_url) as s:
        for n in (1, 2):
            entry = audit.AuditEvent(
                at=datetime(2026, 1, n, tzinfo=UTC),
                actor="",
                entity="invoice",
                entity_id=str(n),
                action="issued",
                payload="{}",
                prev_hash=audit.head(s),
                scheme=audit.SCHEME_SHA256,
            )
            entry.hash = audit._digest(entry)
            s.add(entry)
            s.flush()
        audit.record(s, entity="invoice", entity_id=3, action="issued")
    with session_scope(db_url, write=False) as s:
        assert audit.verify(s) == []
        assert [e.scheme for e in audit.history(s, "invoice", 3)] == [audit.SCHEME_HMAC]
    with session_scope(db_url) as s:
        s.execute(text("UPDATE audit_events SET scheme = 1 WHERE id = 3"))
    with session_scope(db_url, write=False) as s:
        assert 3 in _ids(audit.verify(s))


def test_a_rolled_back_append_leaves_the_anchor_alone(db_url: str) -> None:
    """Only committed entries move the anchor; a rollback keeps it where it was."""
    _six(db_url)
    before = audit.read_anchor()
    assert before is not None and before.id == 6
    with pytest.raises(RuntimeError), session_scope(db_url) as s:
        audit.record(s, entity="invoice", entity_id=7, action="issued")
        raise RuntimeError("abgebrochen")
    assert audit.read_anchor() == before
    assert stat.S_IMODE((get_config().secrets_dir / audit.ANCHOR_FILE).stat().st_mode) == 0o600
    with session_scope(db_url, write=False) as s:
        assert audit.verify(s) == []


def test_concurrent_appends_leave_the_anchor_on_the_head(db_url: str) -> None:
    """Four threads appending at once: the chain verifies and the anchor names the newest
    entry, whichever commit finished last."""
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(8):
                with session_scope(db_url) as s:
                    audit.record(s, entity="worker", entity_id=worker, action=f"step{n}")
        except Exception as exc:  # noqa: BLE001 - any failure is asserted below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with session_scope(db_url, write=False) as s:
        assert audit.verify(s) == []
        assert audit.read_anchor() == audit.head_entry(s)
        assert s.scalar(select(func.count()).select_from(audit.AuditEvent)) == 32


def test_cli_verify_compares_with_the_newest_backup(capsys: pytest.CaptureFixture[str]) -> None:
    """With the anchor file gone too, the newest backup's manifest still names the entries
    that were deleted after it was made; `kms audit verify` lists them and fails."""
    from kms.backups.service import create_backup
    from kms.cli import main

    url = get_config().database_url
    _six(url)
    backup = create_backup()
    assert main(["audit", "verify"]) == 0
    assert f"und mit dem Backup {backup.name}" in capsys.readouterr().out
    with session_scope() as s:
        s.execute(text("DELETE FROM audit_events WHERE id > 4"))
    (get_config().secrets_dir / audit.ANCHOR_FILE).unlink()
    assert main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert "Der Anker data/secrets/audit_anchor fehlt" in out
    assert f"Einträge 5–6 fehlen: das Backup {backup.name} nennt Eintrag 6" in out
