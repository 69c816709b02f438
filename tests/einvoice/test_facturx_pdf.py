"""Factur-X hybrid: PDF/A-3B structure and the embedded XML, checked with pikepdf."""

from __future__ import annotations

import io
from pathlib import Path

import facturx
import pikepdf
import pytest
from fpdf import FPDF

from kms.einvoice.cii import build_xml
from kms.einvoice.facturx_pdf import FACTURX_FILENAME, embed, inspect
from tests.einvoice.samples import invoice

FONTS = Path(__file__).parents[2] / "kms" / "rendering" / "fonts"


def visual_pdf() -> bytes:
    """A minimal PDF/A-3B page as the layout module would produce it (fpdf2, DejaVu)."""
    pdf = FPDF(enforce_compliance="PDF/A-3B")  # fpdf2 adds the sRGB output intent itself
    pdf.add_font("DejaVu", fname=str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", style="B", fname=str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", style="B", size=14)
    pdf.cell(text="Rechnung RE-2025-0001", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    pdf.cell(text="Erika Mustermann Webdesign · Musterstraße 1 · 12345 Musterstadt – 193,70 €")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def xml() -> bytes:
    """Factur-X EN 16931 XML of the standard sample."""
    return build_xml(invoice())


@pytest.fixture(scope="module")
def hybrid(xml: bytes) -> bytes:
    """The visual PDF with the XML embedded."""
    return embed(visual_pdf(), xml)


def test_pdfa3_identification_and_facturx_xmp(hybrid: bytes) -> None:
    """XMP says PDF/A-3B and carries the Factur-X extension schema with level EN 16931."""
    report = inspect(hybrid)
    assert (report.pdfa_part, report.pdfa_conformance) == ("3", "B")
    assert report.fx_extension_schema
    assert report.fx_document_file_name == FACTURX_FILENAME
    assert report.fx_conformance_level == "EN 16931"
    assert report.fx_document_type == "INVOICE"


def test_fonts_embedded_and_srgb_output_intent(hybrid: bytes) -> None:
    """All fonts carry their program; the sRGB output intent with ICC profile survives."""
    report = inspect(hybrid)
    assert report.font_count >= 2
    assert report.unembedded_fonts == []
    assert report.output_intents == [("/GTS_PDFA1", "sRGB")]
    assert report.output_intent_has_profile
    assert report.has_trailer_id  # PDF/A needs a file identifier


def test_xml_embedded_byte_identical_with_af_relationship(hybrid: bytes, xml: bytes) -> None:
    """factur-x.xml is an associated file (/AF) with /AFRelationship /Data, bytes unchanged."""
    report = inspect(hybrid)
    assert report.af_relationships == {FACTURX_FILENAME: "/Data"}
    assert report.attachments[FACTURX_FILENAME] == xml
    # cross-check with an independent reader
    name, extracted = facturx.get_xml_from_pdf(hybrid, check_xsd=True)
    assert (name, extracted) == (FACTURX_FILENAME, xml)


def test_alternative_relationship(xml: bytes) -> None:
    """AFRelationship /Alternative can be chosen instead of /Data."""
    report = inspect(embed(visual_pdf(), xml, afrelationship="alternative"))
    assert report.af_relationships == {FACTURX_FILENAME: "/Alternative"}


def test_german_document_metadata(hybrid: bytes) -> None:
    """Title and subject of the PDF are German and name the invoice."""
    with pikepdf.open(io.BytesIO(hybrid)) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Rechnung RE-2025-0001"
        assert "vom 15.01.2025" in str(pdf.docinfo["/Subject"])


def test_xrechnung_xml_is_not_embedded() -> None:
    """XRechnung is sent as plain XML; embedding it as Factur-X EN 16931 is refused."""
    with pytest.raises(ValueError, match="specification id"):
        embed(visual_pdf(), build_xml(invoice(), xrechnung=True))


def test_invalid_xml_is_not_embedded(xml: bytes) -> None:
    """The XSD check in factur-x refuses XML that is not EN 16931."""
    broken = xml.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:Bogus>380</ram:Bogus>")
    with pytest.raises(Exception, match="XML Schema"):
        embed(visual_pdf(), broken)
