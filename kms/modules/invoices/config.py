"""Settings of the Rechnungen module: number ranges, default interest base, mail texts.

Stored as one JSON row in key_values; every value has a sensible default, so invoices work
before anyone opens the settings.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from kms.errors import FieldErrors, ValidationError
from kms.models import get_value, set_value
from kms.permissions import Permission, require_permission

SETTINGS_KEY = "invoices.settings"
RANGE_INVOICE = "rechnung"
RANGE_CANCELLATION = "storno"
RANGE_QUOTE = "angebot"
RANGES = {
    RANGE_INVOICE: "Rechnungen",
    RANGE_CANCELLATION: "Stornorechnungen",
    RANGE_QUOTE: "Angebote",
}

# Basiszinssatz nach § 247 BGB, published by the Deutsche Bundesbank every 1 January and
# 1 July. 1,27 % has applied since 1 July 2025; edit it in the settings when it changes.
BASE_RATE = Decimal("1.27")
BASE_RATE_SINCE = date(2025, 7, 1)

DEFAULT_MAIL_SUBJECT = "{dokument} {nummer}"
DEFAULT_MAIL_BODY = (
    "Guten Tag {anrede},\n\n"
    "anbei erhalten Sie {dokument_akk} {nummer} vom {datum} über {betrag}.\n\n"
    "Mit freundlichen Grüßen\n{absender}"
)

_PLACEHOLDER = re.compile(r"\{([A-Z]+)\}")
_ALLOWED_TEXT = re.compile(r"[A-Za-z0-9\-/_.#]*")


@dataclass(frozen=True)
class InvoiceSettings:
    """Everything the owner can configure for invoices and dunning."""

    invoice_format: str = "RE-{JJJJ}-{NNNN}"
    invoice_yearly: bool = True
    cancellation_format: str = "ST-{JJJJ}-{NNNN}"
    cancellation_yearly: bool = True
    base_rate: Decimal = BASE_RATE
    base_rate_since: date = BASE_RATE_SINCE
    reminder_days: int = 10  # new payment deadline in a reminder/dunning letter
    mail_subject: str = DEFAULT_MAIL_SUBJECT
    mail_body: str = DEFAULT_MAIL_BODY
    # Angebote an Kunden: their own number range and the default Gültig bis (days).
    quote_format: str = "AN-{JJJJ}-{NNNN}"
    quote_yearly: bool = True
    quote_valid_days: int = 30
    # SEPA Vorabankündigung (pre-notification): 14 calendar days before the collection date
    # unless a shorter period was agreed with the customers (SEPA rulebook, at least 1 day).
    sepa_notice_days: int = 14

    def number_format(self, range_key: str) -> tuple[str, bool]:
        """(format, yearly reset) of a number range."""
        if range_key == RANGE_CANCELLATION:
            return self.cancellation_format, self.cancellation_yearly
        if range_key == RANGE_QUOTE:
            return self.quote_format, self.quote_yearly
        return self.invoice_format, self.invoice_yearly


def get_settings(session: Session) -> InvoiceSettings:
    """The stored settings merged over the defaults."""
    data: dict[str, Any] = dict(get_value(session, SETTINGS_KEY) or {})
    base = InvoiceSettings()
    if "base_rate" in data:
        data["base_rate"] = Decimal(data["base_rate"])
    if "base_rate_since" in data:
        data["base_rate_since"] = date.fromisoformat(data["base_rate_since"])
    known = {k: v for k, v in data.items() if k in asdict(base)}
    return replace(base, **known)


def check_number_format(fmt: str, *, yearly: bool, field: str = "invoice_format") -> str:
    """Refuse formats that could repeat a number: one counter {N…}, {JJJJ} for a yearly reset."""
    fmt = fmt.strip()
    placeholders = _PLACEHOLDER.findall(fmt)
    counters = [p for p in placeholders if set(p) == {"N"}]
    unknown = [p for p in placeholders if p not in ("JJJJ", "JJ") and set(p) != {"N"}]
    if unknown:
        raise ValidationError(field, f"Unbekannter Platzhalter {{{unknown[0]}}} im Nummernformat.")
    if len(counters) != 1:
        raise ValidationError(field, "Das Nummernformat braucht genau einen Zähler, z. B. {NNNN}.")
    if yearly and "JJJJ" not in placeholders:
        raise ValidationError(
            field,
            "Ein jährlich neu beginnender Zähler braucht das Jahr {JJJJ} im Format, "
            "sonst würden sich Rechnungsnummern wiederholen.",
        )
    if not _ALLOWED_TEXT.fullmatch(_PLACEHOLDER.sub("", fmt)):
        raise ValidationError(
            field, "Erlaubt sind Buchstaben, Ziffern und - / _ . # neben den Platzhaltern."
        )
    if len(format_number(fmt, 2099, 10 ** len(counters[0]) - 1)) > 40:
        raise ValidationError(field, "Die Rechnungsnummer darf höchstens 40 Zeichen lang sein.")
    return fmt


def format_number(fmt: str, year: int, counter: int) -> str:
    """Fill a format: {JJJJ} → 2026, {JJ} → 26, {NNNN} → 0042 (longer numbers are kept)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "JJJJ":
            return f"{year:04d}"
        if name == "JJ":
            return f"{year % 100:02d}"
        return f"{counter:0{len(name)}d}"

    return _PLACEHOLDER.sub(fill, fmt)


