"""Issuing: complete checks with rule ids, numbers, originals (PDF/A-3 + XML), GiroCode."""

from __future__ import annotations

import hashlib
import io
from datetime import date, timedelta
from decimal import Decimal

import pdfplumber
import PIL.Image
import pypdfium2
import pytest
import zxingcpp
from lxml import etree

from kms.audit import history
from kms.einvoice.cii import NS
from kms.einvoice.facturx_pdf import FACTURX_FILENAME, inspect
from kms.einvoice.validate import validate
from kms.errors import KmsError
from kms.modules.invoices import issuing
from kms.modules.invoices.config import check_number_format, save_settings
from kms.modules.invoices.models import Invoice
from kms.modules.invoices.storage import original_bytes
from kms.modules.settings.service import get_profile
from tests.modules.invoices.conftest import ISSUE_DAY, LEITWEG_ID, line, organisation


def _xml(session, invoice: Invoice, role: str = "facturx_xml") -> bytes:
    return original_bytes(session, invoice.id, role).content


def test_issued_xml_validates_in_all_three_layers(session, make_draft, issue, customer) -> None:
    """The stored Factur-X and XRechnung XML pass XSD, EN 16931 schematron and BR-DE rules."""
    customer.buyer_reference = LEITWEG_ID
    session.commit()
    draft = make_draft(
        [line(), line("Buch", "2", "24.90", "S7", "C62")],
        einvoice_format="xrechnung_cii",
        buyer_reference=LEITWEG_ID,
        skonto_percent="2",
        skonto_days=10,
    )
    invoice = issue(draft)
    assert invoice.number == "RE-2026-0001"
    assert validate(_xml(session, invoice), xrechnung=False) == []
    xrechnung = _xml(session, invoice, "xrechnung_xml")
    assert validate(xrechnung, xrechnung=True) == []
    root = etree.fromstring(xrechnung)
    terms = root.xpath("//ram:SpecifiedTradePaymentTerms/ram:Description/text()", namespaces=NS)
    assert "#SKONTO#TAGE=10#PROZENT=2.00#" in terms[0]
    assert root.xpath("string(//ram:BuyerReference)", namespaces=NS) == LEITWEG_ID


@pytest.mark.parametrize("tax", ["AE", "K", "G", "O"])
def test_each_regular_tax_category_issues_valid_xml(session, make_draft, issue, tax) -> None:
    """§ 13b, EU supply, export and non-taxable invoices validate with their exemption data."""
    country = {"K": "NL", "G": "CH", "O": "CH"}.get(tax, "DE")
    postcode = {"NL": "1234 AB", "CH": "8001"}.get(country, "54321")
    vat = {"AE": "DE136695976", "K": "NL123456789B01"}.get(tax, "")
    buyer = organisation(session, f"Kunde {tax}", country=country, postcode=postcode, vat_id=vat)
    session.commit()
    invoice = issue(make_draft([line(tax=tax)], contact_id=buyer.id))
    xml = _xml(session, invoice)
    assert validate(xml, xrechnung=False) == []
    category = etree.fromstring(xml).xpath(
        "string(//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode)",
        namespaces=NS,
    )
    assert category == tax


def test_kleinunternehmer_invoice_without_vat_id_identifies_the_seller(
    session, make_draft, issue, consumer
) -> None:
    """§ 19 invoice of a seller without USt-IdNr.: Steuernummer as BT-29 satisfies BR-CO-26."""
    profile = get_profile(session)
    profile.vat_id = ""
    session.commit()
    draft = make_draft(
        [line("Logo", "1", "450", "E", "LS")],
        contact_id=consumer.id,
        as_of=date(2024, 5, 2),
        service_date=date(2024, 5, 1),
    )
    invoice = issue(draft, date(2024, 5, 2))
    xml = _xml(session, invoice)
    assert validate(xml, xrechnung=False) == []
    root = etree.fromstring(xml)
    assert root.xpath("string(//ram:SellerTradeParty/ram:ID)", namespaces=NS) == "2181508150"
    assert "§ 19 UStG" in root.xpath("string(//ram:ExemptionReason)", namespaces=NS)
    assert invoice.tax_total == Decimal("0.00")


