"""Intake fixtures: sample files, a regularly taxed owner with a bank account."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.modules.ledger.conftest import IBAN, bank, regel  # noqa: F401 - fixtures by name

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def with_profile(xml: bytes, profile: str) -> bytes:
    """A CII sample with another BT-24 (and so different bytes)."""
    return xml.replace(
        b"<ram:ID>urn:cen.eu:en16931:2017</ram:ID>", f"<ram:ID>{profile}</ram:ID>".encode()
    )


def plain_pdf() -> bytes:
    """A PDF without embedded invoice data (a scanned receipt, say)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Quittung Bürobedarf 11,90 EUR")
    return bytes(pdf.output())


def png() -> bytes:
    """A small PNG (a photographed receipt)."""
    import segno

    buffer = io.BytesIO()
    segno.make("Quittung").save(buffer, kind="png")
    return buffer.getvalue()


@pytest.fixture
def two_rates() -> bytes:
    return sample("two_rates_cii.xml")


from tests.modules.invoices.conftest import customer, issue, make_draft, seller  # noqa: E402,F401
