"""Golden XML per VAT situation; each golden is valid in all three validation layers.

Regenerate after an intended change with KMS_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from kms.einvoice.cii import GUIDELINE_EN16931, GUIDELINE_XRECHNUNG, NS, build_xml
from kms.einvoice.model import cancellation_of
from kms.einvoice.validate import validate
from tests.einvoice.samples import SAMPLES, intra_community, invoice, not_subject

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("KMS_UPDATE_GOLDEN") == "1"
CASES = [(name, xr) for name in SAMPLES for xr in (False, True)]


def canonical(xml: bytes) -> bytes:
    """C14N 2.0 after dropping indentation-only text; content whitespace is kept."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    return etree.tostring(root, method="c14n2")


def golden_path(name: str, xrechnung: bool) -> Path:
    """File name of a golden: <sample>.xml or <sample>.xrechnung.xml."""
    return GOLDEN / f"{name}{'.xrechnung' if xrechnung else ''}.xml"


def xpath(xml: bytes, path: str) -> Any:
    """Evaluate an XPath with the CII prefixes."""
    return etree.fromstring(xml).xpath(path, namespaces=NS)


@pytest.mark.parametrize(("name", "xrechnung"), CASES)
def test_xml_matches_golden(name: str, xrechnung: bool) -> None:
    """The builder output equals the stored golden file after canonicalisation."""
    xml = build_xml(SAMPLES[name](), xrechnung=xrechnung)
    path = golden_path(name, xrechnung)
    if UPDATE:
        path.write_bytes(xml)
    assert canonical(xml) == canonical(path.read_bytes())


@pytest.mark.parametrize(("name", "xrechnung"), CASES)
def test_golden_passes_xsd_schematron_and_german_rules(name: str, xrechnung: bool) -> None:
    """Every golden is free of errors in XSD, EN 16931 schematron and our own rules."""
    assert validate(golden_path(name, xrechnung).read_bytes(), xrechnung=xrechnung) == []


def test_specification_identifier_per_variant() -> None:
    """BT-24 is the Factur-X EN 16931 id or the XRechnung 3.0 CIUS id."""
    path = "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()"
    assert xpath(build_xml(invoice()), path) == [GUIDELINE_EN16931]
    assert xpath(build_xml(invoice(), xrechnung=True), path) == [GUIDELINE_XRECHNUNG]


def test_skonto_line_ends_with_line_break() -> None:
    """[BR-DE-18] the Skonto segment is on its own line and ends with a newline."""
    text = xpath(build_xml(invoice()), "string(//ram:SpecifiedTradePaymentTerms/ram:Description)")
    assert text.endswith("\n#SKONTO#TAGE=14#PROZENT=2.00#\n")


