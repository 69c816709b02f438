"""Rechnungen: drafts with computed totals, the derived status, lists and sums in SQL.

Totals are never typed: every save recomputes each line's net amount (quantity × unit
price − discount, rounded half-up to cents) and the VAT per (category, rate) group with
the EN 16931 calculation in `kms.einvoice.calc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, and_, case, exists, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from kms import audit
from kms.einvoice.calc import line_amounts, tax_groups
from kms.einvoice.model import GERMAN_UNITS, Line, LineAllowance, TaxCategory
from kms.errors import (
    ConflictError,
    FieldErrors,
    KmsError,
    NotFoundError,
    ValidationError,
    ValidationErrors,
)
from kms.formatting import format_money
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key as fold
from kms.modules.invoices.models import (
    KIND_CANCELLATION,
    KIND_INVOICE,
    ImmutableInvoiceError,
    Invoice,
    InvoiceLine,
    Payment,
)
from kms.modules.settings.taxation import regime_on
from kms.types import today
from kms.validation import parse_decimal, parse_money, validate_leitweg_id

ENTITY = "invoice"
UNIT_CODES = {u.code: u.label for u in GERMAN_UNITS}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TaxOption:
    """A choice in the line's tax drop-down: EN 16931 category and rate."""

    key: str
    label: str
    category: TaxCategory
    rate: Decimal


TAX_OPTIONS: dict[str, TaxOption] = {
    o.key: o
    for o in (
        TaxOption("S19", "19 % USt", TaxCategory.STANDARD, Decimal("19.00")),
        TaxOption("S7", "7 % USt", TaxCategory.STANDARD, Decimal("7.00")),
        TaxOption("E", "steuerfrei, § 19 UStG (Kleinunternehmer)", TaxCategory.EXEMPT, ZERO),
        TaxOption("AE", "§ 13b UStG (Reverse Charge)", TaxCategory.REVERSE_CHARGE, ZERO),
        TaxOption("K", "innergemeinschaftliche Lieferung", TaxCategory.INTRA_COMMUNITY, ZERO),
        TaxOption("G", "Ausfuhr (Drittland)", TaxCategory.EXPORT, ZERO),
        TaxOption("O", "nicht steuerbar", TaxCategory.NOT_SUBJECT, ZERO),
    )
}
# Which options a seller may use follows the Besteuerung on the invoice date: a
# Kleinunternehmer charges no VAT and cannot use § 13b or EU supplies (§ 19 Abs. 1 S. 4
# UStG); a normally taxed seller cannot pick § 19 for a single invoice.
OPTIONS_BY_REGIME = {
    "regel": ("S19", "S7", "AE", "K", "G", "O"),
    "klein": ("E", "O"),
}
STATUS_LABELS = {
    "entwurf": "Entwurf",
    "offen": "offen",
    "teilweise": "teilweise bezahlt",
    "bezahlt": "bezahlt",
    "ueberfaellig": "überfällig",
    "storniert": "storniert",
    "storno": "Stornorechnung",
}
DRAFT_FIELDS = (
    "contact_id",
    "service_date",
    "service_date_is_issue_date",
    "period_start",
    "period_end",
    "payment_term_days",
    "skonto_percent",
    "skonto_days",
    "intro_text",
    "closing_text",
    "buyer_reference",
    "xrechnung",
)
LINE_FIELDS = (
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "tax",
    "discount_kind",
    "discount_value",
    "discount_reason",
)


def allowed_tax_options(session: Session, day: date) -> tuple[str, ...]:
    """Tax options the seller's Besteuerung allows on `day` (none without a regime)."""
    regime = regime_on(session, day)
    return OPTIONS_BY_REGIME.get(regime.kind, ()) if regime is not None else ()


def tax_key(line: InvoiceLine) -> str:
    """The drop-down key of a stored line, e.g. "S19"."""
    if line.tax_category == TaxCategory.STANDARD.value:
        return f"S{int(line.tax_rate)}" if line.tax_rate == int(line.tax_rate) else "S19"
    return line.tax_category


# --- lines and totals ---------------------------------------------------------------


