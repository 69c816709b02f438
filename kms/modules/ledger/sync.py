"""Income from invoices, exactly once.

⊕ For every invoice payment (kms/modules/invoices Payment) one income booking, linked by
the unique `payment_id`, with one line per VAT group of the invoice (Skonto taken off per
rate as the invoice module split it). For every Stornorechnung of a paid invoice one refund
booking (unique `refund_invoice_id`) that takes the booked income back.

Idempotent: a payment or Storno that already has its booking is skipped, and the unique
columns make a concurrent second run fail instead of booking twice. The same run back-fills
payments recorded before the ledger existed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit, periods
from kms.errors import KmsError
from kms.modules.invoices.models import Invoice, InvoiceFile, Payment
from kms.modules.ledger import taxkeys
from kms.modules.ledger.models import (
    EINNAHME,
    SOURCE_PAYMENT,
    SOURCE_REFUND,
    ZERO,
    Account,
    Booking,
    BookingLine,
)
from kms.modules.ledger.service import (
    ENTITY,
    _audit_payload,
    _refresh_search,
    category_by_key,
    ensure_defaults,
    small_business_on,
)
from kms.permissions import Permission, require_permission
from kms.types import cents, today

AUTO_ACCOUNT = "Geschäftskonto"
AUTO_CASH = "Kasse"


def sync_payments(session: Session, now: datetime | None = None) -> str:
    """⊕ Book every invoice payment and every refund of a cancelled paid invoice once."""
    require_permission(Permission.LEDGER_WRITE, session)
    return sync_payments_unchecked(session)


def sync_payments_unchecked(session: Session) -> str:
    """The sync itself, for callers that checked a permission already (Festschreibung)."""
    ensure_defaults(session)
    booked = select(Booking.payment_id).where(Booking.payment_id.is_not(None))
    payments = list(
        session.scalars(
            select(Payment).where(Payment.id.not_in(booked)).order_by(Payment.paid_on, Payment.id)
        )
    )
    for payment in payments:
        _book_payment(session, payment)
    refunds = 0
    refunded = select(Booking.refund_invoice_id).where(Booking.refund_invoice_id.is_not(None))
    stornos = session.scalars(
        select(Invoice)
        .where(
            Invoice.cancels_id.is_not(None),
            Invoice.issued_at.is_not(None),
            Invoice.id.not_in(refunded),
        )
        .order_by(Invoice.id)
    ).all()
    for storno in stornos:
        refunds += _book_refund(session, storno)
    if not payments and not refunds:
        return "nichts zu buchen"
    return f"{len(payments)} Zahlung(en) und {refunds} Erstattung(en) gebucht"


def _account_for(session: Session, method: str) -> Account:
    """Cash payments go to the Kasse, all others to the default account (created if none)."""
    if method == "bar":
        cash = session.scalar(
            select(Account)
            .where(Account.kind == "kasse", Account.active.is_(True))
            .order_by(Account.id)
        )
        if cash is not None:
            return cash
    account = session.scalar(
        select(Account)
        .where(Account.active.is_(True), Account.kind != "kasse")
        .order_by(Account.is_default.desc(), Account.id)
    )
    if account is None:
        account = session.scalar(select(Account).where(Account.name == AUTO_ACCOUNT))
    if account is None:
        account = Account(name=AUTO_ACCOUNT, kind="sonstige", is_default=True)
        session.add(account)
        session.flush()
        audit.record(
            session,
            entity="ledger_account",
            entity_id=account.id,
            action="created",
            actor="System",
            name=AUTO_ACCOUNT,
            reason="Konto für Rechnungszahlungen automatisch angelegt",
        )
    return account


def _groups(invoice: Invoice) -> list[tuple[str, Decimal, Decimal]]:
    """(category, rate, gross) per VAT group of an issued invoice, from its original."""
    from kms.einvoice.calc import compute
    from kms.modules.invoices.issuing import original_document

    totals = compute(original_document(invoice))
    return [(g.category.value, g.rate, g.basis + g.tax) for g in totals.groups]


def _shares(payment: Payment, invoice: Invoice) -> list[tuple[str, Decimal]]:
    """(tax key, amount) of the payment per VAT group; the last group takes the rounding.

    A return (Rücklastschrift) has the shares of the payment it takes back, negated."""
    applied = payment.amount - payment.overpayment
    if payment.returns_payment_id is not None:
        return [(k, -s) for k, s in _group_shares(-applied, payment.skonto_split, invoice)]
    return _group_shares(applied, payment.skonto_split, invoice)


def _group_shares(
    applied: Decimal, skonto_split: list[dict[str, str]] | None, invoice: Invoice
) -> list[tuple[str, Decimal]]:
    groups = _groups(invoice)
    result: list[tuple[str, Decimal]] = []
    if skonto_split:
        discounts = {
            (s["category"], Decimal(s["rate"])): Decimal(s["discount"]) for s in skonto_split
        }
        for category, rate, gross in groups:
            share = gross - discounts.get((category, rate.quantize(Decimal("0.01"))), ZERO)
            result.append((taxkeys.for_invoice(category, rate), share))
    else:
        total_gross = sum((g for _c, _r, g in groups), ZERO)
        remaining = applied
        for index, (category, rate, gross) in enumerate(groups):
            if index == len(groups) - 1 or not total_gross:
                share = remaining
            else:
                share = cents(applied * gross / total_gross)
            remaining -= share
            result.append((taxkeys.for_invoice(category, rate), share))
    # Guard against a Skonto split that does not add up: the difference goes to the last line.
    difference = applied - sum((s for _k, s in result), ZERO)
    if result and difference:
        key, share = result[-1]
        result[-1] = (key, share + difference)
    return [(k, s) for k, s in result if s]


def _document_of(session: Session, invoice: Invoice) -> int | None:
    return session.scalar(
        select(InvoiceFile.document_id).where(
            InvoiceFile.invoice_id == invoice.id,
            InvoiceFile.role == "pdf",
            InvoiceFile.reminder_id.is_(None),
        )
    )


def _counterparty(invoice: Invoice) -> str:
    buyer = (invoice.snapshot or {}).get("buyer") if isinstance(invoice.snapshot, dict) else None
    if isinstance(buyer, dict):
        return str(buyer.get("name", ""))[:200]
    return ""


def _line(
    session: Session, tax_key: str, amount: Decimal, day: date, text: str, position: int
) -> BookingLine:
    split = taxkeys.split(tax_key, amount, day, small_business=small_business_on(session, day))
    return BookingLine(
        position=position,
        text=text[:200],
        amount=amount,
        category_id=category_by_key(session, "erloese").id,
        tax_key=tax_key,
        net=split.net,
        tax=split.tax,
        deductible=split.deductible,
        paid_tax=split.paid_tax,
    )


def _add_system_booking(session: Session, booking: Booking, reason: str) -> None:
    """Add a booking the sync made and record it in the audit log as the system's."""
    _refresh_search(session, booking)
    session.add(booking)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=booking.id,
        action="created",
        actor="System",
        reason=reason,
        **_audit_payload(booking),
    )


