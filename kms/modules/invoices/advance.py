"""Abschlags- und Schlussrechnungen (§ 14 Abs. 5 UStG) on top of the ordinary drafts.

An Abschlagsrechnung bills part of an order (Auftrag) before the service is complete: one
line "Abschlag n auf <Auftrag>", a percent or amount of the order value, with its own VAT
rate; its e-invoice carries type code 386. The Schlussrechnung lists the whole service and
deducts every issued advance of the same customer and order with a negative line per
advance and VAT rate ("abzüglich Abschlagsrechnung RE-… vom …"), so the VAT breakdown
per rate stays right and the invoice total is what is still due; its e-invoice names the
advances as preceding invoices (BG-3). Totals, checks, numbering, PDF and XML are those
of every draft (`service.save_draft`, `issuing`): nothing here computes money twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from kms.errors import KmsError, ValidationError
from kms.formatting import format_date, format_money
from kms.modules.invoices.models import (
    BILLING_ADVANCE,
    BILLING_FINAL,
    KIND_INVOICE,
    Invoice,
    InvoiceLine,
)
from kms.modules.invoices.service import TAX_OPTIONS, compute_totals, save_draft, tax_key
from kms.permissions import Permission, require_permission
from kms.validation import parse_money

CENT = Decimal("0.01")
# How every deduction line of a Schlussrechnung begins (`Deduction.description`).
DEDUCTION_PREFIX = "abzüglich Abschlagsrechnung "


def _order_reference(raw: Any) -> str:
    text = " ".join(str(raw or "").split())
    if not text:
        raise ValidationError(
            "order_reference",
            "Bitte den Auftrag angeben (z. B. „Auftrag 2026-17 Dachsanierung“): er verbindet "
            "die Abschlagsrechnungen mit der Schlussrechnung.",
        )
    if len(text) > 100:
        raise ValidationError("order_reference", "Der Auftrag darf höchstens 100 Zeichen haben.")
    return text


def _not_cancelled() -> Any:
    storno = aliased(Invoice)
    return ~exists().where(storno.cancels_id == Invoice.id)


def _advances(session: Session, contact_id: int, order_reference: str) -> list[Invoice]:
    """Every advance (draft or issued, not cancelled) of this customer and order."""
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.kind == KIND_INVOICE,
                Invoice.billing == BILLING_ADVANCE,
                Invoice.contact_id == contact_id,
                Invoice.order_reference == order_reference,
                _not_cancelled(),
            )
            .order_by(Invoice.id)
        )
    )


def create_advance_draft(
    session: Session,
    *,
    contact_id: int,
    order_reference: str,
    order_value: Any,
    percent: Any = None,
    amount: Any = None,
    tax: str = "S19",
    actor: str = "",
    as_of: date | None = None,
    **header: Any,
) -> Invoice:
    """A draft Abschlagsrechnung: `percent` of the net order value or a net `amount`.

    `order_value` is the net value of the order at this VAT rate; the advances of the
    order at this rate (drafts and issued, not cancelled) may not exceed it together.
    `header` takes the ordinary draft fields (service_date, payment_term_days, …).
    """
    require_permission(Permission.INVOICES_WRITE, session)
    reference = _order_reference(order_reference)
    value = parse_money(order_value, field="order_value")
    if value <= 0:
        raise ValidationError("order_value", "Der Auftragswert (netto) muss größer als 0 € sein.")
    if (percent in (None, "")) == (amount in (None, "")):
        raise ValidationError(
            "percent",
            "Bitte entweder einen Prozentsatz oder einen Betrag für den Abschlag angeben.",
        )
    if percent not in (None, ""):
        share = parse_money(percent, field="percent")
        if not Decimal("0") < share <= Decimal("100"):
            raise ValidationError(
                "percent", "Der Abschlag muss über 0 % und höchstens 100 % des Auftrags sein."
            )
        net = (value * share / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        net = parse_money(amount, field="amount")
        if net <= 0:
            raise ValidationError("amount", "Der Abschlag muss größer als 0 € sein.")
    earlier = _advances(session, int(contact_id), reference)
    same_rate = [line for invoice in earlier for line in invoice.lines if tax_key(line) == tax]
    already = sum((line.net for line in same_rate), Decimal("0.00"))
    if already + net > value:
        label = TAX_OPTIONS[tax].label if tax in TAX_OPTIONS else tax
        raise ValidationError(
            "amount",
            f"Die Abschläge ({format_money(already)} bisher, {format_money(net)} neu, netto, "
            f"{label}) übersteigen den Auftragswert von {format_money(value)}.",
        )
    number = len(earlier) + 1
    line = {
        "description": f"Abschlag {number} auf {reference}",
        "quantity": "1",
        "unit_code": "C62",
        "unit_price": str(net),
        "tax": tax,
    }
    draft = save_draft(
        session, contact_id=contact_id, lines=[line], actor=actor, as_of=as_of, **header
    )
    draft.billing, draft.order_reference = BILLING_ADVANCE, reference
    session.flush()
    return draft


@dataclass(frozen=True)
class Deduction:
    """One deduction line of a Schlussrechnung: an advance's net at one VAT rate."""

    advance: Invoice
    tax: str
    net: Decimal

    @property
    def description(self) -> str:
        when = f" vom {format_date(self.advance.issue_date)}" if self.advance.issue_date else ""
        label = TAX_OPTIONS[self.tax].label if self.tax in TAX_OPTIONS else self.tax
        return f"{DEDUCTION_PREFIX}{self.advance.number}{when} ({label})"


