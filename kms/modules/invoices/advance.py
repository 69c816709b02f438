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
from kms.modules.invoices.service import TAX_OPTIONS, save_draft, tax_key
from kms.permissions import Permission, require_permission
from kms.validation import parse_money

CENT = Decimal("0.01")


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
        return f"abzüglich Abschlagsrechnung {self.advance.number}{when} ({label})"


def deductions(session: Session, contact_id: int, order_reference: str) -> list[Deduction]:
    """The issued advances of the order, per advance and VAT rate; refuses open drafts and
    advances another Schlussrechnung (draft or issued) deducts already."""
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
    taken = session.scalars(
        select(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.deducts_invoice_id.in_([a.id for a in advances]), _not_cancelled())
    ).all()
    if taken:
        line = taken[0]
        raise KmsError(
            f"{line.deducts.label if line.deducts else 'Eine Abschlagsrechnung'} wird bereits in "
            f"{line.invoice.label} abgezogen."
        )
    out = []
    for advance in advances:
        per_rate: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for line in advance.lines:
            per_rate[tax_key(line)] += line.net
        out += [Deduction(advance, key, net) for key, net in per_rate.items()]
    return out


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
    found = deductions(session, int(contact_id), reference)
    rows = [
        {
            "description": d.description,
            "quantity": "-1",
            "unit_code": "C62",
            "unit_price": str(d.net),
            "tax": d.tax,
        }
        for d in found
    ]
    draft = save_draft(
        session, contact_id=contact_id, lines=[*lines, *rows], actor=actor, as_of=as_of, **header
    )
    draft.billing, draft.order_reference = BILLING_FINAL, reference
    # The deduction lines come last, in the order of `found`.
    for line, deduction in zip(draft.lines[len(draft.lines) - len(found) :], found, strict=True):
        line.deducts = deduction.advance
    session.flush()
    return draft