def test_not_subject_carries_no_vat_ids_and_no_line_rate() -> None:
    """[BR-O-02] no VAT ids, [BR-O-05] no line rate; the header rate 0 satisfies BR-DE-14."""
    xml = build_xml(not_subject())
    assert xpath(xml, "//ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == []
    assert xpath(xml, "//ram:SpecifiedLineTradeSettlement//ram:RateApplicablePercent") == []
    assert (
        xpath(
            xml,
            "string(//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:ExemptionReasonCode)",
        )
        == "VATEX-EU-O"
    )


def test_intra_community_has_both_vat_ids_and_deliver_to_country() -> None:
    """[BR-IC-02] seller and buyer VAT ids, [BR-IC-12] deliver-to country from the buyer."""
    xml = build_xml(intra_community())
    assert xpath(xml, "//ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']/text()") == [
        "DE123456789",
        "NL123456789B01",
    ]
    assert xpath(xml, "string(//ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID)") == "NL"


@pytest.mark.parametrize("xrechnung", [False, True])
def test_cancellation_is_valid_and_references_original(xrechnung: bool) -> None:
    """A Storno (381) names the cancelled invoice in BG-3 and validates."""
    storno = cancellation_of(invoice(), number="RE-2025-0099", issue_date=date(2025, 2, 1))
    xml = build_xml(storno, xrechnung=xrechnung)
    ref = "//ram:InvoiceReferencedDocument"
    assert xpath(xml, f"string({ref}/ram:IssuerAssignedID)") == "RE-2025-0001"
    assert xpath(xml, f"string({ref}/ram:FormattedIssueDateTime/qdt:DateTimeString)") == "20250115"
    assert xpath(xml, "string(//rsm:ExchangedDocument/ram:TypeCode)") == "381"
    assert validate(xml, xrechnung=xrechnung) == []


def empty_elements(xml: bytes) -> list[str]:
    """Paths of elements with neither text nor child elements ([PEPPOL-EN16931-R008])."""
    root = etree.fromstring(xml)
    return [
        root.getroottree().getpath(el)
        for el in root.iter()
        if len(el) == 0 and not (el.text or "").strip()
    ]


@pytest.mark.parametrize(("name", "xrechnung"), CASES)
def test_no_empty_elements(name: str, xrechnung: bool) -> None:
    """No sample writes an empty element; with only a Leistungszeitraum the schema-required
    ApplicableHeaderTradeDelivery carries the buyer as deliver-to party instead."""
    xml = build_xml(SAMPLES[name](), xrechnung=xrechnung)
    assert empty_elements(xml) == []
    storno = cancellation_of(SAMPLES[name](), number="ST-1", issue_date=date(2025, 2, 1))
    assert empty_elements(build_xml(storno, xrechnung=xrechnung)) == []


def test_period_only_invoice_delivers_to_the_buyer() -> None:
    """Without delivery date the delivery block names the buyer's address (BG-15), never empty."""
    doc = invoice()
    assert doc.period is not None and doc.delivery_date is None
    xml = build_xml(doc)
    ship = "//ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty"
    assert xpath(xml, f"string({ship}/ram:Name)") == doc.buyer.name
    assert xpath(xml, f"string({ship}/ram:PostalTradeAddress/ram:CityName)") == doc.buyer.city


def test_allowances_and_charges_in_cii() -> None:
    """BG-20/BG-21 are written with indicator, percent and base, reason, code and VAT; the
    summation carries BT-107 and BT-108."""
    xml = build_xml(SAMPLES["allowances_charges"]())
    charges = xpath(xml, "//ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeAllowanceCharge")
    rows = [
        (
            c.xpath("string(ram:ChargeIndicator/udt:Indicator)", namespaces=NS),
            c.xpath("string(ram:CalculationPercent)", namespaces=NS),
            c.xpath("string(ram:BasisAmount)", namespaces=NS),
            c.xpath("string(ram:ActualAmount)", namespaces=NS),
            c.xpath("string(ram:ReasonCode)", namespaces=NS),
            c.xpath("string(ram:Reason)", namespaces=NS),
            c.xpath("string(ram:CategoryTradeTax/ram:RateApplicablePercent)", namespaces=NS),
        )
        for c in charges
    ]
    assert rows == [
        ("false", "5", "117.99", "5.90", "95", "Gesamtrabatt", "19"),
        ("false", "", "", "2.00", "", "Treuerabatt Bücher", "7"),
        ("true", "", "", "4.90", "FC", "Versandkosten", "19"),
        ("true", "", "", "5.00", "", "Mindermengenzuschlag", "7"),
    ]
    total = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert xpath(xml, f"string({total}/ram:AllowanceTotalAmount)") == "7.90"
    assert xpath(xml, f"string({total}/ram:ChargeTotalAmount)") == "9.90"
    assert xpath(xml, f"string({total}/ram:TaxBasisTotalAmount)") == "169.79"


def test_wrong_allowance_total_is_caught_by_schematron() -> None:
    """The schematron really checks BT-107: a changed allowance total fails BR-CO-11."""
    root = etree.fromstring(build_xml(SAMPLES["allowances_charges"]()))
    root.xpath("//ram:AllowanceTotalAmount", namespaces=NS)[0].text = "7.00"
    problems = validate(etree.tostring(root), xrechnung=False)
    assert "BR-CO-11" in {p.rule for p in problems}