def to_einvoice_line(line: InvoiceLine, number: int) -> Line:
    """The EN 16931 line of a stored position."""
    allowance = None
    if line.discount_kind == "percent" and line.discount_value:
        allowance = LineAllowance(line.discount_reason, percent=line.discount_value)
    elif line.discount_kind == "amount" and line.discount_value:
        allowance = LineAllowance(line.discount_reason, amount=line.discount_value)
    return Line(
        id=str(number),
        description=line.description,
        quantity=line.quantity,
        unit_code=line.unit_code,
        unit_price=line.unit_price,
        tax_category=TaxCategory(line.tax_category),
        tax_rate=line.tax_rate,
        allowance=allowance,
    )


def _decimal(value: Any, field: str, places: int) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value != value:  # NaN: an empty cell of a new row
        return None
    if isinstance(value, float):
        value = str(value)  # st.data_editor returns floats; their text form is what was typed
    return parse_decimal(value, max_scale=places, field=field)


def _text(value: Any) -> str:
    """A typed text cell; None and NaN (an untouched cell of a new editor row) are empty."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _clean_line(raw: dict[str, Any], index: int, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Validate one position; raises ValidationErrors naming the position."""
    pos = f"Position {index}"
    errors = FieldErrors()
    out: dict[str, Any] = {"position": index}
    out["description"] = _text(raw.get("description"))
    with errors.field(f"line{index}.description"):
        if not out["description"]:
            raise ValidationError("description", f"{pos}: Bitte eine Beschreibung angeben.")
    with errors.field(f"line{index}.quantity"):
        quantity = _decimal(raw.get("quantity"), "quantity", 4)
        if quantity is None or quantity == 0:
            raise ValidationError("quantity", f"{pos}: Bitte eine Menge angeben (nicht 0).")
        out["quantity"] = quantity
    with errors.field(f"line{index}.unit_code"):
        code = str(raw.get("unit_code") or "")
        code = next((c for c, label in UNIT_CODES.items() if code in (c, label)), "")
        if not code:
            raise ValidationError("unit_code", f"{pos}: Bitte eine Einheit aus der Liste wählen.")
        out["unit_code"] = code
    with errors.field(f"line{index}.unit_price"):
        price = _decimal(raw.get("unit_price"), "unit_price", 4)
        if price is None or price < 0:
            raise ValidationError(
                "unit_price", f"{pos}: Bitte einen Einzelpreis (netto, ab 0) angeben."
            )
        out["unit_price"] = price
    with errors.field(f"line{index}.tax"):
        key = str(raw.get("tax") or "")
        key = next((k for k, o in TAX_OPTIONS.items() if key in (k, o.label)), key)
        if key not in TAX_OPTIONS:
            raise ValidationError("tax", f"{pos}: Bitte den Steuersatz wählen.")
        if key not in allowed:
            raise ValidationError(
                "tax",
                f"{pos}: „{TAX_OPTIONS[key].label}“ ist mit Ihrer Besteuerung am Rechnungsdatum "
                "nicht möglich (Einstellungen → Besteuerung).",
            )
        option = TAX_OPTIONS[key]
        out["tax_category"], out["tax_rate"] = option.category.value, option.rate
    kind = str(raw.get("discount_kind") or "")
    value = None
    with errors.field(f"line{index}.discount_value"):
        value = _decimal(raw.get("discount_value"), "discount_value", 2)
        if kind not in ("", "percent", "amount"):
            raise ValidationError("discount_kind", f"{pos}: Unbekannte Rabattart.")
        if kind and value is not None and value <= 0:
            raise ValidationError("discount_value", f"{pos}: Der Rabatt muss größer als 0 sein.")
        if kind == "percent" and value is not None and value > 100:
            raise ValidationError("discount_value", f"{pos}: Höchstens 100 % Rabatt.")
    if not kind or value is None:
        kind, value = "", None
    out["discount_kind"], out["discount_value"] = kind, value
    out["discount_reason"] = _text(raw.get("discount_reason"))[:200]
    with errors.field(f"line{index}.discount_reason"):
        # [BR-42] every line allowance needs a reason.
        if kind and not out["discount_reason"]:
            raise ValidationError(
                "discount_reason",
                f"{pos}: Bitte den Grund des Rabatts angeben (z. B. Treuerabatt).",
            )
    for name, message in errors.errors.items():
        if not message.startswith(pos):
            errors.errors[name] = f"{pos}: {message}"
    errors.raise_if_any()
    return out