def _deducting_line(
    session: Session, advance_ids: list[int], *, exclude: int | None, issued_only: bool = False
) -> InvoiceLine | None:
    """A line of another (not cancelled) Schlussrechnung that deducts one of these advances."""
    query = (
        select(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.deducts_invoice_id.in_(advance_ids),
            InvoiceLine.invoice_id != (exclude or 0),
            _not_cancelled(),
        )
    )
    if issued_only:
        query = query.where(Invoice.issued_at.is_not(None))
    return session.scalars(query.limit(1)).first()


def _taken(line: InvoiceLine) -> str:
    advance = line.deducts.label if line.deducts else "Eine Abschlagsrechnung"
    return f"{advance} wird bereits in {line.invoice.label} abgezogen."


def deductions(
    session: Session, contact_id: int, order_reference: str, *, exclude: int | None = None
) -> list[Deduction]:
    """The issued advances of the order, per advance and VAT rate; refuses open drafts and
    advances another Schlussrechnung (draft or issued, other than `exclude`) deducts
    already."""
    reference = _order_reference(order_reference)
    advances = _advances(session, contact_id, reference)
    drafts = [a for a in advances if not a.is_issued]
    if drafts:
        raise KmsError(
            f"Zum Auftrag „{reference}“ gibt es noch nicht abgeschlossene Abschlagsrechnungen "
            f"({', '.join(a.label for a in drafts)}). Ein Entwurf kann nicht abgezogen werden: "
            "bitte erst abschließen oder löschen."
        )
    if not advances:
        raise KmsError(
            f"Zum Auftrag „{reference}“ gibt es keine abgeschlossene Abschlagsrechnung. Ohne "
            "Abschläge ist die Schlussrechnung eine normale Rechnung: bitte ▶ Neue Rechnung."
        )
    # A cancelled Schlussrechnung frees its advances for the corrected one.
    taken = _deducting_line(session, [a.id for a in advances], exclude=exclude)
    if taken is not None:
        raise KmsError(_taken(taken))
    out = []
    for advance in advances:
        per_rate: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for line in advance.lines:
            per_rate[tax_key(line)] += line.net
        out += [Deduction(advance, key, net) for key, net in per_rate.items()]
    return out


def attach_deductions(session: Session, invoice: Invoice) -> None:
    """(Re)build the deduction lines of a Schlussrechnung draft after its service lines.

    Called on every save of the draft (`service.save_draft`), so the lines the editor sends
    back (including the old "abzüglich …" rows, which no longer know their advance) keep
    their link, and an advance issued or cancelled since is deducted anew or no more.
    The caller recomputes the totals."""
    found = deductions(
        session, invoice.contact_id, invoice.order_reference or "", exclude=invoice.id
    )
    kept = [
        ln
        for ln in invoice.lines
        if ln.deducts_invoice_id is None
        and ln.deducts is None
        and not ln.description.startswith(DEDUCTION_PREFIX)
    ]
    rows = []
    for position, d in enumerate(found, start=len(kept) + 1):
        option = TAX_OPTIONS[d.tax]
        rows.append(
            InvoiceLine(
                position=position,
                description=d.description,
                quantity=Decimal("-1"),
                unit_code="C62",
                unit_price=d.net,
                tax_category=option.category.value,
                tax_rate=option.rate,
                discount_kind="",
                discount_value=None,
                discount_reason="",
                deducts=d.advance,
            )
        )
    invoice.lines = [*kept, *rows]


def deducted_in(session: Session, advance: Invoice) -> Invoice | None:
    """The issued, not cancelled Schlussrechnung that deducts this advance, if any."""
    return session.scalar(
        select(Invoice)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(
            InvoiceLine.deducts_invoice_id == advance.id,
            Invoice.issued_at.is_not(None),
            _not_cancelled(),
        )
        .limit(1)
    )


def deduction_problem(session: Session, invoice: Invoice) -> str:
    """Why a Schlussrechnung cannot be issued now (call with the advances locked): one of its
    advances was cancelled meanwhile, or another issued Schlussrechnung deducts it."""
    if invoice.billing != BILLING_FINAL:
        return ""
    ids = sorted({ln.deducts_invoice_id for ln in invoice.lines if ln.deducts_invoice_id})
    if not ids:
        return ""
    # Row locks in a fixed order: two Schlussrechnungen of one order are issued one after
    # the other, and the second sees the first (like `issuing._lock` for one invoice).
    advances = session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(ids))
        .order_by(Invoice.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    storno = aliased(Invoice)
    for advance in advances:
        if session.scalar(select(storno.id).where(storno.cancels_id == advance.id)):
            return (
                f"{advance.label} wurde storniert. Bitte den Entwurf speichern: die "
                "Abzugszeilen werden dann neu berechnet."
            )
    other = _deducting_line(session, ids, exclude=invoice.id, issued_only=True)
    if other is not None:
        return (
            f"{_taken(other)} Eine Abschlagsrechnung wird nur einmal abgezogen: bitte diesen "
            "Entwurf löschen."
        )
    return ""


def create_final_draft(
    session: Session,
    *,
    contact_id: int,
    order_reference: str,
    lines: list[dict[str, Any]],
    actor: str = "",
    as_of: date | None = None,
    **header: Any,
) -> Invoice:
    """A draft Schlussrechnung: the whole service (`lines`, as the page sends them), then a
    negative line per issued advance and VAT rate; its total is the amount still due."""
    require_permission(Permission.INVOICES_WRITE, session)
    reference = _order_reference(order_reference)
    deductions(session, int(contact_id), reference)  # refused before anything is saved
    draft = save_draft(
        session, contact_id=contact_id, lines=lines, actor=actor, as_of=as_of, **header
    )
    draft.billing, draft.order_reference = BILLING_FINAL, reference
    attach_deductions(session, draft)
    draft.net_total, draft.tax_total, draft.gross_total = compute_totals(draft)
    session.flush()
    return draft
