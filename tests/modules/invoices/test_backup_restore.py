"""Invoices across a backup restore: numbers never reused, audit chain intact."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit
from kms.backups.archive import read_archive
from kms.backups.service import apply_restore, create_backup, prepare_restore
from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.modules.invoices.models import Invoice


def test_restore_never_reissues_a_number_and_keeps_the_audit_chain(
    session: Session,
    db_url: str,
    customer: Contact,
    make_draft: Callable[..., Invoice],
    issue: Callable[..., Invoice],
) -> None:
    """After restoring an older backup the next invoice continues after the newest number."""
    contact_id = customer.id
    first = issue(make_draft(contact_id=contact_id))
    second = issue(make_draft(contact_id=contact_id))
    session.commit()
    head_at_backup = audit.head(session)
    session.commit()
    backup = create_backup()
    assert read_archive(backup.path).manifest.audit_head == head_at_backup

    third = issue(make_draft(contact_id=contact_id))
    assert [i.number[-4:] for i in (first, second, third)] == ["0001", "0002", "0003"]
    session.commit()

    plan = prepare_restore(backup.path)
    apply_restore(plan, confirmation="WIEDERHERSTELLEN", username="test")

    with session_scope(url=db_url) as fresh:
        numbers = list(fresh.scalars(select(Invoice.number).where(Invoice.number.is_not(None))))
        assert sorted(numbers) == [first.number, second.number]
        assert audit.verify(fresh) == []
        restores = fresh.scalars(
            select(audit.AuditEvent).where(audit.AuditEvent.action == "backup.restore")
        ).all()
        assert [e.entity_id for e in restores] == [backup.path.name]
    fourth = issue(make_draft(contact_id=contact_id))
    assert fourth.number == third.number.replace("0003", "0004")