def test_incomplete_invoice_is_refused_with_every_rule(session, make_draft, customer) -> None:
    """No service date, no buyer address, XRechnung without Leitweg-ID: all listed, no number."""
    customer.street = ""
    session.commit()
    draft = make_draft(service_date=None, einvoice_format="xrechnung_cii")
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.prepare_issue(session, draft.id, issue_date=ISSUE_DAY)
    rules = {p.rule for p in err.value.problems}
    assert {"§14-4-1", "§14-4-6"} <= rules
    customer.street = "Beispielweg 2"
    session.commit()
    draft = make_draft(einvoice_format="xrechnung_cii")
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.prepare_issue(session, draft.id, issue_date=ISSUE_DAY)
    assert "BR-DE-15" in {p.rule for p in err.value.problems}
    assert all(p.message for p in err.value.problems)
    session.refresh(draft)
    assert draft.number is None and not draft.is_issued


def test_reverse_charge_needs_the_buyers_vat_id(session, make_draft) -> None:
    """§ 13b without the customer's USt-IdNr. is refused before any XML is built."""
    buyer = organisation(session, "Bau GmbH")
    session.commit()
    draft = make_draft([line(tax="AE")], contact_id=buyer.id)
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.prepare_issue(session, draft.id, issue_date=ISSUE_DAY)
    assert [p.rule for p in err.value.problems] == ["BR-AE-02"]


def test_pdf_is_pdfa3_with_the_stored_xml_embedded(session, make_draft, issue) -> None:
    """PDF/A-3B, fonts embedded, sRGB intent, Factur-X XMP, /AF; XML byte-identical."""
    invoice = issue(make_draft())
    pdf = original_bytes(session, invoice.id, "pdf").content
    report = inspect(pdf)
    assert (report.pdfa_part, report.pdfa_conformance) == ("3", "B")
    assert report.fx_extension_schema and report.fx_conformance_level == "EN 16931"
    assert report.unembedded_fonts == [] and report.font_count >= 2
    assert report.output_intents == [("/GTS_PDFA1", "sRGB")] and report.output_intent_has_profile
    assert report.af_relationships == {FACTURX_FILENAME: "/Data"}
    assert report.attachments[FACTURX_FILENAME] == _xml(session, invoice)


def test_issuing_is_audited_with_the_hashes_of_the_originals(session, make_draft, issue) -> None:
    """The audit entry carries number and SHA-256 of every stored file."""
    invoice = issue(make_draft())
    event = history(session, "invoice", invoice.id)[-1]
    assert event.action == "issued"
    pdf = original_bytes(session, invoice.id, "pdf").content
    assert hashlib.sha256(pdf).hexdigest() in event.payload
    assert invoice.number in event.payload


def _render_page(pdf: bytes) -> PIL.Image.Image:
    page = pypdfium2.PdfDocument(pdf)[0]
    return page.render(scale=300 / 72).to_pil()


def test_girocode_decoded_from_the_rendered_page(session, make_draft, issue) -> None:
    """The QR code on page 1 holds every EPC069-12 line: account, amount due, number."""
    invoice = issue(make_draft([line("Beratung", "2.5", "80.00")]))
    results = zxingcpp.read_barcodes(
        _render_page(original_bytes(session, invoice.id, "pdf").content)
    )
    qr = [r for r in results if r.format == zxingcpp.BarcodeFormat.QRCode]
    assert len(qr) == 1
    assert qr[0].text.split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "BYLADEM1001",
        "Musterfirma Erika Mustermann",
        "DE02120300000000202051",
        "EUR238",
        "",
        "",
        f"Rechnung {invoice.number}",
    ]
    assert invoice.gross_total == Decimal("238.00")


def test_snapshot_freezes_seller_and_buyer(session, make_draft, issue, customer) -> None:
    """Changing the customer or company later does not change the issued invoice or its XML."""
    invoice = issue(make_draft())
    xml = _xml(session, invoice)
    customer.name = "Umbenannt AG"
    get_profile(session).city = "Anderswo"
    session.commit()
    session.expire_all()
    again = session.get(Invoice, invoice.id)
    assert again.snapshot["buyer"]["name"] == "Musterfirma GmbH"
    assert again.snapshot["seller"]["city"] == "Musterstadt"
    assert _xml(session, again) == xml
    assert issuing.original_document(again).buyer.name == "Musterfirma GmbH"


def test_numbers_ascend_and_dates_never_go_back(session, make_draft, issue) -> None:
    """Numbers count up per year; an invoice dated before the last one is refused."""
    first = issue(make_draft())
    second = issue(make_draft(), ISSUE_DAY + timedelta(days=1))
    assert (first.number, second.number) == ("RE-2026-0001", "RE-2026-0002")
    late = make_draft()
    with pytest.raises(
        KmsError,
        match=r"Das Rechnungsdatum 02\.03\.2026 liegt vor dem Datum der zuletzt ausgestellten "
        r"Rechnung dieses Nummernkreises \(03\.03\.2026\)",
    ):
        issue(late, ISSUE_DAY)
    session.refresh(late)
    assert late.number is None
    third = issue(late, ISSUE_DAY + timedelta(days=1))
    assert third.number == "RE-2026-0003"  # no gap after the refusal


