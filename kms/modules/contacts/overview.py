"""Key figures of Kunden for the Übersicht page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.formatting import count_noun
from kms.modules.contacts.models import Contact, ContactRole
from kms.registry import Figure


def overview(session: Session) -> list[Figure]:
    """Active (not archived, not anonymised) customers and prospects."""
    counts = dict(
        session.execute(
            select(ContactRole.role, func.count())
            .join(Contact, Contact.id == ContactRole.contact_id)
            .where(
                ContactRole.role.in_(("kunde", "interessent")),
                Contact.archived_at.is_(None),
                Contact.anonymised_at.is_(None),
            )
            .group_by(ContactRole.role)
        ).all()
    )
    prospects = int(counts.get("interessent", 0))
    return [
        Figure(
            "Kunden",
            str(int(counts.get("kunde", 0))),
            f"und {count_noun(prospects, 'Interessent', 'Interessenten')}",
            page="personen",
        )
    ]
