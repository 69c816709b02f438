"""Zahlungen: record payments (with Skonto or as overpayment), the overdue automatism, and the
§ 19 Abs. 2 UStG turnover (received payments, net) for the Kleinunternehmer limit watch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import audit, periods
from kms.einvoice.calc import compute, skonto_shares
from kms.einvoice.model import Skonto
from kms.errors import KmsError, ValidationError
from kms.formatting import format_date, format_money
from kms.modules.invoices.models import (
    PAYMENT_METHODS,
    Invoice,
    OverdueNotice,
    Payment,
)
from kms.modules.invoices.service import (
    ENTITY,
    get_invoice,
    open_amount,
    status_source,
    today,
)
from kms.notices import has_system_warning, set_system_warning
from kms.permissions import Permission, require_permission
from kms.types import BERLIN, cents
from kms.validation import parse_money

ZERO = Decimal("0.00")
OVERDUE_WARNING_KEY = "invoices_overdue"


@dataclass(frozen=True)
class SkontoOffer:
    """Skonto an invoice grants: until when, how much, and the split per VAT rate."""

    until: date
    percent: Decimal
    amount: Decimal
    shares: tuple[dict[str, str], ...]


def skonto_offer(invoice: Invoice) -> SkontoOffer | None:
    """The invoice's Skonto terms computed on its original document (None without Skonto)."""
    from kms.modules.invoices.issuing import original_document

    if not (invoice.issue_date and invoice.skonto_percent and invoice.skonto_days):
        return None
    doc = original_document(invoice)
    skonto = Skonto(invoice.skonto_percent, invoice.skonto_days)
    shares = skonto_shares(compute(doc), skonto)
    split = tuple(
        {
            "category": s.category.value,
            "rate": str(s.rate),
            "discount": str(s.discount),
            "net": str(s.net_reduction),
            "tax": str(s.tax_reduction),
        }
        for s in shares
    )
    total = sum((s.discount for s in shares), ZERO)
    return SkontoOffer(
        invoice.issue_date + timedelta(days=invoice.skonto_days),
        invoice.skonto_percent,
        total,
        split,
    )


def record_payment(
    session: Session,
    invoice_id: int,
    *,
    paid_on: date,
    amount: Decimal | str,
    method: str = "ueberweisung",
    skonto: bool = False,
    overpayment: bool = False,
    note: str = "",
    actor: str = "",
) -> Payment:
    """Record a received payment; refuse more than is open unless booked as overpayment."""
    require_permission(Permission.INVOICES_WRITE, session)
    invoice = get_invoice(session, invoice_id)
    if not invoice.is_issued or invoice.is_cancellation:
        raise KmsError("Zahlungen gibt es nur zu abgeschlossenen Rechnungen.")
    if invoice.is_correction and invoice.corrects is not None:
        raise KmsError(
            f"{invoice.label} ändert den Betrag von {invoice.corrects.label}: bitte die "
            "Zahlung dort erfassen."
        )
    if isinstance(amount, str):
        amount = parse_money(amount, field="amount")
    if amount <= 0:
        raise ValidationError("amount", "Der Betrag muss größer als 0 sein.")
    if method not in PAYMENT_METHODS:
        raise ValidationError("method", "Bitte eine Zahlungsart wählen.")
    if paid_on > today():
        raise ValidationError("paid_on", "Das Zahlungsdatum liegt in der Zukunft.")
    if invoice.issue_date and paid_on < invoice.issue_date - timedelta(days=365):
        raise ValidationError("paid_on", "Das Zahlungsdatum liegt lange vor der Rechnung.")
    # GoBD: a festgeschriebener month takes no new payment (kms.periods, no ledger import).
    periods.check_open(session, paid_on, "Zahlungen")
    open_now = open_amount(session, invoice)
    if open_now <= 0:
        raise KmsError(f"{invoice.label} ist bereits vollständig bezahlt oder storniert.")
    discount, split = ZERO, None
    if skonto:
        offer = skonto_offer(invoice)
        if offer is None:
            raise ValidationError("skonto", "Diese Rechnung gewährt kein Skonto.")
        if paid_on > offer.until:
            raise ValidationError(
                "skonto",
                f"Die Skontofrist endete am {format_date(offer.until)}; die Zahlung kam am "
                f"{format_date(paid_on)}.",
            )
        if open_now != invoice.gross_total:
            raise ValidationError(
                "skonto", "Skonto gilt nur für die Zahlung des vollen Rechnungsbetrags."
            )
        discount, split = offer.amount, list(offer.shares)
        if amount < open_now - discount:
            raise ValidationError(
                "amount",
                f"Mit Skonto sind {format_money(open_now - discount)} zu zahlen, erfasst sind "
                f"{format_money(amount)}. Ohne Skonto als Teilzahlung erfassen?",
            )
    excess = amount + discount - open_now
    if excess > 0 and not overpayment:
        raise ValidationError(
            "amount",
            f"Der Betrag ist {format_money(excess)} höher als der offene Betrag "
            f"({format_money(open_now)}). Bitte als Überzahlung kennzeichnen oder korrigieren.",
        )
    excess = max(ZERO, excess)
    applied = amount - excess
    # Received payment, net (§ 19 Abs. 2 UStG): the net share of what settles the invoice.
    net = cents(applied * invoice.net_total / invoice.gross_total) if invoice.gross_total else ZERO
    payment = Payment(
        invoice_id=invoice.id,
        paid_on=paid_on,
        amount=amount,
        method=method,
        skonto=discount,
        skonto_split=split,
        overpayment=excess,
        net_amount=net,
        note=note.strip()[:200],
        created_by=actor,
    )
    session.add(payment)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=invoice.id,
        action="paid",
        actor=actor,
        payment_id=payment.id,
        paid_on=paid_on,
        amount=amount,
        method=method,
        skonto=discount,
        skonto_split=split or [],
        overpayment=excess,
    )
    if has_system_warning(session, OVERDUE_WARNING_KEY):  # a payment only ever shortens it
        refresh_overdue_banner(session, today())
    return payment


