"""SEPA keywords inside a German purpose text (DFÜ-Abkommen Anlage 3, MT940 field 86).

"EREF+4711 MREF+M-1 CRED+DE98ZZZ09999999999 SVWZ+Rechnung RE-2026-0042" is split into
its parts; the text after SVWZ+ is the purpose proper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_KEYWORDS = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|COAM|OAMT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_REASON = re.compile(
    r"\b(AC0[146]|AG0[12]|AM0[45]|MD0[1267]|MS0[23]|SL01|FF05|RR0[1-4]|BE05|"
    r"CNOR|DNOR|FOCR|CUST)\b"
)
_RETURN_WORDS = ("rücklastschrift", "ruecklastschrift", "retoure", "rückbuchung", "rueckbuchung")


@dataclass(frozen=True)
class SepaPurpose:
    """The parts of a purpose text with SEPA keywords."""

    purpose: str
    end_to_end_id: str = ""
    mandate_reference: str = ""
    creditor_id: str = ""
    compensation: Decimal = Decimal("0.00")  # COAM+: fee charged with a returned debit
    other_name: str = ""  # ABWA+/ABWE+: ultimate debtor/creditor


def split_sepa_purpose(text: str) -> SepaPurpose:
    """Split `text` at its SEPA keywords; without keywords the whole text is the purpose."""
    matches = list(_KEYWORDS.finditer(text))
    if not matches:
        return SepaPurpose(purpose=text.strip())
    parts: dict[str, str] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(text)
        parts.setdefault(match.group(1), text[match.end() : end].strip())
    lead = text[: matches[0].start()].strip()
    purpose = parts.get("SVWZ", "")
    purpose = " ".join(p for p in (lead, purpose) if p)
    end_to_end = parts.get("EREF", "")
    return SepaPurpose(
        purpose=purpose,
        end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
        mandate_reference=parts.get("MREF", ""),
        creditor_id=parts.get("CRED", ""),
        compensation=_compensation(parts.get("COAM", "")),
        other_name=parts.get("ABWA", "") or parts.get("ABWE", ""),
    )


def _compensation(text: str) -> Decimal:
    cleaned = text.replace(".", "").replace(",", ".").strip()
    if not cleaned:
        return Decimal("0.00")
    try:
        return abs(Decimal(cleaned)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return Decimal("0.00")


def is_return_text(booking_text: str) -> bool:
    """True when a booking text names a returned payment ("Rücklastschrift", "Retoure")."""
    folded = booking_text.casefold()
    return any(word in folded for word in _RETURN_WORDS)


def reason_code(text: str) -> str:
    """The first SEPA return reason code (AC04, MD06, ...) named in `text`, else ""."""
    found = _REASON.search(text)
    return found.group(1) if found else ""
