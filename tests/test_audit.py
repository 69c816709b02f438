"""The audit log: append-only, hash-chained, verifiable on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kms import audit
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
