"""The quote and the Auftragsbestätigung as DIN 5008 PDF letters.

Both are set by the invoice renderer (`render_invoice`) from an EN 16931 document built of
the quote's frozen snapshot and positions, so positions, totals, VAT groups and the
Kleinunternehmer note print exactly as on an invoice; `OfferText` swaps the heading and the
information block and leaves out the payment request. The date of sending fixes the PDF's
creation time, so the same quote always gives the same bytes.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from kms.einvoice.model import InvoiceDocument, Party
from kms.errors import KmsError
from kms.formatting import format_date
from kms.modules.invoices.issuing import company_from_snapshot
from kms.modules.invoices.quotes.models import ACCEPTED, Quote
from kms.modules.invoices.quotes.service import get_quote
from kms.modules.invoices.service import to_einvoice_line
from kms.modules.settings.service import get_profile, logo_bytes
from kms.permissions import Permission, require_permission
from kms.rendering.din5008 import RenderError
from kms.rendering.invoice import InvoiceLayout, OfferText, render_invoice


def _render(
    session: Session, quote: Quote, offer: OfferText, day: date, *, texts: bool = True
) -> bytes:
    """The letter; `texts` False leaves out the quote's own intro and closing (they speak
    of an offer, not of an order)."""
    snapshot = quote.snapshot
    if snapshot is None or quote.number is None or quote.quote_date is None:
        raise KmsError("Ein Angebotsentwurf hat noch kein PDF: bitte erst abschließen.")
    doc = InvoiceDocument(
        number=quote.number,
        issue_date=day,
        seller=Party(**snapshot["seller"]),
        buyer=Party(**snapshot["buyer"]),
        lines=tuple(to_einvoice_line(line, i) for i, line in enumerate(quote.lines, start=1)),
    )
    layout = InvoiceLayout(
        company=company_from_snapshot(snapshot, logo_bytes(get_profile(session))),
        recipient=tuple(snapshot["recipient"]),
        intro=quote.intro_text if texts else "",
        closing=quote.closing_text if texts else "",
        customer_number=snapshot.get("customer_number", ""),
        offer=offer,
    )
    try:
        return render_invoice(doc, layout, created_at=quote.sent_at)
    except RenderError as exc:
        raise KmsError(f"Das Angebot konnte nicht gesetzt werden: {exc.args[0]}") from exc


def quote_pdf(session: Session, quote_id: int) -> tuple[str, bytes]:
    """(file name, PDF) of a sent quote: "Angebot AN-…", Gültig bis, positions, totals."""
    require_permission(Permission.INVOICES_READ, session)
    quote = get_quote(session, quote_id)
    if quote.quote_date is None:
        raise KmsError("Ein Angebotsentwurf hat noch kein PDF: bitte erst abschließen.")
    offer = OfferText(
        heading=f"Angebot {quote.number}",
        info=(
            ("Angebots-Nr.", quote.number or ""),
            ("Angebotsdatum", format_date(quote.quote_date)),
            ("Gültig bis", format_date(quote.valid_until)),
        ),
        note=f"Dieses Angebot ist gültig bis zum {format_date(quote.valid_until)}.",
    )
    return f"{quote.number}.pdf", _render(session, quote, offer, quote.quote_date)


def confirmation_pdf(session: Session, quote_id: int) -> tuple[str, bytes]:
    """(file name, PDF) of the Auftragsbestätigung of an accepted quote."""
    require_permission(Permission.INVOICES_READ, session)
    quote = get_quote(session, quote_id)
    if quote.status != ACCEPTED or quote.accepted_on is None or quote.quote_date is None:
        raise KmsError("Eine Auftragsbestätigung gibt es nur für ein angenommenes Angebot.")
    quoted = format_date(quote.quote_date)
    offer = OfferText(
        heading="Auftragsbestätigung",
        subtitle=f"zu unserem Angebot {quote.number} vom {quoted}",
        info=(
            ("Angebots-Nr.", quote.number or ""),
            ("Angebotsdatum", quoted),
            ("Auftrag vom", format_date(quote.accepted_on)),
        ),
        note=f"Vielen Dank für Ihren Auftrag. Wir bestätigen ihn zu den Konditionen unseres "
        f"Angebots {quote.number} vom {quoted}.",
    )
    return f"Auftragsbestaetigung-{quote.number}.pdf", _render(
        session, quote, offer, quote.accepted_on, texts=False
    )
