"""▶ Per E-Mail senden for a quote against the local SMTP server."""

from __future__ import annotations

import pytest

from kms.audit import history
from kms.errors import KmsError
from kms.mail import MailError
from kms.modules.invoices.quotes import mailing, pdf
from tests.smtp_fixtures import free_port


def test_the_quote_goes_out_with_its_pdf_and_is_recorded(
    session, make_quote, send, smtp_server
) -> None:
    quote = send(make_quote())
    draft = mailing.quote_mail_draft(session, quote.id)
    assert draft.to == "einkauf@example.org"
    assert draft.subject == "Angebot AN-2026-0001"
    assert "anbei erhalten Sie unser Angebot AN-2026-0001 vom 02.03.2026 über 357,00" in draft.body
    mailing.send_quote_mail(
        session,
        quote.id,
        to=draft.to,
        subject=draft.subject,
        body=draft.body,
        actor="erika",
        settings=smtp_server.settings(),
    )
    session.commit()
    (received,) = smtp_server.messages
    parts = {
        p.get_filename(): p.get_payload(decode=True) for p in received.message.iter_attachments()
    }
    assert parts == {"AN-2026-0001.pdf": pdf.quote_pdf(session, quote.id)[1]}
    assert history(session, "quote", quote.id)[-1].action == "mailed"


def test_a_failure_records_nothing_and_a_draft_is_refused(
    session, make_quote, send, smtp_server
) -> None:
    draft = make_quote()
    with pytest.raises(KmsError, match="Angebotsentwurf kann nicht versendet werden"):
        mailing.quote_mail_draft(session, draft.id)
    quote = send(draft)
    before = len(history(session, "quote", quote.id))
    with pytest.raises(MailError):
        mailing.send_quote_mail(
            session,
            quote.id,
            to="einkauf@example.org",
            subject="Angebot",
            body="Text",
            settings=smtp_server.settings(port=free_port()),
        )
    assert len(history(session, "quote", quote.id)) == before
