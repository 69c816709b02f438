"""Rechnungen: drafts with computed totals, the derived status, lists and sums in SQL.

Totals are never typed: every save recomputes each line's net amount (quantity × unit
price − discount, rounded half-up to cents) and the VAT per (category, rate) group with
the EN 16931 calculation in `kms.einvoice.calc`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    outerjoin,
    select,
    union,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from kms import audit, querycache
from kms.db import execute_kept, inline
from kms.einvoice.calc import allowance_amounts, line_amounts, tax_groups
from kms.einvoice.model import (
    ALLOWANCE_DISCOUNT,
    CHARGE_FREIGHT,
    GERMAN_UNITS,
    DocumentAllowance,
    Line,
    LineAllowance,
    TaxCategory,
)
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
from kms.modules.contacts.service import clean_einvoice_format
from kms.modules.contacts.service import search_key as fold
from kms.modules.invoices.models import (
    BILLING_CORRECTION,
    BILLING_FINAL,
    KIND_CANCELLATION,
    KIND_INVOICE,
    Article,
    ImmutableInvoiceError,
    Invoice,
    InvoiceAllowance,
    InvoiceLine,
    Payment,
    PositionColumns,
    SepaMandate,
)
from kms.modules.invoices.quotes.models import Quote
from kms.modules.settings.taxation import regime_on
from kms.paging import Page, clamp
from kms.permissions import Permission, require_permission
from kms.rendering.glyphs import validate_printable
from kms.types import from_cents, raw_cents, today
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
    "korrektur": "Rechnungskorrektur",
}
# Statuses with cents still to be paid, and those that count in turnover sums (invoices
# that stand and their Rechnungskorrekturen; a reduction counts negative).
OPEN_STATUSES = ("offen", "teilweise", "ueberfaellig")
STANDING_STATUSES = (*OPEN_STATUSES, "bezahlt", "korrektur")
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
    "einvoice_format",
    "sepa_mandate_id",
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


def tax_key(line: PositionColumns | InvoiceAllowance | Article) -> str:
    """The drop-down key of a stored line, e.g. "S19"."""
    if line.tax_category == TaxCategory.STANDARD.value:
        return f"S{int(line.tax_rate)}" if line.tax_rate == int(line.tax_rate) else "S19"
    return line.tax_category


# Document level allowances (Rabatt, BG-20) and charges (Zuschlag, BG-21) a German seller
# commonly uses, with their reason codes (UNTDID 5189 / 7161); any other reason is free text.
ALLOWANCE_PRESETS: dict[str, tuple[bool, str]] = {
    "Gesamtrabatt": (False, ALLOWANCE_DISCOUNT),
    "Versandkosten": (True, CHARGE_FREIGHT),
    "Mindermengenzuschlag": (True, ""),
}
ALLOWANCE_KINDS = {"amount": "€", "percent": "%"}


# --- lines and totals ---------------------------------------------------------------


def to_einvoice_line(line: PositionColumns, number: int) -> Line:
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


def to_einvoice_allowance(row: InvoiceAllowance) -> DocumentAllowance:
    """The EN 16931 document allowance or charge of a stored row."""
    value = row.value
    return DocumentAllowance(
        charge=row.charge,
        reason=row.reason,
        tax_category=TaxCategory(row.tax_category),
        tax_rate=row.tax_rate,
        amount=value if row.kind == "amount" else None,
        percent=value if row.kind == "percent" else None,
        reason_code=row.reason_code or None,
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
        validate_printable(out["description"], field="description")
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
        validate_printable(out["discount_reason"], field="discount_reason")
    for name, message in errors.errors.items():
        if not message.startswith(pos):
            errors.errors[name] = f"{pos}: {message}"
    errors.raise_if_any()
    return out


def _cell(value: Any) -> Any:
    """An editor cell: None for empty and NaN (pandas fills empty cells with NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value


def _truthy(value: Any) -> bool:
    """A checkbox or "Zuschlag"/"Rabatt" text as bool (True = charge)."""
    if isinstance(value, str):
        return value.strip().casefold() in ("zuschlag", "true", "1", "ja")
    return bool(value)


def _clean_allowance(raw: dict[str, Any], index: int, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Validate one document allowance or charge; messages name "Rabatt/Zuschlag n"."""
    pos = f"Rabatt/Zuschlag {index}"
    errors = FieldErrors()
    raw = {k: _cell(v) for k, v in raw.items()}
    reason = " ".join(str(raw.get("reason") or "").split())[:200]
    preset = ALLOWANCE_PRESETS.get(reason)
    charge = _truthy(raw.get("charge")) if raw.get("charge") not in (None, "") else None
    if charge is None:
        charge = preset[0] if preset else False
    out: dict[str, Any] = {"position": index, "charge": charge, "reason": reason}
    # The code only where the preset's direction matches (a "Versandkosten" allowance is odd).
    out["reason_code"] = preset[1] if preset and preset[0] == charge else ""
    with errors.field(f"allowance{index}.reason"):
        if not reason:  # [BR-33] / [BR-38] a reason text or code is mandatory
            raise ValidationError(
                "reason", f"{pos}: Bitte einen Grund angeben (z. B. Gesamtrabatt, Versandkosten)."
            )
    with errors.field(f"allowance{index}.value"):
        kind = str(raw.get("kind") or "amount")
        kind = next((k for k, label in ALLOWANCE_KINDS.items() if kind in (k, label)), "")
        if not kind:
            raise ValidationError("kind", f"{pos}: Bitte € (Betrag) oder % wählen.")
        value = _decimal(raw.get("value"), "value", 2)
        if value is None or value <= 0:
            raise ValidationError("value", f"{pos}: Bitte einen Betrag oder Prozentsatz über 0.")
        if kind == "percent" and value > 100:
            raise ValidationError("value", f"{pos}: Höchstens 100 %.")
        out["kind"], out["value"] = kind, value
    with errors.field(f"allowance{index}.tax"):
        key = str(raw.get("tax") or "")
        key = next((k for k, o in TAX_OPTIONS.items() if key in (k, o.label)), key)
        if key not in allowed:
            raise ValidationError(
                "tax",
                f"{pos}: Bitte den Steuersatz wählen, den Ihre Besteuerung am Rechnungsdatum "
                "erlaubt (der Rabatt oder Zuschlag gehört zu den Positionen dieses Satzes).",
            )
        option = TAX_OPTIONS[key]
        out["tax_category"], out["tax_rate"] = option.category.value, option.rate
    for name, message in errors.errors.items():
        if not message.startswith(pos):
            errors.errors[name] = f"{pos}: {message}"
    errors.raise_if_any()
    return out


def compute_totals(invoice: Invoice | Quote) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) of an invoice or quote; sets each line's net and allowance's amount.

    "net" is the taxable total (BT-109): line nets minus allowances plus charges.
    """
    amounts = []
    positions: list[PositionColumns] = list(invoice.lines)
    for number, line in enumerate(positions, start=1):
        try:
            result = line_amounts(to_einvoice_line(line, number))
        except ValueError as exc:
            raise ValidationError(
                "lines", f"Position {number}: Der Rabatt ist höher als der Positionsbetrag."
            ) from exc
        line.net = result.net
        amounts.append(result)
    rows = list(invoice.allowances)
    extras = []
    for number, row in enumerate(rows, start=1):
        try:
            (extra,) = allowance_amounts([to_einvoice_allowance(row)], amounts)
        except ValueError as exc:
            raise ValidationError(
                "allowances",
                f"Rabatt/Zuschlag {number}: Es gibt keine Position mit "
                f"„{TAX_OPTIONS[tax_key(row)].label}“, von der die Prozente berechnet werden "
                "können. Bitte einen Betrag in € angeben oder den Steuersatz ändern.",
            ) from exc
        row.amount = extra.amount
        extras.append(extra)
    try:
        groups = tax_groups(amounts, allowances=extras)
    except ValueError as exc:
        raise ValidationError(
            "allowances",
            "Die Rabatte sind höher als die Positionen desselben Steuersatzes: der Betrag "
            "eines Steuersatzes darf nicht negativ werden.",
        ) from exc
    net = sum((a.net for a in amounts), ZERO) + sum((e.signed for e in extras), ZERO)
    tax = sum((g.tax for g in groups), ZERO)
    return net, tax, net + tax


def amount_problem(invoice: Invoice) -> str:
    """Why the draft's total cannot be issued ("" if it can). A Rechnungskorrektur may be
    negative (a reduction of the corrected invoice) or zero (only its details change)."""
    if invoice.is_correction or invoice.gross_total > 0:
        return ""
    return total_problem(invoice.gross_total)


def total_problem(gross: Decimal) -> str:
    """Why an invoice total of zero or below cannot be issued (German, for every path)."""
    return (
        f"Der Rechnungsbetrag ist {format_money(gross)}: eine Rechnung muss einen Betrag über "
        "0 € haben. Einzelne Positionen dürfen negativ sein (z. B. ein Abzug), die Summe nicht. "
        "Eine Gutschrift an den Kunden entsteht durch ▶ Stornieren, ▶ Korrigieren oder "
        "▶ Teilkorrektur erstellen bei der ursprünglichen Rechnung."
    )


# --- drafts -------------------------------------------------------------------------


def _clean_draft(session: Session, values: dict[str, Any], allowed: tuple[str, ...]) -> dict:
    """Validate the header fields of a draft; all problems at once."""
    errors = FieldErrors()
    out: dict[str, Any] = {}
    contact = None
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
    for name in ("intro_text", "closing_text"):
        out[name] = str(values.get(name) or "").strip()
        with errors.field(name):
            validate_printable(out[name], field=name)
    with errors.field("einvoice_format"):
        chosen = values.get("einvoice_format")
        if not chosen and contact is not None:
            chosen = contact.einvoice_format  # the customer's format is the default
        out["einvoice_format"] = clean_einvoice_format(str(chosen or ""))
    with errors.field("buyer_reference"):
        reference = str(values.get("buyer_reference") or "").strip()
        xrechnung = out.get("einvoice_format", "facturx") != "facturx"
        if reference and xrechnung and reference[0].isdigit():
            reference = validate_leitweg_id(reference, field="buyer_reference")
        out["buyer_reference"] = reference[:60]
    with errors.field("sepa_mandate_id"):
        out["sepa_mandate_id"] = _clean_mandate(session, values.get("sepa_mandate_id"), contact)
    raw_lines = list(values.get("lines") or [])
    cleaned_lines = []
    for index, raw in enumerate(_non_empty(raw_lines), start=1):
        try:
            cleaned_lines.append(_clean_line(raw, index, allowed))
        except ValidationErrors as exc:  # every problem of every position, each named
            for name, message in exc.errors.items():
                errors.add(name, message)
    out["lines"] = cleaned_lines
    cleaned_allowances = []
    for index, raw in enumerate(_non_empty_allowances(values.get("allowances")), start=1):
        with errors.field(f"allowance{index}"):
            cleaned_allowances.append(_clean_allowance(raw, index, allowed))
    out["allowances"] = cleaned_allowances
    errors.raise_if_any()
    return out


def _clean_mandate(session: Session, raw: Any, contact: Contact | None) -> int | None:
    """The SEPA mandate to collect the invoice under: the customer's, and still valid."""
    if raw in (None, "", 0):
        return None
    if contact is None:
        return None  # the missing customer is reported already
    from kms.modules.invoices.sepa.service import mandate_problem

    problem = mandate_problem(session, int(raw), contact.id, today())
    if problem:
        raise ValidationError("sepa_mandate_id", problem)
    return int(raw)


def _non_empty_allowances(rows: Any) -> list[dict[str, Any]]:
    """Drop allowance rows the editor left without reason and value."""

    def filled(row: dict[str, Any]) -> bool:
        return any(
            str(row.get(k) or "").strip() not in ("", "nan", "None") for k in ("reason", "value")
        )

    return [r for r in list(rows or []) if filled(r)]


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
    require_permission(Permission.INVOICES_WRITE, session)
    unknown = set(values) - {*DRAFT_FIELDS, "lines", "allowances"}
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
    allowances = data.pop("allowances")
    for key, value in data.items():
        setattr(invoice, key, value)
    invoice.lines = [InvoiceLine(**line) for line in lines]
    invoice.allowances = [InvoiceAllowance(**row) for row in allowances]
    if invoice.billing == BILLING_FINAL:
        # A Schlussrechnung keeps its deductions, recomputed from the order's advances.
        from kms.modules.invoices.advance import attach_deductions  # builds on this module

        attach_deductions(session, invoice)
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
    require_permission(Permission.INVOICES_WRITE, session)
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
    """Invoices, drafts, SEPA mandates and quotes of a contact (such contacts are archived,
    not deleted)."""
    invoices = session.scalar(
        select(func.count()).select_from(Invoice).where(Invoice.contact_id == contact_id)
    )
    mandates = session.scalar(
        select(func.count()).select_from(SepaMandate).where(SepaMandate.contact_id == contact_id)
    )
    quotes = session.scalar(
        select(func.count()).select_from(Quote).where(Quote.contact_id == contact_id)
    )
    return (invoices or 0) + (mandates or 0) + (quotes or 0)


# --- derived status -----------------------------------------------------------------

# The status builders below use the tables' plain columns, not the ORM attributes: the SQL
# is the same, and SQLAlchemy's cache key, computed and hashed on every execution of a
# statement, is a third smaller without the ORM annotations on every column.
_INVOICES = Invoice.__table__
_PAYMENTS = Payment.__table__


def paid_expr(invoice_id: Any) -> ColumnElement[Any]:
    """Settled amount of an invoice in integer cents: payments (without overpayment) + Skonto."""
    payment = _PAYMENTS.c
    return func.coalesce(
        select(func.sum(payment.amount - payment.overpayment + payment.skonto))
        .where(payment.invoice_id == invoice_id)
        .correlate_except(_PAYMENTS)
        .scalar_subquery(),
        inline(0),
    )


def corrections_expr(invoice_id: Any) -> ColumnElement[Any]:
    """Gross of the issued Rechnungskorrekturen of an invoice in integer cents (0 without)."""
    corrections = _INVOICES.alias()
    correction = corrections.c
    return func.coalesce(
        select(func.sum(raw_cents(correction.gross_total)))
        .where(
            correction.corrects_id == invoice_id,
            correction.billing == inline(BILLING_CORRECTION),
            correction.issued_at.is_not(None),
        )
        .correlate_except(corrections)
        .scalar_subquery(),
        inline(0),
    )


def _status_case(
    day: date, paid: ColumnElement[Any], cancelled: ColumnElement[bool], owed: ColumnElement[Any]
) -> ColumnElement[str]:
    """The derived status from the row, its settled cents, whether a Storno cancels it and
    the cents owed (gross plus its issued Rechnungskorrekturen). Constants are inlined
    (`kms.db.inline`): only the day is a parameter."""
    invoice = _INVOICES.c
    return case(
        (invoice.issued_at.is_(None), inline("entwurf")),
        (invoice.kind == inline(KIND_CANCELLATION), inline("storno")),
        # A correction is settled through the invoice it corrects, never paid by itself.
        (invoice.billing == inline(BILLING_CORRECTION), inline("korrektur")),
        (cancelled, inline("storniert")),
        (paid >= owed, inline("bezahlt")),
        (invoice.due_date < day, inline("ueberfaellig")),
        (paid > inline(0), inline("teilweise")),
        else_=inline("offen"),
    )


def owed_expr() -> ColumnElement[Any]:
    """Cents an `Invoice` row asks for: its gross plus its issued Rechnungskorrekturen
    (correlated subquery: for single rows; lists and sums use `status_source`)."""
    return raw_cents(_INVOICES.c.gross_total) + corrections_expr(_INVOICES.c.id)


# status_expr, status_source and _row_open build the same immutable SQL constructs for the
# same day: building them (aliases, subqueries, ORM adaptation) was most of the Rechnungen
# search's time, so each is built once per day.
@lru_cache(maxsize=4)
def status_expr(day: date) -> ColumnElement[str]:
    """The status of one row as SQL (correlated subqueries: for a single invoice only;
    lists and sums use `status_source`)."""
    storno = _INVOICES.alias()
    return _status_case(
        day,
        paid_expr(_INVOICES.c.id),
        exists().where(storno.c.cancels_id == _INVOICES.c.id),
        owed_expr(),
    )


@dataclass(frozen=True)
class StatusSource:
    """Invoices joined once to their payment totals and their Storno, for lists and sums.

    One aggregate over the payments and one outer join replace the per-row subqueries, so
    a list or the Übersicht reads payments once instead of once per invoice and column.
    """

    source: Any  # FromClause: invoices ⟕ paid totals ⟕ Storno ⟕ correction totals
    status: ColumnElement[str]
    paid: ColumnElement[Any]  # settled integer cents (0 without payments)
    owed: ColumnElement[Any]  # gross plus issued Rechnungskorrekturen, integer cents

    @property
    def open(self) -> ColumnElement[Any]:
        """Cents still to be paid while the status is open (meaningless otherwise)."""
        return self.owed - self.paid


@lru_cache(maxsize=4)
def status_source(day: date) -> StatusSource:
    """`Invoice` with its derived status and settled cents as joinable columns."""
    paid = (
        select(
            Payment.invoice_id.label("invoice_id"),
            func.sum(
                raw_cents(Payment.amount)
                - raw_cents(Payment.overpayment)
                + raw_cents(Payment.skonto)
            ).label("cents"),
        )
        .group_by(Payment.invoice_id)
        .subquery("paid_totals")
    )
    correction = aliased(Invoice, name="correction")
    corrected = (
        select(
            correction.corrects_id.label("invoice_id"),
            func.sum(raw_cents(correction.gross_total)).label("cents"),
        )
        .where(correction.billing == inline(BILLING_CORRECTION), correction.issued_at.is_not(None))
        .group_by(correction.corrects_id)
        .subquery("correction_totals")
    )
    storno = aliased(Invoice, name="storno")
    source = (
        outerjoin(Invoice, paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(storno, storno.cancels_id == Invoice.id)
        .outerjoin(corrected, corrected.c.invoice_id == Invoice.id)
    )
    paid_cents = func.coalesce(paid.c.cents, inline(0))
    owed = raw_cents(Invoice.gross_total) + func.coalesce(corrected.c.cents, inline(0))
    status = _status_case(day, paid_cents, storno.id.is_not(None), owed)
    return StatusSource(source, status, paid_cents, owed)


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


def owed_amount(session: Session, invoice: Invoice) -> Decimal:
    """The gross an invoice asks for: its own plus that of its issued Rechnungskorrekturen."""
    cents = session.scalar(select(corrections_expr(invoice.id)))
    return invoice.gross_total + from_cents(cents)


def open_amount(session: Session, invoice: Invoice) -> Decimal:
    """What is still to be paid (0 for drafts, cancellations, cancelled invoices and
    Rechnungskorrekturen, which count towards the invoice they correct)."""
    if not invoice.is_issued or invoice.is_cancellation or invoice.is_correction:
        return ZERO
    if session.scalar(select(Invoice.id).where(Invoice.cancels_id == invoice.id)) is not None:
        return ZERO
    return max(ZERO, owed_amount(session, invoice) - settled_amount(session, invoice.id))


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
class InvoiceList:
    """One page of the invoice list plus the sums over all matching invoices."""

    page: Page[InvoiceRow]
    sum_gross: Decimal
    sum_open: Decimal


@lru_cache(maxsize=4)
def _row_open(day: date) -> ColumnElement[Any]:
    """Cents still open of one row while its status is open, else 0 (per-row subqueries)."""
    return case(
        (
            status_expr(day).in_([inline(c) for c in OPEN_STATUSES]),
            owed_expr() - paid_expr(Invoice.id),
        ),
        else_=inline(0),
    )


# The list's order: drafts on top, then newest first.
_LIST_ORDER = (
    _INVOICES.c.issued_at.is_not(None),
    _INVOICES.c.issue_date.desc(),
    _INVOICES.c.id.desc(),
)


@lru_cache(maxsize=4)
def _list_rows(day: date) -> Select[Any]:
    """The columns of a list row (status, open cents and "sent" as per-row subqueries, for
    a page or a handful of rows) over invoices joined to their customer; built once per day
    like `status_expr`, from plain columns like it."""
    from kms.modules.invoices.models import Sending

    invoice, contact, sending = _INVOICES.c, Contact.__table__.c, Sending.__table__.c
    customer = case(
        (contact.kind == inline("organisation"), contact.name),
        else_=func.trim(contact.first_name + inline(" ") + contact.last_name),
    )
    sent = exists().where(sending.invoice_id == invoice.id, sending.reminder_id.is_(None))
    return select(
        invoice.id,
        invoice.number,
        invoice.kind,
        invoice.issue_date,
        invoice.due_date,
        customer,
        invoice.contact_id,
        invoice.gross_total,
        status_expr(day),
        owed_expr(),
        paid_expr(invoice.id),
        sent,
    )


@lru_cache(maxsize=4)
def _rows_by_number(day: date) -> Select[Any]:
    """The list rows of the invoices numbered :typed or :upper. Built once per day, so each
    search by number reuses SQLAlchemy's cache key and compiled SQL: one indexed statement
    whose only parameters are the day and the two spellings."""
    invoice = _INVOICES.c
    return (
        _list_rows(day)
        .select_from(
            _INVOICES.join(Contact.__table__, Contact.__table__.c.id == invoice.contact_id)
        )
        .where(invoice.number.in_([bindparam("typed"), bindparam("upper")]))
        .order_by(*_LIST_ORDER)
    )


def _list_row(r: Any) -> InvoiceRow:
    return InvoiceRow(
        id=r[0],
        number=r[1],
        kind=r[2],
        issue_date=r[3],
        due_date=r[4],
        customer=r[5] or "",
        contact_id=r[6],
        gross=r[7],
        # Owed minus settled while open, as `_row_open` and `StatusSource.open` compute it.
        open=from_cents(r[9] - r[10]) if r[8] in OPEN_STATUSES else ZERO,
        status=r[8],
        sent=bool(r[11]),
    )


_DIGIT = re.compile(r"\d")  # invoice numbers hold one; a plain word is no number


def _one_number(search: str) -> str | None:
    """The search's one word when it could be an invoice number (it holds a digit)."""
    words = search.split()
    return words[0] if len(words) == 1 and _DIGIT.search(words[0]) else None


def _by_number(
    session: Session, word: str, page: int, page_size: int, day: date
) -> InvoiceList | None:
    """The list for a search that is one complete invoice number (as typed or upper-cased),
    in a single statement; None when `word` numbers no invoice. Count and sums come from
    the rows themselves, computed as the list's SQL sums compute them."""
    found = execute_kept(session, _rows_by_number(day), {"typed": word, "upper": word.upper()})
    items = [_list_row(r) for r in found.all()]
    if not items:
        return None
    page = clamp(page, len(items), page_size)
    return InvoiceList(
        Page(items[(page - 1) * page_size : page * page_size], len(items), page, page_size),
        sum((i.gross for i in items if i.status in STANDING_STATUSES), ZERO),
        sum((i.open for i in items), ZERO),
    )


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
) -> InvoiceList:
    """Filter, search, sum and page in SQL; newest first, drafts on top."""
    day = day or today()
    page_size = max(1, page_size)
    # Pasting an invoice number is the usual search: it names one invoice, found with one
    # indexed statement. With other filters too, the general path below decides.
    word = _one_number(search)
    if word and not (status or year or contact_id):
        by_number = _by_number(session, word, page, page_size, day)
        if by_number is not None:
            return by_number
        exact: dict[str, str] = {}  # the one word numbers no invoice (asked just now)
    else:
        exact = _exact_numbers(session, search)
    facts = status_source(day)
    gross_cents = raw_cents(Invoice.gross_total)
    open_col = case(
        (facts.status.in_([inline(c) for c in OPEN_STATUSES]), facts.open),
        else_=inline(0),
    )
    terms = fold(search).split()
    conditions: list[ColumnElement[bool]] = []
    if status:
        conditions.append(facts.status == status)
    if year:
        # Drafts have no Rechnungsdatum yet, so a year filter shows issued documents only.
        conditions.append(
            and_(Invoice.issue_date >= date(year, 1, 1), Invoice.issue_date <= date(year, 12, 31))
        )
    if contact_id:
        conditions.append(Invoice.contact_id == contact_id)
    for term in terms:
        if term in exact:
            # A complete invoice number names one invoice: the unique index finds it
            # instead of a substring scan over every invoice (and its customer).
            conditions.append(Invoice.number == exact[term])
        else:
            conditions.append(Invoice.id.in_(_matching_ids(term)))
    # For one page the per-row subqueries are cheaper than the aggregate over all payments.
    row_status = status_expr(day)
    row_open = _row_open(day)
    # Sums: a search or a customer selects few rows, where per-row subqueries beat reading
    # all payments; over (nearly) everything the aggregate join wins.
    selective = bool(terms or contact_id) and not status
    sum_status, sum_open, sum_source = (
        (row_status, row_open, Invoice.__table__)
        if selective
        else (facts.status, open_col, facts.source)
    )
    # The sum counts issued invoices that stand (not drafts, cancellations or cancelled ones)
    # and their Rechnungskorrekturen (a reduction counts negative).
    counted = sum_status.in_([inline(c) for c in STANDING_STATUSES])
    stats_query = (
        select(
            func.count(),
            func.coalesce(func.sum(case((counted, gross_cents), else_=inline(0))), inline(0)),
            func.coalesce(func.sum(sum_open), inline(0)),
        )
        .select_from(sum_source)
        .where(*conditions)
    )
    if terms or contact_id:
        stats = tuple(session.execute(stats_query).one())
    else:
        # Over (nearly) all invoices the sums are the expensive part of every rerun: reuse
        # them while invoices and payments are unchanged (kms.querycache). The key holds
        # every filter that can reach this branch.
        stats = querycache.cached(
            session,
            ("invoices.list", status, year, day),
            (Invoice.__table__, Payment.__table__),
            lambda: tuple(session.execute(stats_query).one()),
        )
    total = int(stats[0])
    page = clamp(page, total, page_size)
    # Page the ids first; the per-row columns (status, open, sent) then cover one page only.
    # The ids need the payments and Storno join only to filter by status.
    id_source = facts.source if status else Invoice.__table__
    page_ids = (
        select(Invoice.id)
        .select_from(id_source)
        .where(*conditions)
        .order_by(*_LIST_ORDER)
        .offset((page - 1) * page_size)
        .limit(page_size)
        .subquery("page_ids")
    )
    rows = session.execute(
        _list_rows(day)
        .select_from(
            Invoice.__table__.join(Contact, Contact.id == Invoice.contact_id).join(
                page_ids, page_ids.c.id == Invoice.id
            )
        )
        .order_by(*_LIST_ORDER)
    )
    return InvoiceList(
        Page([_list_row(r) for r in rows], total, page, page_size),
        from_cents(stats[1]),
        from_cents(stats[2]),
    )


def _exact_numbers(session: Session, search: str) -> dict[str, str]:
    """Folded search term -> invoice number, for the words of `search` that are complete
    invoice numbers (as typed or upper-cased; numbers are unique, one indexed lookup)."""
    words = {w for word in search.split() for w in (word, word.upper()) if _DIGIT.search(w)}
    if not words:
        return {}
    found = session.scalars(select(Invoice.number).where(Invoice.number.in_(words))).all()
    return {fold(number): number for number in found if number}


def _matching_ids(term: str) -> Any:
    """Ids of invoices whose search key, number or customer contains `term`.

    A UNION of three narrow scans (the search_key and number indexes, and the customers'
    search keys) instead of an OR over the wide invoice rows, which hold the frozen snapshot:
    on 100,000 invoices that read every row and took seconds per search.
    """
    return union(
        select(Invoice.id).where(Invoice.search_key.contains(term, autoescape=True)),
        select(Invoice.id).where(
            func.lower(func.coalesce(Invoice.number, "")).contains(term, autoescape=True)
        ),
        select(Invoice.id).where(
            Invoice.contact_id.in_(
                select(Contact.id).where(Contact.search_key.contains(term, autoescape=True))
            )
        ),
    )


def invoice_years(session: Session) -> list[int]:
    """Years that have issued invoices, newest first (for the year filter)."""

    def compute() -> list[int]:
        years = {d.year for d in session.scalars(select(Invoice.issue_date).distinct()) if d}
        return sorted(years, reverse=True)

    return list(querycache.cached(session, "invoices.years", (Invoice.__table__,), compute))