def book_payment(session: Session, payment: Payment, account_id: int) -> Booking:
    """Book one payment now on a given account (a bank statement import knows the account
    the money arrived on); the sync later finds it booked and adds nothing."""
    account = session.get(Account, account_id)
    if account is None:
        raise KmsError("Dieses Konto gibt es nicht mehr.")
    return _book_payment(session, payment, account)


def _book_payment(session: Session, payment: Payment, account: Account | None = None) -> Booking:
    invoice = session.get(Invoice, payment.invoice_id)
    if invoice is None:  # pragma: no cover - the foreign key keeps it
        raise KmsError(f"Zahlung {payment.id}: Rechnung fehlt.")
    if payment.returns_payment_id is not None:
        return _book_return(session, payment, invoice, account)
    day = payment.paid_on
    lines = [
        _line(session, key, amount, day, f"{invoice.label} ({taxkeys.label(key, day)})", i)
        for i, (key, amount) in enumerate(_shares(payment, invoice), start=1)
    ]
    if payment.overpayment:
        lines.append(
            _line(
                session,
                "NSTB",
                payment.overpayment,
                day,
                f"Überzahlung {invoice.label}",
                len(lines) + 1,
            )
        )
    if account is None:
        account = _account_for(session, payment.method)
    booking = Booking(
        booking_date=day,
        account_id=account.id,
        kind=EINNAHME,
        contact_id=invoice.contact_id,
        counterparty=_counterparty(invoice),
        receipt_number=invoice.number or "",
        document_id=_document_of(session, invoice),
        note=payment.note,
        payment_id=payment.id,
        source=SOURCE_PAYMENT,
        total=sum((ln.amount for ln in lines), ZERO),
        lines=lines,
        created_by="System",
    )
    _add_system_booking(session, booking, "Zahlung zu " + invoice.label)
    return booking


