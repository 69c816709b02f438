"""Preiskalkulation services: Gemeinkosten, Kalkulationsgrundlagen, Angebote, the plan.

Each service checks the permission first, then the licence of the add-on (a locked module's
services refuse, whatever page or deep link calls them). Reading needs LEDGER_READ (the
figures come from the books); changing the plan is the owner's business (SETTINGS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from kms.errors import ConflictError, NotFoundError
from kms.licensing import require
from kms.modules.invoices.models import KIND_CANCELLATION, KIND_INVOICE, Invoice, InvoiceLine
from kms.modules.ledger.models import AUSGABE, Booking, BookingLine, Category
from kms.modules.pricing import calc
from kms.modules.pricing.models import (
    CalculationBasis,
    InvoiceLineLink,
    Offering,
    OverheadPost,
)
from kms.modules.settings import taxation
from kms.permissions import Permission, require_permission
from kms.types import Money, today

MODULE = "pricing"
TITLE = "Preiskalkulation"


def _check_version(row: Any, version: int | None) -> None:
    if version is not None and row.version != version:
        raise ConflictError(
            "Der Eintrag wurde inzwischen geändert. Bitte neu laden und erneut speichern."
        )


def vat_mode(session: Session, day: date | None = None) -> str:
    """Kleinunternehmer or Regelbesteuerer, from the Besteuerung setting (today's regime)."""
    regime = taxation.regime_on(session, day or today())
    return calc.SMALL if regime is not None and regime.kind == "klein" else calc.REGULAR


# --- Gemeinkosten ----------------------------------------------------------------------


def _post(row: OverheadPost) -> calc.OverheadPost:
    return calc.OverheadPost(
        row.label, row.amount, row.factor, row.useful_life_years, row.vat_rate, row.category
    )


def _overheads(session: Session) -> list[OverheadPost]:
    """The Gemeinkosten posts, by category and label."""
    return list(
        session.scalars(select(OverheadPost).order_by(OverheadPost.category, OverheadPost.label))
    )


def save_overhead(
    session: Session,
    *,
    label: str,
    amount: Decimal,
    factor: int = 1,
    useful_life_years: int | None = None,
    vat_rate: Decimal = Decimal(0),
    category: str = "",
    post_id: int | None = None,
    version: int | None = None,
) -> OverheadPost:
    """Create or change a post; nonsense (factor 0, negative amounts) is refused, nothing saved."""
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    post = calc.OverheadPost(
        label.strip(), amount, factor, useful_life_years or None, vat_rate, category.strip()
    )
    calc.validate_post(post)
    if post_id is None:
        row = OverheadPost()
    else:
        found = session.get(OverheadPost, post_id)
        if found is None:
            raise NotFoundError("Den Posten gibt es nicht mehr.")
        _check_version(found, version)
        row = found
    row.label, row.category, row.amount = post.label, post.category, post.amount
    row.factor, row.useful_life_years, row.vat_rate = (
        post.factor,
        post.useful_life_years,
        post.vat_rate,
    )
    session.add(row)
    session.flush()
    return row


def delete_overhead(session: Session, post_id: int, version: int | None = None) -> None:
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    row = session.get(OverheadPost, post_id)
    if row is None:
        raise NotFoundError("Den Posten gibt es nicht mehr.")
    _check_version(row, version)
    session.delete(row)
    session.flush()


def _actual_by_category(session: Session, year: int) -> list[tuple[str, Decimal]]:
    """A year's Ausgaben per category, summed in SQL: what they really cost (gross minus
    deductible Vorsteuer), rounded to cents; categories in name order."""
    cost = type_coerce(func.sum(BookingLine.amount - BookingLine.deductible), Money())
    q = (
        select(Category.name, cost)
        .join(Booking, Booking.id == BookingLine.booking_id)
        .join(Category, Category.id == BookingLine.category_id)
        .where(
            Booking.kind == AUSGABE,
            Booking.booking_date >= date(year, 1, 1),
            Booking.booking_date <= date(year, 12, 31),
        )
        .group_by(Category.name)
        .order_by(Category.name)
    )
    return [(name, calc.money(Decimal(total or 0))) for name, total in session.execute(q)]


def overheads_from_bookings(session: Session, year: int) -> list[calc.OverheadPost]:
    """Suggested posts from a year's Ausgaben per category (yearly, the cost really borne:
    gross minus deductible Vorsteuer). Nothing is saved; the page offers them for saving."""
    require_permission(Permission.LEDGER_READ, session)
    require(session, MODULE, TITLE)
    return [
        calc.OverheadPost(name, cost, 1, None, Decimal(0), name)
        for name, cost in _actual_by_category(session, year)
        if cost > 0
    ]


NO_CATEGORY = "ohne Kategorie"


def latest_expense_year(session: Session) -> int | None:
    """The year of the latest Ausgabe booked (the Plan/Ist comparison starts there)."""
    require_permission(Permission.LEDGER_READ, session)
    require(session, MODULE, TITLE)
    latest = session.scalar(select(func.max(Booking.booking_date)).where(Booking.kind == AUSGABE))
    return latest.year if latest else None


@dataclass(frozen=True)
class PlanActual:
    """Plan vs. Ist of one category in one year: the posts' Jahreskosten vs. the booked
    Ausgaben (gross minus deductible Vorsteuer)."""

    category: str
    planned: Decimal
    actual: Decimal

    @property
    def difference(self) -> Decimal:
        """Ist − Plan: positive when more was spent than planned."""
        return self.actual - self.planned


def plan_vs_actual(session: Session, year: int) -> list[PlanActual]:
    """Per category, the planned Jahreskosten against the year's booked Ausgaben; empty while
    the year has no Ausgaben booked. A post's Kategorie matches a ledger category by name
    (posts taken over from the bookings carry it); posts without one count as
    "ohne Kategorie"."""
    require_permission(Permission.LEDGER_READ, session)
    require(session, MODULE, TITLE)
    actual = dict(_actual_by_category(session, year))
    if not actual:
        return []
    planned: dict[str, Decimal] = {}
    for row, figure in plan(session).posts:
        name = row.category or NO_CATEGORY
        planned[name] = planned.get(name, Decimal(0)) + figure.value
    return [
        PlanActual(name, planned.get(name, Decimal("0.00")), actual.get(name, Decimal("0.00")))
        for name in sorted(set(planned) | set(actual), key=str.casefold)
    ]


# --- Kalkulationsgrundlagen -------------------------------------------------------------

BASIS_FIELDS = (
    "net_income",
    "provisions",
    "working_days",
    "vacation_days",
    "sick_days",
    "holidays",
    "hours_per_day",
    "billable_percent",
    "tax_reserve_percent",
)


def get_basis(session: Session) -> CalculationBasis:
    """The Kalkulationsgrundlagen (defaults, unsaved, until the owner saves them)."""
    require_permission(Permission.LEDGER_READ, session)
    require(session, MODULE, TITLE)
    return _basis(session)


def _basis(session: Session) -> CalculationBasis:
    row = session.get(CalculationBasis, 1)
    if row is None:
        row = CalculationBasis(id=1, version=0)
        for column in CalculationBasis.__table__.columns:
            if column.default is not None and getattr(row, column.key) is None:
                arg = column.default.arg  # type: ignore[attr-defined]
                setattr(row, column.key, arg if not callable(arg) else None)
    return row


def to_calc(row: CalculationBasis, mode: str) -> calc.Basis:
    return calc.Basis(**{f: getattr(row, f) for f in BASIS_FIELDS}, vat_mode=mode)


def save_basis(session: Session, *, version: int | None = None, **values: Any) -> CalculationBasis:
    """Save the Kalkulationsgrundlagen; nonsense (0 billable hours, 100 % tax) is refused."""
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    unknown = set(values) - set(BASIS_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    row = session.get(CalculationBasis, 1)
    if row is not None:
        _check_version(row, version)
    current = _basis(session) if row is None else row
    merged = {f: values.get(f, getattr(current, f)) for f in BASIS_FIELDS}
    calc.validate_basis(calc.Basis(**merged))
    if row is None:
        row = CalculationBasis(id=1)
        session.add(row)
    for name, value in merged.items():
        setattr(row, name, value)
    session.flush()
    return row


# --- Angebote ---------------------------------------------------------------------------

OFFERING_FIELDS = tuple(f.name for f in fields(calc.Offering))


def _offering(row: Offering) -> calc.Offering:
    return calc.Offering(**{f: getattr(row, f) for f in OFFERING_FIELDS})


def _offerings(session: Session) -> list[Offering]:
    return list(session.scalars(select(Offering).order_by(Offering.name)))


def save_offering(
    session: Session, *, offering_id: int | None = None, version: int | None = None, **values: Any
) -> Offering:
    """Create or change an Angebot; nonsense (negative costs, no hours) is refused."""
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    unknown = set(values) - set(OFFERING_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    if offering_id is None:
        row = Offering()
        base = calc.Offering(name="")
    else:
        found = session.get(Offering, offering_id)
        if found is None:
            raise NotFoundError("Das Angebot gibt es nicht mehr.")
        _check_version(found, version)
        row = found
        base = _offering(found)
    merged = {f: values.get(f, getattr(base, f)) for f in OFFERING_FIELDS}
    merged["name"] = str(merged["name"]).strip()
    candidate = calc.Offering(**merged)
    calc.validate_offering(candidate)
    other = session.scalar(select(Offering.id).where(Offering.name == candidate.name))
    if other is not None and other != offering_id:
        raise calc.ValidationError("name", "Ein Angebot mit diesem Namen gibt es schon.")
    for name, value in merged.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    return row


def delete_offering(session: Session, offering_id: int, version: int | None = None) -> None:
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    row = session.get(Offering, offering_id)
    if row is None:
        raise NotFoundError("Das Angebot gibt es nicht mehr.")
    _check_version(row, version)
    linked = session.scalar(select(func.count()).where(InvoiceLineLink.offering_id == offering_id))
    if linked:
        raise ConflictError(
            f"Dem Angebot sind {linked} Rechnungsposition(en) zugeordnet (Nachkalkulation). "
            "Bitte dort zuerst die Zuordnungen lösen."
        )
    session.delete(row)
    session.flush()


# --- The plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Everything the pages show, computed from the saved posts, basis and offers."""

    vat_mode: str
    basis: calc.Basis
    posts: list[tuple[OverheadPost, calc.Figure]]
    overheads: calc.Figure
    billable_hours: calc.Figure
    income_before_tax: calc.Figure
    required_revenue: calc.Figure
    hourly_rate: calc.Figure
    offerings: list[tuple[Offering, calc.OfferingResult]]
    capacity: calc.Capacity


def plan(session: Session) -> Plan:
    """The whole calculation. Raises ValidationError (German) when the basis is nonsense."""
    require_permission(Permission.LEDGER_READ, session)
    require(session, MODULE, TITLE)
    mode = vat_mode(session)
    basis = to_calc(_basis(session), mode)
    posts = [(row, calc.yearly_cost(_post(row), mode)) for row in _overheads(session)]
    overheads = calc.Figure(
        "Gemeinkosten im Jahr",
        sum((figure.value for _, figure in posts), Decimal(0)),
        "Summe der Jahreskosten aller Posten",
    )
    rows = _offerings(session)
    offers = [_offering(row) for row in rows]
    hours = calc.planned_hours(offers)
    results = [
        (row, calc.offering_result(offer, basis, overheads.value, hours))
        for row, offer in zip(rows, offers, strict=True)
    ]
    results.sort(key=lambda pair: pair[1].effective_wage.value, reverse=True)
    return Plan(
        mode,
        basis,
        posts,
        overheads,
        calc.billable_hours(basis),
        calc.income_before_tax(basis),
        calc.required_revenue(basis, overheads.value),
        calc.hourly_rate(basis, overheads.value),
        results,
        calc.capacity(offers, basis),
    )


def what_if(
    session: Session, offering_id: int, *, price: Decimal, units: int
) -> calc.OfferingResult:
    """One offer's figures at another price and quantity (nothing saved)."""
    require_permission(Permission.LEDGER_READ, session)
    current = plan(session)
    row = session.get(Offering, offering_id)
    if row is None:
        raise NotFoundError("Das Angebot gibt es nicht mehr.")
    others: Sequence[calc.Offering] = [
        _offering(r) for r, _ in current.offerings if r.id != offering_id
    ]
    offer = _offering(row)
    hours = calc.planned_hours(
        [
            *others,
            calc.Offering(
                **{**{f: getattr(offer, f) for f in OFFERING_FIELDS}, "units_per_year": units}
            ),
        ]
    )
    return calc.offering_result(
        offer, current.basis, current.overheads.value, hours, price=price, units=units
    )


# --- Nachkalkulation --------------------------------------------------------------------


def link_invoice_line(session: Session, invoice_line_id: int, offering_id: int) -> InvoiceLineLink:
    """Count an issued invoice's position for an offer; the invoice itself never changes."""
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    line = session.get(InvoiceLine, invoice_line_id)
    if line is None or not line.invoice.is_issued or line.invoice.kind != KIND_INVOICE:
        raise NotFoundError("Nur Positionen ausgestellter Rechnungen lassen sich zuordnen.")
    if session.get(Offering, offering_id) is None:
        raise NotFoundError("Das Angebot gibt es nicht mehr.")
    taken = session.scalar(
        select(InvoiceLineLink).where(InvoiceLineLink.invoice_line_id == invoice_line_id)
    )
    if taken is not None:
        raise ConflictError("Diese Rechnungsposition ist schon einem Angebot zugeordnet.")
    link = InvoiceLineLink(invoice_line_id=invoice_line_id, offering_id=offering_id)
    session.add(link)
    session.flush()
    return link


def unlink_invoice_line(session: Session, invoice_line_id: int) -> None:
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    link = session.scalar(
        select(InvoiceLineLink).where(InvoiceLineLink.invoice_line_id == invoice_line_id)
    )
    if link is None:
        raise NotFoundError("Diese Rechnungsposition ist keinem Angebot zugeordnet.")
    session.delete(link)
    session.flush()


def _service_year(invoice: Invoice) -> int | None:
    day = invoice.service_date or invoice.period_end or invoice.issue_date
    return day.year if day else None


@dataclass(frozen=True)
class PostCalculation:
    """Planned vs. invoiced for one offer in one Leistungsdatum year."""

    offering: str
    planned_units: int
    planned_revenue: Decimal
    invoiced_units: Decimal
    invoiced_net: Decimal


def post_calculation(session: Session, year: int) -> list[PostCalculation]:
    """Planned units and revenue (units × planned or fair price) vs. the linked positions of
    issued invoices whose Leistungsdatum falls in `year`; a Stornorechnung takes its original's
    positions back."""
    require_permission(Permission.LEDGER_READ, session)
    current = plan(session)
    cancelled = {
        inv.cancels_id
        for inv in session.scalars(
            select(Invoice).where(Invoice.kind == KIND_CANCELLATION, Invoice.issued_at.is_not(None))
        )
    }
    invoiced: dict[int, tuple[Decimal, Decimal]] = {}
    rows = session.execute(
        select(InvoiceLineLink.offering_id, InvoiceLine, Invoice)
        .join(InvoiceLine, InvoiceLine.id == InvoiceLineLink.invoice_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
    )
    for offering_id, line, invoice in rows:
        if _service_year(invoice) != year or invoice.id in cancelled:
            continue
        units, net = invoiced.get(offering_id, (Decimal(0), Decimal(0)))
        invoiced[offering_id] = (units + line.quantity, net + line.net)
    result = []
    for row, figures in sorted(current.offerings, key=lambda pair: pair[0].name):
        units, net = invoiced.get(row.id, (Decimal(0), Decimal(0)))
        result.append(
            PostCalculation(
                row.name,
                row.units_per_year,
                calc.money(figures.price.value * row.units_per_year),
                units,
                net,
            )
        )
    return result


@dataclass(frozen=True)
class Position:
    """A position of an issued invoice, for linking it to an offer."""

    line_id: int
    invoice: str
    description: str
    quantity: Decimal
    net: Decimal
    offering: str


def invoice_positions(session: Session, year: int) -> list[Position]:
    """Positions of the issued invoices (not Storno) with Leistungsdatum in `year`."""
    require_permission(Permission.LEDGER_READ, session)
    require(session, MODULE, TITLE)
    links = select(InvoiceLineLink.invoice_line_id, Offering.name).join(
        Offering, Offering.id == InvoiceLineLink.offering_id
    )
    names = {line_id: name for line_id, name in session.execute(links)}
    q = (
        select(InvoiceLine, Invoice)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(Invoice.kind == KIND_INVOICE, Invoice.issued_at.is_not(None))
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc(), InvoiceLine.position)
    )
    return [
        Position(
            line.id,
            invoice.label,
            line.description,
            line.quantity,
            line.net,
            names.get(line.id, ""),
        )
        for line, invoice in session.execute(q)
        if _service_year(invoice) == year
    ]


def price_to_draft(
    session: Session, offering_id: int, *, contact_id: int, planned: bool = False
) -> Invoice:
    """▶ Preis übernehmen: a new invoice draft with one position at the offer's fair (or
    planned) net price; § 19 UStG exempt for a Kleinunternehmer, 19 % otherwise."""
    require_permission(Permission.INVOICES_WRITE, session)
    require(session, MODULE, TITLE)
    current = plan(session)
    pair = next((p for p in current.offerings if p[0].id == offering_id), None)
    if pair is None:
        raise NotFoundError("Das Angebot gibt es nicht mehr.")
    row, result = pair
    if planned and row.planned_price is None:
        raise calc.ValidationError("planned_price", "Für dieses Angebot ist kein Preis geplant.")
    price = (
        row.planned_price if planned and row.planned_price is not None else result.fair_net.value
    )
    from kms.modules.invoices import service as invoices

    return invoices.save_draft(
        session,
        contact_id=contact_id,
        lines=[
            {
                "description": row.name,
                "quantity": "1",
                "unit_code": "C62",
                "unit_price": str(calc.money(price)),
                "tax": "E" if current.vat_mode == calc.SMALL else "S19",
            }
        ],
    )
