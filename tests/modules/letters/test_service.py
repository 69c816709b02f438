"""Letters and templates in the database: checks, optimistic locking, immutability once sent."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.audit import AuditEvent
from kms.errors import ConflictError, ValidationError, ValidationErrors
from kms.modules.letters import service
from kms.modules.letters.models import DRAFT, SENT, Letter

pytestmark = pytest.mark.usefixtures("company")


@pytest.fixture
def erika(make_contact):
    return make_contact(salutation="frau", title="Dr.", first_name="Erika", last_name="Muster")


def letter_values(contact_id: int | None, **changes) -> dict:
    values = {
        "contact_id": contact_id,
        "subject": "Ihr Auftrag, {vorname}",
        "letter_date": date(2026, 11, 26),
        "salutation": "{briefanrede}",
        "closing": "Mit freundlichen Grüßen",
        "body": "vielen Dank für Ihren Auftrag.\n\n- **Punkt** eins",
    }
    values.update(changes)
    return values


def actions(session: Session, letter_id: int) -> list[str]:
    rows = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity == "letter", AuditEvent.entity_id == str(letter_id))
        .order_by(AuditEvent.id)
    )
    return list(rows)


def test_saved_draft_stores_its_pdf_and_what_was_typed(session: Session, erika) -> None:
    """The typed text keeps its placeholders; the printed subject and PDF are filled."""
    letter = service.create_letter(session, actor="erika", **letter_values(erika.id))
    session.commit()
    assert letter.status == DRAFT
    assert letter.subject == "Ihr Auftrag, {vorname}"
    assert letter.printed_subject == "Ihr Auftrag, Erika"
    assert letter.recipient_lines.splitlines()[0] == "Frau Dr. Erika Muster"
    assert letter.draft_pdf.startswith(b"%PDF")
    assert actions(session, letter.id) == ["created"]


def test_bad_input_is_reported_per_field_in_german(session: Session) -> None:
    """Empty subject and body and a missing recipient come back together, nothing is saved."""
    with pytest.raises(ValidationErrors) as caught:
        service.create_letter(session, **letter_values(None, subject=" ", body="\n"))
    assert caught.value.errors == {
        "recipient": "Bitte einen Kontakt als Empfänger wählen oder eine Anschrift eingeben.",
        "subject": "Bitte einen Betreff eingeben.",
        "body": "Bitte den Brieftext eingeben.",
    }
    assert session.scalar(select(Letter.id)) is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"body": "Hallo {vornahme}"}, "body", "Unbekannter Platzhalter: {vornahme}"),
        ({"subject": "Re: {betreff}"}, "subject", "Unbekannter Platzhalter: {betreff}"),
        (
            {"contact_id": None, "free_address": "\n".join(f"Zeile {i}" for i in range(8))},
            "free_address",
            "8 Zeilen, erlaubt sind höchstens 6",
        ),
        (
            {
                "contact_id": None,
                "free_address": "Muster\nStraße 1\n12345 Ort",
                "salutation": "Hallo,",
                "subject": "{firma}",
            },
            "subject",
            "brauchen einen Kontakt",
        ),
    ],
)
def test_each_kind_of_bad_input_has_its_message(
    session: Session, erika, changes: dict, field: str, message: str
) -> None:
    """Unknown placeholders, over-long free addresses, contact fields without contact."""
    values = {**letter_values(erika.id), **changes}
    with pytest.raises(ValidationErrors) as caught:
        service.preview_pdf(session, **values)
    assert message in caught.value.errors[field]


def test_recipient_without_address_is_refused(session: Session, make_contact) -> None:
    """A contact without street and town cannot get a letter; the message names the contact."""
    lena = make_contact(first_name="Lena", last_name="Schmidt", street="", city="")
    with pytest.raises(ValidationErrors) as caught:
        service.create_letter(session, **letter_values(lena.id, subject="Hallo"))
    assert "Für Lena Schmidt ist keine vollständige Anschrift" in caught.value.errors["recipient"]


def test_missing_company_profile_is_explained(session: Session, erika) -> None:
    """Without Firmendaten there is no letterhead: the user is sent to Einstellungen."""
    from kms.modules.settings.models import CompanyProfile

    session.query(CompanyProfile).delete()
    with pytest.raises(ValidationErrors) as caught:
        service.preview_pdf(session, **letter_values(erika.id))
    assert "Firmendaten unter Einstellungen" in caught.value.errors["sender"]


def test_draft_edits_use_optimistic_locking(session: Session, erika) -> None:
    """A save based on an old version is refused; the current one goes through."""
    letter = service.create_letter(session, **letter_values(erika.id))
    first = letter.version
    service.update_letter(
        session, letter.id, version=first, **letter_values(erika.id, subject="Neu")
    )
    assert letter.printed_subject == "Neu"
    with pytest.raises(ConflictError, match="inzwischen von jemand anderem geändert"):
        service.update_letter(session, letter.id, version=first, **letter_values(erika.id))


def test_sent_letter_is_frozen_for_good(session: Session, erika) -> None:
    """After ▶ Als versendet markieren the bytes stay; edits and deletion are refused."""
    letter = service.create_letter(session, **letter_values(erika.id))
    frozen = letter.draft_pdf
    service.mark_sent(session, letter.id, version=letter.version, actor="erika")
    session.commit()
    version = letter.version
    erika.last_name = "Umbenannt"
    erika.street = "Neue Straße 9"
    session.commit()
    for attempt in (
        lambda: service.update_letter(
            session, letter.id, version=version, **letter_values(erika.id)
        ),
        lambda: service.mark_sent(session, letter.id, version=version),
        lambda: service.delete_draft(session, letter.id, version=version),
    ):
        with pytest.raises(service.LetterLockedError, match="bereits versendet"):
            attempt()
    session.expire_all()
    stored = session.get(Letter, letter.id)
    assert stored.status == SENT
    assert stored.draft_pdf is None  # the original lives once, in Dokumente
    assert service.letter_pdf(session, letter.id) == frozen
    assert actions(session, letter.id) == ["created", "sent"]


def test_copy_of_a_sent_letter_is_a_new_editable_draft(session: Session, erika) -> None:
    """The copy is dated today, uses the contact's current data and can be changed."""
    letter = service.create_letter(session, **letter_values(erika.id))
    service.mark_sent(session, letter.id, version=letter.version)
    erika.first_name = "Erika-Maria"
    session.flush()
    copy = service.copy_as_draft(session, letter.id, actor="erika")
    assert copy.id != letter.id and copy.status == DRAFT
    assert copy.copied_from_id == letter.id
    assert copy.letter_date == service.today()
    assert copy.printed_subject == "Ihr Auftrag, Erika-Maria"
    service.update_letter(session, copy.id, version=copy.version, **letter_values(erika.id))
    assert actions(session, copy.id) == ["created", "copied", "updated"]


