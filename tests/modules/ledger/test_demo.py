"""The demo year: loads twice without doubling, and its EÜR shows the ten-day rule."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.demo import load_demo_data
from kms.modules.invoices.models import Payment
from kms.modules.ledger import reports
from kms.modules.ledger.models import Booking
from kms.modules.ledger.overview import overview
from kms.types import today


def test_demo_year(sqlite_session: Session) -> None:
    session = sqlite_session
    load_demo_data(session)
    session.commit()
    count = session.scalar(select(func.count()).select_from(Booking))
    load_demo_data(session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Booking)) == count
    # Every invoice payment has exactly one income booking.
    payments = session.scalar(select(func.count()).select_from(Payment))
    linked = session.scalar(select(func.count(Booking.payment_id)))
    assert payments and linked == payments
    # The Q4 prepayment paid on 05.01.2026 is in the EÜR 2025, not 2026.
    q4 = session.scalar(select(Booking).where(Booking.tax_period == "2025-Q4"))
    assert q4 is not None and q4.booking_date == date(2026, 1, 5)
    y2025 = type("P", (), {"start": date(2025, 1, 1), "end": date(2025, 12, 31), "label": "2025"})
    figures = {r["Kennzahl"]: r["Betrag"] for _, r in reports.euer(session, y2025).iterrows()}
    q_payments = session.scalars(
        select(Booking.total).where(
            Booking.kind == "ust_zahlung", Booking.tax_period.like("2025-Q%")
        )
    ).all()
    assert figures["186"] == -sum(q_payments)
    assert figures["165"] > 0 and figures["132"] > 0 and figures["228"] > 0
    year = today().year
    assert [f.label for f in overview(session)][:2] == [f"Einnahmen {year}", f"Ausgaben {year}"]


def test_demo_year_exports_to_datev(sqlite_session: Session) -> None:
    """Every demo booking finds its DATEV accounts; one row per booking line."""
    from kms.modules.ledger import datev
    from kms.modules.ledger.models import BookingLine

    session = sqlite_session
    load_demo_data(session)
    session.commit()
    first = session.scalar(select(func.min(Booking.booking_date)))
    assert first is not None
    start, end = date(first.year, 1, 1), date(first.year, 12, 31)
    result = datev.export(session, start, end)
    lines = session.scalar(
        select(func.count())
        .select_from(BookingLine)
        .join(Booking)
        .where(Booking.booking_date.between(start, end))
    )
    assert result.rows == lines and result.rows > 0
