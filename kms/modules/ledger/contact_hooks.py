"""What Einnahmen/Ausgaben stores about a contact: references and the Auskunft."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.formatting import format_date, format_money
from kms.modules.ledger.models import Account, Booking


def count_for_contact(session: Session, contact_id: int) -> int:
    """Bookings naming the contact (such a contact is archived, not deleted)."""
    return int(
        session.scalar(
            select(func.count()).select_from(Booking).where(Booking.contact_id == contact_id)
        )
        or 0
    )


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every booking naming the contact, for the Auskunft (Art. 15 DSGVO)."""
    rows = session.execute(
        select(Booking, Account.name)
        .join(Account, Account.id == Booking.account_id)
        .where(Booking.contact_id == contact_id)
        .order_by(Booking.booking_date, Booking.id)
    ).all()
    return [
        {
            "Datum": format_date(b.booking_date),
            "Art": b.kind_label,
            "Konto": account,
            "Betrag": format_money(b.total),
            "Belegnummer": b.receipt_number,
            "Notiz": b.note,
            "Positionen": [line.text for line in b.lines],
        }
        for b, account in rows
    ]