def save_settings(session: Session, **values: Any) -> InvoiceSettings:
    """Validate and store; every problem is reported per field at once."""
    require_permission(Permission.SETTINGS, session)
    current = get_settings(session)
    merged = {**asdict(current), **values}
    errors = FieldErrors()
    with errors.field("invoice_format"):
        merged["invoice_format"] = check_number_format(
            str(merged["invoice_format"]), yearly=bool(merged["invoice_yearly"])
        )
    with errors.field("cancellation_format"):
        merged["cancellation_format"] = check_number_format(
            str(merged["cancellation_format"]),
            yearly=bool(merged["cancellation_yearly"]),
            field="cancellation_format",
        )
    with errors.field("quote_format"):
        merged["quote_format"] = check_number_format(
            str(merged["quote_format"]), yearly=bool(merged["quote_yearly"]), field="quote_format"
        )
        if _prefix(merged["quote_format"]) in {
            _prefix(str(merged["invoice_format"])),
            _prefix(str(merged["cancellation_format"])),
        }:
            raise ValidationError(
                "quote_format",
                "Angebote brauchen einen eigenen Nummernkreis, der sich von Rechnungsnummern "
                "unterscheidet (anderer fester Text, z. B. AN-).",
            )
    with errors.field("quote_valid_days"):
        if not 1 <= int(merged["quote_valid_days"]) <= 365:
            raise ValidationError(
                "quote_valid_days", "Die Gültigkeit eines Angebots muss 1 bis 365 Tage sein."
            )
    if not errors.errors.get("invoice_format") and not errors.errors.get("cancellation_format"):
        if _prefix(merged["invoice_format"]) == _prefix(merged["cancellation_format"]):
            errors.add(
                "cancellation_format",
                "Stornorechnungen brauchen einen eigenen Nummernkreis "
                "(anderer fester Text, z. B. ST-).",
            )
    with errors.field("base_rate"):
        try:
            rate = Decimal(str(merged["base_rate"]).replace(",", "."))
        except InvalidOperation:
            rate = Decimal("NaN")
        if not rate.is_finite() or not Decimal("-10") <= rate <= Decimal("20"):
            raise ValidationError("base_rate", "Bitte einen Basiszinssatz in Prozent angeben.")
        merged["base_rate"] = rate.quantize(Decimal("0.01"))
    with errors.field("sepa_notice_days"):
        if not 1 <= int(merged["sepa_notice_days"]) <= 14:
            raise ValidationError(
                "sepa_notice_days",
                "Die Vorabankündigung muss 1 bis 14 Tage vor dem Einzug erfolgen; kürzer als "
                "14 Tage nur, wenn mit den Kunden so vereinbart.",
            )
    with errors.field("reminder_days"):
        if not 1 <= int(merged["reminder_days"]) <= 60:
            raise ValidationError("reminder_days", "Die Zahlungsfrist muss 1 bis 60 Tage sein.")
    for name in ("mail_subject", "mail_body"):
        with errors.field(name):
            if not str(merged[name]).strip():
                raise ValidationError(name, "Bitte einen Text angeben.")
    errors.raise_if_any()
    stored = {
        **merged,
        "base_rate": str(merged["base_rate"]),
        "base_rate_since": merged["base_rate_since"].isoformat(),
    }
    set_value(session, SETTINGS_KEY, stored)
    session.flush()
    return get_settings(session)


def _prefix(fmt: str) -> str:
    """The literal text of a format (without placeholders): ranges must differ in it."""
    return _PLACEHOLDER.sub("", fmt)
