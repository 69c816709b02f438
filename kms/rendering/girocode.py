"""GiroCode: the EPC069-12 QR code for SEPA credit transfers, as payload text and PNG bytes."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import segno.helpers
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from kms.rendering.errors import RenderError

# EPC069-12 limits (version 002, character set 1 = UTF-8).
MAX_NAME = 70
MAX_REMITTANCE = 140
MAX_PAYLOAD_BYTES = 331
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
_PURPOSE = re.compile(r"^[A-Z0-9]{4}$")


@dataclass(frozen=True)
class GiroCode:
    """A SEPA credit transfer request; amount is a Decimal in euro."""

    name: str
    iban: str
    amount: Decimal
    remittance: str
    bic: str = ""
    purpose: str = ""


def girocode_payload(code: GiroCode) -> str:
    """The EPC069-12 payload lines, exactly as encoded in the QR code."""
    return "\n".join(_payload_lines(validate_girocode(code)))


def _payload_lines(valid: GiroCode) -> list[str]:
    """Payload fields of an already validated code, in EPC069-12 order."""
    return [
        "BCD",  # service tag
        "002",  # version 002: BIC optional inside the EEA
        "1",  # character set 1 = UTF-8
        "SCT",  # SEPA credit transfer
        valid.bic,
        valid.name,
        valid.iban,
        _amount_field(valid.amount),
        valid.purpose,
        "",  # structured creditor reference (RF…); we use unstructured text instead
        valid.remittance,
    ]


def girocode_png(code: GiroCode, scale: int = 4) -> bytes:
    """PNG bytes of the GiroCode (error correction M, as EPC069-12 requires)."""
    valid = validate_girocode(code)
    qr = segno.helpers.make_epc_qr(
        name=valid.name,
        iban=valid.iban,
        amount=valid.amount,
        text=valid.remittance,
        bic=valid.bic or None,
        purpose=valid.purpose or None,
        encoding=1,  # UTF-8, so umlauts survive in every banking app
    )
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def validate_girocode(code: GiroCode) -> GiroCode:
    """Check every field against EPC069-12; return a normalised copy or raise RenderError."""
    valid = GiroCode(
        name=_text(code.name, "Empfängername", MAX_NAME),
        iban=_iban(code.iban),
        amount=_amount(code.amount),
        remittance=_text(code.remittance, "Verwendungszweck", MAX_REMITTANCE),
        bic=_bic(code.bic),
        purpose=_purpose(code.purpose),
    )
    size = len("\n".join(_payload_lines(valid)).encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise RenderError(f"Der GiroCode ist zu groß ({size} Byte, erlaubt {MAX_PAYLOAD_BYTES}).")
    return valid


def _text(value: str, label: str, limit: int) -> str:
    """A one-line field: not empty, no line breaks (they would shift EPC lines), within limit."""
    text = value.strip()
    if not text:
        raise RenderError(f"{label} darf nicht leer sein.")
    if any(unicodedata.category(c)[0] == "C" for c in text):
        raise RenderError(f"{label} darf keine Zeilenumbrüche oder Steuerzeichen enthalten.")
    if len(text) > limit:
        raise RenderError(f"{label} ist zu lang ({len(text)} Zeichen, erlaubt {limit}).")
    return text


def _iban(value: str) -> str:
    """A valid IBAN in compact form."""
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise RenderError(f"Die IBAN „{value}“ ist ungültig.") from exc


def _bic(value: str) -> str:
    """An optional BIC (8 or 11 characters), "" if not given."""
    if not value.strip():
        return ""
    try:
        return str(BIC(value.strip()))
    except SchwiftyException as exc:
        raise RenderError(f"Die BIC „{value}“ ist ungültig.") from exc


def _amount(value: Decimal) -> Decimal:
    """A Decimal from 0.01 to 999999999.99 euro with at most two decimals (EPC069-12)."""
    # Floats cannot represent cents exactly; money must arrive as Decimal.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise RenderError("Der Betrag muss als Decimal angegeben werden.")
    if not MIN_AMOUNT <= value <= MAX_AMOUNT:
        raise RenderError("Der Betrag muss zwischen 0,01 € und 999.999.999,99 € liegen.")
    if value != value.quantize(MIN_AMOUNT):
        raise RenderError("Der Betrag darf höchstens zwei Nachkommastellen haben.")
    return value


def _purpose(value: str) -> str:
    """An optional 4-character SEPA purpose code such as "GDDS"."""
    code = value.strip().upper()
    if code and not _PURPOSE.match(code):
        raise RenderError(f"Der Zweckcode „{value}“ muss aus 4 Buchstaben oder Ziffern bestehen.")
    return code


def _amount_field(amount: Decimal) -> str:
    """ "EUR" plus the amount with a point and no trailing zeros, as segno writes it."""
    return f"EUR{amount:.2f}".rstrip("0").rstrip(".")
