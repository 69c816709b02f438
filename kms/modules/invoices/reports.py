"""Berichte from invoices: Zusammenfassende Meldung, Offene Posten, revenue by month and customer.

Every figure is summed in the database over integer cents (kms.types.raw_cents), with the
status and settled amounts derived exactly as the invoice list derives them
(`service.status_source`), so a report agrees with the list and the Übersicht to the cent.
The declarations (columns, period) live in report_specs.py, which the module's SPEC lists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.invoices.issuing import EU_COUNTRIES
from kms.modules.invoices.models import (
    KIND_CANCELLATION,
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
)
from kms.modules.invoices.report_specs import (
    OPEN_ITEMS_COLUMNS,
    REVENUE_BY_CUSTOMER_COLUMNS,
    REVENUE_BY_MONTH_COLUMNS,
    ZM_COLUMNS,
)
from kms.modules.invoices.service import OPEN_STATUSES, status_source
from kms.reporting import MONTHS, TOTAL, Period, frame, require_period
from kms.types import cents, from_cents, raw_cents, today

# Stornorechnungen carry the original's (positive) amounts; in a revenue sum they count negative.
SIGN = case((Invoice.kind == KIND_CANCELLATION, -1), else_=1)
ISSUED = Invoice.issued_at.is_not(None)


def _customer() -> Any:
    """The contact's display name as the invoice list shows it."""
    return case(
        (Contact.kind == "organisation", Contact.name),
        else_=func.trim(Contact.first_name + literal(" ") + Contact.last_name),
    )


def _in(column: Any, period: Period) -> Any:
    return column.between(period.start, period.end)


# --- Zusammenfassende Meldung -------------------------------------------------------------


@dataclass(frozen=True)
class _ZmInvoice:
    storno: bool
    issue_date: date
    supply_date: date
    vat_id: str
    name: str
    goods: int  # net cents, category K
    services: int  # net cents, category AE


def _category_nets() -> Any:
    """Net cents per invoice and category K/AE: lines plus charges minus allowances."""
    lines = select(
        InvoiceLine.invoice_id.label("invoice_id"),
        InvoiceLine.tax_category.label("category"),
        raw_cents(InvoiceLine.net).label("cents"),
    ).where(InvoiceLine.tax_category.in_(("K", "AE")))
    allowances = select(
        InvoiceAllowance.invoice_id.label("invoice_id"),
        InvoiceAllowance.tax_category.label("category"),
        case(
            (InvoiceAllowance.charge, raw_cents(InvoiceAllowance.amount)),
            else_=-raw_cents(InvoiceAllowance.amount),
        ).label("cents"),
    ).where(InvoiceAllowance.tax_category.in_(("K", "AE")))
    parts = union_all(lines, allowances).subquery("parts")
    return (
        select(
            parts.c.invoice_id,
            func.sum(case((parts.c.category == "K", parts.c.cents), else_=0)).label("goods"),
            func.sum(case((parts.c.category == "AE", parts.c.cents), else_=0)).label("services"),
        )
        .group_by(parts.c.invoice_id)
        .subquery("zm_nets")
    )


