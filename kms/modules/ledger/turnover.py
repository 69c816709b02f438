"""§ 19 Abs. 2 UStG turnover from the books: ONE computation for the Kleinunternehmer watch.

Turnover in this sense is the sum of received payments, net, for steuerbare Umsätze in
Germany (without the sale of assets, a Hilfsgeschäft). The tax key decides what counts
(`TaxKey.turnover_19`): a service to a Swiss customer (nicht steuerbar) or an
innergemeinschaftliche Lieferung does not push an owner towards the limit. Invoice payments
the sync has not booked yet are counted the way the sync will book them, so the watch never
lags behind the automatism.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from kms.modules.invoices.models import Invoice, Payment
from kms.modules.ledger import taxkeys
from kms.modules.ledger.models import EINNAHME, ZERO, Booking, BookingLine, Category
from kms.types import Money

# Hilfsgeschäfte do not count (§ 19 Abs. 2 S. 2 UStG).
EXCLUDED_FIELDS = ("anlagenabgang",)


def _counting_codes() -> list[str]:
    return sorted({e.code for e in taxkeys.ENTRIES if e.turnover_19})


def received_turnover(session: Session, year: int) -> Decimal:
    """Net received turnover of a calendar year (booked, plus payments not yet booked)."""
    from kms.modules.ledger.service import small_business_on
    from kms.modules.ledger.sync import _shares

    start, end = date(year, 1, 1), date(year, 12, 31)
    codes = _counting_codes()
    booked = session.scalar(
        select(type_coerce(func.sum(BookingLine.amount - BookingLine.paid_tax), Money()))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .join(Category, Category.id == BookingLine.category_id)
        .where(
            Booking.kind == EINNAHME,
            Booking.booking_date >= start,
            Booking.booking_date <= end,
            BookingLine.tax_key.in_(codes),
            Category.euer_field.not_in(EXCLUDED_FIELDS),
        )
    )
    total = booked if booked is not None else ZERO
    unbooked = session.scalars(
        select(Payment).where(
            Payment.paid_on >= start,
            Payment.paid_on <= end,
            # NOT EXISTS probes the unique index per payment of the year; NOT IN first
            # collected the payment ids of all bookings (18 ms against 8 ms on SQLite with
            # 200,000 bookings, on every rerun of the Einstellungen page).
            ~select(Booking.id).where(Booking.payment_id == Payment.id).exists(),
        )
    ).all()
    for payment in unbooked:
        invoice = session.get(Invoice, payment.invoice_id)
        if invoice is None:  # pragma: no cover - the foreign key keeps it
            continue
        small = small_business_on(session, payment.paid_on)
        for key, amount in _shares(payment, invoice):
            if key in codes:
                total += taxkeys.split(key, amount, payment.paid_on, small_business=small).net
    return (total or ZERO).quantize(Decimal("0.01"))
