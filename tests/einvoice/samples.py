"""Obviously fictitious invoices, one per VAT situation, shared by the e-invoice tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from kms.einvoice.model import (
    ALLOWANCE_DISCOUNT,
    CHARGE_FREIGHT,
    DocumentAllowance,
    InvoiceDocument,
    Line,
    LineAllowance,
    Party,
    PaymentMeans,
    PaymentTerms,
    Period,
    Skonto,
    TaxCategory,
)

TEST_IBAN = "DE02120300000000202051"
TEST_BIC = "BYLADEM1001"
LEITWEG_ID = "04011000-12345-03"

SELLER = Party(
    "Erika Mustermann Webdesign", "Musterstraße 1", "12345", "Musterstadt",
    vat_id="DE123456789", tax_number="123/456/78901", electronic_address="rechnung@example.org",
    contact_name="Erika Mustermann", contact_phone="+49 30 1234567",
    contact_email="erika@example.org",
)  # fmt: skip
BUYER = Party(
    "Musterfirma GmbH", "Beispielweg 2", "54321", "Beispielhausen", vat_id="DE987654321",
    legal_registration="HRB 12345", electronic_address="einkauf@example.org",
)  # fmt: skip
EU_BUYER = Party(
    "Voorbeeld B.V.", "Voorbeeldstraat 3", "1234 AB", "Amsterdam", "NL",
    vat_id="NL123456789B01", electronic_address="inkoop@example.org",
)  # fmt: skip
FOREIGN_BUYER = Party(
    "Example Ltd.", "1 Example Road", "8001", "Zürich", "CH",
    electronic_address="billing@example.org",
)  # fmt: skip
# A small business (§ 19 UStG) has no USt-IdNr.; BR-CO-26 then needs a seller id.
SMALL_SELLER = replace(SELLER, vat_id=None, identifier="LIEF-4711")
# Not subject to VAT: VAT ids are suppressed (BR-O-02), so BR-CO-26 needs BT-29/30.
NOT_SUBJECT_SELLER = replace(SELLER, identifier="LIEF-4711")

PAYMENT = (PaymentMeans(iban=TEST_IBAN, bic=TEST_BIC, account_name="Erika Mustermann"),)
TERMS = PaymentTerms(
    due_date=date(2025, 2, 14),
    text="Zahlbar bis 14.02.2025, innerhalb von 14 Tagen mit 2 % Skonto.",
    skonto=(Skonto(Decimal("2.00"), 14),),
)


def _line(n: int, text: str, qty: str, unit: str, price: str, cat: TaxCategory, rate: str = "0"):
    """Short constructor for sample lines."""
    return Line(str(n), text, Decimal(qty), unit, Decimal(price), cat, Decimal(rate))


def invoice(**changes) -> InvoiceDocument:
    """Base invoice: S 19 % and 7 % mixed, with an allowance, Skonto and a period."""
    base = InvoiceDocument(
        number="RE-2025-0001",
        issue_date=date(2025, 1, 15),
        seller=SELLER,
        buyer=BUYER,
        lines=(
            _line(1, "Webdesign Startseite", "3", "HUR", "33.3333", TaxCategory.STANDARD, "19"),
            Line(
                "2",
                "Hosting Januar",
                Decimal("1"),
                "MON",
                Decimal("19.99"),
                TaxCategory.STANDARD,
                Decimal("19"),
                LineAllowance("Treuerabatt", percent=Decimal("10")),
            ),
            _line(3, "Fachbuch Barrierefreiheit", "2", "C62", "24.90", TaxCategory.STANDARD, "7"),
        ),
        period=Period(date(2025, 1, 1), date(2025, 1, 31)),
        buyer_reference=LEITWEG_ID,
        payment_means=PAYMENT,
        payment_terms=TERMS,
    )
    return replace(base, **changes)


def _single_line(no: int, line: Line, note: str, **changes) -> InvoiceDocument:
    """Invoice number RE-2025-<no> with one line and one note, based on `invoice()`."""
    return invoice(number=f"RE-2025-{no:04d}", lines=(line,), notes=(note,), **changes)


def exempt_small_business() -> InvoiceDocument:
    """E: Kleinunternehmer § 19 UStG."""
    line = _line(1, "Logo-Entwurf", "1", "LS", "450", TaxCategory.EXEMPT)
    note = "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."
    return _single_line(2, line, note, seller=SMALL_SELLER)


def reverse_charge() -> InvoiceDocument:
    """AE: § 13b UStG, buyer with VAT id."""
    line = _line(1, "Montagearbeiten", "12.5", "HUR", "52.00", TaxCategory.REVERSE_CHARGE)
    return _single_line(3, line, "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG).")


def intra_community() -> InvoiceDocument:
    """K: supply to an EU business, both VAT ids, delivery date instead of a period."""
    line = _line(1, "Messestand-Module", "4", "C62", "1250.00", TaxCategory.INTRA_COMMUNITY)
    note = "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1b UStG)."
    return _single_line(4, line, note, buyer=EU_BUYER, period=None, delivery_date=date(2025, 1, 10))


def export() -> InvoiceDocument:
    """G: export to a non-EU country."""
    line = _line(1, "Druckvorlagen", "10", "C62", "12.3456", TaxCategory.EXPORT)
    note = "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1a UStG)."
    return _single_line(5, line, note, buyer=FOREIGN_BUYER)


def not_subject() -> InvoiceDocument:
    """O: service not taxable in Germany."""
    line = _line(1, "Beratung (Leistungsort Ausland)", "8", "HUR", "95", TaxCategory.NOT_SUBJECT)
    note = "Nicht im Inland steuerbare Leistung."
    return _single_line(6, line, note, seller=NOT_SUBJECT_SELLER, buyer=FOREIGN_BUYER)


def allowances_charges() -> InvoiceDocument:
    """S 19 % and 7 % with document level allowances and charges at both rates (BG-20/21)."""
    s19 = (TaxCategory.STANDARD, Decimal("19"))
    s7 = (TaxCategory.STANDARD, Decimal("7"))
    extras = (
        # 5 % of the 19 % lines (100.00 + 17.99 = 117.99) = 5.90
        DocumentAllowance(False, "Gesamtrabatt", *s19, percent=Decimal("5"),
                          reason_code=ALLOWANCE_DISCOUNT),
        DocumentAllowance(False, "Treuerabatt Bücher", *s7, amount=Decimal("2.00")),
        DocumentAllowance(True, "Versandkosten", *s19, amount=Decimal("4.90"),
                          reason_code=CHARGE_FREIGHT),
        DocumentAllowance(True, "Mindermengenzuschlag", *s7, amount=Decimal("5.00")),
    )  # fmt: skip
    return invoice(number="RE-2025-0007", allowances=extras)


SAMPLES = {
    "standard_19_7": invoice,
    "exempt_19_ustg": exempt_small_business,
    "reverse_charge": reverse_charge,
    "intra_community": intra_community,
    "export": export,
    "not_subject": not_subject,
    "allowances_charges": allowances_charges,
}
