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
