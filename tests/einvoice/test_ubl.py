"""XRechnung in UBL 2.1 syntax: same amounts as CII, valid in XSD, CEN and KoSIT rules.

Regenerate the UBL goldens after an intended change with KMS_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from lxml import etree

from kms.einvoice.cii import NS, build_xml
from kms.einvoice.model import cancellation_of
from kms.einvoice.ubl import UBL_NS, build_ubl
from kms.einvoice.validate import CEN_UBL, KOSIT_UBL, validate
from tests.einvoice.samples import BUYER, SAMPLES, TERMS, invoice
from tests.einvoice.test_cii_golden import GOLDEN, UPDATE, canonical, empty_elements


def ubl_xpath(xml: bytes, path: str) -> Any:
    """Evaluate an XPath with the UBL prefixes (ubl:, cn:, cac:, cbc:)."""
    return etree.fromstring(xml).xpath(path, namespaces=UBL_NS)


def rules(xml: bytes, **kw: Any) -> set[str]:
    """Rule ids reported for an XRechnung UBL document."""
    return {p.rule for p in validate(xml, xrechnung=True, **kw)}


def storno(name: str):  # type: ignore[no-untyped-def]
    """The Stornorechnung of a sample."""
    return cancellation_of(SAMPLES[name](), number="ST-2025-0001", issue_date=date(2025, 3, 1))


@pytest.mark.parametrize("name", SAMPLES)
def test_ubl_matches_golden(name: str) -> None:
    """The UBL builder output equals the stored golden after canonicalisation."""
    xml = build_ubl(SAMPLES[name]())
    path = GOLDEN / f"{name}.ubl.xml"
    if UPDATE:
        path.write_bytes(xml)
    assert canonical(xml) == canonical(path.read_bytes())


@pytest.mark.parametrize("name", SAMPLES)
def test_invoice_and_credit_note_pass_xsd_cen_and_kosit(name: str) -> None:
    """Every sample as UBL Invoice, and its Storno as UBL CreditNote, has no errors and no
    warnings in UBL XSD, CEN EN 16931 UBL schematron and KoSIT XRechnung UBL schematron."""
    invoice_xml = build_ubl(SAMPLES[name]())
    credit_xml = build_ubl(storno(name))
    assert etree.QName(etree.fromstring(invoice_xml)).localname == "Invoice"
    assert etree.QName(etree.fromstring(credit_xml)).localname == "CreditNote"
    assert validate(invoice_xml, xrechnung=True, include_warnings=True) == []
    assert validate(credit_xml, xrechnung=True, include_warnings=True) == []
    assert empty_elements(invoice_xml) == [] and empty_elements(credit_xml) == []


@pytest.mark.parametrize("name", SAMPLES)
def test_ubl_and_cii_carry_the_same_amounts(name: str) -> None:
    """BT-106 to BT-115 and each VAT group are identical in both syntaxes."""
    doc = SAMPLES[name]()
    cii, ubl = build_xml(doc, xrechnung=True), build_ubl(doc)
    pairs = {
        "LineTotalAmount": "LineExtensionAmount",
        "TaxBasisTotalAmount": "TaxExclusiveAmount",
        "GrandTotalAmount": "TaxInclusiveAmount",
        "AllowanceTotalAmount": "AllowanceTotalAmount",
        "ChargeTotalAmount": "ChargeTotalAmount",
        "DuePayableAmount": "PayableAmount",
    }
    for cii_name, ubl_name in pairs.items():
        cii_value = etree.fromstring(cii).xpath(
            f"string(//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:{cii_name})",
            namespaces=NS,
        )
        assert cii_value == ubl_xpath(ubl, f"string(//cac:LegalMonetaryTotal/cbc:{ubl_name})")
    cii_groups = etree.fromstring(cii).xpath(
        "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:BasisAmount/text()",
        namespaces=NS,
    )
    assert cii_groups == ubl_xpath(ubl, "//cac:TaxSubtotal/cbc:TaxableAmount/text()")


def test_storno_credit_note_references_the_cancelled_invoice() -> None:
    """The CreditNote has type 381, positive amounts and the original in BG-3."""
    xml = build_ubl(storno("standard_19_7"))
    assert ubl_xpath(xml, "string(/cn:CreditNote/cbc:CreditNoteTypeCode)") == "381"
    ref = "/cn:CreditNote/cac:BillingReference/cac:InvoiceDocumentReference"
    assert ubl_xpath(xml, f"string({ref}/cbc:ID)") == "RE-2025-0001"
    assert ubl_xpath(xml, f"string({ref}/cbc:IssueDate)") == "2025-01-15"
    assert ubl_xpath(xml, "number(//cac:LegalMonetaryTotal/cbc:PayableAmount)") > 0
    assert ubl_xpath(xml, "//cac:CreditNoteLine/cbc:CreditedQuantity/@unitCode")


def test_allowances_and_charges_in_ubl() -> None:
    """BG-20/BG-21 are written with indicator, code, reason, percent, base and VAT."""
    xml = build_ubl(SAMPLES["allowances_charges"]())
    rows = [
        (
            ac.xpath("string(cbc:ChargeIndicator)", namespaces=UBL_NS),
            ac.xpath("string(cbc:AllowanceChargeReasonCode)", namespaces=UBL_NS),
            ac.xpath("string(cbc:AllowanceChargeReason)", namespaces=UBL_NS),
            ac.xpath("string(cbc:MultiplierFactorNumeric)", namespaces=UBL_NS),
            ac.xpath("string(cbc:Amount)", namespaces=UBL_NS),
            ac.xpath("string(cbc:BaseAmount)", namespaces=UBL_NS),
            ac.xpath("string(cac:TaxCategory/cbc:Percent)", namespaces=UBL_NS),
        )
        for ac in ubl_xpath(xml, "/ubl:Invoice/cac:AllowanceCharge")
    ]
    assert rows == [
        ("false", "95", "Gesamtrabatt", "5", "5.90", "117.99", "19"),
        ("false", "", "Treuerabatt Bücher", "", "2.00", "", "7"),
        ("true", "FC", "Versandkosten", "", "4.90", "", "19"),
        ("true", "", "Mindermengenzuschlag", "", "5.00", "", "7"),
    ]


def _edit(xml: bytes, path: str, change) -> bytes:  # type: ignore[no-untyped-def]
    root = etree.fromstring(xml)
    change(root.xpath(path, namespaces=UBL_NS)[0])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_xsd_layer_runs_on_ubl() -> None:
    """An element out of schema order is reported as "XSD" by the UBL schema."""

    def misplace(el: etree._Element) -> None:
        parent = el.getparent()
        parent.remove(el)
        parent.append(el)

    xml = _edit(build_ubl(invoice()), "/ubl:Invoice/cbc:IssueDate", misplace)
    assert "XSD" in rules(xml)


def test_cen_layer_runs_on_ubl() -> None:
    """A wrong BT-112 fails BR-CO-15 in the CEN UBL schematron, explained in German."""

    def wrong(el: etree._Element) -> None:
        el.text = "999.99"

    xml = _edit(build_ubl(invoice()), "//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", wrong)
    problems = validate(xml, xrechnung=True)
    br = next(p for p in problems if p.rule == "BR-CO-15")
    assert br.layer == "schematron" and br.message.startswith("Bruttobetrag (BT-112)")
    assert CEN_UBL.compilations == 1


def test_kosit_layer_reports_missing_buyer_reference() -> None:
    """[BR-DE-15] comes from KoSIT's own XRechnung UBL rules, with the German explanation."""
    problems = validate(build_ubl(invoice(buyer_reference=None)), xrechnung=True)
    assert [(p.rule, p.layer) for p in problems] == [("BR-DE-15", "xrechnung")]
    assert "Leitweg-ID" in problems[0].message
    assert KOSIT_UBL.compilations == 1


@pytest.mark.parametrize(
    ("note", "ok"),
    [
        ("#SKONTO#TAGE=14#PROZENT=2.00#\n", True),
        ("#SKONTO#TAGE=14#PROZENT=2#\n", False),
        ("#SKONTO#TAGE=14#PROZENT=2,00#\n", False),
    ],
)
def test_kosit_skonto_rule_br_de_18(note: str, ok: bool) -> None:
    """The KoSIT regex for Skonto lines (BR-DE-18) runs on cac:PaymentTerms/cbc:Note."""

    def set_text(el: etree._Element) -> None:
        el.text = note

    xml = _edit(build_ubl(invoice()), "//cac:PaymentTerms/cbc:Note", set_text)
    assert ("BR-DE-18" in rules(xml)) is not ok


def test_missing_electronic_addresses_and_terms() -> None:
    """BT-34/BT-49 (R020/R010) are required for XRechnung; BR-CO-25 needs BT-9 or BT-20."""
    doc = invoice(payment_terms=None, buyer=replace(BUYER, electronic_address=None))
    assert {"PEPPOL-EN16931-R010", "BR-CO-25"} <= rules(build_ubl(doc))
    assert "BR-CO-25" not in rules(build_ubl(invoice(payment_terms=TERMS)))
