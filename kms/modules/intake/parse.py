"""Safe reading of received invoices: CII, UBL, Factur-X/ZUGFeRD PDFs, plain PDFs and images.

Nothing here touches the database. `parse(data, filename)` returns a `ParsedInvoice` or
raises `FileRefused` with a German message. XML is read only through lxml with entity
resolution, DTD loading, network access and huge trees switched off, and any document
carrying a DOCTYPE is refused before a single value is read: a DTD is the vehicle of
XXE and entity-expansion ("billion laughs") attacks, and no e-invoice syntax needs one.
Messages never quote the file's content (nothing of a local file an attacker pointed an
entity at can reach the user or the log).

Supplier text stays plain `str`; the UI renders it as text, never as Markdown or HTML.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

from kms.einvoice.cii import NS as CII_NS
from kms.einvoice.ubl import CREDIT_NOTE_NS, INVOICE_NS, UBL_NS
from kms.errors import KmsError

CII_ROOT = f"{{{CII_NS['rsm']}}}CrossIndustryInvoice"
EINVOICE, OTHER = "erechnung", "sonstige"
KIND_LABELS = {EINVOICE: "E-Rechnung", OTHER: "sonstige Rechnung / Beleg"}
Kind = str  # EINVOICE | OTHER

# Names a Factur-X / ZUGFeRD / XRechnung PDF gives its embedded XML, preferred first.
EMBEDDED_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "zugferd_invoice.xml")

TYPE_CODES = {
    "380": "Rechnung",
    "381": "Gutschrift (Rechnungskorrektur)",
    "384": "Korrigierte Rechnung",
    "389": "Gutschrift im Gutschriftsverfahren",
    "326": "Teilrechnung",
    "875": "Teilrechnung (Bau)",
    "876": "Teilschlussrechnung (Bau)",
    "877": "Schlussrechnung (Bau)",
}
CREDIT_TYPE_CODES = frozenset({"381"})

VAT_CATEGORIES = {
    "S": "Regelsteuersatz",
    "Z": "Nullsatz",
    "E": "steuerbefreit",
    "AE": "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG)",
    "K": "innergemeinschaftliche Lieferung",
    "G": "Ausfuhrlieferung",
    "O": "nicht steuerbar",
    "L": "Kanarische Inseln",
    "M": "Ceuta und Melilla",
}


class FileRefused(KmsError):
    """The file cannot be taken in at all; `.message` is German and names no file content."""


@dataclass(frozen=True)
class Profile:
    """The BT-24 specification identifier and what it means here."""

    id: str
    label: str
    kind: Kind
    xrechnung: bool = False
    known: bool = True
    level: str = ""  # Factur-X level validated by its own schema: "basic" | "extended"


# BT-24 identifiers (Factur-X 1.0, ZUGFeRD 2.x, XRechnung, Peppol) → German label.
_LEVELS = {
    "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": "basic",
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic": "basic",
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": "extended",
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended": "extended",
}
_PROFILES: dict[str, tuple[str, Kind]] = {
    "urn:factur-x.eu:1p0:minimum": ("Factur-X MINIMUM", OTHER),
    "urn:zugferd.de:2p0:minimum": ("ZUGFeRD MINIMUM", OTHER),
    "urn:factur-x.eu:1p0:basicwl": ("Factur-X BASIC WL", OTHER),
    "urn:zugferd.de:2p0:basicwl": ("ZUGFeRD BASIC WL", OTHER),
    "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": ("Factur-X BASIC", EINVOICE),
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic": ("ZUGFeRD BASIC", EINVOICE),
    "urn:cen.eu:en16931:2017": ("EN 16931 (COMFORT)", EINVOICE),
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": (
        "Factur-X EXTENDED",
        EINVOICE,
    ),
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended": (
        "ZUGFeRD EXTENDED",
        EINVOICE,
    ),
    "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0": (
        "Peppol BIS Billing 3.0",
        EINVOICE,
    ),
}
_XRECHNUNG_MARKERS = ("urn:xeinkauf.de:kosit:xrechnung_", "urn:xoev-de:kosit:standard:xrechnung_")


def profile_of(bt24: str) -> Profile:
    """What a BT-24 identifier means: e-invoice, or sonstige Rechnung (also when unknown)."""
    ident = " ".join(bt24.split())
    if ident in _PROFILES:
        label, kind = _PROFILES[ident]
        return Profile(ident, label, kind, level=_LEVELS.get(ident, ""))
    if any(marker in ident for marker in _XRECHNUNG_MARKERS):
        version = ident.rsplit("_", 1)[-1] if "_" in ident else ""
        return Profile(ident, f"XRechnung {version}".strip(), EINVOICE, xrechnung=True)
    return Profile(ident, "unbekanntes Profil", OTHER, known=False)


@dataclass(frozen=True)
class Party:
    """Seller (BG-4) or buyer (BG-7)."""

    name: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    vat_id: str = ""
    tax_number: str = ""
    email: str = ""


@dataclass(frozen=True)
class Position:
    """One invoice line (BG-25)."""

    name: str
    quantity: Decimal | None
    unit: str
    net_price: Decimal | None
    net_amount: Decimal | None
    category: str
    rate: Decimal | None


@dataclass(frozen=True)
class TaxRow:
    """One VAT breakdown row (BG-23)."""

    category: str
    rate: Decimal | None
    basis: Decimal
    tax: Decimal
    exemption_reason: str = ""


@dataclass(frozen=True)
class Totals:
    """BG-22: sum of lines, net (tax basis), VAT, gross and amount due."""

    lines: Decimal | None = None
    net: Decimal | None = None
    tax: Decimal | None = None
    gross: Decimal | None = None
    due: Decimal | None = None


@dataclass(frozen=True)
class ParsedInvoice:
    """Everything read from one file; for a plain PDF or image only the container."""

    container: str  # "xml" | "pdf" | "image"
    kind: Kind
    syntax: str = ""  # "CII" | "UBL" | ""
    profile: Profile | None = None
    xml: bytes | None = None  # the (embedded) invoice XML, for validation
    number: str = ""
    type_code: str = ""
    issue_date: date | None = None
    due_date: date | None = None
    currency: str = ""
    seller: Party = field(default_factory=Party)
    buyer: Party = field(default_factory=Party)
    positions: tuple[Position, ...] = ()
    taxes: tuple[TaxRow, ...] = ()
    totals: Totals = field(default_factory=Totals)
    payment_terms: str = ""
    payment_reference: str = ""
    iban: str = ""
    bic: str = ""
    account_name: str = ""
    period_start: date | None = None
    period_end: date | None = None
    notes: tuple[str, ...] = ()  # German remarks about the reading (unknown profile ...)

    @property
    def is_credit_note(self) -> bool:
        return self.type_code in CREDIT_TYPE_CODES

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def type_label(self) -> str:
        return TYPE_CODES.get(self.type_code, self.type_code)


# --- entry point ----------------------------------------------------------------------------


def parse(data: bytes, filename: str = "") -> ParsedInvoice:
    """Read one received file; raise FileRefused (German) for anything unsafe or unreadable."""
    if not data or not data.strip():
        raise FileRefused("Die Datei ist leer.")
    head = data[:1024]
    if b"%PDF-" in head:
        return _parse_pdf(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff"):
        return ParsedInvoice(container="image", kind=OTHER)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<") or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return parse_xml(data, container="xml")
    raise FileRefused(
        "Dateityp nicht unterstützt: erwartet werden XRechnung/E-Rechnung (XML), "
        "ZUGFeRD/Factur-X oder andere PDF-Rechnungen sowie Fotos (JPEG, PNG)."
    )


def safe_root(data: bytes) -> etree._Element:
    """The root element of `data`, parsed without DTD, entities or network; DOCTYPE refused."""
    _refuse_doctype(data)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        # Only the position: libxml2's text can quote pieces of the document.
        line, column = (err.position or (0, 0))[:2]
        raise FileRefused(
            "Die XML-Datei ist unvollständig oder beschädigt und kann nicht gelesen werden "
            f"(Zeile {line}, Spalte {column})."
        ) from None
    if root is None:
        raise FileRefused("Die XML-Datei ist leer.")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise FileRefused(_DOCTYPE_REFUSED)
    if any(isinstance(el, etree._Entity) for el in root.iter()):
        raise FileRefused("Die XML-Datei enthält Entity-Verweise und wird nicht verarbeitet.")
    return root


_DOCTYPE_REFUSED = (
    "Die XML-Datei enthält eine DOCTYPE-Deklaration (DTD). E-Rechnungen brauchen keine; aus "
    "Sicherheitsgründen (externe Entitäten, Entity-Expansion) wird die Datei nicht verarbeitet."
)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")


def _refuse_doctype(data: bytes) -> None:
    """Refuse a DOCTYPE in the prolog before libxml2 sees it (also in UTF-16 files)."""
    text = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace").encode("utf-8")
    start = _FIRST_ELEMENT.search(text)
    prolog = text[: start.start()] if start else text
    if b"<!DOCTYPE" in prolog.upper():
        raise FileRefused(_DOCTYPE_REFUSED)


def parse_xml(data: bytes, *, container: str) -> ParsedInvoice:
    """A CII or UBL invoice (standalone or embedded in a PDF)."""
    root = safe_root(data)
    qname = etree.QName(root)
    if root.tag == CII_ROOT:
        return _from_cii(root, data, container)
    if qname.namespace in (INVOICE_NS, CREDIT_NOTE_NS) and qname.localname in (
        "Invoice",
        "CreditNote",
    ):
        return _from_ubl(root, data, container)
    raise FileRefused(
        "Die XML-Datei ist keine E-Rechnung: erwartet wird eine CII-Rechnung "
        "(CrossIndustryInvoice) oder eine UBL-Rechnung/-Gutschrift (Invoice, CreditNote)."
    )


def _parse_pdf(data: bytes) -> ParsedInvoice:
    """A Factur-X/ZUGFeRD PDF when it embeds invoice XML, else a plain PDF receipt."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            attachments = {
                name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()
            }
    except pikepdf.PasswordError:
        raise FileRefused(
            "Die PDF-Datei ist mit einem Passwort geschützt und kann nicht gelesen werden."
        ) from None
    except Exception:  # noqa: BLE001 - pikepdf raises many kinds for a damaged file
        raise FileRefused(
            "Die PDF-Datei ist beschädigt oder unvollständig und kann nicht gelesen werden."
        ) from None
    by_lower = {name.lower(): name for name in attachments}
    chosen = next((by_lower[n] for n in EMBEDDED_NAMES if n in by_lower), None)
    if chosen is None:
        return ParsedInvoice(container="pdf", kind=OTHER)
    try:
        return parse_xml(attachments[chosen], container="pdf")
    except FileRefused as exc:
        raise FileRefused(f"Eingebettete Rechnungsdaten: {exc.message}") from None


