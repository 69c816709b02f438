"""SEPA direct debit (payment means 59) in CII and UBL: BG-19 with BT-89, BT-90 and BT-91
passes XSD, EN 16931 and the XRechnung rules, and a missing part is reported."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from lxml import etree

from kms.einvoice.cii import NS, build_xml
from kms.einvoice.model import PaymentMeans, PaymentMeansCode, PaymentTerms
from kms.einvoice.ubl import UBL_NS, build_ubl
from kms.einvoice.validate import validate
from tests.einvoice.samples import TERMS, invoice

CREDITOR_ID = "DE98ZZZ09999999999"
MANDATE = "KMS-0001-2026"
DEBTOR_IBAN = "DE89370400440532013000"
DEBIT = PaymentMeans(
    code=PaymentMeansCode.SEPA_DIRECT_DEBIT,
    mandate_reference=MANDATE,
    creditor_id=CREDITOR_ID,
    debtor_iban=DEBTOR_IBAN,
)


def debit_invoice(means: PaymentMeans = DEBIT):  # type: ignore[no-untyped-def]
    # Skonto makes no sense when the seller collects the amount himself.
    return invoice(payment_means=(means,), payment_terms=PaymentTerms(due_date=TERMS.due_date))


def rules(xml: bytes) -> set[str]:
    return {p.rule for p in validate(xml, xrechnung=True, include_warnings=True)}


def first(xml: bytes, path: str, ns: dict[str, str]) -> Any:
    found = etree.fromstring(xml).xpath(path, namespaces=ns)
    return found[0] if found else None


def test_cii_direct_debit_carries_bt_89_90_91_and_validates() -> None:
    doc = debit_invoice()
    for xml, xrechnung in ((build_xml(doc), False), (build_xml(doc, xrechnung=True), True)):
        settlement = "//ram:ApplicableHeaderTradeSettlement"
        assert first(xml, f"{settlement}/ram:CreditorReferenceID/text()", NS) == CREDITOR_ID
        assert (
            first(
                xml,
                f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID/text()",
                NS,
            )
            == MANDATE
        )
        means = f"{settlement}/ram:SpecifiedTradeSettlementPaymentMeans"
        assert first(xml, f"{means}/ram:TypeCode/text()", NS) == "59"
        assert first(
            xml, f"{means}/ram:PayerPartyDebtorFinancialAccount/ram:IBANID/text()", NS
        ) == (DEBTOR_IBAN)
        assert first(xml, f"{means}/ram:PayeePartyCreditorFinancialAccount", NS) is None
        assert validate(xml, xrechnung=xrechnung, include_warnings=True) == []


def test_ubl_direct_debit_carries_bt_89_90_91_and_validates() -> None:
    xml = build_ubl(debit_invoice())
    party = "//cac:AccountingSupplierParty/cac:Party"
    assert first(
        xml, f"{party}/cac:PartyIdentification/cbc:ID[@schemeID='SEPA']/text()", UBL_NS
    ) == (CREDITOR_ID)
    assert first(xml, "//cac:PaymentMeans/cbc:PaymentMeansCode/text()", UBL_NS) == "59"
    assert first(xml, "//cac:PaymentMandate/cbc:ID/text()", UBL_NS) == MANDATE
    assert (
        first(xml, "//cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID/text()", UBL_NS)
        == DEBTOR_IBAN
    )
    assert first(xml, "//cac:PayeeFinancialAccount", UBL_NS) is None
    assert validate(xml, xrechnung=True, include_warnings=True) == []


@pytest.mark.parametrize(
    ("missing", "rule"),
    [("creditor_id", "BR-DE-30"), ("debtor_iban", "BR-DE-31"), ("mandate_reference", "BR-DE-29")],
)
def test_missing_direct_debit_parts_are_reported(missing: str, rule: str) -> None:
    """BR-DE-30 (creditor id BT-90) and BR-DE-31 (debited account BT-91) from KoSIT's
    XRechnung rules, BR-DE-29 (mandate reference BT-89) from our own layer, fire in both
    syntaxes when one part of BG-19 is left out."""
    doc = debit_invoice(replace(DEBIT, **{missing: None}))
    assert rule in rules(build_xml(doc, xrechnung=True))
    assert rule in rules(build_ubl(doc))


def test_cii_direct_debit_without_mandate_reference_fails_only_on_br_de_29() -> None:
    """KoSIT's BR-DE-30/31 accept BG-19 with BT-90 and BT-91 alone; the mandate reference
    the debtor's bank checks the debit against is still required, with a German message."""
    doc = debit_invoice(replace(DEBIT, mandate_reference=None))
    problems = validate(build_xml(doc, xrechnung=True), xrechnung=True)
    assert [(p.rule, p.message) for p in problems] == [
        ("BR-DE-29", "Bei Lastschrift (Code 59) fehlt die Mandatsreferenz (BT-89).")
    ]
    # Factur-X (EN 16931 without the German CIUS) does not apply BR-DE rules.
    assert validate(build_xml(doc), xrechnung=False) == []


def test_ubl_direct_debit_without_mandate_is_br_de_25() -> None:
    """[BR-DE-25-a] code 59 needs the direct debit group BG-19 (UBL: PaymentMandate)."""
    doc = debit_invoice(replace(DEBIT, mandate_reference=None))
    assert "BR-DE-25-a" in rules(build_ubl(doc))


def test_pdf_prints_the_prenotification_instead_of_transfer_text() -> None:
    """The invoice PDF announces the debit: amount, day, mandate, creditor id, masked IBAN."""
    from kms.einvoice.calc import compute
    from kms.formatting import format_date, format_money
    from kms.rendering.demo import DEMO_CREATED_AT, demo_company
    from kms.rendering.invoice import InvoiceLayout, render_invoice
    from tests.rendering.conftest import open_pdf, overlapping_words

    doc = debit_invoice()
    layout = InvoiceLayout(company=demo_company(), recipient=("Musterfirma GmbH",), intro="")
    data = render_invoice(doc, layout, created_at=DEMO_CREATED_AT)
    with open_pdf(data) as pdf:
        pages = " ".join(page.extract_text() or "" for page in pdf.pages)
    text = " ".join(pages.replace("\xa0", " ").split())
    amount = format_money(compute(doc).due).replace("\xa0", " ")
    assert (
        f"Der Betrag von {amount} wird am {format_date(TERMS.due_date)} "
        f"per SEPA-Lastschrift mit der Mandatsreferenz {MANDATE} und unserer Gläubiger-ID "
        f"{CREDITOR_ID} von Ihrem Konto DE89 **** 3000 abgebucht."
    ) in text
    assert "Bitte überweisen" not in text
    assert overlapping_words(data) == []
