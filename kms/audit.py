"""The append-only, hash-chained audit log (GoBD: traceable, unalterable records).

Each entry's hash covers a database-independent canonical form (UTC ISO times, Decimal as
text, sorted JSON keys) plus the previous entry's hash, so the chain still verifies after a
backup is restored from SQLite into PostgreSQL or back.

Two things make the chain tamper-evident, not just self-consistent (ASVS 4.0.3 V7.3.3):
- **Keyed** (scheme 2): the hash is an HMAC-SHA256 with a key in data/secrets/audit_key, which
  is outside the database and never in a backup, so whoever can write the table cannot
  recompute the hashes after editing a row. Entries written before the key existed keep
  their plain SHA-256 (scheme 1); keyed entries chain on from them, and a plain entry after
  a keyed one is refused.
- **Anchored**: the newest entry (id, hash) is written outside the table, to
  data/secrets/audit_anchor after every commit that appended, and into every backup's
  manifest. Deleting the newest entries leaves the anchor pointing at an entry that is gone.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import SmallInteger, String, Text, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kms.config import ensure_dirs, get_config, read_or_create_secret, write_secret
from kms.errors import KmsError
from kms.models import Base
from kms.types import utcnow

log = logging.getLogger(__name__)

GENESIS = "0" * 64
SCHEME_SHA256 = 1  # entries written before issue 11: anyone could recompute them
SCHEME_HMAC = 2
KEY_FILE = "audit_key"
ANCHOR_FILE = "audit_anchor"
# Serialises appends on PostgreSQL; SQLite write sessions already BEGIN IMMEDIATE.
_PG_AUDIT_LOCK = 0x4B4D5341
_PENDING_ANCHOR = "kms.audit.pending_anchor"
_anchor_thread_lock = threading.Lock()


class AuditEvent(Base):
    """One event (created, issued, sent, paid, cancelled, restored, …); never updated."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed: the licence check asks for the newest time on every page (clock rollback).
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    scheme: Mapped[int] = mapped_column(SmallInteger, default=SCHEME_HMAC, server_default="1")


def _plain(value: Any) -> Any:
    """JSON-ready, database-independent form of a value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical(data: dict[str, Any]) -> str:
    """Sorted, compact JSON of plain values."""
    return json.dumps(_plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _key() -> bytes:
    return read_or_create_secret(KEY_FILE).encode("utf-8")


def _digest(event: AuditEvent, key: bytes | None = None) -> str:
    body = canonical(
        {
            "at": event.at,
            "actor": event.actor,
            "entity": event.entity,
            "entity_id": event.entity_id,
            "action": event.action,
            "payload": event.payload,
            "prev": event.prev_hash,
        }
    )
    if event.scheme == SCHEME_SHA256:
        return hashlib.sha256(body.encode("utf-8")).hexdigest()
    return hmac.new(key or _key(), body.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """The newest entry as seen outside the table: its id and hash."""

    id: int
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "hash": self.hash}

    @classmethod
    def from_dict(cls, data: object) -> Anchor | None:
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            return cls(int(data["id"]), str(data.get("hash", "")))
        return None


def head_entry(session: Session) -> Anchor | None:
    """The newest entry's id and hash (None for an empty log)."""
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return None if row is None else Anchor(row.id, row.hash)


def read_anchor() -> Anchor | None:
    """The anchor in data/secrets (None before the first keyed entry was committed)."""
    path = get_config().secrets_dir / ANCHOR_FILE
    try:
        return Anchor.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except ValueError:
        return Anchor(0, "")  # unreadable: verify reports it as not matching


@contextmanager
def _anchor_lock() -> Iterator[None]:
    """One writer at a time, across threads and processes."""
    config = get_config()
    ensure_dirs(config)
    with _anchor_thread_lock, open(config.secrets_dir / f"{ANCHOR_FILE}.lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def write_anchor(anchor: Anchor, *, force: bool = False) -> None:
    """Move the anchor forward to `anchor` (atomically, 0600); never backwards unless
    `force` (a restore replaced the log). Commits of two sessions may finish in either
    order; the higher id wins."""
    with _anchor_lock():
        current = read_anchor()
        if force or current is None or anchor.id > current.id:
            write_secret(ANCHOR_FILE, json.dumps(anchor.to_dict()))


def reanchor(session: Session) -> None:
    """The anchor follows the log's head at the next commit: after a restore, and after the
    benchmark generator inserted its chain in bulk (kms.benchdata)."""
    entry = head_entry(session)
    if entry is not None:
        session.info[_PENDING_ANCHOR] = (entry, True)


@event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_ANCHOR, None)
    if pending is None:
        return
    try:
        write_anchor(pending[0], force=pending[1])
    except OSError:  # the entry is committed; a lagging anchor only weakens the check
        log.exception("audit anchor could not be written")


