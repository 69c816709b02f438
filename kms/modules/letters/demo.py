"""Demo letters: templates, a foreign organisation with a contact person, a "Newsletter" tag."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_contact, update_contact
from kms.modules.letters import service
from kms.modules.letters.models import Letter, LetterTemplate

TEMPLATES = [
    {
        "name": "Terminbestätigung",
        "subject": "Ihr Termin am {datum}",
        "body": (
            "hiermit bestätigen wir Ihren Termin. Bitte bringen Sie mit:\n\n"
            "- Ihre Kundennummer {kundennummer}\n- die Unterlagen zum Auftrag\n\n"
            "Sollte Ihnen der Termin nicht passen, rufen Sie uns gern an: {absender_telefon}."
        ),
        "attachments": "",
    },
    {
        "name": "Newsletter Frühjahr",
        "subject": "Neuigkeiten von {absender_firma}",
        "body": (
            "wir möchten Sie über **Neuigkeiten** aus unserem Haus informieren. Ab dem "
            "nächsten Monat erreichen Sie uns auch samstags.\n\n"
            "Wir freuen uns auf Ihren Besuch in {absender_ort}."
        ),
        "attachments": "Preisliste",
    },
]
ORGANISATION: dict[str, Any] = {
    "kind": "organisation",
    "name": "Beispiel Handels GmbH",
    "street": "Testgasse 12",
    "postcode": "1010",
    "city": "Wien",
    "country": "AT",
    "email": "office@example.org",
}
# (e-mail of a demo person, salutation, title, tagged "Newsletter", role)
PEOPLE = [
    ("max@example.org", "herr", "", True, "kunde"),
    ("juergen.mueller@example.org", "herr", "Dr.", True, "kunde"),
    ("anna@example.org", "frau", "Dr.", True, "kunde"),
    ("kim@example.org", "divers", "", True, "interessent"),
    ("lena.schmidt@example.org", "frau", "", False, "kunde"),
]


def _contacts(session: Session) -> None:
    """The organisation, Anna Beispiel working there, salutations and the Newsletter tag.

    Everything goes through the contacts service, so new customers get their customer
    number and every value is validated like a user's input.
    """
    org = session.scalar(select(Contact).where(Contact.name == ORGANISATION["name"]))
    if org is None:
        org = create_contact(session, roles=["kunde"], **ORGANISATION)
    for email, salutation, title, newsletter, role in PEOPLE:
        person = session.scalar(select(Contact).where(Contact.email == email))
        if person is None:
            continue
        values: dict[str, Any] = {}
        if not person.salutation:
            values.update(salutation=salutation, title=title or person.title)
        if email == "anna@example.org" and person.organisation_id is None:
            # Works at the Viennese organisation; letters go to its address.
            values.update(organisation_id=org.id, street="")
        tags = {tag.name for tag in person.tags} | ({"Newsletter"} if newsletter else set())
        roles = set(person.role_keys) - {"inhaber"} | {role}
        if values or tags != {t.name for t in person.tags} or roles - set(person.role_keys):
            update_contact(
                session, person.id, version=person.version, roles=roles, tags=tags, **values
            )
    # Lena has moved and left no address yet: the Serienbrief report lists her.
    session.flush()


def load(session: Session) -> str:
    """Templates, recipients, one sent letter and one draft (idempotent)."""
    _contacts(session)
    for values in TEMPLATES:
        if session.scalar(select(LetterTemplate.id).where(LetterTemplate.name == values["name"])):
            continue
        service.create_template(session, **values)
    session.flush()
    max_ = session.scalar(select(Contact).where(Contact.email == "max@example.org"))
    if max_ is None or session.scalar(select(Letter.id).limit(1)) is not None:
        return "Vorlagen für Schreiben"
    common: dict[str, Any] = {
        "contact_id": max_.id,
        "salutation": service.suggest_salutation(max_),
        "closing": service.suggest_closing(max_),
        "signature": service.default_signature(session),
    }
    sent = service.create_letter(
        session,
        subject="Ihre Anfrage vom 12.11.2026",
        letter_date=date(2026, 11, 16),
        body="vielen Dank für Ihre Anfrage. Gern erstellen wir Ihnen ein Angebot.",
        **common,
    )
    service.mark_sent(session, sent.id, version=sent.version)
    service.create_letter(
        session,
        subject="Unser Angebot für Ihre Website",
        letter_date=date(2026, 11, 26),
        body=(
            "wie besprochen erhalten Sie unser Angebot:\n\n- **Gestaltung** von fünf Seiten\n"
            "- *Pflege* für ein Jahr\n\nÜber Ihre Zusage freuen wir uns."
        ),
        attachments="Angebot 2026-031",
        **common,
    )
    return "Vorlagen und zwei Briefe für Schreiben"