def return_payment(
    session: Session,
    payment_id: int,
    *,
    returned_on: date,
    reason: str = "",
    actor: str = "",
) -> Payment:
    """Take back an earlier payment (Rücklastschrift, chargeback): a new row with the
    payment's amount, Skonto, overpayment and net amount negated. The original row stays
    as it was (insert-only); the invoice is open again by what the payment settled."""
    require_permission(Permission.INVOICES_WRITE, session)
    original = session.get(Payment, payment_id)
    if original is None:
        raise KmsError("Diese Zahlung gibt es nicht.")
    if original.returns_payment_id is not None:
        raise KmsError("Eine Rückbuchung kann nicht selbst zurückgebucht werden.")
    returned = session.scalar(select(Payment.id).where(Payment.returns_payment_id == payment_id))
    if returned is not None:
        raise KmsError(
            f"Die Zahlung vom {format_date(original.paid_on)} über "
            f"{format_money(original.amount)} wurde bereits zurückgebucht."
        )
    invoice = get_invoice(session, original.invoice_id)
    if session.scalar(select(Invoice.id).where(Invoice.cancels_id == invoice.id)) is not None:
        # The Storno's refund booking already took the booked income back.
        raise KmsError(
            f"{invoice.label} ist storniert; die Erstattung ist bereits gebucht. "
            "Eine Rücklastschrift bitte als Buchung im Kassenbuch erfassen."
        )
    if returned_on < original.paid_on:
        raise ValidationError("returned_on", "Die Rückbuchung kann nicht vor der Zahlung liegen.")
    if returned_on > today():
        raise ValidationError("returned_on", "Das Datum liegt in der Zukunft.")
    periods.check_open(session, returned_on, "Zahlungen")
    reason = " ".join(reason.split())
    note = f"Rücklastschrift: {reason}" if reason else "Rücklastschrift"
    reversal = Payment(
        invoice_id=invoice.id,
        paid_on=returned_on,
        amount=-original.amount,
        method=original.method,
        skonto=-original.skonto,
        skonto_split=original.skonto_split,  # the same split, taken back (see ledger sync)
        overpayment=-original.overpayment,
        net_amount=-original.net_amount,
        note=note[:200],
        returns_payment_id=original.id,
        created_by=actor,
    )
    session.add(reversal)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=invoice.id,
        action="payment_returned",
        actor=actor,
        payment_id=reversal.id,
        returns_payment_id=original.id,
        returned_on=returned_on,
        amount=reversal.amount,
        skonto=reversal.skonto,
        overpayment=reversal.overpayment,
        reason=reason,
    )
    refresh_overdue_banner(session, today())  # the invoice may be overdue again
    return reversal


