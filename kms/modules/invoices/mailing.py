"""▶ Per E-Mail senden: invoice, Stornorechnung or dunning letter with the stored originals.

The message is built from the stored bytes (never re-rendered) and sent through the
owner's SMTP settings. Only after the server accepted it is a `Sending` row written (the
status "versendet" with its time) and the audit entry recorded; a failure leaves nothing
marked as sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import KmsError, ValidationError
from kms.formatting import format_date, format_money
from kms.mail import Attachment, SendResult, SmtpSettings, build_message, send_message
from kms.modules.invoices.config import get_settings
from kms.modules.invoices.dunning import LEVELS
from kms.modules.invoices.models import KINDS, Invoice, Reminder, Sending
from kms.modules.invoices.service import ENTITY, amount_problem, get_invoice
from kms.modules.invoices.storage import original_bytes
from kms.modules.settings.service import smtp_settings
from kms.permissions import Permission, require_permission
from kms.validation import validate_email


@dataclass(frozen=True)
class MailDraft:
    """What the send dialog shows before sending (all editable)."""

    to: str
    subject: str
    body: str


class _Safe(dict[str, Any]):
    """Unknown placeholders stay as typed instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _check_sendable(invoice: Invoice) -> None:
    if not invoice.is_issued:
        raise KmsError("Ein Entwurf kann nicht versendet werden; bitte zuerst abschließen.")
    if not invoice.is_cancellation and amount_problem(invoice):
        # Issued before issuing refused such totals: a credit is a Storno (or a correction).
        raise KmsError(amount_problem(invoice))


def mail_draft(session: Session, invoice_id: int, reminder_id: int | None = None) -> MailDraft:
    """Recipient, subject and text from the template in the settings."""
    invoice = get_invoice(session, invoice_id)
    _check_sendable(invoice)
    snapshot = invoice.snapshot or {}
    document = KINDS[invoice.kind]
    amount = invoice.gross_total
    if reminder_id is not None:
        reminder = session.get(Reminder, reminder_id)
        if reminder is None or reminder.invoice_id != invoice.id:
            raise KmsError("Dieses Mahnschreiben gehört nicht zu der Rechnung.")
        document, amount = LEVELS[reminder.level], reminder.total
    accusative = "unsere " + document if document != "Rechnung" else "unsere Rechnung"
    return draft_from_template(
        session, snapshot, document, accusative, invoice.number, invoice.issue_date, amount
    )


def draft_from_template(
    session: Session,
    snapshot: dict[str, Any],
    document: str,
    accusative: str,
    number: str | None,
    day: date | None,
    amount: Decimal,
) -> MailDraft:
    """The mail template of the settings filled for a document (invoice, letter, quote)."""
    settings = get_settings(session)
    values = _Safe(
        dokument=document,
        dokument_akk=accusative,
        nummer=number,
        datum=format_date(day) if day else "",
        betrag=format_money(amount),
        anrede=snapshot.get("buyer", {}).get("name", ""),
        absender=(snapshot.get("company") or {}).get("name", ""),
    )
    return MailDraft(
        to=snapshot.get("buyer_email") or "",
        subject=settings.mail_subject.format_map(values),
        body=settings.mail_body.format_map(values),
    )


def _attachments(
    session: Session, invoice: Invoice, reminder_id: int | None, with_xrechnung: bool
) -> list[Attachment]:
    files = [original_bytes(session, invoice.id, "pdf", reminder_id)]
    if with_xrechnung and reminder_id is None:
        files.append(original_bytes(session, invoice.id, "xrechnung_xml"))
    return [Attachment(f.filename, f.content, f.mime_type) for f in files]


def send_invoice_mail(
    session: Session,
    invoice_id: int,
    *,
    to: str,
    subject: str,
    body: str,
    reminder_id: int | None = None,
    with_xrechnung: bool = False,
    copy_to_self: bool = True,
    actor: str = "",
    settings: SmtpSettings | None = None,
    ssl_context: Any = None,
) -> Sending:
    """Send and then record; raises MailError (German) and records nothing on failure."""
    require_permission(Permission.INVOICES_WRITE, session)
    invoice = get_invoice(session, invoice_id)
    _check_sendable(invoice)
    recipients, result, attachments = deliver(
        session,
        to=to,
        subject=subject,
        body=body,
        attachments=lambda: _attachments(session, invoice, reminder_id, with_xrechnung),
        copy_to_self=copy_to_self,
        settings=settings,
        ssl_context=ssl_context,
    )
    sending = Sending(
        invoice_id=invoice.id,
        reminder_id=reminder_id,
        recipients=", ".join(recipients)[:1000],
        subject=subject.strip()[:300],
        attachments=", ".join(a.filename for a in attachments)[:1000],
        message_id=result.message_id[:300],
        sent_by=actor,
    )
    session.add(sending)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=invoice.id,
        action="sent",
        actor=actor,
        to=recipients,
        reminder_id=reminder_id,
        message_id=result.message_id,
        attachments=[a.filename for a in attachments],
        copy_to_self=copy_to_self,
    )
    return sending


def deliver(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    attachments: Callable[[], list[Attachment]],
    copy_to_self: bool,
    settings: SmtpSettings | None,
    ssl_context: Any,
) -> tuple[list[str], SendResult, list[Attachment]]:
    """Check recipients and text (German messages), then send through the owner's SMTP
    settings; the caller records the sending only after this returned."""
    recipients = [a.strip() for a in to.replace(";", ",").split(",") if a.strip()]
    if not recipients:
        raise ValidationError("to", "Bitte eine E-Mail-Adresse des Empfängers angeben.")
    for address in recipients:
        validate_email(address, field="to")
    if not subject.strip() or not body.strip():
        raise ValidationError("subject", "Bitte Betreff und Text angeben.")
    settings = settings or smtp_settings(session)
    files = attachments()
    message = build_message(
        settings=settings,
        to=recipients,
        subject=subject.strip(),
        body_text=body,
        attachments=files,
        bcc=[settings.sender_address] if copy_to_self else [],
    )
    return recipients, send_message(settings, message, ssl_context=ssl_context), files


def sendings_of(session: Session, invoice_id: int) -> list[Sending]:
    """E-mails sent for an invoice and its letters, oldest first."""
    return list(
        session.scalars(
            select(Sending).where(Sending.invoice_id == invoice_id).order_by(Sending.sent_at)
        )
    )
