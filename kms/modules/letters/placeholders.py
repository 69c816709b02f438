"""Placeholders such as {briefanrede} in subjects and bodies: check first, then fill.

The syntax is Python's format syntax without its power: only plain names from PLACEHOLDERS;
no attribute access, indexes, conversions or format specs. Braces meant as text are doubled
({{ and }}). Unknown names are reported together, before anything is rendered, so a raw
"{vorname}" never reaches a printed letter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from string import Formatter

from kms.errors import ValidationError

# Name → what it stands for (shown as help beside the editor).
CONTACT_PLACEHOLDERS = {
    "anrede": "Frau / Herr (leer bei divers oder ohne Anrede)",
    "briefanrede": "ganze Anrede, z. B. „Sehr geehrte Frau Dr. Muster,“",
    "titel": "Titel, z. B. Dr.",
    "vorname": "Vorname",
    "nachname": "Nachname",
    "name": "voller Name der Person bzw. Name der Organisation",
    "firma": "Organisation des Empfängers",
    "kundennummer": "Kundennummer",
    "strasse": "Straße und Hausnummer",
    "plz": "Postleitzahl",
    "ort": "Ort",
    "land": "Land",
    "email": "E-Mail-Adresse des Empfängers",
}
LETTER_PLACEHOLDERS = {"datum": "Briefdatum, z. B. 26.11.2026"}
COMPANY_PLACEHOLDERS = {
    "absender_firma": "Ihr Firmenname",
    "absender_name": "Ihr Name (Ansprechpartner)",
    "absender_strasse": "Ihre Straße",
    "absender_plz": "Ihre Postleitzahl",
    "absender_ort": "Ihr Ort",
    "absender_telefon": "Ihre Telefonnummer",
    "absender_email": "Ihre E-Mail-Adresse",
    "absender_website": "Ihre Website",
}
PLACEHOLDERS = {**CONTACT_PLACEHOLDERS, **LETTER_PLACEHOLDERS, **COMPANY_PLACEHOLDERS}

_FORMATTER = Formatter()


def _braces(names: Iterable[str]) -> str:
    return ", ".join("{" + name + "}" for name in names)


def _pieces(text: str, field: str) -> list[tuple[str, str | None]]:
    """(literal, placeholder or None) pieces; malformed braces get a German message."""
    try:
        parsed = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise ValidationError(
            field,
            "Eine geschweifte Klammer ist nicht geschlossen oder steht allein. Platzhalter "
            "schreiben Sie als {vorname}; Klammern als Text doppelt: {{ und }}.",
        ) from exc
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is None:
            pieces.append((literal, None))
            continue
        # "{vorname!r}" or "{vorname:>10}" are not placeholders of ours: report them whole.
        raw = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        pieces.append((literal, raw))
    return pieces


def placeholders_in(text: str, field: str = "body") -> list[str]:
    """The placeholder names used in `text`, in order of first use."""
    return list(dict.fromkeys(name for _lit, name in _pieces(text, field) if name is not None))


def check(text: str, field: str = "body", *, available: Iterable[str] | None = None) -> None:
    """Refuse unknown placeholders (and known ones that cannot be filled here)."""
    allowed = set(PLACEHOLDERS if available is None else available)
    used = placeholders_in(text, field)
    unknown = [name for name in used if name not in PLACEHOLDERS]
    if unknown:
        noun = "Unbekannter Platzhalter" if len(unknown) == 1 else "Unbekannte Platzhalter"
        raise ValidationError(
            field,
            f"{noun}: {_braces(unknown)}. Erlaubt sind z. B. {{briefanrede}}, {{vorname}}, "
            "{nachname}, {firma}, {datum}; geschweifte Klammern als Text doppelt schreiben "
            "({{ und }}).",
        )
    unavailable = [name for name in used if name not in allowed]
    if unavailable:
        raise ValidationError(
            field,
            f"Die Platzhalter {_braces(unavailable)} brauchen einen Kontakt als Empfänger; "
            "bei einer frei eingegebenen Anschrift bitte den Text direkt schreiben.",
        )


def empty_in(texts: Iterable[str], values: Mapping[str, str]) -> list[str]:
    """Placeholders used in `texts` that `values` fills with nothing (e.g. {firma} for a
    person without an organisation), in order of first use; unknown names are left to check()."""
    used = dict.fromkeys(name for text in texts for name in placeholders_in(text))
    return [name for name in used if name in values and not str(values[name]).strip()]


def describe_empty(names: Iterable[str]) -> str:
    """ "{firma} (Organisation des Empfängers)": the empty placeholders as a German list."""
    return ", ".join(f"{{{name}}} ({PLACEHOLDERS[name]})" for name in names)


def fill(text: str, values: Mapping[str, str], field: str = "body") -> str:
    """Replace every placeholder by its value; unknown or unavailable ones raise first."""
    check(text, field, available=values.keys())
    return "".join(
        literal + (values[name] if name is not None else "")
        for literal, name in _pieces(text, field)
    )


__all__ = [
    "COMPANY_PLACEHOLDERS",
    "CONTACT_PLACEHOLDERS",
    "LETTER_PLACEHOLDERS",
    "PLACEHOLDERS",
    "check",
    "describe_empty",
    "empty_in",
    "fill",
    "placeholders_in",
]
