"""GiroCode (EPC069-12): the PNG decodes to exactly the payload; limits are enforced."""

from __future__ import annotations

import io
from decimal import Decimal

import PIL.Image
import pytest
import zxingcpp

from kms.rendering.din5008 import Din5008Pdf
from kms.rendering.girocode import GiroCode, girocode_payload, girocode_png
from kms.rendering.models import Company, PostalAddress

IBAN = "DE02120300000000202051"
CODE = GiroCode(
    name="Grafikbüro Beispiel GmbH",
    iban="DE02 1203 0000 0000 2020 51",
    amount=Decimal("1234.56"),
    remittance="Rechnung RE-2026-0042 Kundennr. K-10042 Größe",
    bic="BYLADEM1001",
)


def _decode(png: bytes) -> str:
    (result,) = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))
    return result.text


def test_decoded_payload_has_every_epc_line():
    """The QR decodes to BCD/002/UTF-8/SCT, BIC, name, IBAN, EUR amount, purpose, text."""
    lines = _decode(girocode_png(CODE)).split("\n")
    assert lines == [
        "BCD",  # service tag
        "002",  # version
        "1",  # character set UTF-8
        "SCT",  # SEPA credit transfer
        "BYLADEM1001",
        "Grafikbüro Beispiel GmbH",
        IBAN,
        "EUR1234.56",
        "",  # purpose code
        "",  # structured reference
        "Rechnung RE-2026-0042 Kundennr. K-10042 Größe",
    ]


def test_payload_function_matches_the_qr_content():
    """girocode_payload() returns exactly what the QR code holds."""
    assert _decode(girocode_png(CODE)) == girocode_payload(CODE)


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("0.01", "EUR0.01"),
        ("12.50", "EUR12.5"),
        ("100.00", "EUR100"),
        ("999999999.99", None),
    ],
)
def test_amounts_and_optional_fields(amount, field):
    """Amounts at both limits encode; BIC and purpose are optional (version 002)."""
    code = GiroCode("Erika Mustermann", IBAN, Decimal(amount), "Test", purpose="GDDS")
    lines = _decode(girocode_png(code)).split("\n")
    assert lines[4] == "" and lines[8] == "GDDS"
    assert lines[7] == (field or f"EUR{amount}")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "N" * 71}, "Empfängername ist zu lang \\(71 Zeichen, erlaubt 70\\)"),
        ({"name": " "}, "Empfängername darf nicht leer sein"),
        ({"name": "Erika\nMustermann"}, "Empfängername darf keine Zeilenumbrüche"),
        (
            {"remittance": "V" * 141},
            "Verwendungszweck ist zu lang \\(141 Zeichen, erlaubt 140\\)",
        ),
        ({"remittance": ""}, "Verwendungszweck darf nicht leer sein"),
        ({"amount": Decimal("0.00")}, "zwischen 0,01 € und 999.999.999,99 €"),
        ({"amount": Decimal("1000000000.00")}, "zwischen 0,01 €"),
        ({"amount": Decimal(-5)}, "zwischen 0,01 €"),
        ({"amount": Decimal("1.005")}, "höchstens zwei Nachkommastellen"),
        ({"amount": 12.5}, "als Decimal"),
        ({"amount": Decimal("NaN")}, "als Decimal"),
        (
            {"iban": "DE00120300000000202051"},
            "Die IBAN „DE00120300000000202051“ ist ungültig",
        ),
        ({"bic": "XYZ"}, "Die BIC „XYZ“ ist ungültig"),
        ({"purpose": "ABCDE"}, "Zweckcode"),
    ],
)
def test_limits_are_refused_in_german(changes, message):
    """Name ≤ 70, text ≤ 140, 0.01 ≤ amount ≤ 999999999.99 (Decimal), valid IBAN/BIC."""
    import dataclasses

    from kms.rendering.errors import RenderError

    with pytest.raises(RenderError, match=message):
        girocode_png(dataclasses.replace(CODE, **changes))


def test_limits_exactly_are_accepted():
    """70-character name and 140-character text are still allowed."""
    code = GiroCode("N" * 70, IBAN, Decimal(1), "V" * 140)
    assert _decode(girocode_png(code)).split("\n")[5] == "N" * 70


def test_girocode_can_be_placed_on_a_din5008_page():
    """The base class places the PNG at the given position and width, and it still decodes."""
    import pdfplumber
    import pypdfium2

    pdf = Din5008Pdf(
        Company("Beispiel", PostalAddress("Weg 1", "12345", "Ort")),
        running_title="Rechnung",
        date_text="26.11.2026",
    )
    pdf.add_page()
    pdf.place_png(girocode_png(CODE), x=150, y=200, width=35)
    data = bytes(pdf.output())
    with pdfplumber.open(io.BytesIO(data)) as doc:
        (image,) = doc.pages[0].images
    mm = 72 / 25.4
    assert round(image["x0"] / mm, 1) == 150 and round(image["top"] / mm, 1) == 200
    assert round((image["x1"] - image["x0"]) / mm, 1) == 35
    page = pypdfium2.PdfDocument(data)[0]
    bitmap = page.render(scale=4).to_pil()
    (result,) = zxingcpp.read_barcodes(bitmap)
    assert result.text == girocode_payload(CODE)
