"""Key figures of Schreiben for the Übersicht page."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.modules.letters.models import DRAFT, SENT, Letter
from kms.modules.letters.service import today
from kms.registry import Figure


def overview(session: Session, day: date | None = None) -> list[Figure]:
    """Drafts waiting to be sent and letters sent this year."""
    day = day or today()
    counts = dict(
        session.execute(
            select(Letter.status, func.count())
            .where(
                (Letter.status == DRAFT)
                | Letter.letter_date.between(date(day.year, 1, 1), date(day.year, 12, 31))
            )
            .group_by(Letter.status)
        ).all()
    )
    drafts = int(counts.get(DRAFT, 0))
    return [
        Figure(
            "Briefentwürfe",
            str(drafts),
            "noch nicht versendet" if drafts else "keine offenen Entwürfe",
            page="schreiben",
        ),
        Figure(f"Briefe {day.year}", str(int(counts.get(SENT, 0))), "versendet", page="schreiben"),
    ]
