"""Invoice PDFs: no text over text in any tax category or note combination, sane paging."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal

import pytest

from kms.einvoice.model import InvoiceDocument, TaxCategory, cancellation_of
from kms.rendering.demo import DEMO_CREATED_AT, demo_company
from kms.rendering.girocode import GiroCode
from kms.rendering.invoice import CONSUMER_DEFAULT_NOTE, InvoiceLayout, render_invoice
from tests.einvoice import samples
from tests.rendering.conftest import open_pdf, overlapping_words

RECIPIENT = ("Musterfirma GmbH", "Beispielweg 2", "54321 Beispielhausen")
GIROCODE = GiroCode(
    name="Grafikbüro Beispiel GmbH",
    iban=samples.TEST_IBAN,
    amount=Decimal("450.00"),
    remittance="Rechnung RE-2025-0002",
)
CLOSING = "Vielen Dank für die gute Zusammenarbeit.\n\nMit freundlichen Grüßen\n\nJörg Beispiel"


def _document(category: TaxCategory) -> InvoiceDocument:
    """The sample invoice with every line in one VAT category."""
    base = samples.invoice()
    rate = Decimal("19") if category is TaxCategory.STANDARD else Decimal("0")
    lines = tuple(
        dataclasses.replace(line, tax_category=category, tax_rate=rate) for line in base.lines
    )
    return dataclasses.replace(base, lines=lines)


def _render(doc: InvoiceDocument, **layout) -> bytes:
    values = {"company": demo_company(), "recipient": RECIPIENT, "intro": "Wie besprochen."}
    return render_invoice(doc, InvoiceLayout(**(values | layout)), created_at=DEMO_CREATED_AT)


NOTE_COMBINATIONS = list(itertools.product((False, True), repeat=3))


def _assert_no_overlap(doc: InvoiceDocument, consumer: bool, giro: bool, prepaid: bool) -> None:
    variant = dataclasses.replace(doc, prepaid=Decimal("10.00") if prepaid else doc.prepaid)
    layout = {"consumer": consumer, "girocode": GIROCODE if giro else None, "closing": CLOSING}
    assert overlapping_words(_render(variant, **layout)) == [], (consumer, giro, prepaid)


@pytest.mark.parametrize("category", list(TaxCategory), ids=lambda c: c.name)
def test_no_two_words_overlap_in_any_tax_category(category):
    """Each VAT category, with no notes and with all of them, and its Storno: no words overlap."""
    doc = _document(category)
    for notes in (False, True):
        _assert_no_overlap(doc, consumer=notes, giro=notes, prepaid=notes)
    cancellation = cancellation_of(doc, number="ST-2025-0001", issue_date=doc.issue_date)
    assert overlapping_words(_render(cancellation, closing=CLOSING)) == []


@pytest.mark.parametrize("category", [TaxCategory.STANDARD, TaxCategory.EXEMPT], ids=str)
@pytest.mark.parametrize(("consumer", "giro", "prepaid"), NOTE_COMBINATIONS)
def test_no_two_words_overlap_in_any_note_combination(category, consumer, giro, prepaid):
    """Consumer note × GiroCode × prepayment, each with Skonto and a closing: no words overlap."""
    _assert_no_overlap(_document(category), consumer, giro, prepaid)


def test_small_business_consumer_invoice_prints_closing_below_the_default_note():
    """Kleinunternehmer + consumer + Skonto + GiroCode: the closing starts below the § 286 note."""
    data = _render(
        samples.exempt_small_business(), consumer=True, girocode=GIROCODE, closing=CLOSING
    )
    with open_pdf(data) as pdf:
        lines = pdf.pages[0].extract_text_lines()
    note_end = next(line for line in lines if "Zugang dieser Rechnung" in line["text"])
    closing = next(
        line for line in lines if line["text"] == "Vielen Dank für die gute Zusammenarbeit."
    )
    assert closing["top"] > note_end["bottom"]
    assert CONSUMER_DEFAULT_NOTE.split()[-1] in note_end["text"]


def test_wrapped_exemption_label_ends_above_the_gross_total():
    """A VAT breakdown label over two lines (category E) ends above "Rechnungsbetrag"."""
    with open_pdf(_render(samples.exempt_small_business())) as pdf:
        lines = pdf.pages[0].extract_text_lines()
    label_end = next(line for line in lines if "0 % auf" in line["text"])
    total = next(line for line in lines if line["text"].startswith("Rechnungsbetrag"))
    assert label_end["bottom"] < total["top"]


@pytest.mark.parametrize("length", [1600, 3000])
def test_long_description_flows_across_pages(length):
    """Descriptions of 1,600 and 3,000 characters take at most two pages, not dozens."""
    text = ("Konzeption, Gestaltung und Umsetzung der Website mit allen Unterseiten. " * 60)[
        :length
    ]
    doc = samples.invoice()
    first = dataclasses.replace(doc.lines[0], description=text)
    data = _render(dataclasses.replace(doc, lines=(first, *doc.lines[1:])), girocode=GIROCODE)
    with open_pdf(data) as pdf:
        assert len(pdf.pages) <= 2
        words = " ".join(page.extract_text() for page in pdf.pages)
    assert words.count("Unterseiten.") == text.count("Unterseiten.")
    assert overlapping_words(data) == []


def test_every_page_of_a_long_position_list_carries_more_than_one_line():
    """Forty positions with long descriptions fill each page; no page holds a single line."""
    doc = samples.invoice()
    text = "Wartung und Pflege der Inhalte, Aktualisierung aller Module. " * 6
    lines = tuple(
        dataclasses.replace(doc.lines[0], id=str(n), description=text) for n in range(1, 41)
    )
    data = _render(dataclasses.replace(doc, lines=lines), closing=CLOSING)
    with open_pdf(data) as pdf:
        counts = [len(page.extract_text_lines()) for page in pdf.pages]
    assert all(count > 12 for count in counts), counts  # header and footer alone are 12 lines
    assert overlapping_words(data) == []
