"""Immutable input data for one electronic invoice (EN 16931 semantic model, German use).

Only what a self-employed seller in Germany needs: one currency (EUR), line allowances,
document level allowances and charges (BG-20/BG-21), the VAT categories S/Z/E/AE/K/G/O,
SEPA credit transfer and Skonto. Totals are never stored here; `kms.einvoice.calc`
computes them from the lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType


class TaxCategory(StrEnum):
    """VAT category codes (UNTDID 5305) that EN 16931 allows and a German seller uses."""

    STANDARD = "S"  # Regelsteuersatz 19 % or ermäßigt 7 %
    ZERO = "Z"  # Nullsteuersatz, e.g. § 12 Abs. 3 UStG (Photovoltaik)
    EXEMPT = "E"  # steuerfrei, e.g. Kleinunternehmer § 19 UStG, § 4 UStG
    REVERSE_CHARGE = "AE"  # § 13b UStG
    INTRA_COMMUNITY = "K"  # innergemeinschaftliche Lieferung/Leistung
    EXPORT = "G"  # Ausfuhrlieferung in ein Drittland
    NOT_SUBJECT = "O"  # nicht steuerbar


class DocumentType(StrEnum):
    """Invoice type codes (UNTDID 1001, BT-3) accepted by EN 16931 and XRechnung (BR-DE-17)."""

    INVOICE = "380"
    PARTIAL_INVOICE = "326"
    # A German "Stornorechnung" cancels a sent invoice. We encode it as 381 (credit note)
    # with positive amounts and the cancelled invoice in BG-3: 381 is in the EN 16931 core
    # code list and in BR-DE-17, and EN 16931 defines a credit note as a document that
    # reduces the amount of a preceding invoice. 384 (corrected invoice) is also allowed
    # but means "replaces the invoice with new content" and would need the full
    # corrected data; it suits a Rechnungskorrektur, not a Storno. Never label 381 as
    # "Gutschrift" in the UI: under § 14 Abs. 2 UStG that word means self-billing (389).
    CREDIT_NOTE = "381"
    CORRECTED_INVOICE = "384"
    # Abschlagsrechnung (§ 14 Abs. 5 UStG): in the EN 16931 code list; XRechnung's BR-DE-17
    # does not list it, but that rule is only a warning, so the XRechnung stays valid.
    PREPAYMENT_INVOICE = "386"


class EInvoiceFormat(StrEnum):
    """The e-invoice a customer receives: Factur-X always, XRechnung on request."""

    FACTURX = "facturx"  # ZUGFeRD/Factur-X: PDF/A-3 with embedded CII (EN 16931 profile)
    XRECHNUNG_CII = "xrechnung_cii"  # plus XRechnung 3.0 as CII XML
    XRECHNUNG_UBL = "xrechnung_ubl"  # plus XRechnung 3.0 as UBL 2.1 XML

    @property
    def xrechnung(self) -> bool:
        return self is not EInvoiceFormat.FACTURX


EINVOICE_FORMAT_LABELS: dict[str, str] = {
    EInvoiceFormat.FACTURX.value: "ZUGFeRD/Factur-X (PDF mit eingebetteten Daten)",
    EInvoiceFormat.XRECHNUNG_CII.value: "XRechnung (CII-XML) zusätzlich zum PDF",
    EInvoiceFormat.XRECHNUNG_UBL.value: "XRechnung (UBL-XML) zusätzlich zum PDF",
}


class PaymentMeansCode(StrEnum):
    """Payment means type codes (UNTDID 4461, BT-81) we support."""

    CASH = "10"
    CREDIT_TRANSFER = "30"
    SEPA_CREDIT_TRANSFER = "58"
    SEPA_DIRECT_DEBIT = "59"
    NOT_DEFINED = "1"


@dataclass(frozen=True)
class Party:
    """Seller or buyer (BG-4 / BG-7) with address, tax ids and contact."""

    name: str
    street: str
    postcode: str
    city: str
    country: str = "DE"  # ISO 3166-1 alpha-2
    vat_id: str | None = None  # USt-IdNr., BT-31 / BT-48
    tax_number: str | None = None  # Steuernummer, BT-32 (seller only)
    identifier: str | None = None  # BT-29 / BT-46, e.g. a supplier number
    legal_registration: str | None = None  # BT-30 / BT-47, e.g. "HRB 12345, AG Musterstadt"
    electronic_address: str | None = None  # e-mail, BT-34 / BT-49 (scheme EM)
    contact_name: str | None = None  # BT-41 / BT-56
    contact_phone: str | None = None  # BT-42 / BT-57
    contact_email: str | None = None  # BT-43 / BT-58


@dataclass(frozen=True)
class LineAllowance:
    """A discount on one line (BG-27): either a percent of the line amount or a fixed amount."""

    reason: str
    percent: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("LineAllowance needs exactly one of percent or amount")
        _require_scale(self.percent, 2, "allowance percent")
        _require_scale(self.amount, 2, "allowance amount")


# Reason codes (BT-98 from UNTDID 5189, BT-105 from UNTDID 7161) for the usual German cases;
# a reason text (BT-97/BT-104) is always written as well, so other cases need no code.
ALLOWANCE_DISCOUNT = "95"  # UNTDID 5189: Discount (Gesamtrabatt)
CHARGE_FREIGHT = "FC"  # UNTDID 7161: Freight service (Versandkosten)


@dataclass(frozen=True)
class DocumentAllowance:
    """A document level allowance (BG-20, Rabatt) or charge (BG-21, Zuschlag) with its VAT.

    Either a fixed net `amount` or a `percent` of a base; without an explicit `base` the
    base is the net total of the lines with the same VAT category and rate.
    """

    charge: bool
    reason: str
    tax_category: TaxCategory
    tax_rate: Decimal = Decimal("0")
    amount: Decimal | None = None
    percent: Decimal | None = None
    base: Decimal | None = None
    reason_code: str | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("DocumentAllowance needs exactly one of percent or amount")
        _require_scale(self.amount, 2, "allowance/charge amount")
        _require_scale(self.percent, 2, "allowance/charge percent")
        _require_scale(self.base, 2, "allowance/charge base")
        _require_scale(self.tax_rate, 2, "tax rate")
        if (self.amount is not None and self.amount <= 0) or (
            self.percent is not None and self.percent <= 0
        ):
            raise ValueError("allowance/charge must be positive (the indicator gives the sign)")
        # [BR-33]/[BR-38] a reason text or code is mandatory
        if not (self.reason.strip() or self.reason_code):
            raise ValueError("allowance/charge needs a reason or reason code")
        _check_rate(self.tax_category, self.tax_rate, "allowance/charge")


@dataclass(frozen=True)
class Line:
    """One invoice line (BG-25); the net amount is computed, never given."""

    id: str
    description: str
    quantity: Decimal
    unit_code: str  # UN/ECE Recommendation 20, see GERMAN_UNITS
    unit_price: Decimal  # net, BT-146
    tax_category: TaxCategory
    tax_rate: Decimal = Decimal("0")
    allowance: LineAllowance | None = None

    def __post_init__(self) -> None:
        _require_scale(self.quantity, 4, "quantity")
        _require_scale(self.unit_price, 4, "unit price")
        _require_scale(self.tax_rate, 2, "tax rate")
        if self.unit_price < 0:
            raise ValueError("unit price must not be negative (BR-27)")
        _check_rate(self.tax_category, self.tax_rate, f"line {self.id}")


@dataclass(frozen=True)
class Skonto:
    """Cash discount: `percent` off when paid within `days` days of the issue date."""

    percent: Decimal
    days: int

    def __post_init__(self) -> None:
        _require_scale(self.percent, 2, "Skonto percent")
        if self.days <= 0 or not 0 < self.percent < 100:
            raise ValueError("Skonto needs days > 0 and 0 < percent < 100")


@dataclass(frozen=True)
class PaymentTerms:
    """Payment terms (BT-20) and due date (BT-9)."""

    due_date: date | None = None
    text: str = ""
    skonto: tuple[Skonto, ...] = ()


@dataclass(frozen=True)
class PaymentMeans:
    """How the buyer pays (BG-16); for SEPA credit transfer the seller's account (BG-17),
    for SEPA direct debit (code 59) the direct debit group BG-19 instead."""

    code: PaymentMeansCode = PaymentMeansCode.SEPA_CREDIT_TRANSFER
    iban: str | None = None
    bic: str | None = None
    account_name: str | None = None
    information: str | None = None  # BT-82, free text
    mandate_reference: str | None = None  # BT-89, Mandatsreferenz
    creditor_id: str | None = None  # BT-90, Gläubiger-Identifikationsnummer
    debtor_iban: str | None = None  # BT-91, the buyer's account to be debited

    @property
    def direct_debit(self) -> bool:
        return self.code is PaymentMeansCode.SEPA_DIRECT_DEBIT


@dataclass(frozen=True)
class Period:
    """Service period (BG-14, Leistungszeitraum)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("period end before start (BR-29)")


