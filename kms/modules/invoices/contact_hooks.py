"""What Rechnungen stores about a contact, for the Auskunft (Art. 15 DSGVO).

The issued PDFs reach the Auskunft through Dokumente; this export adds the records behind them:
invoices and drafts with their positions, payments, reminders and e-mails sent, the SEPA
mandates, and the quotes (Angebote) made to the contact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.formatting import format_date, format_money
from kms.modules.invoices.models import (
    KINDS,
    PAYMENT_METHODS,
    Invoice,
    Payment,
    Reminder,
    Sending,
    SepaMandate,
)
from kms.modules.invoices.quotes.models import STATUS_LABELS as QUOTE_STATUS_LABELS
from kms.modules.invoices.quotes.models import Quote
from kms.modules.invoices.service import STATUS_LABELS, status_of
from kms.types import today


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every invoice, Storno and draft of the contact with its payments, reminders and e-mails,
    then its SEPA mandates and its quotes (drafts too)."""
    invoices = session.scalars(
        select(Invoice).where(Invoice.contact_id == contact_id).order_by(Invoice.id)
    ).all()
    mandates = session.scalars(
        select(SepaMandate).where(SepaMandate.contact_id == contact_id).order_by(SepaMandate.id)
    ).all()
    quotes = session.scalars(
        select(Quote).where(Quote.contact_id == contact_id).order_by(Quote.id)
    ).all()
    return [
        *(_invoice_record(session, invoice) for invoice in invoices),
        *(_mandate_record(mandate) for mandate in mandates),
        *(_quote_record(quote) for quote in quotes),
    ]


def _quote_record(quote: Quote) -> dict[str, Any]:
    """A quote with its status as shown today (versendet past Gültig bis is abgelaufen)."""
    return {
        "Angebot": quote.label,
        "Angebotsdatum": format_date(quote.quote_date) if quote.quote_date else "",
        "Gültig bis": format_date(quote.valid_until),
        "Status": QUOTE_STATUS_LABELS[quote.status_on(today())],
        "Brutto": format_money(quote.gross_total),
    }


def _mandate_record(mandate: SepaMandate) -> dict[str, Any]:
    """A SEPA mandate with the account it debits."""
    return {
        "SEPA-Mandat": mandate.reference,
        "Unterschrieben am": format_date(mandate.signed_on),
        "Art": mandate.scheme,
        "Kontoinhaber": mandate.debtor_name,
        "IBAN": mandate.iban,
        "BIC": mandate.bic,
        "Widerrufen am": format_date(mandate.revoked_on) if mandate.revoked_on else "",
        "Zuletzt eingezogen": format_date(mandate.last_used_on) if mandate.last_used_on else "",
    }


def _invoice_record(session: Session, invoice: Invoice) -> dict[str, Any]:
    payments = session.scalars(
        select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.paid_on)
    ).all()
    reminders = session.scalars(
        select(Reminder).where(Reminder.invoice_id == invoice.id).order_by(Reminder.level)
    ).all()
    sendings = session.scalars(
        select(Sending).where(Sending.invoice_id == invoice.id).order_by(Sending.sent_at)
    ).all()
    return {
        "Rechnung": invoice.label,
        "Art": KINDS[invoice.kind],
        "Status": STATUS_LABELS[status_of(session, invoice)],
        "Rechnungsdatum": format_date(invoice.issue_date) if invoice.issue_date else "",
        "Fällig am": format_date(invoice.due_date) if invoice.due_date else "",
        "Netto": format_money(invoice.net_total),
        "Umsatzsteuer": format_money(invoice.tax_total),
        "Brutto": format_money(invoice.gross_total),
        "Einleitung": invoice.intro_text,
        "Schlusstext": invoice.closing_text,
        "Käuferreferenz": invoice.buyer_reference,
        "Positionen": [
            {
                "Pos.": line.position,
                "Beschreibung": line.description,
                "Menge": str(line.quantity),
                "Einheit": line.unit_code,
                "Einzelpreis": str(line.unit_price),
                "Steuersatz": f"{line.tax_category} {line.tax_rate} %",
                "Netto": format_money(line.net),
            }
            for line in invoice.lines
        ],
        "Zahlungen": [
            {
                "Datum": format_date(p.paid_on),
                "Betrag": format_money(p.amount),
                "Skonto": format_money(p.skonto),
                "Zahlungsart": PAYMENT_METHODS.get(p.method, p.method),
                "Notiz": p.note,
            }
            for p in payments
        ],
        "Mahnungen": [
            {
                "Stufe": r.level,
                "Datum": format_date(r.letter_date),
                "Neues Zahlungsziel": format_date(r.new_due_date),
                "Gesamt": format_money(r.total),
            }
            for r in reminders
        ],
        "E-Mails": [
            {
                "Gesendet am": s.sent_at.isoformat(timespec="seconds"),
                "An": s.recipients,
                "Betreff": s.subject,
                "Anhänge": s.attachments,
            }
            for s in sendings
        ],
    }
