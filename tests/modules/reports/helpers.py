"""Issued invoices and payments written straight into the tables (no PDF rendering), so the
report tests set up exactly the figures they compute by hand."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key
from kms.modules.invoices.models import (
    KIND_CANCELLATION,
    KIND_INVOICE,
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
    Payment,
)
from kms.types import utcnow

_numbers = itertools.count(1)
RATES = {"S19": ("S", Decimal("19.00")), "S7": ("S", Decimal("7.00"))}


def customer(
    session: Session, name: str, *, country: str = "DE", vat_id: str = "", **extra: Any
) -> Contact:
    contact = Contact(
        kind="organisation",
        name=name,
        street="Beispielweg 2",
        postcode="54321",
        city="Beispielhausen",
        country=country,
        vat_id=vat_id,
        **extra,
    )
    contact.search_key = search_key(name, contact.city)
    session.add(contact)
    session.flush()
    return contact


def invoice(
    session: Session,
    contact: Contact,
    issue_date: date | None,
    lines: list[tuple[str, str]],
    *,
    due: date | None = None,
    service_date: date | None = None,
    allowances: list[tuple[str, str, bool]] = (),  # type: ignore[assignment]
    cancels: Invoice | None = None,
) -> Invoice:
    """An issued invoice (a draft when issue_date is None) with (tax key, net) lines.

    Totals: net = lines ± allowances, tax = 19 %/7 % of the S lines (K, AE, G: 0 %)."""
    line_rows, net, tax = [], Decimal("0.00"), Decimal("0.00")
    for position, (key, amount) in enumerate(lines, start=1):
        category, rate = RATES.get(key, (key, Decimal("0.00")))
        value = Decimal(amount)
        line_rows.append(
            InvoiceLine(
                position=position,
                description=f"Position {position}",
                quantity=Decimal("1"),
                unit_price=value,
                tax_category=category,
                tax_rate=rate,
                net=value,
            )
        )
        net += value
        tax += (value * rate / 100).quantize(Decimal("0.01"))
    allowance_rows = []
    for position, (key, amount, charge) in enumerate(allowances, start=1):
        category, rate = RATES.get(key, (key, Decimal("0.00")))
        value = Decimal(amount)
        allowance_rows.append(
            InvoiceAllowance(
                position=position,
                charge=charge,
                reason="Zuschlag" if charge else "Rabatt",
                kind="amount",
                value=value,
                tax_category=category,
                tax_rate=rate,
                amount=value,
            )
        )
        net += value if charge else -value
    row = Invoice(
        kind=KIND_CANCELLATION if cancels else KIND_INVOICE,
        number=None if issue_date is None else f"{'ST' if cancels else 'RE'}-{next(_numbers):04d}",
        contact_id=contact.id,
        cancels_id=cancels.id if cancels else None,
        service_date=service_date,
        issue_date=issue_date,
        due_date=due or issue_date,
        issued_at=utcnow() if issue_date else None,
        net_total=net,
        tax_total=tax,
        gross_total=net + tax,
        snapshot={
            "buyer": {
                "name": contact.name,
                "vat_id": contact.vat_id or None,
                "country": contact.country,
            }
        },
        lines=line_rows,
        allowances=allowance_rows,
    )
    session.add(row)
    session.flush()
    return row


def storno(session: Session, original: Invoice, issue_date: date) -> Invoice:
    """A Stornorechnung with the original's (positive) lines, as issuing.cancel writes it."""
    contact = session.get(Contact, original.contact_id)
    assert contact is not None
    return invoice(
        session,
        contact,
        issue_date,
        [
            (
                f"S{int(line.tax_rate)}" if line.tax_category == "S" else line.tax_category,
                str(line.net),
            )
            for line in original.lines
        ],
        service_date=original.service_date,
        allowances=[(a.tax_category, str(a.amount), a.charge) for a in original.allowances],
        cancels=original,
    )


def pay(session: Session, row: Invoice, paid_on: date, amount: str, skonto: str = "0.00") -> None:
    session.add(
        Payment(
            invoice_id=row.id,
            paid_on=paid_on,
            amount=Decimal(amount),
            skonto=Decimal(skonto),
            net_amount=Decimal("0.00"),
        )
    )
    session.flush()