def _month_after_end(day: date) -> date:
    """The last day of the month after `day` (§ 18a Abs. 8 S. 1 UStG deadline)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return Period.month(year, month).end


def _zm_date(row: _ZmInvoice, goods: bool) -> date:
    """The day that puts an amount into a ZM period (§ 18a Abs. 8 UStG).

    - Innergemeinschaftliche Lieferungen (K): the period in which the invoice is issued,
      at the latest the period in which the month after the supply ends. So the issue date,
      capped at the end of the month after the Leistungsdatum (an invoice written late).
    - Sonstige Leistungen (AE to an EU customer): the period in which the service is
      performed, i.e. the Leistungsdatum (the end of a Leistungszeitraum), never the issue date.
    - A Stornorechnung changes the Bemessungsgrundlage (§ 17 UStG); such a change is reported
      for the period in which it occurs, so a Storno counts on its own issue date.
    """
    if row.storno:
        return row.issue_date
    if goods:
        return min(row.issue_date, _month_after_end(row.supply_date))
    return row.supply_date


def _zm_invoices(session: Session, period: Period) -> list[_ZmInvoice]:
    """Issued invoices with K or AE amounts to EU buyers that may fall into `period`.

    One aggregate query: net cents per invoice and category come from the database; only
    invoices whose reporting date can lie in the period are read (issued in it, or supplied
    between the start of the month before it and its end)."""
    nets = _category_nets()
    vat_id = Invoice.snapshot[("buyer", "vat_id")].as_string()
    country = Invoice.snapshot[("buyer", "country")].as_string()
    name = Invoice.snapshot[("buyer", "name")].as_string()
    supply = func.coalesce(
        case((Invoice.service_date_is_issue_date, Invoice.issue_date), else_=None),
        Invoice.service_date,
        Invoice.period_end,
        Invoice.issue_date,
    )
    before = period.start.replace(day=1)
    month_before = (
        date(before.year - 1, 12, 1)
        if before.month == 1
        else before.replace(month=before.month - 1)
    )
    rows = session.execute(
        select(
            Invoice.kind,
            Invoice.issue_date,
            supply,
            vat_id,
            country,
            name,
            nets.c.goods,
            nets.c.services,
        )
        .select_from(Invoice)
        .join(nets, nets.c.invoice_id == Invoice.id)
        .where(
            ISSUED,
            or_(_in(Invoice.issue_date, period), supply.between(month_before, period.end)),
        )
    ).all()
    result = []
    for kind, issued, supplied, vat, land, buyer, goods, services in rows:
        if (land or "").upper() not in EU_COUNTRIES - {"DE"}:
            continue  # § 13b for a German customer is no EU service; K is EU by definition
        result.append(
            _ZmInvoice(
                kind == KIND_CANCELLATION,
                issued,
                supplied or issued,
                "".join((vat or "").split()).upper(),
                buyer or "",
                int(goods or 0),
                int(services or 0),
            )
        )
    return result


def zm(session: Session, period: Period | None) -> pd.DataFrame:
    """Zusammenfassende Meldung: net K and AE amounts per buyer USt-IdNr. in `period`."""
    period = require_period(period)
    totals: dict[str, list[Any]] = defaultdict(lambda: ["", 0, 0])
    for row in _zm_invoices(session, period):
        sign = -1 if row.storno else 1
        entry = totals[row.vat_id]
        entry[0] = entry[0] or row.name
        if row.goods and _zm_date(row, goods=True) in period:
            entry[1] += sign * row.goods
        if row.services and _zm_date(row, goods=False) in period:
            entry[2] += sign * row.services
    rows = [
        (vat[:2], vat, name, from_cents(goods), from_cents(services))
        for vat, (name, goods, services) in sorted(totals.items())
        if goods or services
    ]
    goods_total = sum(int(r[3] * 100) for r in rows)
    services_total = sum(int(r[4] * 100) for r in rows)
    rows.append((TOTAL, "", "", from_cents(goods_total), from_cents(services_total)))
    return frame(ZM_COLUMNS, rows)


def zm_note(session: Session, period: Period | None) -> str | None:
    """Where the ZM goes and when (shown above the table)."""
    return (
        "Die Zusammenfassende Meldung wird elektronisch über ELSTER an das Bundeszentralamt "
        "für Steuern übermittelt, bis zum 25. Tag nach Ablauf des Meldezeitraums. "
        "Lieferungen zählen im Monat der Rechnung (spätestens im Folgemonat der Lieferung), "
        "sonstige Leistungen im Monat der Leistung, Stornos im Monat der Stornorechnung."
    )


# --- Offene Posten ------------------------------------------------------------------------

BUCKETS = ((30, "0–30"), (60, "31–60"), (90, "61–90"))
OVER_90 = "> 90"


def bucket(days_overdue: int) -> str:
    """The ageing bucket of an invoice that is `days_overdue` days past its due date."""
    return next((label for limit, label in BUCKETS if days_overdue <= limit), OVER_90)


def open_items(
    session: Session, period: Period | None = None, *, day: date | None = None
) -> pd.DataFrame:
    """Offene Posten on `day` (today): every invoice still open, partly paid or overdue."""
    day = day or today()
    facts = status_source(day)
    gross = raw_cents(Invoice.gross_total)
    rows = session.execute(
        select(
            _customer(),
            Invoice.number,
            Invoice.issue_date,
            Invoice.due_date,
            gross,
            facts.open,
        )
        .select_from(facts.source.join(Contact, Contact.id == Invoice.contact_id))
        .where(facts.status.in_(OPEN_STATUSES))
        .order_by(Invoice.due_date, Invoice.number)
    ).all()
    items = []
    for customer, number, issued, due, gross_cents, open_cents in rows:
        overdue = max(0, (day - due).days) if due else 0
        items.append(
            (
                customer or "",
                number or "",
                issued,
                due,
                from_cents(gross_cents),
                from_cents(open_cents),
                overdue,
                bucket(overdue),
            )
        )
    items.sort(key=lambda r: (-r[6], r[3] or day, r[1]))
    total_gross = from_cents(sum(int(r[4] * 100) for r in items))
    total_open = from_cents(sum(int(r[5] * 100) for r in items))
    items.append((TOTAL, "", None, None, total_gross, total_open, 0, ""))
    return frame(OPEN_ITEMS_COLUMNS, items)


# --- revenue ------------------------------------------------------------------------------


def revenue_by_month(session: Session, period: Period | None) -> pd.DataFrame:
    """Net revenue of the issued invoices per month of the year (by Rechnungsdatum).

    A Stornorechnung counts negative in the month it is issued, so a cancelled invoice
    and its Storno cancel out over the year."""
    period = require_period(period)
    month = func.extract("month", Invoice.issue_date)
    storno = Invoice.kind == KIND_CANCELLATION
    rows = session.execute(
        select(
            month,
            func.sum(case((storno, 0), else_=1)),
            func.sum(case((storno, 1), else_=0)),
            func.sum(SIGN * raw_cents(Invoice.net_total)),
            func.sum(SIGN * raw_cents(Invoice.tax_total)),
            func.sum(SIGN * raw_cents(Invoice.gross_total)),
        )
        .where(ISSUED, _in(Invoice.issue_date, period))
        .group_by(month)
    ).all()
    by_month = {int(r[0]): [int(v or 0) for v in r[1:]] for r in rows}
    result: list[tuple[Any, ...]] = []
    sums = [0, 0, 0, 0, 0]
    for number, name in enumerate(MONTHS, start=1):
        values = by_month.get(number, [0, 0, 0, 0, 0])
        sums = [a + b for a, b in zip(sums, values, strict=True)]
        result.append((name, values[0], values[1], *map(from_cents, values[2:])))
    result.append((TOTAL, sums[0], sums[1], *map(from_cents, sums[2:])))
    return frame(REVENUE_BY_MONTH_COLUMNS, result)


def revenue_by_customer(session: Session, period: Period | None) -> pd.DataFrame:
    """Net revenue of the issued invoices of the year per customer, largest first."""
    period = require_period(period)
    net = func.sum(SIGN * raw_cents(Invoice.net_total))
    rows = session.execute(
        select(
            _customer(),
            Contact.customer_number,
            func.sum(case((Invoice.kind == KIND_CANCELLATION, 0), else_=1)),
            net,
        )
        .select_from(Invoice)
        .join(Contact, Contact.id == Invoice.contact_id)
        .where(ISSUED, _in(Invoice.issue_date, period))
        .group_by(
            Contact.id,
            Contact.kind,
            Contact.name,
            Contact.first_name,
            Contact.last_name,
            Contact.customer_number,
        )
        .order_by(net.desc(), _customer())
    ).all()
    total = sum(int(r[3] or 0) for r in rows)

    result: list[tuple[Any, ...]] = [
        (
            name or "",
            number or "",
            int(count or 0),
            from_cents(net_cents),
            _percent(net_cents, total),
        )
        for name, number, count, net_cents in rows
    ]
    result.append((TOTAL, "", sum(r[2] for r in result), from_cents(total), _percent(total, total)))
    return frame(REVENUE_BY_CUSTOMER_COLUMNS, result)


def _percent(part: int, whole: int) -> Decimal:
    """part / whole in percent, rounded half up to 0.01 (0 when there is no whole)."""
    if not whole:
        return Decimal("0.00")
    return cents(Decimal(int(part or 0)) * 100 / Decimal(whole))
