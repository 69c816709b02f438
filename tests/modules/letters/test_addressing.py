"""Anrede, Grußformel and DIN 5008 address lines derived from a contact."""

from __future__ import annotations

import pytest

from kms.errors import ValidationError
from kms.modules.contacts.models import Contact
from kms.modules.letters.addressing import (
    address_lines,
    contact_values,
    free_address_lines,
    suggest_closing,
    suggest_salutation,
)


def person(**values: str) -> Contact:
    data = {"kind": "person", "street": "Musterstraße 1", "postcode": "12345"}
    data.update(city="Musterstadt", country="DE")
    data.update(values)
    return Contact(**data)


def organisation(**values: str) -> Contact:
    data = {"kind": "organisation", "name": "Musterfirma", "legal_form": "GmbH"}
    data.update(street="Industrieweg 5", postcode="54321", city="Beispielstadt", country="DE")
    data.update(values)
    return Contact(**data)


SALUTATIONS = [
    (
        dict(salutation="frau", title="Dr.", first_name="Erika", last_name="Muster"),
        "Sehr geehrte Frau Dr. Muster,",
        "Mit freundlichen Grüßen",
    ),
    (
        dict(salutation="herr", first_name="Max", last_name="Mustermann"),
        "Sehr geehrter Herr Mustermann,",
        "Mit freundlichen Grüßen",
    ),
    (
        dict(salutation="herr", title="Prof. Dr.", first_name="Jürgen", last_name="Müller"),
        "Sehr geehrter Herr Prof. Dr. Müller,",
        "Mit freundlichen Grüßen",
    ),
    (
        dict(salutation="divers", first_name="Kim", last_name="Muster"),
        "Guten Tag Kim Muster,",
        "Freundliche Grüße",
    ),
    (
        dict(salutation="", first_name="Kim", last_name="Muster"),
        "Guten Tag Kim Muster,",
        "Freundliche Grüße",
    ),
    (
        dict(salutation="", title="Dr.", first_name="Kim", last_name="Muster"),
        "Guten Tag Dr. Kim Muster,",
        "Freundliche Grüße",
    ),
]


@pytest.mark.parametrize(("values", "salutation", "closing"), SALUTATIONS)
def test_salutation_and_closing_follow_the_persons_anrede(values, salutation, closing) -> None:
    """Frau/Herr get the formal form with title and last name; divers or none get "Guten Tag"."""
    contact = person(**values)
    assert suggest_salutation(contact) == salutation
    assert suggest_closing(contact) == closing


@pytest.mark.parametrize("contact", [organisation(), None, person(last_name="")])
def test_without_a_named_person_the_letter_greets_everyone(contact) -> None:
    """Organisations, free addresses and nameless persons get "Sehr geehrte Damen und Herren,"."""
    assert suggest_salutation(contact) == "Sehr geehrte Damen und Herren,"
    assert suggest_closing(contact) == "Mit freundlichen Grüßen"


def test_person_at_foreign_organisation_is_addressed_via_the_organisation() -> None:
    """Organisation first, then "Frau Dr. Anna Beispiel", its street, and the country last."""
    org = organisation(
        name="Beispiel Handels", street="Testgasse 12", postcode="1010", city="Wien", country="AT"
    )
    anna = person(
        salutation="frau",
        title="Dr.",
        first_name="Anna",
        last_name="Beispiel",
        street="",
        postcode="",
        city="",
    )
    anna.organisation = org
    assert address_lines(anna) == [
        "Beispiel Handels GmbH",
        "Frau Dr. Anna Beispiel",
        "Testgasse 12",
        "1010 Wien",
        "ÖSTERREICH",
    ]


ADDRESSES = [
    (
        person(salutation="herr", first_name="Max", last_name="Mustermann"),
        ["Herrn Max Mustermann", "Musterstraße 1", "12345 Musterstadt"],
    ),
    (
        person(
            salutation="divers",
            first_name="Kim",
            last_name="Muster",
            country="CH",
            postcode="8001",
            city="Zürich",
        ),
        ["Kim Muster", "Musterstraße 1", "8001 Zürich", "SCHWEIZ"],
    ),
    (
        organisation(name="Muster AG", legal_form="AG", address_extra="Abteilung Einkauf"),
        ["Muster AG", "Abteilung Einkauf", "Industrieweg 5", "54321 Beispielstadt"],
    ),
]


@pytest.mark.parametrize(("contact", "lines"), ADDRESSES)
def test_address_lines_follow_din_5008(contact, lines) -> None:
    """ "Herrn" in the address, legal form once, additions before the street, country last."""
    assert address_lines(contact) == lines


def test_contact_without_address_gets_a_german_message() -> None:
    """A recipient without street or town cannot receive a letter; the message names them."""
    with pytest.raises(ValidationError, match="Für Lena Schmidt ist keine vollständige Anschrift"):
        address_lines(person(first_name="Lena", last_name="Schmidt", street="", city=""))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n".join(f"Zeile {i}" for i in range(7)), "7 Zeilen, erlaubt sind höchstens 6"),
        ("Firma " + "W" * 60 + "\nStraße 1\n12345 Ort", "zu breit für das Anschriftfeld"),
        ("  \n ", "Die Empfängeranschrift ist leer"),
    ],
)
def test_free_addresses_are_checked_like_contact_addresses(text: str, message: str) -> None:
    """Too many lines, too wide a line or nothing at all: each has its German message."""
    with pytest.raises(ValidationError, match=message):
        free_address_lines(text)


def test_placeholder_values_of_a_person_at_an_organisation() -> None:
    """{firma} is the employer, {anrede} the bare word, {land} the German country name."""
    org = organisation(name="Beispiel Handels", country="AT", postcode="1010", city="Wien")
    anna = person(salutation="frau", first_name="Anna", last_name="Beispiel", street="")
    anna.organisation = org
    values = contact_values(anna)
    assert values["firma"] == "Beispiel Handels GmbH"
    assert values["anrede"] == "Frau"
    assert values["ort"] == "Wien"
    assert values["land"] == "Österreich"


def test_person_with_a_name_wider_than_the_field_gets_a_two_line_name() -> None:
    """DIN 5008: a name over 80 mm continues on the next line; the letter is not refused."""
    contact = person(
        salutation="frau",
        title="Prof. Dr. Dr. h. c.",
        first_name="Maximiliane Friederike Johanna",
        last_name="Mustermann-Beispielhausen",
    )
    lines = address_lines(contact)
    assert len(lines) == 4 and lines[2:] == ["Musterstraße 1", "12345 Musterstadt"]
    assert " ".join(lines[:2]) == (
        "Frau Prof. Dr. Dr. h. c. Maximiliane Friederike Johanna Mustermann-Beispielhausen"
    )


def test_address_refused_only_when_six_lines_do_not_suffice() -> None:
    """A long organisation, a long person and an addition need 7 lines: a German refusal."""
    org = organisation(
        name="Gesellschaft für außergewöhnlich lange Firmennamen", legal_form="mbH & Co. KG"
    )
    contact = person(
        salutation="herr",
        first_name="Maximilian Friedrich Johannes",
        last_name="Mustermann-Beispielhausen",
        address_extra="Abteilung Einkauf, Gebäude 3",
        country="AT",
        postcode="1010",
        city="Wien",
        organisation=org,
    )
    with pytest.raises(ValidationError, match="höchstens 6 \\(DIN 5008\\)"):
        address_lines(contact)