def test_draft_can_be_deleted(session: Session, erika) -> None:
    """Drafts may go; the deletion is in the audit log."""
    letter = service.create_letter(session, **letter_values(erika.id))
    service.delete_draft(session, letter.id, version=letter.version)
    assert session.get(Letter, letter.id) is None
    assert actions(session, letter.id) == ["created", "deleted"]


def test_letters_are_listed_per_contact_newest_first(session: Session, erika, make_contact) -> None:
    """The contact's detail view shows only their letters, paged in SQL."""
    other = make_contact(first_name="Max", last_name="Mustermann")
    for day in (3, 20, 11):
        service.create_letter(
            session,
            **letter_values(erika.id, letter_date=date(2026, 11, day), subject=f"Tag {day}"),
        )
    service.create_letter(session, **letter_values(other.id, subject="Für Max"))
    page = service.list_letters(session, contact_id=erika.id, page_size=2)
    assert page.total == 3 and page.pages == 2
    assert [item.printed_subject for item in page.items] == ["Tag 20", "Tag 11"]
    found = service.list_letters(session, search="max")
    assert [item.printed_subject for item in found.items] == ["Für Max"]


def test_templates_refuse_unknown_placeholders_and_duplicate_names(session: Session) -> None:
    """A Vorlage is checked when saved, so later letters cannot fail on it."""
    with pytest.raises(ValidationErrors) as caught:
        service.create_template(session, name="Gruß", subject="Hallo {vorname}", body="{grus}")
    assert "{grus}" in caught.value.errors["body"]
    template = service.create_template(
        session, name="Gruß", subject="Hallo {vorname}", body="{briefanrede}"
    )
    with pytest.raises(ValidationErrors, match="gibt es schon"):
        service.create_template(session, name="Gruß", subject="x", body="y")
    service.update_template(
        session, template.id, version=template.version, name="Gruß", subject="Neu", body="Text"
    )
    with pytest.raises(ConflictError):
        service.update_template(session, template.id, version=1, name="Gruß", subject="a", body="b")