@event.listens_for(Session, "after_soft_rollback")
def _forget_anchor(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING_ANCHOR, None)


def head(session: Session) -> str:
    """Hash of the newest entry (GENESIS for an empty log)."""
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS


def record(
    session: Session,
    *,
    entity: str,
    entity_id: object,
    action: str,
    actor: str = "",
    at: datetime | None = None,
    **payload: Any,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    # Microsecond precision survives both databases, so the hash input round-trips.
    at = (at or utcnow()).astimezone(UTC)
    entry = AuditEvent(
        at=at,
        actor=actor,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        payload=canonical(payload),
        prev_hash=head(session),
        scheme=SCHEME_HMAC,
    )
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    # Still inside the lock's transaction: the anchor moves once this commit has happened.
    _, force = session.info.get(_PENDING_ANCHOR, (None, False))
    session.info[_PENDING_ANCHOR] = (Anchor(entry.id, entry.hash), force)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain breaks."""

    event_id: int
    message: str


def verify(session: Session, *, anchor: bool = True) -> list[ChainProblem]:
    """Recompute every hash in order and compare the head with the anchor file; an empty
    list means the chain is intact and complete."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    key = _key()
    keyed_since: int | None = None
    for entry in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        if entry.prev_hash != prev:
            problems.append(ChainProblem(entry.id, "Verkettung unterbrochen (Eintrag fehlt?)"))
        if entry.scheme == SCHEME_SHA256 and keyed_since is not None:
            problems.append(
                ChainProblem(entry.id, "ungeschützter Eintrag nach geschützten (nachgebaut?)")
            )
        elif entry.scheme not in (SCHEME_SHA256, SCHEME_HMAC):
            problems.append(ChainProblem(entry.id, f"unbekanntes Verfahren {entry.scheme}"))
        elif _digest(entry, key) != entry.hash:
            problems.append(ChainProblem(entry.id, "Inhalt verändert (Hash stimmt nicht)"))
        if entry.scheme == SCHEME_HMAC and keyed_since is None:
            keyed_since = entry.id
        prev = entry.hash
    if anchor:
        found = read_anchor()
        if found is not None:
            problems += compare_anchor(session, found, "der Anker in data/secrets/audit_anchor")
        elif keyed_since is not None:
            problems.append(
                ChainProblem(0, "Der Anker data/secrets/audit_anchor fehlt (gelöscht?).")
            )
    return problems


def compare_anchor(session: Session, anchor: Anchor, source: str) -> list[ChainProblem]:
    """Check that the entry `source` (the anchor file, a backup) names as newest is still
    there, unchanged; names the missing range otherwise."""
    newest = head_entry(session)
    row = session.get(AuditEvent, anchor.id) if anchor.id else None
    if row is not None and hmac.compare_digest(row.hash, anchor.hash):
        return []
    if row is None and (newest is None or newest.id < anchor.id):
        last = newest.id if newest else 0
        gone = f"{last + 1}" if last + 1 == anchor.id else f"{last + 1}–{anchor.id}"
        return [
            ChainProblem(
                anchor.id,
                f"Einträge {gone} fehlen: {source} nennt Eintrag {anchor.id} als neuesten, "
                f"das Protokoll endet bei {last or 'keinem Eintrag'}.",
            )
        ]
    if row is None:
        return [ChainProblem(anchor.id, f"Eintrag {anchor.id} fehlt ({source} nennt ihn).")]
    return [
        ChainProblem(
            anchor.id,
            f"Eintrag {anchor.id} hat einen anderen Hash als {source} nennt "
            "(verändert und neu verkettet?).",
        )
    ]


def history(session: Session, entity: str, entity_id: object) -> list[AuditEvent]:
    """All events of one record, oldest first (for the record's history view)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
    )


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(*_args: Any) -> None:
    raise KmsError("Einträge im Prüfprotokoll können nicht geändert werden.")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(*_args: Any) -> None:
    raise KmsError("Einträge im Prüfprotokoll können nicht gelöscht werden.")