def compute_totals(invoice: Invoice) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) of an invoice from its lines; sets each line's computed net."""
    amounts = []
    for number, line in enumerate(invoice.lines, start=1):
        try:
            result = line_amounts(to_einvoice_line(line, number))
        except ValueError as exc:
            raise ValidationError(
                "lines", f"Position {number}: Der Rabatt ist höher als der Positionsbetrag."
            ) from exc
        line.net = result.net
        amounts.append(result)
    groups = tax_groups(amounts)
    net = sum((a.net for a in amounts), ZERO)
    tax = sum((g.tax for g in groups), ZERO)
    return net, tax, net + tax


def total_problem(gross: Decimal) -> str:
    """Why an invoice total of zero or below cannot be issued (German, for every path)."""
    return (
        f"Der Rechnungsbetrag ist {format_money(gross)}: eine Rechnung muss einen Betrag über "
        "0 € haben. Einzelne Positionen dürfen negativ sein (z. B. ein Abzug), die Summe nicht. "
        "Eine Gutschrift an den Kunden entsteht durch ▶ Stornieren oder ▶ Korrigieren der "
        "ursprünglichen Rechnung."
    )


# --- drafts -------------------------------------------------------------------------


def _clean_draft(session: Session, values: dict[str, Any], allowed: tuple[str, ...]) -> dict:
    """Validate the header fields of a draft; all problems at once."""
    errors = FieldErrors()
    out: dict[str, Any] = {}
    with errors.field("contact_id"):
        contact_id = values.get("contact_id")
        contact = session.get(Contact, int(contact_id)) if contact_id else None
        if contact is None:
            raise ValidationError("contact_id", "Bitte einen Kunden wählen.")
        if contact.archived_at is not None:
            raise ValidationError("contact_id", "Dieser Kunde ist archiviert.")
        out["contact_id"] = contact.id
    out["service_date_is_issue_date"] = bool(values.get("service_date_is_issue_date"))
    out["service_date"] = values.get("service_date") or None
    out["period_start"] = values.get("period_start") or None
    out["period_end"] = values.get("period_end") or None
    with errors.field("period_end"):
        if (out["period_start"] is None) != (out["period_end"] is None):
            raise ValidationError(
                "period_end", "Für einen Leistungszeitraum bitte Beginn und Ende angeben."
            )
        if out["period_start"] and out["period_end"] < out["period_start"]:
            raise ValidationError("period_end", "Der Leistungszeitraum endet vor seinem Beginn.")
    with errors.field("payment_term_days"):
        raw_days = values.get("payment_term_days")
        if raw_days is None or raw_days == "":
            # The default Zahlungsziel of the Einstellungen.
            from kms.modules.settings.service import get_profile

            raw_days = get_profile(session).payment_term_days
        days = int(raw_days)
        if not 0 <= days <= 365:
            raise ValidationError("payment_term_days", "Das Zahlungsziel muss 0 bis 365 Tage sein.")
        out["payment_term_days"] = days
    with errors.field("skonto_percent"):
        percent = values.get("skonto_percent")
        percent = (
            parse_money(percent, field="skonto_percent") if percent not in (None, "") else None
        )
        skonto_days = int(values.get("skonto_days") or 0) or None
        if percent is not None and percent != 0:
            if not Decimal("0") < percent < Decimal("100"):
                raise ValidationError("skonto_percent", "Skonto muss zwischen 0 und 100 % liegen.")
            if skonto_days is None or not 0 < skonto_days <= days:
                raise ValidationError(
                    "skonto_percent",
                    "Bitte die Skontofrist in Tagen angeben (höchstens das Zahlungsziel).",
                )
            out["skonto_percent"], out["skonto_days"] = percent, skonto_days
        else:
            out["skonto_percent"], out["skonto_days"] = None, None
    out["intro_text"] = str(values.get("intro_text") or "").strip()
    out["closing_text"] = str(values.get("closing_text") or "").strip()
    with errors.field("buyer_reference"):
        reference = str(values.get("buyer_reference") or "").strip()
        xrechnung = bool(values.get("xrechnung"))
        if reference and xrechnung and reference[0].isdigit():
            reference = validate_leitweg_id(reference, field="buyer_reference")
        out["buyer_reference"], out["xrechnung"] = reference[:60], xrechnung
    raw_lines = list(values.get("lines") or [])
    cleaned_lines = []
    for index, raw in enumerate(_non_empty(raw_lines), start=1):
        try:
            cleaned_lines.append(_clean_line(raw, index, allowed))
        except ValidationErrors as exc:  # every problem of every position, each named
            for name, message in exc.errors.items():
                errors.add(name, message)
    out["lines"] = cleaned_lines
    errors.raise_if_any()
    return out


