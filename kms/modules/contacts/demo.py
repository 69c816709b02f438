"""Demo contacts: obviously fictitious names, example.org addresses, test identifiers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_contact

OWNER_EMAIL = "erika@example.org"

# 04011000-12345-03: a Leitweg-ID whose check digits (ISO 7064 MOD 97-10) validate; the
# fine part 12345 is made up. DE123456788 and DE987654328 are check-digit-valid test VAT IDs.
ORGANISATIONS: list[dict[str, Any]] = [
    {
        "name": "Musterfirma GmbH",
        "legal_form": "GmbH",
        "street": "Musterstraße 10",
        "postcode": "12345",
        "city": "Musterstadt",
        "email": "info@musterfirma.example.org",
        "phone": "+49 30 1234567",
        "website": "https://musterfirma.example.org",
        "vat_id": "DE123456788",
        "roles": ["kunde"],
        "tags": ["Newsletter", "Stammkunde"],
    },
    {
        "name": "Beispiel AG",
        "legal_form": "AG",
        "street": "Industriering 4",
        "postcode": "20095",
        "city": "Hamburg",
        "email": "einkauf@beispiel-ag.example.org",
        "vat_id": "DE987654328",
        "delivery_street": "Lagerweg 9",
        "delivery_postcode": "21079",
        "delivery_city": "Hamburg",
        "roles": ["kunde", "lieferant"],
        "tags": ["Stammkunde"],
    },
    {
        "name": "Stadtverwaltung Musterstadt",
        "legal_form": "Körperschaft d. ö. R.",
        "buyer_reference": "04011000-12345-03",
        "einvoice_format": "xrechnung_cii",
        "street": "Rathausplatz 1",
        "postcode": "12345",
        "city": "Musterstadt",
        "email": "rechnungseingang@musterstadt.example.org",
        "notes": "Öffentlicher Auftraggeber: Rechnungen nur als XRechnung mit Leitweg-ID.",
        "roles": ["kunde"],
    },
    {
        "name": "Papier & Co. KG",
        "legal_form": "KG",
        "street": "Druckerweg 2",
        "postcode": "50667",
        "city": "Köln",
        "email": "bestellung@papier.example.org",
        "roles": ["lieferant"],
    },
]

PERSONS: list[dict[str, Any]] = [
    {
        "salutation": "frau",
        "first_name": "Erika",
        "last_name": "Mustermann",
        "email": OWNER_EMAIL,
        "street": "Musterstraße 1",
        "postcode": "12345",
        "city": "Musterstadt",
        "is_owner": True,
    },
    {
        "salutation": "herr",
        "first_name": "Max",
        "last_name": "Mustermann",
        "job_title": "Geschäftsführer",
        "email": "max@example.org",
        "phone": "+49 30 1234568",
        "organisation": "Musterfirma GmbH",
        "tags": ["Newsletter"],
    },
    {
        "salutation": "herr",
        "title": "Dr.",
        "first_name": "Jürgen",
        "last_name": "Müller",
        "email": "juergen.mueller@example.org",
        "street": "Hauptstraße 3",
        "postcode": "80331",
        "city": "München",
        "roles": ["kunde"],
        "tags": ["Newsletter"],
    },
    {
        "salutation": "frau",
        "first_name": "Anna",
        "last_name": "Beispiel",
        "email": "anna@example.org",
        "street": "Testgasse 12",
        "postcode": "1010",
        "city": "Wien",
        "country": "AT",
        "roles": ["kunde"],
    },
    {
        "salutation": "divers",
        "first_name": "Kim",
        "last_name": "Muster",
        "email": "kim@example.org",
        "street": "Probeplatz 5",
        "postcode": "8001",
        "city": "Zürich",
        "country": "CH",
        "roles": ["interessent"],
        "tags": ["Newsletter"],
    },
    {
        "salutation": "frau",
        "first_name": "Lena",
        "last_name": "Schmidt",
        "job_title": "Sachbearbeiterin Beschaffung",
        "email": "lena.schmidt@example.org",
        "organisation": "Stadtverwaltung Musterstadt",
    },
    {
        "salutation": "herr",
        "first_name": "Tom",
        "last_name": "Beispiel",
        "job_title": "Einkauf",
        "email": "tom.beispiel@example.org",
        "organisation": "Beispiel AG",
    },
]


def load(session: Session) -> str:
    """Add the demo organisations and persons that are not there yet; safe to run twice."""
    orgs = {
        c.name: c for c in session.scalars(select(Contact).where(Contact.kind == "organisation"))
    }
    emails = set(session.scalars(select(Contact.email)))
    added_orgs = added_persons = 0
    for values in ORGANISATIONS:
        if values["name"] not in orgs:
            orgs[values["name"]] = create_contact(session, kind="organisation", **values)
            added_orgs += 1
    for values in PERSONS:
        if values["email"] in emails:
            continue
        data = dict(values)
        org_name = data.pop("organisation", None)
        if org_name:
            data["organisation_id"] = orgs[org_name].id
        create_contact(session, kind="person", **data)
        added_persons += 1
    return f"{added_persons} Personen, {added_orgs} Organisationen"