def returned_payment_ids(session: Session, invoice_id: int) -> set[int]:
    """Ids of the invoice's payments that a later row took back."""
    return {
        pid
        for pid in session.scalars(
            select(Payment.returns_payment_id).where(
                Payment.invoice_id == invoice_id, Payment.returns_payment_id.is_not(None)
            )
        )
        if pid is not None
    }


def payments_of(session: Session, invoice_id: int) -> list[Payment]:
    """Payments of one invoice, oldest first."""
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.invoice_id == invoice_id)
            .order_by(Payment.paid_on, Payment.id)
        )
    )


def received_net(session: Session, year: int) -> Decimal:
    """§ 19 Abs. 2 UStG turnover source: net payments received in a calendar year."""
    total = session.scalar(
        select(func.sum(Payment.net_amount)).where(
            Payment.paid_on >= date(year, 1, 1), Payment.paid_on <= date(year, 12, 31)
        )
    )
    return total if isinstance(total, Decimal) else ZERO


@dataclass(frozen=True)
class OverdueInvoice:
    """What the overdue automatism needs of an overdue invoice."""

    id: int
    number: str | None
    due_date: date | None


def overdue_invoices(session: Session, day: date) -> list[OverdueInvoice]:
    """Issued invoices past their due date with an open amount, oldest due first.

    Derived in SQL over one payments aggregate; only three columns per invoice are read
    (no invoice objects with their lines: the automatism runs on every instance size).
    """
    facts = status_source(day)
    rows = session.execute(
        select(Invoice.id, Invoice.number, Invoice.due_date)
        .select_from(facts.source)
        .where(
            Invoice.issued_at.is_not(None),
            Invoice.due_date < day,
            facts.status == "ueberfaellig",
        )
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    return [OverdueInvoice(r[0], r[1], r[2]) for r in rows]


def refresh_overdue_banner(session: Session, day: date) -> list[OverdueInvoice]:
    """Show the overdue invoices of `day` in the banner (or clear it); returns them.

    The ⊕ watch runs every six hours; a payment, a Rücklastschrift or a Storno refreshes
    the banner at once, so it never names an invoice the user has just settled.
    """
    overdue = overdue_invoices(session, day)
    text = None
    if overdue:
        numbers = ", ".join(inv.number or "" for inv in overdue[:5])
        more = f" und {len(overdue) - 5} weitere" if len(overdue) > 5 else ""
        text = (
            f"{len(overdue)} Rechnung{'en sind' if len(overdue) > 1 else ' ist'} überfällig: "
            f"{numbers}{more} (Rechnungen → Filter „überfällig“)."
        )
    set_system_warning(session, OVERDUE_WARNING_KEY, text)
    return overdue


def overdue_watch(session: Session, now: datetime) -> str:
    """⊕ Notify once per newly overdue invoice (audit + banner); the banner lists all."""
    day = now.astimezone(BERLIN).date()
    overdue = refresh_overdue_banner(session, day)
    notified = set(session.scalars(select(OverdueNotice.invoice_id)))
    new = [inv for inv in overdue if inv.id not in notified]
    for invoice in new:
        session.add(
            OverdueNotice(invoice_id=invoice.id, notified_at=now, due_date=invoice.due_date or day)
        )
        audit.record(
            session,
            entity=ENTITY,
            entity_id=invoice.id,
            action="overdue",
            actor="automatism",
            due_date=invoice.due_date,
            number=invoice.number,
        )
    if new:
        return f"{len(new)} neu überfällig: " + ", ".join(inv.number or "" for inv in new)
    return f"Keine neu überfälligen Rechnungen ({len(overdue)} überfällig)."
