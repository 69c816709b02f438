"""▶ Per E-Mail senden for a quote: the invoices' mail template and delivery, the quote's
PDF attached; recorded in the audit trail only after the server accepted the message."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kms import audit
from kms.errors import KmsError
from kms.mail import Attachment, SmtpSettings
from kms.modules.invoices.mailing import MailDraft, deliver, draft_from_template
from kms.modules.invoices.quotes.pdf import quote_pdf
from kms.modules.invoices.quotes.service import ENTITY, get_quote
from kms.permissions import Permission, require_permission


def quote_mail_draft(session: Session, quote_id: int) -> MailDraft:
    """Recipient, subject and text of a sent quote from the template in the settings."""
    require_permission(Permission.INVOICES_READ, session)
    quote = get_quote(session, quote_id)
    if quote.number is None:
        raise KmsError("Ein Angebotsentwurf kann nicht versendet werden; bitte zuerst abschließen.")
    return draft_from_template(
        session,
        quote.snapshot or {},
        "Angebot",
        "unser Angebot",
        quote.number,
        quote.quote_date,
        quote.gross_total,
    )


def send_quote_mail(
    session: Session,
    quote_id: int,
    *,
    to: str,
    subject: str,
    body: str,
    copy_to_self: bool = True,
    actor: str = "",
    settings: SmtpSettings | None = None,
    ssl_context: Any = None,
) -> str:
    """Send the quote's PDF; returns the message id. Raises MailError (German) on failure
    and then records nothing."""
    require_permission(Permission.INVOICES_WRITE, session)
    quote = get_quote(session, quote_id)
    if quote.number is None:
        raise KmsError("Ein Angebotsentwurf kann nicht versendet werden; bitte zuerst abschließen.")

    def attachments() -> list[Attachment]:
        name, data = quote_pdf(session, quote.id)
        return [Attachment(name, data, "application/pdf")]

    recipients, result, files = deliver(
        session,
        to=to,
        subject=subject,
        body=body,
        attachments=attachments,
        copy_to_self=copy_to_self,
        settings=settings,
        ssl_context=ssl_context,
    )
    audit.record(
        session,
        entity=ENTITY,
        entity_id=quote.id,
        action="mailed",
        actor=actor,
        to=recipients,
        message_id=result.message_id,
        attachments=[a.filename for a in files],
        copy_to_self=copy_to_self,
    )
    return result.message_id
