"""The ledger's Übersicht figures follow every write, although they are cached between reruns."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kms.demo import load_demo_data
from kms.modules.invoices.models import Payment
from kms.modules.ledger import service
from kms.modules.ledger.models import Account, Booking
from kms.modules.ledger.overview import overview
from tests.modules.ledger.conftest import cat, expense

DAY = date(2026, 6, 30)


def _shown(session: Session) -> dict[str, str]:
    return {f.label: f.value for f in overview(session, DAY)}


def test_figures_follow_create_update_and_delete(session: Session, bank: Account) -> None:
    assert _shown(session)["Ausgaben 2026"] == "0,00\xa0€"
    booking = expense(session, bank, date(2026, 3, 2), ("119.00", "buerobedarf", "V19"))
    session.commit()
    assert _shown(session)["Ausgaben 2026"] == "119,00\xa0€"
    assert _shown(session)["Bestand aller Konten"] == "-119,00\xa0€"
    service.update_booking(
        session,
        booking.id,
        version=booking.version,
        booking_date=booking.booking_date,
        account_id=bank.id,
        kind="ausgabe",
        lines=[service.LineInput("238.00", cat(session, "buerobedarf"), "V19")],
    )
    session.commit()
    assert _shown(session)["Ausgaben 2026"] == "238,00\xa0€"
    service.delete_booking(session, booking.id, version=session.get(Booking, booking.id).version)
    session.commit()
    shown = _shown(session)
    assert shown["Ausgaben 2026"] == "0,00\xa0€"
    assert shown["Bestand aller Konten"] == "0,00\xa0€"


def test_unbooked_payments_are_counted(sqlite_session: Session) -> None:
    """Payments without their income booking show as a tile with their number."""
    session = sqlite_session
    load_demo_data(session)
    session.commit()
    assert not any(f.label == "Ungebuchte Zahlungen" for f in overview(session))
    payments = session.scalar(select(func.count()).select_from(Payment))
    session.execute(delete(Booking).where(Booking.payment_id.is_not(None)))
    session.commit()
    unbooked = [f for f in overview(session) if f.label == "Ungebuchte Zahlungen"]
    assert [f.value for f in unbooked] == [str(payments)]
