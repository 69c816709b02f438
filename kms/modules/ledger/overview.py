"""Key figures of Einnahmen/Ausgaben for the Übersicht page (computed in SQL).

The sums read every booking (200,000 on the large benchmark instance: about 100 ms on
SQLite), so they are kept by kms.querycache while bookings, accounts and payments are
unchanged."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import querycache
from kms.formatting import count_noun, format_money
from kms.modules.invoices.models import Payment
from kms.modules.ledger.models import AUSGABE, EINNAHME, ZERO, Account, Booking
from kms.registry import Figure
from kms.types import today


def overview(session: Session, day: date | None = None) -> list[Figure]:
    """Income and expenses of the year, the money on all accounts, unbooked payments."""
    day = day or today()
    tables = (Booking.__table__, Account.__table__, Payment.__table__)
    return list(
        querycache.cached(session, ("ledger.overview", day), tables, lambda: _figures(session, day))
    )


def _figures(session: Session, day: date) -> list[Figure]:
    year = (Booking.booking_date >= date(day.year, 1, 1)) & (Booking.booking_date <= day)
    sums = dict(
        session.execute(
            select(Booking.kind, func.sum(Booking.total))
            .where(year, Booking.kind.in_((EINNAHME, AUSGABE)))
            .group_by(Booking.kind)
        ).all()
    )
    accounts, opening = session.execute(
        select(func.count(), func.coalesce(func.sum(Account.opening_balance), ZERO))
    ).one()
    # Geldtransit moves money between own accounts: its total leaves one and enters another.
    moved = (
        session.scalar(select(func.sum(Booking.total)).where(Booking.kind != "geldtransit")) or ZERO
    )
    # Each booking's payment_id is unique and refers to a payment (foreign key), so the
    # unbooked payments are the difference of two index counts (no anti-join).
    unbooked = (session.scalar(select(func.count()).select_from(Payment)) or 0) - (
        session.scalar(select(func.count(Booking.payment_id))) or 0
    )
    figures = [
        Figure(
            f"Einnahmen {day.year}",
            format_money(sums.get(EINNAHME) or ZERO),
            "Zahlungseingänge laut Buchungen",
            page="einnahmen-ausgaben",
        ),
        Figure(
            f"Ausgaben {day.year}",
            format_money(-(sums.get(AUSGABE) or ZERO)),
            "laut Buchungen",
            page="einnahmen-ausgaben",
        ),
        Figure(
            "Bestand aller Konten",
            format_money(opening + moved),
            count_noun(accounts, "Konto", "Konten"),
            page="konten",
        ),
    ]
    if unbooked:
        figures.append(
            Figure(
                "Ungebuchte Zahlungen",
                str(unbooked),
                "werden automatisch als Einnahme gebucht",
                page="einnahmen-ausgaben",
                attention=True,
            )
        )
    return figures