# What a user types into a row; unit, tax and discount kind come prefilled in a new row.
TYPED_LINE_FIELDS = ("description", "quantity", "unit_price", "discount_value", "discount_reason")


def _non_empty(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop rows nobody typed into; a row with anything typed in it is checked (and an
    incomplete one named), never dropped."""

    def filled(row: dict[str, Any]) -> bool:
        return any(_text(row.get(k)) not in ("", "None") for k in TYPED_LINE_FIELDS)

    return [r for r in rows if filled(r)]


def save_draft(
    session: Session,
    *,
    invoice_id: int | None = None,
    version: int | None = None,
    actor: str = "",
    as_of: date | None = None,
    **values: Any,
) -> Invoice:
    """Create or update a draft; totals are recomputed, never taken from the caller."""
    unknown = set(values) - {*DRAFT_FIELDS, "lines"}
    if unknown:  # totals and numbers are never taken from the caller
        raise TypeError(f"save_draft() got unexpected fields {sorted(unknown)}")
    day = as_of or today()
    allowed = allowed_tax_options(session, day)
    if not allowed:
        raise KmsError(
            "Für das Rechnungsdatum ist keine Besteuerung hinterlegt (Einstellungen → "
            "Besteuerung): ohne sie ist unklar, ob Umsatzsteuer berechnet wird."
        )
    data = _clean_draft(session, values, allowed)
    if invoice_id is None:
        invoice = Invoice(kind=KIND_INVOICE)
        session.add(invoice)
        action = "created"
    else:
        invoice = get_invoice(session, invoice_id)
        if invoice.is_issued:
            raise ImmutableInvoiceError()
        if version is not None and invoice.version != version:
            raise ConflictError(
                "Dieser Entwurf wurde inzwischen anderswo gespeichert. Ihre Eingaben stehen "
                "noch im Formular; bitte laden Sie die Seite neu und übernehmen Sie sie."
            )
        action = "updated"
    lines = data.pop("lines")
    for key, value in data.items():
        setattr(invoice, key, value)
    invoice.lines = [InvoiceLine(**line) for line in lines]
    invoice.net_total, invoice.tax_total, invoice.gross_total = compute_totals(invoice)
    contact = session.get(Contact, invoice.contact_id)
    invoice.search_key = fold(
        contact.display_name if contact else "", *(ln["description"] for ln in lines)
    )[:1000]
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError("Der Entwurf wurde gleichzeitig geändert. Bitte neu laden.") from exc
    if action == "created":
        audit.record(
            session,
            entity=ENTITY,
            entity_id=invoice.id,
            action=action,
            actor=actor,
            contact_id=invoice.contact_id,
            gross=invoice.gross_total,
        )
    return invoice


def delete_draft(session: Session, invoice_id: int, *, actor: str = "") -> None:
    """Delete a draft (it has no number yet); issued invoices are refused."""
    invoice = get_invoice(session, invoice_id)
    if invoice.is_issued:
        raise ImmutableInvoiceError()
    session.delete(invoice)
    session.flush()
    audit.record(session, entity=ENTITY, entity_id=invoice_id, action="draft_deleted", actor=actor)


def get_invoice(session: Session, invoice_id: int) -> Invoice:
    """An invoice or draft by id, or a German error."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFoundError("Diese Rechnung gibt es nicht (mehr).")
    return invoice


def get_by_number(session: Session, number: str) -> Invoice:
    """An issued invoice or Stornorechnung by its number."""
    invoice = session.scalar(select(Invoice).where(Invoice.number == number.strip()))
    if invoice is None:
        raise NotFoundError(f"Eine Rechnung mit der Nummer „{number}“ gibt es nicht.")
    return invoice


def customer_choices(session: Session, *, limit: int = 500) -> dict[int, str]:
    """id → "name (city)" of active contacts other than the owner, for the draft's customer."""
    rows = session.execute(
        select(
            Contact.id,
            Contact.kind,
            Contact.name,
            Contact.first_name,
            Contact.last_name,
            Contact.city,
        )
        .where(Contact.archived_at.is_(None), Contact.is_owner.is_(False))
        .order_by(Contact.name, Contact.last_name)
        .limit(limit)
    ).all()
    return {
        r[0]: (r[2] if r[1] == "organisation" else f"{r[3]} {r[4]}".strip())
        + (f" ({r[5]})" if r[5] else "")
        for r in rows
    }


def customer_name(session: Session, invoice: Invoice) -> str:
    """The display name of the invoice's customer ("" when the contact is gone)."""
    contact = session.get(Contact, invoice.contact_id)
    return contact.display_name if contact else ""


def count_invoices_for_contact(session: Session, contact_id: int) -> int:
    """Invoices and drafts of a contact (contacts with invoices are archived, not deleted)."""
    return (
        session.scalar(
            select(func.count()).select_from(Invoice).where(Invoice.contact_id == contact_id)
        )
        or 0
    )


# --- derived status -----------------------------------------------------------------


def paid_expr(invoice_id: Any) -> ColumnElement[Any]:
    """Settled amount of an invoice in integer cents: payments (without overpayment) + Skonto."""
    return func.coalesce(
        select(func.sum(Payment.amount - Payment.overpayment + Payment.skonto))
        .where(Payment.invoice_id == invoice_id)
        .correlate_except(Payment)
        .scalar_subquery(),
        0,
    )


def raw_cents(column: Any) -> ColumnElement[int]:
    """A Money column as its stored integer cents (for SQL arithmetic and sums)."""
    return type_coerce(column, BigInteger())


def status_expr(day: date) -> ColumnElement[str]:
    """The status of every row as SQL: derived from dates and payments, never stored."""
    storno = aliased(Invoice)
    cancelled = exists().where(storno.cancels_id == Invoice.id)
    paid = paid_expr(Invoice.id)
    gross = raw_cents(Invoice.gross_total)
    return case(
        (Invoice.issued_at.is_(None), literal("entwurf")),
        (Invoice.kind == KIND_CANCELLATION, literal("storno")),
        (cancelled, literal("storniert")),
        (paid >= gross, literal("bezahlt")),
        (Invoice.due_date < day, literal("ueberfaellig")),
        (paid > 0, literal("teilweise")),
        else_=literal("offen"),
    )


def status_of(session: Session, invoice: Invoice, day: date | None = None) -> str:
    """The derived status key of one invoice (see STATUS_LABELS)."""
    return (
        session.scalar(select(status_expr(day or today())).where(Invoice.id == invoice.id))
        or "entwurf"
    )


def settled_amount(session: Session, invoice_id: int) -> Decimal:
    """Payments (without overpayments) plus granted Skonto of an invoice."""
    cents = session.scalar(select(paid_expr(invoice_id)))
    return (Decimal(int(cents or 0)) / 100).quantize(Decimal("0.01"))


def open_amount(session: Session, invoice: Invoice) -> Decimal:
    """What is still to be paid (0 for drafts, cancellations and cancelled invoices)."""
    if not invoice.is_issued or invoice.is_cancellation:
        return ZERO
    if session.scalar(select(Invoice.id).where(Invoice.cancels_id == invoice.id)) is not None:
        return ZERO
    return max(ZERO, invoice.gross_total - settled_amount(session, invoice.id))


# --- list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceRow:
    """One row of the invoice list."""

    id: int
    number: str | None
    kind: str
    issue_date: date | None
    due_date: date | None
    customer: str
    contact_id: int
    gross: Decimal
    open: Decimal
    status: str
    sent: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class InvoicePage:
    """One page of the list plus the sums over all matching rows."""

    items: list[InvoiceRow]
    total: int
    page: int
    page_size: int
    sum_gross: Decimal
    sum_open: Decimal

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def from_cents(value: Any) -> Decimal:
    """Integer cents from SQL (or None) as a Decimal euro amount."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def list_invoices(
    session: Session,
    *,
    status: str | None = None,
    year: int | None = None,
    contact_id: int | None = None,
    search: str = "",
    page: int = 1,
    page_size: int = 25,
    day: date | None = None,
) -> InvoicePage:
    """Filter, search, sum and page in SQL; newest first, drafts on top."""
    from kms.modules.invoices.models import Sending

    day = day or today()
    status_col = status_expr(day).label("status")
    paid = paid_expr(Invoice.id)
    gross_cents = raw_cents(Invoice.gross_total)
    open_col = case(
        (status_col.element.in_(["offen", "teilweise", "ueberfaellig"]), gross_cents - paid),
        else_=0,
    )
    customer = case(
        (Contact.kind == "organisation", Contact.name),
        else_=func.trim(Contact.first_name + literal(" ") + Contact.last_name),
    )
    sent = exists().where(Sending.invoice_id == Invoice.id, Sending.reminder_id.is_(None))
    base = select(Invoice.id).join(Contact, Contact.id == Invoice.contact_id)
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(status_col.element == status)
    if year:
        # Drafts have no Rechnungsdatum yet, so a year filter shows issued documents only.
        conditions.append(
            and_(Invoice.issue_date >= date(year, 1, 1), Invoice.issue_date <= date(year, 12, 31))
        )
    if contact_id:
        conditions.append(Invoice.contact_id == contact_id)
    for term in fold(search).split():
        conditions.append(
            or_(
                Invoice.search_key.contains(term, autoescape=True),
                func.lower(func.coalesce(Invoice.number, "")).contains(term, autoescape=True),
                Contact.search_key.contains(term, autoescape=True),
            )
        )
    filtered = base.where(*conditions).subquery()
    # The sum counts issued invoices that stand (not drafts, cancellations or cancelled ones).
    counted = status_col.element.in_(["offen", "teilweise", "ueberfaellig", "bezahlt"])
    stats = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((counted, gross_cents), else_=0)), 0),
            func.coalesce(func.sum(open_col), 0),
        )
        .select_from(Invoice)
        .where(Invoice.id.in_(select(filtered.c.id)))
    ).one()
    page = max(1, page)
    rows = session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.kind,
            Invoice.issue_date,
            Invoice.due_date,
            customer,
            Invoice.contact_id,
            Invoice.gross_total,
            open_col,
            status_col,
            sent,
        )
        .join(Contact, Contact.id == Invoice.contact_id)
        .where(Invoice.id.in_(select(filtered.c.id)))
        .order_by(Invoice.issued_at.is_not(None), Invoice.issue_date.desc(), Invoice.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    items = [
        InvoiceRow(
            id=r[0],
            number=r[1],
            kind=r[2],
            issue_date=r[3],
            due_date=r[4],
            customer=r[5] or "",
            contact_id=r[6],
            gross=r[7],
            open=from_cents(r[8]),
            status=r[9],
            sent=bool(r[10]),
        )
        for r in rows
    ]
    return InvoicePage(
        items, int(stats[0]), page, page_size, from_cents(stats[1]), from_cents(stats[2])
    )


def invoice_years(session: Session) -> list[int]:
    """Years that have issued invoices, newest first (for the year filter)."""
    years = {d.year for d in session.scalars(select(Invoice.issue_date).distinct()) if d}
    return sorted(years, reverse=True)