# --- value helpers ----------------------------------------------------------------------------


def _text(node: etree._Element | None, path: str, ns: dict[str, str]) -> str:
    """Whitespace-normalised text of the first match of `path` below `node` ("" if none)."""
    if node is None:
        return ""
    found = node.xpath(path, namespaces=ns)
    if not found:
        return ""
    first = found[0]
    value = first if isinstance(first, str) else "".join(first.itertext())
    return " ".join(str(value).split())


def _first(node: etree._Element, path: str, ns: dict[str, str]) -> etree._Element | None:
    found = node.xpath(path, namespaces=ns)
    return found[0] if found else None


def _decimal(text: str, notes: list[str], what: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        notes.append(f"{what}: kein gültiger Betrag, nicht übernommen.")
        return None
    return value


def _date(text: str, notes: list[str], what: str) -> date | None:
    """CII format 102 (JJJJMMTT) or ISO (UBL)."""
    if not text:
        return None
    compact = text.replace("-", "")
    try:
        if len(compact) == 8 and compact.isdigit():
            return date(int(compact[:4]), int(compact[4:6]), int(compact[6:]))
    except ValueError:
        pass
    notes.append(f"{what}: kein gültiges Datum, nicht übernommen.")
    return None


def _profile(bt24: str, notes: list[str]) -> Profile:
    if not bt24:
        notes.append(
            "Kein Profil (BT-24) angegeben: die Datei wird als sonstige Rechnung archiviert, "
            "nicht als E-Rechnung."
        )
        return Profile("", "ohne Profil", OTHER, known=False)
    profile = profile_of(bt24)
    if not profile.known:
        notes.append(
            "Unbekanntes Profil (BT-24): die Datei wird als sonstige Rechnung archiviert, "
            "nicht als E-Rechnung geprüft."
        )
    elif profile.kind == OTHER:
        notes.append(
            f"Profil {profile.label}: keine E-Rechnung im Sinne des § 14 UStG "
            "(sonstige Rechnung); die Rechnungsdaten sind unvollständig."
        )
    return profile


# --- CII ----------------------------------------------------------------------------------------

_TX = "rsm:SupplyChainTradeTransaction"
_AGR = f"{_TX}/ram:ApplicableHeaderTradeAgreement"
_SET = f"{_TX}/ram:ApplicableHeaderTradeSettlement"


def _cii_party(node: etree._Element | None) -> Party:
    ns = CII_NS
    if node is None:
        return Party()
    email = _text(node, "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID", ns)
    if not email:
        email = _text(node, "ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']", ns)
    return Party(
        name=_text(node, "ram:Name", ns),
        street=_text(node, "ram:PostalTradeAddress/ram:LineOne", ns),
        postcode=_text(node, "ram:PostalTradeAddress/ram:PostcodeCode", ns),
        city=_text(node, "ram:PostalTradeAddress/ram:CityName", ns),
        country=_text(node, "ram:PostalTradeAddress/ram:CountryID", ns),
        vat_id=_text(node, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']", ns),
        tax_number=_text(node, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']", ns),
        email=email,
    )


def _from_cii(root: etree._Element, data: bytes, container: str) -> ParsedInvoice:
    ns = CII_NS
    notes: list[str] = []
    bt24 = _text(
        root,
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
        ns,
    )
    profile = _profile(bt24, notes)
    settlement = _first(root, _SET, ns)
    currency = _text(settlement, "ram:InvoiceCurrencyCode", ns)
    summation = (
        _first(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation", ns)
        if settlement is not None
        else None
    )
    tax_total = _text(summation, f"ram:TaxTotalAmount[@currencyID='{currency}']", ns) or _text(
        summation, "ram:TaxTotalAmount", ns
    )
    totals = Totals(
        lines=_decimal(_text(summation, "ram:LineTotalAmount", ns), notes, "Summe Positionen"),
        net=_decimal(_text(summation, "ram:TaxBasisTotalAmount", ns), notes, "Nettobetrag"),
        tax=_decimal(tax_total, notes, "Umsatzsteuer"),
        gross=_decimal(_text(summation, "ram:GrandTotalAmount", ns), notes, "Bruttobetrag"),
        due=_decimal(_text(summation, "ram:DuePayableAmount", ns), notes, "Zahlbetrag"),
    )
    taxes = []
    for node in root.xpath(f"{_SET}/ram:ApplicableTradeTax", namespaces=ns):
        taxes.append(
            TaxRow(
                category=_text(node, "ram:CategoryCode", ns),
                rate=_decimal(_text(node, "ram:RateApplicablePercent", ns), notes, "Steuersatz"),
                basis=_decimal(_text(node, "ram:BasisAmount", ns), notes, "Bemessungsgrundlage")
                or Decimal("0"),
                tax=_decimal(_text(node, "ram:CalculatedAmount", ns), notes, "Steuerbetrag")
                or Decimal("0"),
                exemption_reason=_text(node, "ram:ExemptionReason", ns),
            )
        )
    positions = []
    for node in root.xpath(f"{_TX}/ram:IncludedSupplyChainTradeLineItem", namespaces=ns):
        qty = _first(node, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", ns)
        tax = "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
        positions.append(
            Position(
                name=_text(node, "ram:SpecifiedTradeProduct/ram:Name", ns),
                quantity=_decimal(" ".join((qty.text or "").split()), notes, "Menge")
                if qty is not None
                else None,
                unit=(qty.get("unitCode") or "") if qty is not None else "",
                net_price=_decimal(
                    _text(
                        node,
                        "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
                        "/ram:ChargeAmount",
                        ns,
                    ),
                    notes,
                    "Einzelpreis",
                ),
                net_amount=_decimal(
                    _text(
                        node,
                        "ram:SpecifiedLineTradeSettlement"
                        "/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
                        ns,
                    ),
                    notes,
                    "Positionsbetrag",
                ),
                category=_text(node, f"{tax}/ram:CategoryCode", ns),
                rate=_decimal(_text(node, f"{tax}/ram:RateApplicablePercent", ns), notes, "Satz"),
            )
        )
    means = f"{_SET}/ram:SpecifiedTradeSettlementPaymentMeans"
    terms = f"{_SET}/ram:SpecifiedTradePaymentTerms"
    period = f"{_SET}/ram:BillingSpecifiedPeriod"
    return ParsedInvoice(
        container=container,
        kind=profile.kind,
        syntax="CII",
        profile=profile,
        xml=data,
        number=_text(root, "rsm:ExchangedDocument/ram:ID", ns),
        type_code=_text(root, "rsm:ExchangedDocument/ram:TypeCode", ns),
        issue_date=_date(
            _text(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString", ns),
            notes,
            "Rechnungsdatum",
        ),
        due_date=_date(
            _text(root, f"{terms}/ram:DueDateDateTime/udt:DateTimeString", ns),
            notes,
            "Fälligkeitsdatum",
        ),
        currency=currency,
        seller=_cii_party(_first(root, f"{_AGR}/ram:SellerTradeParty", ns)),
        buyer=_cii_party(_first(root, f"{_AGR}/ram:BuyerTradeParty", ns)),
        positions=tuple(positions),
        taxes=tuple(taxes),
        totals=totals,
        payment_terms=_text(root, f"{terms}/ram:Description", ns),
        payment_reference=_text(root, f"{_SET}/ram:PaymentReference", ns),
        iban=_text(root, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID", ns),
        account_name=_text(
            root, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:AccountName", ns
        ),
        bic=_text(root, f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID", ns),
        period_start=_date(
            _text(root, f"{period}/ram:StartDateTime/udt:DateTimeString", ns), notes, "Beginn"
        ),
        period_end=_date(
            _text(root, f"{period}/ram:EndDateTime/udt:DateTimeString", ns), notes, "Ende"
        ),
        notes=tuple(notes),
    )


# --- UBL ----------------------------------------------------------------------------------------


def _ubl_party(node: etree._Element | None) -> Party:
    ns = UBL_NS
    if node is None:
        return Party()
    name = _text(node, "cac:PartyLegalEntity/cbc:RegistrationName", ns) or _text(
        node, "cac:PartyName/cbc:Name", ns
    )
    return Party(
        name=name,
        street=_text(node, "cac:PostalAddress/cbc:StreetName", ns),
        postcode=_text(node, "cac:PostalAddress/cbc:PostalZone", ns),
        city=_text(node, "cac:PostalAddress/cbc:CityName", ns),
        country=_text(node, "cac:PostalAddress/cac:Country/cbc:IdentificationCode", ns),
        vat_id=_text(node, "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID", ns),
        tax_number=_text(
            node, "cac:PartyTaxScheme[not(cac:TaxScheme/cbc:ID='VAT')]/cbc:CompanyID", ns
        ),
        email=_text(node, "cac:Contact/cbc:ElectronicMail", ns),
    )


def _from_ubl(root: etree._Element, data: bytes, container: str) -> ParsedInvoice:
    ns = UBL_NS
    notes: list[str] = []
    credit = etree.QName(root).localname == "CreditNote"
    profile = _profile(_text(root, "cbc:CustomizationID", ns), notes)
    currency = _text(root, "cbc:DocumentCurrencyCode", ns)
    total = _first(root, "cac:LegalMonetaryTotal", ns)
    tax_total = _text(root, f"cac:TaxTotal/cbc:TaxAmount[@currencyID='{currency}']", ns)
    totals = Totals(
        lines=_decimal(_text(total, "cbc:LineExtensionAmount", ns), notes, "Summe Positionen"),
        net=_decimal(_text(total, "cbc:TaxExclusiveAmount", ns), notes, "Nettobetrag"),
        tax=_decimal(tax_total, notes, "Umsatzsteuer"),
        gross=_decimal(_text(total, "cbc:TaxInclusiveAmount", ns), notes, "Bruttobetrag"),
        due=_decimal(_text(total, "cbc:PayableAmount", ns), notes, "Zahlbetrag"),
    )
    taxes = []
    for node in root.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=ns):
        taxes.append(
            TaxRow(
                category=_text(node, "cac:TaxCategory/cbc:ID", ns),
                rate=_decimal(_text(node, "cac:TaxCategory/cbc:Percent", ns), notes, "Satz"),
                basis=_decimal(_text(node, "cbc:TaxableAmount", ns), notes, "Bemessungsgrundlage")
                or Decimal("0"),
                tax=_decimal(_text(node, "cbc:TaxAmount", ns), notes, "Steuerbetrag")
                or Decimal("0"),
                exemption_reason=_text(node, "cac:TaxCategory/cbc:TaxExemptionReason", ns),
            )
        )
    positions = []
    line_tag, qty_tag = (
        ("CreditNoteLine", "CreditedQuantity") if credit else ("InvoiceLine", "InvoicedQuantity")
    )
    for node in root.xpath(f"cac:{line_tag}", namespaces=ns):
        qty = _first(node, f"cbc:{qty_tag}", ns)
        positions.append(
            Position(
                name=_text(node, "cac:Item/cbc:Name", ns),
                quantity=_decimal(" ".join((qty.text or "").split()), notes, "Menge")
                if qty is not None
                else None,
                unit=(qty.get("unitCode") or "") if qty is not None else "",
                net_price=_decimal(_text(node, "cac:Price/cbc:PriceAmount", ns), notes, "Preis"),
                net_amount=_decimal(
                    _text(node, "cbc:LineExtensionAmount", ns), notes, "Positionsbetrag"
                ),
                category=_text(node, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID", ns),
                rate=_decimal(
                    _text(node, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", ns), notes, "Satz"
                ),
            )
        )
    due = _text(root, "cbc:DueDate", ns) or _text(root, "cac:PaymentMeans/cbc:PaymentDueDate", ns)
    account = "cac:PaymentMeans/cac:PayeeFinancialAccount"
    type_code = _text(root, "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode", ns)
    return ParsedInvoice(
        container=container,
        kind=profile.kind,
        syntax="UBL",
        profile=profile,
        xml=data,
        number=_text(root, "cbc:ID", ns),
        type_code=type_code,
        issue_date=_date(_text(root, "cbc:IssueDate", ns), notes, "Rechnungsdatum"),
        due_date=_date(due, notes, "Fälligkeitsdatum"),
        currency=currency,
        seller=_ubl_party(_first(root, "cac:AccountingSupplierParty/cac:Party", ns)),
        buyer=_ubl_party(_first(root, "cac:AccountingCustomerParty/cac:Party", ns)),
        positions=tuple(positions),
        taxes=tuple(taxes),
        totals=totals,
        payment_terms=_text(root, "cac:PaymentTerms/cbc:Note", ns),
        payment_reference=_text(root, "cac:PaymentMeans/cbc:PaymentID", ns),
        iban=_text(root, f"{account}/cbc:ID", ns),
        account_name=_text(root, f"{account}/cbc:Name", ns),
        bic=_text(root, f"{account}/cac:FinancialInstitutionBranch/cbc:ID", ns),
        period_start=_date(_text(root, "cac:InvoicePeriod/cbc:StartDate", ns), notes, "Beginn"),
        period_end=_date(_text(root, "cac:InvoicePeriod/cbc:EndDate", ns), notes, "Ende"),
        notes=tuple(notes),
    )
