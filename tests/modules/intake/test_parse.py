"""Safe parsing of received invoices: formats, profiles, refusals (no database)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kms.modules.intake import parse as intake_parse
from kms.modules.intake.parse import EINVOICE, OTHER, FileRefused, parse

from .conftest import plain_pdf, png, sample, with_profile

SECRET = "GEHEIM-4711-nicht-zeigen"


def _xxe(target: Path) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{target}">]>\n'
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
        'CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:'
        'ReusableAggregateBusinessInformationEntity:100"><rsm:ExchangedDocument>'
        "<ram:ID>&xxe;</ram:ID></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>"
    ).encode()


def test_cii_two_rates_is_read_with_decimals() -> None:
    p = parse(sample("two_rates_cii.xml"))
    assert (p.kind, p.syntax, p.container) == (EINVOICE, "CII", "xml")
    assert p.profile is not None and p.profile.label == "EN 16931 (COMFORT)"
    assert (p.number, p.type_code, p.currency) == ("RE-2025-0001", "380", "EUR")
    assert p.seller.name == "Erika Mustermann Webdesign" and p.seller.vat_id == "DE136695976"
    assert p.seller.tax_number == "123/456/78901"
    assert p.buyer.name == "Musterfirma GmbH"
    assert (p.iban, p.bic) == ("DE02120300000000202051", "BYLADEM1001")
    assert [(t.category, t.rate, t.basis, t.tax) for t in p.taxes] == [
        ("S", Decimal("19"), Decimal("117.99"), Decimal("22.42")),
        ("S", Decimal("7"), Decimal("49.80"), Decimal("3.49")),
    ]
    assert (p.totals.net, p.totals.tax, p.totals.gross, p.totals.due) == (
        Decimal("167.79"), Decimal("25.91"), Decimal("193.70"), Decimal("193.70"),
    )  # fmt: skip
    assert len(p.positions) == 3 and p.positions[0].name == "Webdesign Startseite"
    assert p.positions[0].unit == "HUR" and isinstance(p.positions[0].quantity, Decimal)
    assert p.issue_date is not None and p.due_date is not None
    assert p.period_start is not None and p.period_end is not None


def test_ubl_invoice_and_xrechnung_profile() -> None:
    p = parse(sample("two_rates_ubl.xml"))
    assert (p.kind, p.syntax) == (EINVOICE, "UBL")
    assert p.profile is not None and p.profile.xrechnung
    assert p.seller.vat_id == "DE136695976" and p.iban == "DE02120300000000202051"
    assert [t.basis for t in p.taxes] == [Decimal("117.99"), Decimal("49.80")]
    assert p.totals.gross == Decimal("193.70")


def test_ubl_credit_note_is_a_credit() -> None:
    xml = sample("two_rates_ubl.xml")
    credit = (
        xml.replace(b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
                    b"urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2")
        .replace(b"<Invoice ", b"<CreditNote ").replace(b"</Invoice>", b"</CreditNote>")
        .replace(b"InvoiceTypeCode>380<", b"CreditNoteTypeCode>381<")
        .replace(b"cbc:InvoiceTypeCode", b"cbc:CreditNoteTypeCode")
        .replace(b"cac:InvoiceLine", b"cac:CreditNoteLine")
        .replace(b"cbc:InvoicedQuantity", b"cbc:CreditedQuantity")
    )  # fmt: skip
    p = parse(credit)
    assert p.syntax == "UBL" and p.type_code == "381" and p.is_credit_note
    assert len(p.positions) == 3


@pytest.mark.parametrize(
    ("profile", "kind", "label"),
    [
        ("urn:factur-x.eu:1p0:basicwl", OTHER, "Factur-X BASIC WL"),
        ("urn:zugferd.de:2p0:minimum", OTHER, "ZUGFeRD MINIMUM"),
        ("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", EINVOICE,
         "Factur-X EXTENDED"),
        ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", EINVOICE,
         "XRechnung 3.0"),
    ],
)  # fmt: skip
def test_profile_decides_e_invoice_or_sonstige(profile: str, kind: str, label: str) -> None:
    p = parse(with_profile(sample("two_rates_cii.xml"), profile))
    assert p.kind == kind
    assert p.profile is not None and p.profile.label == label


def test_minimum_is_sonstige_rechnung_with_its_totals() -> None:
    p = parse(sample("minimum.xml"))
    assert p.kind == OTHER and p.kind_label == "sonstige Rechnung / Beleg"
    assert any("keine E-Rechnung" in n for n in p.notes)
    assert p.totals.gross == Decimal("119.00") and p.taxes == ()


def test_unknown_profile_is_explained_and_stays_readable() -> None:
    p = parse(with_profile(sample("two_rates_cii.xml"), "urn:example.org:hausformat:1"))
    assert p.kind == OTHER
    assert p.profile is not None and not p.profile.known
    assert any("Unbekanntes Profil (BT-24)" in n for n in p.notes)
    assert p.number == "RE-2025-0001"


def test_plain_pdf_and_png_are_receipts() -> None:
    assert (parse(plain_pdf()).container, parse(plain_pdf()).kind) == ("pdf", OTHER)
    assert (parse(png()).container, parse(png()).kind) == ("image", OTHER)


def test_xxe_is_refused_without_leaking_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    with pytest.raises(FileRefused) as err:
        parse(_xxe(secret))
    assert "DOCTYPE" in err.value.message
    assert SECRET not in err.value.message and str(secret) not in err.value.message


def test_lxml_layer_refuses_a_dtd_even_without_the_prolog_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: the parser itself neither loads nor expands anything."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    monkeypatch.setattr(intake_parse, "_refuse_doctype", lambda data: None)
    for data in (_xxe(secret), sample("billion_laughs.xml")):
        with pytest.raises(FileRefused) as err:
            parse(data)
        assert SECRET not in err.value.message and "lol" not in err.value.message


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(FileRefused, match="DOCTYPE"):
        parse(sample("billion_laughs.xml"))


def test_utf16_doctype_is_refused() -> None:
    data = sample("billion_laughs.xml").decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
    with pytest.raises(FileRefused, match="DOCTYPE"):
        parse(data.encode("utf-16"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "leer"),
        (b"  \n", "leer"),
        (b"<rsm:CrossIndustryInvoice", "unvollständig oder beschädigt"),
        (b"%PDF-1.7\n1 0 obj <<", "PDF-Datei ist beschädigt"),
        (b"PK\x03\x04zip", "Dateityp nicht unterstützt"),
        (b"<?xml version='1.0'?><html><body>Hallo</body></html>", "keine E-Rechnung"),
    ],
)
def test_unreadable_files_are_refused_in_german(data: bytes, message: str) -> None:
    with pytest.raises(FileRefused, match=message):
        parse(data)


def test_truncated_invoice_is_refused() -> None:
    xml = sample("two_rates_cii.xml")
    with pytest.raises(FileRefused, match="unvollständig"):
        parse(xml[: len(xml) // 2])


def test_embedded_xml_with_doctype_in_a_pdf_is_refused() -> None:
    import io

    import pikepdf

    from kms.einvoice.facturx_pdf import FACTURX_FILENAME

    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    bad = sample("billion_laughs.xml")
    pdf.attachments[FACTURX_FILENAME] = pikepdf.AttachedFileSpec(pdf, bad, mime_type="text/xml")
    out = io.BytesIO()
    pdf.save(out)
    with pytest.raises(FileRefused, match=r"Eingebettete Rechnungsdaten: .*DOCTYPE"):
        parse(out.getvalue())
