"""Placeholders: filled from a value table, unknown ones reported by name, braces escapable."""

from __future__ import annotations

import pytest

from kms.errors import ValidationError
from kms.modules.letters.placeholders import PLACEHOLDERS, check, fill, placeholders_in

VALUES = {name: f"<{name}>" for name in PLACEHOLDERS} | {
    "briefanrede": "Sehr geehrte Frau Dr. Muster,",
    "vorname": "Erika",
    "nachname": "Muster",
    "firma": "Musterfirma GmbH",
    "kundennummer": "K-10042",
    "datum": "26.11.2026",
    "absender_firma": "Beispiel GmbH",
}

FILLED = [
    ("Hallo {vorname} {nachname}", "Hallo Erika Muster"),
    ("{briefanrede}", "Sehr geehrte Frau Dr. Muster,"),
    ("Kundennummer {kundennummer} vom {datum}", "Kundennummer K-10042 vom 26.11.2026"),
    ("{firma} schreibt an {absender_firma}", "Musterfirma GmbH schreibt an Beispiel GmbH"),
    ("Preis {{netto}} bleibt", "Preis {netto} bleibt"),
    ("{{{vorname}}}", "{Erika}"),
    ("}} und {{", "} und {"),
    ("ohne Platzhalter", "ohne Platzhalter"),
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), FILLED)
def test_fill_replaces_placeholders_and_unescapes_double_braces(text: str, expected: str) -> None:
    """Known names become their values; {{ and }} become literal braces."""
    assert fill(text, VALUES) == expected


UNKNOWN = [
    ("Hallo {vornamen}", "Unbekannter Platzhalter: {vornamen}"),
    ("{netto} und {brutto} und {netto}", "Unbekannte Platzhalter: {netto}, {brutto}."),
    ("{vorname.upper}", "{vorname.upper}"),
    ("{vorname!r}", "{vorname!r}"),
    ("{vorname:>20}", "{vorname:>20}"),
    ("{}", "Unbekannter Platzhalter: {}"),
    ("{0}", "{0}"),
]


@pytest.mark.parametrize(("text", "named"), UNKNOWN)
def test_unknown_placeholders_are_reported_by_name_before_rendering(text: str, named: str) -> None:
    """Misspelt names, attribute access, conversions and format specs are refused, named."""
    with pytest.raises(ValidationError) as caught:
        fill(text, VALUES)
    assert named in caught.value.message
    assert caught.value.field == "body"


@pytest.mark.parametrize("text", ["Hallo {vorname", "Hallo }", "{ vorname"])
def test_unbalanced_braces_get_a_german_hint(text: str) -> None:
    """A lone brace explains how to write placeholders and literal braces."""
    with pytest.raises(ValidationError, match="doppelt: \\{\\{ und \\}\\}"):
        check(text, "subject")


def test_contact_placeholders_need_a_contact() -> None:
    """With a free address only letter and sender values exist; the message says why."""
    without_contact = {k: v for k, v in VALUES.items() if k in ("datum", "absender_firma")}
    with pytest.raises(ValidationError, match=r"Platzhalter \{vorname\} brauchen einen Kontakt"):
        fill("Hallo {vorname}, {datum}", without_contact)
    assert fill("Am {datum}", without_contact) == "Am 26.11.2026"


def test_placeholders_in_lists_each_name_once_in_order() -> None:
    """The report lists names in the order they are first used."""
    assert placeholders_in("{ort} {plz} {ort} {{x}}") == ["ort", "plz"]
