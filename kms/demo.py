"""Clearly fictitious demo data for every module that exists; safe to run twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from kms import auth
from kms.config import get_config
from kms.db import session_scope
from kms.errors import KmsError
from kms.modules.contacts.models import Person
from kms.modules.contacts.service import create_person
from kms.modules.settings import taxation
from kms.modules.settings.service import get_profile, save_profile
from kms.onboarding import mark_done

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-kms-2026"  # noqa: S105 - the documented demo login
MARKER_KEY = "demo.loaded"

COMPANY = {
    "company_name": "Musterfirma Erika Mustermann",
    "legal_form": "Einzelunternehmen",
    "representative": "Erika Mustermann",
    "street": "Musterstraße 1",
    "postcode": "12345",
    "city": "Musterstadt",
    "country": "DE",
    "contact_name": "Erika Mustermann",
    "phone": "+49 30 1234567",
    "email": "erika@example.org",
    "website": "https://www.example.org",
    "tax_number": "2181508150",
    "vat_id": "DE136695976",
    "bank_name": "Testbank",
    "iban": "DE02120300000000202051",
    "bic": "BYLADEM1001",
    "payment_term_days": 14,
    "business_start": date(2023, 4, 1),
}

PERSONS = [
    ("Erika", "Mustermann", "erika@example.org", "Musterstraße 1", "12345", "Musterstadt", "DE"),
    ("Max", "Mustermann", "max@example.org", "Beispielweg 7", "10115", "Berlin", "DE"),
    ("Jürgen", "Müller", "juergen.mueller@example.org", "Hauptstraße 3", "80331", "München", "DE"),
    ("Anna", "Beispiel", "anna@example.org", "Testgasse 12", "1010", "Wien", "AT"),
    ("Kim", "Muster", "kim@example.org", "Probeplatz 5", "8001", "Zürich", "CH"),
    ("Lena", "Schmidt", "lena.schmidt@example.org", "Am Markt 2", "50667", "Köln", "DE"),
]


def _is_empty(session) -> bool:  # type: ignore[no-untyped-def]
    from kms.models import KeyValue

    if session.get(KeyValue, MARKER_KEY) is not None:
        return True  # our own earlier demo: loading again only fills gaps
    has_people = session.scalar(select(Person.id).limit(1)) is not None
    return not has_people and not auth.has_users(session)


def load_demo(*, force: bool = False) -> list[str]:
    """Load the demo data; refuses a non-empty instance or PostgreSQL without force."""
    from kms.models import KeyValue

    if not force and not get_config().is_sqlite:
        raise KmsError(
            "Demodaten werden in PostgreSQL nur mit --force geladen (gehostete Instanz?)."
        )
    out: list[str] = []
    with session_scope() as session:
        if not force and not _is_empty(session):
            raise KmsError(
                "Diese Instanz enthält bereits Daten. Demodaten nur mit --force hinzufügen."
            )
        if session.scalar(select(auth.User.id).where(auth.User.username == DEMO_USER)) is None:
            auth.create_user(
                session,
                username=DEMO_USER,
                password=DEMO_PASSWORD,
                display_name="Erika Mustermann (Demo)",
                email="erika@example.org",
                is_owner=not auth.has_users(session),
            )
        profile = get_profile(session)
        if not profile.company_name:
            save_profile(session, version=profile.version or 0, **COMPANY)
        if taxation.regime_on(session, date(2024, 1, 1)) is None:
            # A Kleinunternehmer year that switches to Regelbesteuerung at a year boundary.
            taxation.set_regime(session, valid_from=date(2023, 4, 1), kind="klein")
            taxation.set_regime(
                session,
                valid_from=date(2025, 1, 1),
                kind="regel",
                cash_basis=True,
                filing_period="quartal",
            )
            taxation.set_declared_turnover(session, 2023, Decimal("14250.00"))
            taxation.set_declared_turnover(session, 2024, Decimal("31800.00"))
        existing = set(session.scalars(select(Person.email)))
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
                is_owner=email == COMPANY["email"],
            )
            added += 1
        mark_done(session)
        if session.get(KeyValue, MARKER_KEY) is None:
            session.add(KeyValue(key=MARKER_KEY, value=True))
    auth.consume_setup_token()
    out.append(f"Demodaten geladen ({added} Personen neu).")
    out.append(f"Demo-Anmeldung: Benutzername „{DEMO_USER}“, Passwort „{DEMO_PASSWORD}“")
    return out