def test_yearly_counter_restarts_and_format_is_configurable(session, make_draft, issue) -> None:
    """A new year starts at 1; the format is configurable; {JJJJ} is needed for a reset."""
    with pytest.raises(KmsError, match=r"\{JJJJ\}"):
        save_settings(session, invoice_format="R{JJ}/{NNNNN}")
    save_settings(session, invoice_format="R{JJJJ}/{NNNNN}")
    session.commit()
    assert issue(make_draft(), date(2026, 12, 30)).number == "R2026/00001"
    save_settings(session, invoice_format="RE-{JJJJ}-{NNNN}")
    session.commit()
    assert issue(make_draft(), date(2027, 1, 4)).number == "RE-2027-0001"


def test_number_format_rules() -> None:
    """A yearly reset without {JJJJ} and formats without one counter are refused."""
    with pytest.raises(KmsError, match=r"\{JJJJ\}"):
        check_number_format("RE-{NNNN}", yearly=True)
    assert check_number_format("RE-{NNNN}", yearly=False) == "RE-{NNNN}"
    with pytest.raises(KmsError, match="genau einen Zähler"):
        check_number_format("RE-{JJJJ}", yearly=True)
    with pytest.raises(KmsError, match="Platzhalter"):
        check_number_format("RE-{JJJJ}-{MM}-{NNN}", yearly=True)


def test_customer_with_a_name_wider_than_the_address_field_can_be_invoiced(
    session, make_draft, issue, seller
) -> None:
    """A long "… UG (haftungsbeschränkt)" name wraps over two window lines instead of refusing."""
    name = "Musterbau Gebäudereinigung Beispielstadt-Nord UG (haftungsbeschränkt)"
    wide = organisation(session, name)
    session.commit()
    invoice = issue(make_draft(contact_id=wide.id))
    recipient = invoice.snapshot["recipient"]
    assert len(recipient) == 4 and " ".join(recipient[:2]) == name
    assert recipient[2:] == ["Beispielweg 2", "54321 Beispielhausen"]
    with pdfplumber.open(io.BytesIO(original_bytes(session, invoice.id, "pdf").content)) as pdf:
        text = pdf.pages[0].extract_text()
    assert recipient[0] in text and recipient[1] in text


@pytest.mark.parametrize(
    ("quantities", "gross"),
    [(["-2"], "-238.00"), (["3", "-3"], "0.00")],
    ids=["negative", "zero"],
)
def test_total_of_zero_or_below_is_refused_and_takes_no_number(
    session, make_draft, db_url, quantities, gross
) -> None:
    """A draft whose total is negative or 0 € may be saved, but issuing is refused with a
    German reason (Storno/Korrektur are the way to credit), and no number is taken."""
    draft = make_draft([line(quantity=q) for q in quantities])
    assert draft.gross_total == Decimal(gross)
    session.commit()
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.issue_invoice(draft.id, actor="test", issue_date=ISSUE_DAY, url=db_url)
    (problem,) = [p for p in err.value.problems if p.rule == "BETRAG"]
    assert "muss einen Betrag über 0" in problem.message
    assert "Stornieren" in problem.message
    session.expire_all()
    refreshed = session.get(Invoice, draft.id)
    assert refreshed.number is None and not refreshed.is_issued
    # A later, valid invoice gets the first number of the year: nothing was used up.
    fine = make_draft()
    session.commit()
    issued = issuing.issue_invoice(fine.id, actor="test", issue_date=ISSUE_DAY, url=db_url)
    assert issued.number.endswith("0001")


def test_negative_line_as_deduction_is_fine(session, make_draft, issue) -> None:
    """A negative position (e.g. a credited deposit) is allowed while the total stays positive."""
    draft = make_draft([line(), line(description="Abzug Anzahlung", quantity="-1", price="50")])
    invoice = issue(draft)
    assert invoice.number and invoice.gross_total == Decimal("297.50")


def test_issue_step_refuses_a_non_positive_total_even_with_a_hand_made_check(
    session, make_draft
) -> None:
    """issue() itself refuses a total ≤ 0, so no caller can skip prepare_issue's check."""
    draft = make_draft([line(quantity="-2")])
    prepared = issuing.Prepared(draft.id, draft.version, ISSUE_DAY, {})
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.issue(session, prepared, actor="test")
    assert [p.rule for p in err.value.problems] == ["BETRAG"]
    session.rollback()
