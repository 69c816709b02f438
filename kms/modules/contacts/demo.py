"""Demo contacts: obviously fictitious names and example.org addresses."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_person

OWNER_EMAIL = "erika@example.org"
PERSONS = [
    ("Erika", "Mustermann", OWNER_EMAIL, "Musterstraße 1", "12345", "Musterstadt", "DE"),
    ("Max", "Mustermann", "max@example.org", "Beispielweg 7", "10115", "Berlin", "DE"),
    ("Jürgen", "Müller", "juergen.mueller@example.org", "Hauptstraße 3", "80331", "München", "DE"),
    ("Anna", "Beispiel", "anna@example.org", "Testgasse 12", "1010", "Wien", "AT"),
    ("Kim", "Muster", "kim@example.org", "Probeplatz 5", "8001", "Zürich", "CH"),
    ("Lena", "Schmidt", "lena.schmidt@example.org", "Am Markt 2", "50667", "Köln", "DE"),
]


def load(session: Session) -> str:
    """Add the demo persons that are not there yet (matched by e-mail)."""
    existing = set(session.scalars(select(Contact.email)))
    added = 0
    for first, last, email, street, postcode, city, country in PERSONS:
        if email in existing:
            continue
        create_person(
            session,
            first_name=first,
            last_name=last,
            email=email,
            street=street,
            postcode=postcode,
            city=city,
            country=country,
            is_owner=email == OWNER_EMAIL,
        )
        added += 1
    return f"{added} Personen"
