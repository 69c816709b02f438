"""Factur-X / ZUGFeRD hybrid invoices: CII XML embedded in a PDF/A-3B.

`embed` delegates to `facturx.generate_from_binary`, which attaches the XML as
"factur-x.xml" (with /AF and /AFRelationship on the catalog) and writes the XMP with
pdfaid:part 3 and the Factur-X PDF/A extension schema. The visual PDF passed in must
already be PDF/A-3 ready (embedded fonts, sRGB output intent), e.g. from fpdf2 with
`enforce_compliance="PDF/A-3B"`. `inspect` reads such a file back for tests and checks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import facturx
import pikepdf
from lxml import etree

from kms.einvoice.cii import GUIDELINE_EN16931, NS

FACTURX_FILENAME = "factur-x.xml"
_FX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
_XMP_NS = {
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "fx": _FX_NS,
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
}


def embed(
    pdf_bytes: bytes,
    xml_bytes: bytes,
    *,
    afrelationship: str = "data",
    title: str | None = None,
    author: str | None = None,
    lang: str = "de-DE",
    kind: str | None = None,
) -> bytes:
    """PDF/A-3B with `xml_bytes` embedded as factur-x.xml at level EN 16931.

    `afrelationship` is "data" (the PDF shows the invoice data) or "alternative" (the
    PDF is an equivalent rendering); both are allowed for profile EN 16931. `kind` names
    the document where the type code cannot (a Schlussrechnung is a 380).
    """
    if afrelationship not in ("data", "alternative"):
        raise ValueError("afrelationship must be 'data' or 'alternative'")
    root = _require_en16931(xml_bytes)
    metadata = german_metadata(root, kind)
    metadata.update({k: v for k, v in (("title", title), ("author", author)) if v})
    return facturx.generate_from_binary(
        pdf_bytes,
        xml_bytes,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,  # cheap; refuses to produce a hybrid with a broken XML
        check_schematron=False,  # would need a Saxon server; use validate() beforehand
        pdf_metadata=metadata,
        lang=lang,
        afrelationship=afrelationship,
        # PDF/A forbids a Filter on the XMP stream in part 1; uncompressed is safe for
        # every part and keeps the file signable (PAdES) later.
        xmp_compression=False,
    )


def _require_en16931(xml_bytes: bytes) -> etree._Element:
    """Parsed XML; refuses XRechnung, which is sent as plain XML, not as Factur-X hybrid."""
    root = etree.fromstring(xml_bytes)
    ids = root.xpath(
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()",
        namespaces=NS,
    )
    if ids != [GUIDELINE_EN16931]:
        raise ValueError(f"expected specification id {GUIDELINE_EN16931}, got {ids}")
    return root


_DOC_NAMES = {
    "380": "Rechnung",
    "381": "Rechnungskorrektur",
    "384": "Korrigierte Rechnung",
    "386": "Abschlagsrechnung",
}


def german_metadata(root: etree._Element, kind: str | None = None) -> dict[str, str]:
    """PDF title, author, subject and keywords in German, taken from the invoice XML
    (`kind`, e.g. "Schlussrechnung", instead of the name of the type code)."""

    def text(path: str) -> str:
        return str(root.xpath(f"string({path})", namespaces=NS))

    kind = kind or _DOC_NAMES.get(text("rsm:ExchangedDocument/ram:TypeCode"), "Rechnung")
    number = text("rsm:ExchangedDocument/ram:ID")
    raw_date = text("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    seller = text("//ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty/ram:Name")
    issued = f"{raw_date[6:8]}.{raw_date[4:6]}.{raw_date[:4]}"
    return {
        "title": f"{kind} {number}",
        "author": seller,
        "subject": f"{kind} {number} vom {issued}, ausgestellt von {seller}",
        "keywords": f"{kind}, Factur-X, ZUGFeRD",
    }


@dataclass
class PdfReport:
    """What a Factur-X PDF/A-3 contains, as read back by `inspect`."""

    pdf_version: str = ""
    pdfa_part: str | None = None
    pdfa_conformance: str | None = None
    fx_document_file_name: str | None = None
    fx_conformance_level: str | None = None
    fx_document_type: str | None = None
    fx_extension_schema: bool = False
    output_intents: list[tuple[str, str]] = field(default_factory=list)  # (S, identifier)
    output_intent_has_profile: bool = False
    af_relationships: dict[str, str] = field(default_factory=dict)  # filename -> relationship
    attachments: dict[str, bytes] = field(default_factory=dict)
    unembedded_fonts: list[str] = field(default_factory=list)
    font_count: int = 0
    has_trailer_id: bool = False


def inspect(pdf_bytes: bytes) -> PdfReport:
    """Read the PDF/A and Factur-X structure of a PDF (for tests and upload checks)."""
    report = PdfReport()
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        report.pdf_version = pdf.pdf_version
        report.has_trailer_id = "/ID" in pdf.trailer
        _read_xmp(pdf, report)
        _read_output_intents(pdf, report)
        _read_attachments(pdf, report)
        _read_fonts(pdf, report)
    return report


def _read_xmp(pdf: pikepdf.Pdf, report: PdfReport) -> None:
    """PDF/A identification and Factur-X properties from the XMP packet."""
    if "/Metadata" not in pdf.Root:
        return
    xmp = etree.fromstring(pdf.Root.Metadata.read_bytes())

    def first(path: str) -> str | None:
        found = xmp.xpath(f"string(//{path})", namespaces=_XMP_NS)
        return found or None

    report.pdfa_part = first("pdfaid:part")
    report.pdfa_conformance = first("pdfaid:conformance")
    report.fx_document_file_name = first("fx:DocumentFileName")
    report.fx_conformance_level = first("fx:ConformanceLevel")
    report.fx_document_type = first("fx:DocumentType")
    report.fx_extension_schema = _FX_NS in xmp.xpath(
        "//pdfaSchema:namespaceURI/text()", namespaces=_XMP_NS
    )


def _read_output_intents(pdf: pikepdf.Pdf, report: PdfReport) -> None:
    """Output intents as (subtype, condition identifier), and whether an ICC profile is there."""
    for intent in pdf.Root.get("/OutputIntents", []):
        ident = str(intent.get("/OutputConditionIdentifier", ""))
        report.output_intents.append((str(intent.get("/S")), ident))
        report.output_intent_has_profile |= "/DestOutputProfile" in intent


def _read_attachments(pdf: pikepdf.Pdf, report: PdfReport) -> None:
    """Associated files (/AF on the catalog) with relationship and content."""
    for spec in pdf.Root.get("/AF", []):
        name = str(spec.get("/UF", spec.get("/F")))
        report.af_relationships[name] = str(spec.get("/AFRelationship", ""))
        report.attachments[name] = spec.EF.F.read_bytes()


def _read_fonts(pdf: pikepdf.Pdf, report: PdfReport) -> None:
    """Count fonts on all pages and list those without an embedded font program."""
    for page in pdf.pages:
        resources: Any = page.get("/Resources") or {}
        fonts: Any = resources.get("/Font") or {}
        for font in fonts.values():
            report.font_count += 1
            if not _font_embedded(font):
                report.unembedded_fonts.append(str(font.get("/BaseFont")))


def _font_embedded(font: Any) -> bool:
    """True if the font (or its CID descendant) carries a FontFile stream."""
    if "/DescendantFonts" in font:
        font = font.DescendantFonts[0]
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
