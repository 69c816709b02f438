"""EN 16931 invoice as UN/CEFACT Cross Industry Invoice (D16B) XML bytes.

One builder serves both German targets: Factur-X/ZUGFeRD profile EN 16931 (embedded in a
PDF/A-3) and XRechnung 3.0 in CII syntax; they differ only in the specification
identifier BT-24 and in the extra data XRechnung demands (checked by `validate`).
Element order follows the Factur-X EN 16931 XSD, which is a strict subset of D16B.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from kms.einvoice.calc import AllowanceAmounts, LineAmounts, TaxGroup, Totals, compute
from kms.einvoice.model import (
    InvoiceDocument,
    InvoiceReference,
    Party,
    PaymentMeans,
    PaymentTerms,
    Period,
    TaxCategory,
)

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"
GUIDELINE_XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
# BT-23; optional in EN 16931, expected by Peppol and harmless everywhere else.
BUSINESS_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def build_xml(doc: InvoiceDocument, *, xrechnung: bool = False) -> bytes:
    """CII XML bytes (UTF-8, pretty printed) for `doc`; amounts come from `calc.compute`."""
    totals = compute(doc)
    root = etree.Element(_q("rsm", "CrossIndustryInvoice"), nsmap=NS)
    _context(root, GUIDELINE_XRECHNUNG if xrechnung else GUIDELINE_EN16931)
    _header(root, doc)
    transaction = _sub(root, "rsm", "SupplyChainTradeTransaction")
    for amounts in totals.lines:
        _line(transaction, amounts)
    _agreement(transaction, doc)
    _delivery(transaction, doc)
    _settlement(transaction, doc, totals)
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


# --- formatting ---------------------------------------------------------------------


def amount(value: Decimal) -> str:
    """Money as text with exactly two decimals (BR-DEC-*)."""
    return f"{value.quantize(Decimal('0.01')):f}"


def number(value: Decimal) -> str:
    """Quantity, price or rate as plain text without exponent or trailing zeros."""
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def _q(prefix: str, tag: str) -> str:
    """Clark notation for a prefixed tag."""
    return f"{{{NS[prefix]}}}{tag}"


def _sub(
    parent: etree._Element, prefix: str, tag: str, text: str | None = None, **attrs: str
) -> etree._Element:
    """Append a child element with optional text and attributes."""
    el = etree.SubElement(parent, _q(prefix, tag), attrs)
    if text is not None:
        el.text = text
    return el


def _ram(
    parent: etree._Element, path: str, text: str | None = None, **attrs: str
) -> etree._Element:
    """Append a chain of ram: elements given as "A/B/C"; text and attrs go to the last."""
    *outer, last = path.split("/")
    for tag in outer:
        parent = _sub(parent, "ram", tag)
    return _sub(parent, "ram", last, text, **attrs)


def _fields(parent: etree._Element, *pairs: tuple[str, str | None]) -> None:
    """Append ram: paths with their text in the given order, skipping empty values."""
    for path, text in pairs:
        if text:
            _ram(parent, path, text)


def _date(parent: etree._Element, path: str, value: date, prefix: str = "udt") -> None:
    """A date as ram:path/xxx:DateTimeString with format 102 (YYYYMMDD)."""
    holder = _ram(parent, path)
    _sub(holder, prefix, "DateTimeString", f"{value:%Y%m%d}", format="102")


# --- document header ----------------------------------------------------------------


def _context(root: etree._Element, guideline: str) -> None:
    """ExchangedDocumentContext: business process BT-23 and specification id BT-24."""
    ctx = _sub(root, "rsm", "ExchangedDocumentContext")
    _ram(ctx, "BusinessProcessSpecifiedDocumentContextParameter/ID", BUSINESS_PROCESS)
    _ram(ctx, "GuidelineSpecifiedDocumentContextParameter/ID", guideline)


def _header(root: etree._Element, doc: InvoiceDocument) -> None:
    """ExchangedDocument: number BT-1, type BT-3, issue date BT-2, notes BT-22."""
    header = _sub(root, "rsm", "ExchangedDocument")
    _ram(header, "ID", doc.number)
    _ram(header, "TypeCode", doc.type_code.value)
    _date(header, "IssueDateTime", doc.issue_date)
    for note in doc.notes:
        _ram(header, "IncludedNote/Content", note)


# --- lines --------------------------------------------------------------------------


def _line(transaction: etree._Element, amounts: LineAmounts) -> None:
    """One IncludedSupplyChainTradeLineItem (BG-25)."""
    line = amounts.line
    item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
    _ram(item, "AssociatedDocumentLineDocument/LineID", line.id)
    product = _ram(item, "SpecifiedTradeProduct")
    name, _, _ = line.description.partition("\n")
    _ram(product, "Name", name.strip() or line.description)
    if name != line.description:
        _ram(product, "Description", line.description)
    agreement = _ram(item, "SpecifiedLineTradeAgreement")
    _ram(agreement, "NetPriceProductTradePrice/ChargeAmount", number(line.unit_price))
    delivery = _ram(item, "SpecifiedLineTradeDelivery")
    _ram(delivery, "BilledQuantity", number(line.quantity), unitCode=line.unit_code)
    settlement = _ram(item, "SpecifiedLineTradeSettlement")
    _line_tax(settlement, line.tax_category, line.tax_rate)
    _line_allowance(settlement, amounts)
    _ram(
        settlement,
        "SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
        amount(amounts.net),
    )


def _line_tax(settlement: etree._Element, category: TaxCategory, rate: Decimal) -> None:
    """Line VAT (BG-30); [BR-O-05] a line not subject to VAT carries no rate."""
    tax = _ram(settlement, "ApplicableTradeTax")
    _ram(tax, "TypeCode", "VAT")
    _ram(tax, "CategoryCode", category.value)
    if category is not TaxCategory.NOT_SUBJECT:
        _ram(tax, "RateApplicablePercent", number(rate))


def _line_allowance(settlement: etree._Element, amounts: LineAmounts) -> None:
    """Line allowance (BG-27) with reason BT-139 ([BR-42]) and, for percent, its basis."""
    allowance = amounts.line.allowance
    if allowance is None:
        return
    charge = _ram(settlement, "SpecifiedTradeAllowanceCharge")
    _sub(_ram(charge, "ChargeIndicator"), "udt", "Indicator", "false")
    if allowance.percent is not None:
        _ram(charge, "CalculationPercent", number(allowance.percent))
        _ram(charge, "BasisAmount", amount(amounts.gross))
    _ram(charge, "ActualAmount", amount(amounts.allowance))
    _ram(charge, "Reason", allowance.reason)


# --- parties and delivery -----------------------------------------------------------


def _agreement(transaction: etree._Element, doc: InvoiceDocument) -> None:
    """ApplicableHeaderTradeAgreement: buyer reference BT-10, seller BG-4, buyer BG-7."""
    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    if doc.buyer_reference:
        _ram(agreement, "BuyerReference", doc.buyer_reference)
    # [BR-O-02] an invoice with "not subject to VAT" lines must not carry VAT ids.
    vat_ids = TaxCategory.NOT_SUBJECT not in doc.categories()
    _party(_ram(agreement, "SellerTradeParty"), doc.seller, vat_ids=vat_ids, seller=True)
    _party(_ram(agreement, "BuyerTradeParty"), doc.buyer, vat_ids=vat_ids, seller=False)


def _party(el: etree._Element, party: Party, *, vat_ids: bool, seller: bool) -> None:
    """Party content in XSD order: id, name, legal org, contact, address, e-address, tax ids."""
    if party.identifier:
        _ram(el, "ID", party.identifier)
    _ram(el, "Name", party.name)
    if party.legal_registration:
        _ram(el, "SpecifiedLegalOrganization/ID", party.legal_registration)
    _contact(el, party)
    _address(el, party)
    if party.electronic_address:
        # [BR-62]/[BR-63] the electronic address needs a scheme; EM = e-mail (EAS list).
        _ram(el, "URIUniversalCommunication/URIID", party.electronic_address, schemeID="EM")
    if vat_ids and party.vat_id:
        _ram(el, "SpecifiedTaxRegistration/ID", party.vat_id, schemeID="VA")
    if seller and party.tax_number:
        # BT-32 exists for the seller only; FC = tax number of the tax office.
        _ram(el, "SpecifiedTaxRegistration/ID", party.tax_number, schemeID="FC")


def _contact(el: etree._Element, party: Party) -> None:
    """DefinedTradeContact (BG-6 / BG-9), only if any contact detail is known."""
    if not (party.contact_name or party.contact_phone or party.contact_email):
        return
    _fields(
        _ram(el, "DefinedTradeContact"),
        ("PersonName", party.contact_name),
        ("TelephoneUniversalCommunication/CompleteNumber", party.contact_phone),
        ("EmailURIUniversalCommunication/URIID", party.contact_email),
    )


def _address(el: etree._Element, party: Party) -> None:
    """PostalTradeAddress (BG-5 / BG-8 / BG-15); empty parts are left out."""
    _fields(
        _ram(el, "PostalTradeAddress"),
        ("PostcodeCode", party.postcode),
        ("LineOne", party.street),
        ("CityName", party.city),
        ("CountryID", party.country),
    )


def deliver_to(doc: InvoiceDocument) -> Party | None:
    """The deliver-to party (BG-13) to transmit, also where it only repeats the buyer.

    [BR-IC-12] a K invoice needs the deliver-to country. Without a delivery date (only a
    Leistungszeitraum) the CII delivery block would have no content, but the D16B schema
    requires it and [PEPPOL-EN16931-R008] forbids empty elements: the buyer's address as
    deliver-to address (services are performed for the buyer) fills it, as FNFE advises.
    """
    if doc.ship_to is not None:
        return doc.ship_to
    if TaxCategory.INTRA_COMMUNITY in doc.categories() or doc.delivery_date is None:
        return doc.buyer
    return None


def _delivery(transaction: etree._Element, doc: InvoiceDocument) -> None:
    """ApplicableHeaderTradeDelivery: deliver-to party BG-13 and delivery date BT-72."""
    delivery = _ram(transaction, "ApplicableHeaderTradeDelivery")
    ship_to = deliver_to(doc)
    if ship_to is not None:
        party = _ram(delivery, "ShipToTradeParty")
        _ram(party, "Name", ship_to.name)
        _address(party, ship_to)
    if doc.delivery_date:
        _date(delivery, "ActualDeliverySupplyChainEvent/OccurrenceDateTime", doc.delivery_date)


# --- settlement ---------------------------------------------------------------------


def _settlement(transaction: etree._Element, doc: InvoiceDocument, totals: Totals) -> None:
    """ApplicableHeaderTradeSettlement: payment, VAT breakdown, period, terms, totals."""
    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    debit = next((m for m in doc.payment_means if m.direct_debit), None)
    if debit is not None and debit.creditor_id:
        _ram(settlement, "CreditorReferenceID", debit.creditor_id)  # BT-90
    _ram(settlement, "PaymentReference", doc.payment_reference or doc.number)
    _ram(settlement, "InvoiceCurrencyCode", doc.currency)
    for means in doc.payment_means:
        _payment_means(settlement, means)
    for group in totals.groups:
        _tax_group(settlement, group)
    if doc.period:
        _period(settlement, doc.period)
    for extra in totals.allowances:
        _document_allowance(settlement, extra)
    if doc.payment_terms:
        mandate = debit.mandate_reference if debit is not None else None
        _payment_terms(settlement, doc.payment_terms, totals, mandate)
    _summation(settlement, totals, doc.currency)
    for ref in doc.preceding_invoices:
        _preceding(settlement, ref)


def _payment_means(settlement: etree._Element, means: PaymentMeans) -> None:
    """SpecifiedTradeSettlementPaymentMeans (BG-16) with credit transfer account (BG-17)
    or, for a direct debit, the debited account (BT-91)."""
    el = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
    _fields(el, ("TypeCode", means.code.value), ("Information", means.information))
    if means.debtor_iban:
        _ram(_ram(el, "PayerPartyDebtorFinancialAccount"), "IBANID", means.debtor_iban)
    if means.iban:
        _fields(
            _ram(el, "PayeePartyCreditorFinancialAccount"),
            ("IBANID", means.iban.replace(" ", "")),
            ("AccountName", means.account_name),
        )
    _fields(el, ("PayeeSpecifiedCreditorFinancialInstitution/BICID", means.bic))


def _tax_group(settlement: etree._Element, group: TaxGroup) -> None:
    """ApplicableTradeTax (BG-23) in XSD order."""
    tax = _ram(settlement, "ApplicableTradeTax")
    _ram(tax, "CalculatedAmount", amount(group.tax))
    _ram(tax, "TypeCode", "VAT")
    if group.exemption:
        _ram(tax, "ExemptionReason", group.exemption.text)
    _ram(tax, "BasisAmount", amount(group.basis))
    _ram(tax, "CategoryCode", group.category.value)
    if group.exemption and group.exemption.code:
        _ram(tax, "ExemptionReasonCode", group.exemption.code)
    # [BR-48] allows omitting the rate for O, but [BR-DE-14] demands it: 0 satisfies both.
    _ram(tax, "RateApplicablePercent", number(group.rate))


def _document_allowance(settlement: etree._Element, extra: AllowanceAmounts) -> None:
    """SpecifiedTradeAllowanceCharge (BG-20 allowance / BG-21 charge) with its VAT."""
    item = extra.allowance
    el = _ram(settlement, "SpecifiedTradeAllowanceCharge")
    _sub(_ram(el, "ChargeIndicator"), "udt", "Indicator", "true" if item.charge else "false")
    if item.percent is not None and extra.base is not None:
        _ram(el, "CalculationPercent", number(item.percent))
        _ram(el, "BasisAmount", amount(extra.base))
    _ram(el, "ActualAmount", amount(extra.amount))
    _fields(el, ("ReasonCode", item.reason_code), ("Reason", item.reason.strip()))
    tax = _ram(el, "CategoryTradeTax")
    _ram(tax, "TypeCode", "VAT")
    _ram(tax, "CategoryCode", item.tax_category.value)
    if item.tax_category is not TaxCategory.NOT_SUBJECT:  # [BR-O-06] / [BR-O-07]
        _ram(tax, "RateApplicablePercent", number(item.tax_rate))


def _period(settlement: etree._Element, period: Period) -> None:
    """BillingSpecifiedPeriod (BG-14), the Leistungszeitraum."""
    el = _ram(settlement, "BillingSpecifiedPeriod")
    _date(el, "StartDateTime", period.start)
    _date(el, "EndDateTime", period.end)


def payment_terms_text(terms: PaymentTerms, totals: Totals) -> str:
    """BT-20 text: free text, then one `#SKONTO#…#` line per Skonto, each ending in "\\n".

    [BR-DE-18] fixes the Skonto syntax: percent with two decimals, and BASISBETRAG only
    when the discount base is not the amount due (here: when something was prepaid).
    """
    lines = [terms.text.strip()] if terms.text.strip() else []
    base = f"BASISBETRAG={amount(totals.grand_total)}#" if totals.prepaid else ""
    for s in terms.skonto:
        lines.append(f"#SKONTO#TAGE={s.days}#PROZENT={amount(s.percent)}#{base}")
    text = "\n".join(lines)
    return text + "\n" if terms.skonto else text


def _payment_terms(
    settlement: etree._Element, terms: PaymentTerms, totals: Totals, mandate: str | None = None
) -> None:
    """SpecifiedTradePaymentTerms: description BT-20, due date BT-9, mandate BT-89."""
    description = payment_terms_text(terms, totals)
    if not description and terms.due_date is None and not mandate:
        return
    el = _ram(settlement, "SpecifiedTradePaymentTerms")
    if description:
        _ram(el, "Description", description)
    if terms.due_date:
        _date(el, "DueDateDateTime", terms.due_date)
    if mandate:
        _ram(el, "DirectDebitMandateID", mandate)


def _summation(settlement: etree._Element, totals: Totals, currency: str) -> None:
    """SpecifiedTradeSettlementHeaderMonetarySummation (BG-22)."""
    el = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _ram(el, "LineTotalAmount", amount(totals.line_total))
    if any(a.allowance.charge for a in totals.allowances):
        _ram(el, "ChargeTotalAmount", amount(totals.charge_total))  # BT-108
    if any(not a.allowance.charge for a in totals.allowances):
        _ram(el, "AllowanceTotalAmount", amount(totals.allowance_total))  # BT-107
    _ram(el, "TaxBasisTotalAmount", amount(totals.tax_basis))
    # BT-110 needs the currency attribute in CII (it tells BT-110 from BT-111).
    _ram(el, "TaxTotalAmount", amount(totals.tax_total), currencyID=currency)
    _ram(el, "GrandTotalAmount", amount(totals.grand_total))
    if totals.prepaid:
        _ram(el, "TotalPrepaidAmount", amount(totals.prepaid))
    _ram(el, "DuePayableAmount", amount(totals.due))


def _preceding(settlement: etree._Element, ref: InvoiceReference) -> None:
    """InvoiceReferencedDocument (BG-3): number BT-25 and date BT-26 of a preceding invoice."""
    el = _ram(settlement, "InvoiceReferencedDocument")
    _ram(el, "IssuerAssignedID", ref.number)
    if ref.issue_date:
        _date(el, "FormattedIssueDateTime", ref.issue_date, prefix="qdt")