@dataclass(frozen=True)
class InvoiceReference:
    """A preceding invoice (BG-3), e.g. the invoice a Storno cancels."""

    number: str
    issue_date: date | None = None


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything needed to build the CII XML of one invoice or credit note."""

    number: str
    issue_date: date
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    type_code: DocumentType = DocumentType.INVOICE
    currency: str = "EUR"
    delivery_date: date | None = None  # BT-72, Leistungsdatum
    period: Period | None = None  # BG-14, Leistungszeitraum
    buyer_reference: str | None = None  # BT-10, Leitweg-ID for public buyers
    payment_means: tuple[PaymentMeans, ...] = ()
    payment_terms: PaymentTerms | None = None
    payment_reference: str | None = None  # BT-83, Verwendungszweck
    notes: tuple[str, ...] = ()  # BT-22
    preceding_invoices: tuple[InvoiceReference, ...] = ()
    prepaid: Decimal = Decimal("0.00")  # BT-113
    # Overrides the default German exemption text per category (BT-120).
    exemption_reasons: Mapping[TaxCategory, str] = field(
        default_factory=lambda: MappingProxyType({})
    )
    allowances: tuple[DocumentAllowance, ...] = ()  # BG-20 and BG-21
    # BG-13/BG-15 deliver-to party; for K the CII builder falls back to the buyer, since
    # BR-IC-12 needs a deliver-to country and XRechnung then a city and post code too.
    ship_to: Party | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("an invoice needs at least one line (BR-16)")
        if self.currency != "EUR":
            raise ValueError("only EUR invoices are supported")
        _require_scale(self.prepaid, 2, "prepaid amount")
        object.__setattr__(
            self, "exemption_reasons", MappingProxyType(dict(self.exemption_reasons))
        )

    def categories(self) -> frozenset[TaxCategory]:
        """The VAT categories used by the lines and the document allowances and charges."""
        used = {line.tax_category for line in self.lines}
        return frozenset(used | {a.tax_category for a in self.allowances})


def cancellation_of(original: InvoiceDocument, *, number: str, issue_date: date) -> InvoiceDocument:
    """Build the Stornorechnung (type 381, positive amounts) that cancels `original`."""
    reference = InvoiceReference(original.number, original.issue_date)
    note = f"Storno der Rechnung {original.number} vom {original.issue_date:%d.%m.%Y}"
    # [BR-CO-25] the amount due is positive, so payment terms (BT-20) must say what happens.
    terms = PaymentTerms(
        text=f"Wird mit Rechnung {original.number} verrechnet; bereits gezahlte Beträge "
        "werden erstattet."
    )
    return InvoiceDocument(
        number=number,
        issue_date=issue_date,
        seller=original.seller,
        buyer=original.buyer,
        lines=original.lines,
        type_code=DocumentType.CREDIT_NOTE,
        delivery_date=original.delivery_date,
        period=original.period,
        buyer_reference=original.buyer_reference,
        payment_means=original.payment_means,
        payment_terms=terms,
        notes=(note, *original.notes),
        preceding_invoices=(reference,),
        exemption_reasons=original.exemption_reasons,
        allowances=original.allowances,
        ship_to=original.ship_to,
    )


@dataclass(frozen=True)
class Unit:
    """A unit of measure as the German UI shows it, with its UN/ECE Rec 20 code."""

    label: str
    code: str


# Fixed list for the unit drop-down. All codes are in the EN 16931 code list for BT-130.
GERMAN_UNITS: tuple[Unit, ...] = (
    Unit("Stück", "C62"),
    Unit("Stunde", "HUR"),
    Unit("Minute", "MIN"),
    Unit("Tag", "DAY"),
    Unit("Woche", "WEE"),
    Unit("Monat", "MON"),
    Unit("Jahr", "ANN"),
    Unit("Pauschale", "LS"),
    Unit("Kilogramm", "KGM"),
    Unit("Gramm", "GRM"),
    Unit("Tonne", "TNE"),
    Unit("Meter", "MTR"),
    Unit("Kilometer", "KMT"),
    Unit("Quadratmeter", "MTK"),
    Unit("Kubikmeter", "MTQ"),
    Unit("Liter", "LTR"),
    Unit("Kilowattstunde", "KWH"),
    Unit("Satz", "SET"),
)


def unit_label(code: str) -> str:
    """German label for a Rec 20 code, or the code itself when it is not in the list."""
    return next((u.label for u in GERMAN_UNITS if u.code == code), code)


def _check_rate(category: TaxCategory, rate: Decimal, what: str) -> None:
    """[BR-S-05] the standard rate is > 0; [BR-Z-05], [BR-E-05], [BR-AE-05], [BR-IC-05],
    [BR-G-05]: the other categories have rate 0 (O carries none in the XML, BR-O-05)."""
    if (category is TaxCategory.STANDARD) != (rate > 0):
        raise ValueError(f"{what}: rate {rate} invalid for {category}")


def _require_scale(value: Decimal | None, places: int, what: str) -> None:
    """Reject floats and values with more decimal places than EN 16931 allows here."""
    if value is None:
        return
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite() or value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"{what} {value} has more than {places} decimal places")
