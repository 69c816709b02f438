"""▶ Per E-Mail senden against a real local SMTP server: PDF attached, frozen only on success."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.audit import AuditEvent
from kms.mail import MailError
from kms.modules.documents import service as documents
from kms.modules.letters import service
from kms.modules.letters.models import DRAFT, SENT, Letter
from kms.modules.settings.service import save_smtp
from tests.smtp_fixtures import RecordingHandler, free_port

pytestmark = pytest.mark.usefixtures("company")


@pytest.fixture
def draft(session: Session, make_contact) -> Letter:
    max_ = make_contact(
        salutation="herr", first_name="Max", last_name="Mustermann", email="max@example.org"
    )
    letter = service.create_letter(
        session,
        contact_id=max_.id,
        subject="Angebot für Herrn {nachname}",
        letter_date=date(2026, 11, 26),
        salutation="{briefanrede}",
        closing="Mit freundlichen Grüßen",
        body="anbei unser Angebot.",
    )
    session.commit()
    return letter


def test_email_goes_out_with_the_stored_pdf_and_freezes_it(
    session: Session, draft: Letter, smtp_server_starttls
) -> None:
    """The owner's server gets one mail, the attachment is the stored PDF, the letter is sent."""
    pdf = draft.draft_pdf
    service.send_by_email(
        session,
        draft.id,
        version=draft.version,
        to="max@example.org",
        text="Guten Tag,\n\nanbei unser Schreiben.",
        actor="erika",
        smtp=smtp_server_starttls.settings(),
        ssl_context=smtp_server_starttls.client_context,
    )
    session.commit()
    [received] = smtp_server_starttls.messages
    message = received.message
    assert received.rcpt_tos == ["max@example.org"]
    assert message["Subject"] == "Angebot für Herrn Mustermann"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Brief_2026-11-26_Angebot-fuer-Herrn-Mustermann.pdf"
    assert attachment.get_content() == pdf
    session.expire_all()
    sent = session.get(Letter, draft.id)
    assert (sent.status, sent.sent_via, sent.sent_to) == (SENT, "email", "max@example.org")
    # The original now lives once, in Dokumente: the same bytes, hash-checked.
    assert sent.draft_pdf is None
    assert service.letter_pdf(session, sent.id) == pdf
    assert documents.count_for_contact(session, sent.contact_id) == 1


def test_saved_mail_settings_are_used(session: Session, draft: Letter, smtp_server) -> None:
    """Without explicit settings the Einstellungen → Mailserver values send the letter."""
    save_smtp(
        session,
        host=smtp_server.host,
        port=smtp_server.port,
        security="none",
        username="",
        sender_address="buero@example.org",
    )
    service.send_by_email(session, draft.id, version=draft.version, to="max@example.org", text="x")
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0].mail_from == "buero@example.org"


def _audit_actions(session: Session, letter_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "letter", AuditEvent.entity_id == str(letter_id)
            )
        )
    )


def test_refused_recipient_leaves_the_letter_a_draft(
    session: Session, draft: Letter, smtp_server_factory
) -> None:
    """The server's refusal is shown in German; nothing is marked sent, nothing delivered."""
    handler = RecordingHandler(reject_recipients={"max@example.org"})
    server = smtp_server_factory(security="none", handler=handler)
    with pytest.raises(MailError, match=r"Empfängeradresse „max@example\.org“ abgelehnt"):
        service.send_by_email(
            session,
            draft.id,
            version=draft.version,
            to="max@example.org",
            text="x",
            smtp=server.settings(),
        )
    session.rollback()
    assert server.messages == []
    assert session.get(Letter, draft.id).status == DRAFT
    assert session.get(Letter, draft.id).document_id is None
    assert documents.count_for_contact(session, draft.contact_id) == 0
    assert _audit_actions(session, draft.id) == ["created"]


def test_unreachable_server_leaves_the_letter_a_draft(session: Session, draft: Letter) -> None:
    """A server that is not there: German message, the draft stays editable."""
    from kms.mail import SmtpSettings

    settings = SmtpSettings(
        host="127.0.0.1", port=free_port(), security="none", sender_address="buero@example.org"
    )
    with pytest.raises(MailError, match="nicht erreichbar"):
        service.send_by_email(
            session, draft.id, version=draft.version, to="max@example.org", text="x", smtp=settings
        )
    session.rollback()
    assert session.get(Letter, draft.id).status == DRAFT


def test_missing_mail_server_and_bad_address_are_explained(session: Session, draft: Letter) -> None:
    """No mail server configured, or a broken address: German messages, nothing sent."""
    from kms.errors import KmsError, ValidationErrors

    with pytest.raises(ValidationErrors) as caught:
        service.send_by_email(session, draft.id, version=draft.version, to="max@", text=" ")
    assert set(caught.value.errors) == {"to", "text"}
    with pytest.raises(KmsError, match="noch kein Mailserver eingerichtet"):
        service.send_by_email(
            session, draft.id, version=draft.version, to="max@example.org", text="x"
        )
    assert session.get(Letter, draft.id).status == DRAFT


def test_empty_placeholder_is_not_mailed_until_accepted(
    session: Session, make_contact, smtp_server
) -> None:
    """Per E-Mail senden refuses a letter whose {firma} is empty: no mail, still a draft."""
    max_ = make_contact(first_name="Max", last_name="Mustermann", email="max@example.org")
    letter = service.create_letter(
        session,
        contact_id=max_.id,
        subject="Entwürfe",
        letter_date=date(2026, 11, 26),
        body="die drei Entwürfe für {firma}.",
    )
    session.commit()
    kwargs = {"version": letter.version, "to": "max@example.org", "text": "Anbei."}
    with pytest.raises(service.EmptyPlaceholdersError, match=r"\{firma\}"):
        service.send_by_email(session, letter.id, smtp=smtp_server.settings(), **kwargs)
    session.rollback()
    assert smtp_server.messages == []
    assert session.get(Letter, letter.id).status == DRAFT
    service.send_by_email(
        session, letter.id, smtp=smtp_server.settings(), accept_empty=True, **kwargs
    )
    session.commit()
    assert len(smtp_server.messages) == 1
    assert session.get(Letter, letter.id).status == SENT