def test_unknown_contact_is_a_field_error(session: Session) -> None:
    """A contact deleted meanwhile gives a German message, not a crash."""
    with pytest.raises(ValidationErrors, match="Diesen Kontakt gibt es nicht"):
        service.preview_pdf(session, **letter_values(987654))


def test_validation_error_class_is_used_for_suggestions(session: Session) -> None:
    """Suggestions for an unknown contact raise the same German error."""
    with pytest.raises(ValidationError, match="Diesen Kontakt gibt es nicht"):
        service.suggestions(session, 987654)


def test_sent_letter_is_filed_in_dokumente_for_its_contact(session: Session, erika) -> None:
    """Marking sent files the frozen bytes as a Brief, linked to the contact, kept 6 years."""
    from kms.modules.documents import service as documents

    letter = service.create_letter(session, **letter_values(erika.id))
    draft_pdf = letter.draft_pdf
    assert documents.count_for_contact(session, erika.id) == 0
    service.mark_sent(session, letter.id, version=letter.version)
    session.commit()
    document = documents.get_document(session, letter.document_id)
    assert document.doc_type == "letter"
    assert document.title == "Ihr Auftrag, Erika"
    assert document.issued_on == date(2026, 11, 26)
    assert document.retain_until == date(2032, 12, 31)
    assert [link.contact_id for link in document.contact_links] == [erika.id]
    assert documents.read_bytes(document) == draft_pdf
    assert letter.draft_pdf is None and letter.pdf_sha256 == document.blob.sha256
    assert documents.count_for_contact(session, erika.id) == 1


def test_empty_placeholder_stops_marking_sent_until_accepted(session: Session, erika) -> None:
    """{firma} for a person without an organisation: ▶ Als versendet markieren is refused
    naming the placeholder; the letter stays a draft; accepted, it is sent and audited."""
    values = letter_values(erika.id, body="anbei die drei Entwürfe für {firma}.")
    letter = service.create_letter(session, **values)
    session.commit()
    assert service.empty_placeholders(session, letter) == ["firma"]
    with pytest.raises(service.EmptyPlaceholdersError) as caught:
        service.mark_sent(session, letter.id, version=letter.version)
    assert caught.value.names == ["firma"]
    assert "{firma} (Organisation des Empfängers)" in caught.value.message
    session.rollback()
    assert session.get(Letter, letter.id).status == DRAFT
    service.mark_sent(session, letter.id, version=letter.version, accept_empty=True)
    session.commit()
    assert session.get(Letter, letter.id).status == SENT
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "letter", AuditEvent.action == "sent")
    ).one()
    assert json.loads(event.payload)["empty_placeholders"] == ["firma"]


def test_filled_placeholders_need_no_confirmation(session: Session, erika) -> None:
    """Every placeholder has a value: nothing to confirm, the letter is sent at once."""
    letter = service.create_letter(session, **letter_values(erika.id))
    assert service.empty_placeholders(session, letter) == []
    service.mark_sent(session, letter.id, version=letter.version)
    assert letter.status == SENT


def test_a_sent_letters_document_is_protected_and_checked(session: Session, erika) -> None:
    """GoBD: Dokumente refuses to delete a sent letter's original, even after its retention;
    a changed file is refused with a German error instead of being served."""
    from kms.errors import KmsError
    from kms.modules.documents import service as documents

    letter = service.create_letter(session, **letter_values(erika.id))
    service.mark_sent(session, letter.id, version=letter.version)
    session.commit()
    with pytest.raises(KmsError, match="festgeschrieben"):
        documents.delete_document(session, letter.document_id, today=date(2100, 1, 1))
    session.rollback()
    path = documents.path_of(documents.get_document(session, letter.document_id))
    path.write_bytes(b"%PDF-1.7 vertauscht")
    with pytest.raises(documents.ChecksumMismatch, match="Prüfsumme"):
        service.letter_pdf(session, letter.id)