def _book_return(
    session: Session, payment: Payment, invoice: Invoice, account: Account | None
) -> Booking:
    """A returned payment (Rücklastschrift): the exact reverse of the original's booking,
    line by line (VAT group, Skonto split, overpayment, tax split), on the day of the
    return; on the original's account unless the caller names one (the bank import)."""
    original = session.get(Payment, payment.returns_payment_id)
    if original is None:  # pragma: no cover - the foreign key keeps it
        raise KmsError(f"Zahlung {payment.id}: zurückgebuchte Zahlung fehlt.")
    booked = session.scalar(select(Booking).where(Booking.payment_id == original.id))
    if booked is None:
        booked = _book_payment(session, original)
    if account is None:
        account = session.get(Account, booked.account_id)
        if account is None:  # pragma: no cover - the foreign key keeps it
            raise KmsError("Konto der Zahlung fehlt.")
    lines = [
        BookingLine(
            position=ln.position,
            text=f"Rücklastschrift {ln.text}"[:200],
            amount=-ln.amount,
            category_id=ln.category_id,
            tax_key=ln.tax_key,
            net=-ln.net,
            tax=-ln.tax,
            deductible=-ln.deductible,
            paid_tax=-ln.paid_tax,
            nondeductible=-ln.nondeductible,
        )
        for ln in booked.lines
    ]
    booking = Booking(
        booking_date=payment.paid_on,
        account_id=account.id,
        kind=EINNAHME,
        contact_id=invoice.contact_id,
        counterparty=_counterparty(invoice),
        receipt_number=invoice.number or "",
        document_id=_document_of(session, invoice),
        note=payment.note,
        payment_id=payment.id,
        source=SOURCE_PAYMENT,
        total=sum((ln.amount for ln in lines), ZERO),
        lines=lines,
        created_by="System",
    )
    _add_system_booking(session, booking, "Rücklastschrift zu " + invoice.label)
    return booking


def _book_refund(session: Session, storno: Invoice) -> int:
    """Take back the booked income of the invoice a Storno cancels (0 if it was unpaid)."""
    paid = list(
        session.scalars(
            select(Booking)
            .join(Payment, Payment.id == Booking.payment_id)
            .where(Payment.invoice_id == storno.cancels_id)
        )
    )
    if not paid:
        return 0
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for booking in paid:
        for ln in booking.lines:
            sums[ln.tax_key] += ln.amount
    day = max([storno.issue_date or today(), *(b.booking_date for b in paid)])
    if periods.is_locked(session, day):
        day = today()
    lines = [
        _line(session, key, -amount, day, f"Erstattung {storno.label}", i)
        for i, (key, amount) in enumerate(sums.items(), start=1)
        if amount
    ]
    if not lines:
        return 0
    account = session.get(Account, paid[-1].account_id)
    if account is None:  # pragma: no cover - the foreign key keeps it
        raise KmsError("Konto der Zahlung fehlt.")
    booking = Booking(
        booking_date=day,
        account_id=account.id,
        kind=EINNAHME,
        contact_id=storno.contact_id,
        counterparty=_counterparty(storno),
        receipt_number=storno.number or "",
        document_id=_document_of(session, storno),
        note=f"Rückzahlung nach {storno.label}",
        refund_invoice_id=storno.id,
        source=SOURCE_REFUND,
        total=sum((ln.amount for ln in lines), ZERO),
        lines=lines,
        created_by="System",
    )
    _add_system_booking(session, booking, "Erstattung nach " + storno.label)
    return 1
