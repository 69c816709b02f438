"""▶ Per E-Mail senden against a real local SMTP server; failures mark nothing as sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kms.audit import history
from kms.mail import MailError
from kms.modules.invoices import dunning, mailing
from kms.modules.invoices.models import Sending
from kms.modules.invoices.storage import original_bytes
from tests.modules.invoices.conftest import LEITWEG_ID
from tests.smtp_fixtures import free_port


@pytest.fixture
def invoice(session, make_draft, issue, customer):
    customer.buyer_reference = LEITWEG_ID
    return issue(make_draft(einvoice_format="xrechnung_cii", buyer_reference=LEITWEG_ID))


def test_invoice_is_sent_with_originals_and_marked(session, invoice, smtp_server) -> None:
    """PDF and XRechnung go out byte for byte, a copy to self; then status versendet."""
    draft = mailing.mail_draft(session, invoice.id)
    assert draft.to == "einkauf@example.org"
    assert draft.subject == f"Rechnung {invoice.number}"
    assert "über 357,00" in draft.body
    sending = mailing.send_invoice_mail(
        session,
        invoice.id,
        to=draft.to,
        subject=draft.subject,
        body=draft.body,
        with_xrechnung=True,
        actor="erika",
        settings=smtp_server.settings(),
    )
    session.commit()
    (received,) = smtp_server.messages
    message = received.message
    parts = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    assert parts[f"{invoice.number}.pdf"] == original_bytes(session, invoice.id, "pdf").content
    xml = original_bytes(session, invoice.id, "xrechnung_xml").content
    assert parts[f"{invoice.number}-xrechnung.xml"] == xml
    assert smtp_server.settings().sender_address in received.rcpt_tos  # copy to self
    assert sending.sent_at is not None
    assert history(session, "invoice", invoice.id)[-1].action == "sent"


def test_failure_marks_nothing_as_sent(session, invoice, smtp_server) -> None:
    """With the server unreachable: German MailError, no Sending row, no audit entry."""
    settings = smtp_server.settings(port=free_port())
    before = len(history(session, "invoice", invoice.id))
    with pytest.raises(MailError) as err:
        mailing.send_invoice_mail(
            session,
            invoice.id,
            to="einkauf@example.org",
            subject="Rechnung",
            body="Text",
            settings=settings,
        )
    assert err.value.message
    assert session.scalar(select(Sending.id)) is None
    assert len(history(session, "invoice", invoice.id)) == before


def test_dunning_letter_is_sent(session, invoice, smtp_server) -> None:
    """A reminder goes out with its own PDF and subject."""
    reminder = dunning.create_reminder(
        session, invoice.id, letter_date=invoice.due_date + timedelta(days=3)
    )
    draft = mailing.mail_draft(session, invoice.id, reminder.id)
    assert draft.subject.startswith("Zahlungserinnerung")
    mailing.send_invoice_mail(
        session,
        invoice.id,
        reminder_id=reminder.id,
        to=draft.to,
        subject=draft.subject,
        body=draft.body,
        copy_to_self=False,
        settings=smtp_server.settings(),
    )
    (received,) = smtp_server.messages
    assert [p.get_filename() for p in received.message.iter_attachments()] == [
        f"{invoice.number}-erinnerung.pdf"
    ]


def test_invoice_with_a_total_below_zero_is_not_mailed(session, invoice, smtp_server) -> None:
    """An invoice issued with a negative total before issuing refused it is not sent either:
    German reason, nothing delivered, nothing recorded."""
    from decimal import Decimal

    from kms.errors import KmsError
    from kms.modules.invoices.models import Invoice

    table = Invoice.__table__
    # Core update: what an older KMS left in the database (the ORM guard forbids this now).
    session.connection().execute(
        table.update().where(table.c.id == invoice.id).values(gross_total=Decimal("-203.49"))
    )
    session.commit()
    session.expire_all()
    with pytest.raises(KmsError):
        mailing.mail_draft(session, invoice.id)
    with pytest.raises(KmsError) as err:
        mailing.send_invoice_mail(
            session,
            invoice.id,
            to="einkauf@example.org",
            subject="Rechnung",
            body="Text",
            settings=smtp_server.settings(),
        )
    assert "muss einen Betrag über 0" in err.value.message
    assert smtp_server.messages == []
    assert session.scalars(select(Sending)).all() == []
