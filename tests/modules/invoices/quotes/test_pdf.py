"""The quote and the Auftragsbestätigung as PDF: text as the customer reads it."""

from __future__ import annotations

import io
from datetime import date

import pdfplumber
import pytest

from kms.errors import KmsError
from kms.modules.invoices.quotes import pdf
from kms.modules.invoices.quotes import service as quotes
from tests.modules.invoices.conftest import line

LINES = [line("Beratung", "3", "100.00", "S19"), line("Fachbuch", "2", "12.3450", "S7")]


def _text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


def test_the_quote_pdf_shows_number_validity_and_german_totals(session, make_quote, send) -> None:
    quote = send(make_quote(LINES, valid_until=date(2026, 4, 1), intro_text="Gern bieten wir an:"))
    name, data = pdf.quote_pdf(session, quote.id)
    text = _text(data)
    assert name == "AN-2026-0001.pdf"
    assert "Angebot AN-2026-0001" in text
    assert "Gültig bis 01.04.2026" in text
    assert "Angebotsdatum 02.03.2026" in text
    assert "Gern bieten wir an:" in text
    assert "Summe netto 324,69 €" in text
    assert "zzgl. USt 19 % auf 300,00 € 57,00 €" in text
    assert "zzgl. USt 7 % auf 24,69 € 1,73 €" in text
    assert "Gesamtbetrag 383,42 €" in text
    assert "Rechnung" not in text and "überweisen" not in text
    assert pdf.quote_pdf(session, quote.id)[1] == data  # the same bytes every time


def test_a_kleinunternehmer_quote_carries_the_section_19_note(session, make_quote, send) -> None:
    day = date(2023, 5, 2)  # the demo seller was Kleinunternehmer until 2024
    quote = send(make_quote([line("Beratung", "2", "80.00", "E")], as_of=day), day=day)
    text = _text(pdf.quote_pdf(session, quote.id)[1])
    assert "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet" in text
    assert "Gesamtbetrag 160,00 €" in text


def test_the_order_confirmation_names_the_quote(session, make_quote, send) -> None:
    quote = send(make_quote(LINES, intro_text="Gern bieten wir an:"))
    with pytest.raises(KmsError, match="nur für ein angenommenes Angebot"):
        pdf.confirmation_pdf(session, quote.id)
    quotes.accept_quote(session, quote.id, day=date(2026, 3, 9))
    session.commit()
    name, data = pdf.confirmation_pdf(session, quote.id)
    text = _text(data)
    assert name == "Auftragsbestaetigung-AN-2026-0001.pdf"
    assert "Auftragsbestätigung" in text
    assert "zu unserem Angebot AN-2026-0001 vom 02.03.2026" in text
    assert "Auftrag vom 09.03.2026" in text
    assert "Gern bieten wir an:" not in text  # the offer's own wording stays on the offer
    assert "Gesamtbetrag 383,42 €" in text


def test_a_draft_has_no_pdf(session, make_quote) -> None:
    with pytest.raises(KmsError, match="Angebotsentwurf hat noch kein PDF"):
        pdf.quote_pdf(session, make_quote().id)
