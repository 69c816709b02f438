"""E-invoice format per customer (Factur-X, XRechnung CII or UBL) with the buyer reference,
and document level allowances and charges on drafts, issued invoices and Stornos."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pypdfium2
import pytest
from lxml import etree

from kms.einvoice.cii import NS
from kms.einvoice.facturx_pdf import FACTURX_FILENAME, inspect
from kms.einvoice.messages import BUYER_REFERENCE_EXPLANATION
from kms.einvoice.ubl import UBL_NS
from kms.einvoice.validate import validate
from kms.errors import KmsError, NotFoundError, ValidationErrors
from kms.modules.contacts.service import update_contact
from kms.modules.invoices import issuing, service
from kms.modules.invoices.models import ImmutableInvoiceError, InvoiceAllowance
from kms.modules.invoices.storage import original_bytes
from tests.modules.invoices.conftest import ISSUE_DAY, LEITWEG_ID, line

ALLOWANCES = [
    {"reason": "Gesamtrabatt", "kind": "percent", "value": "5", "tax": "S19"},
    {"reason": "Treuerabatt Bücher", "kind": "amount", "value": "2,00", "tax": "S7"},
    {"reason": "Versandkosten", "kind": "amount", "value": "4,90", "tax": "S19"},
    {"reason": "Mindermengenzuschlag", "kind": "amount", "value": "5", "tax": "S7"},
]
LINES = [line("Webdesign", "3", "100.00"), line("Buch", "2", "24.90", "S7", "C62")]


def _customer_format(session, customer, fmt: str, reference: str = LEITWEG_ID) -> None:
    update_contact(
        session,
        customer.id,
        version=customer.version,
        einvoice_format=fmt,
        buyer_reference=reference,
    )
    session.commit()


def test_new_draft_takes_the_customers_format(session, customer, make_draft) -> None:
    """A draft without explicit format gets the customer's; an explicit one wins."""
    _customer_format(session, customer, "xrechnung_ubl")
    assert make_draft().einvoice_format == "xrechnung_ubl"
    assert make_draft(einvoice_format="facturx").einvoice_format == "facturx"


def test_unknown_format_is_refused_in_german(session, customer) -> None:
    """A format that does not exist is a field error, nothing is saved."""
    with pytest.raises(ValidationErrors) as err:
        update_contact(session, customer.id, version=customer.version, einvoice_format="pdf")
    assert "E-Rechnungsformat" in str(err.value.errors["einvoice_format"])
    session.rollback()
    session.refresh(customer)
    assert customer.einvoice_format == "facturx"


@pytest.mark.parametrize(
    ("fmt", "root", "filename"),
    [
        ("xrechnung_cii", "CrossIndustryInvoice", "RE-2026-0001-xrechnung.xml"),
        ("xrechnung_ubl", "Invoice", "RE-2026-0001-xrechnung-ubl.xml"),
    ],
)
def test_customer_format_is_produced_at_issuing(
    session, customer, make_draft, issue, fmt, root, filename
) -> None:
    """The customer's XRechnung is stored with the invoice, valid, with the customer's
    Leitweg-ID (the draft names none); the Factur-X PDF is there as always."""
    _customer_format(session, customer, fmt)
    invoice = issue(make_draft(LINES))
    stored = original_bytes(session, invoice.id, "xrechnung_xml")
    assert stored.filename == filename
    xml = stored.content
    assert etree.QName(etree.fromstring(xml)).localname == root
    assert validate(xml, xrechnung=True, include_warnings=True) == []
    assert LEITWEG_ID.encode() in xml
    pdf = original_bytes(session, invoice.id, "pdf").content
    assert FACTURX_FILENAME in inspect(pdf).attachments


def test_facturx_customer_gets_no_xrechnung_and_export_explains_why(
    session, make_draft, issue
) -> None:
    """Factur-X only: asking for the XRechnung says why there is none and how to change it."""
    invoice = issue(make_draft())
    with pytest.raises(NotFoundError) as err:
        original_bytes(session, invoice.id, "xrechnung_xml")
    assert "ZUGFeRD/Factur-X" in err.value.message
    assert "E-Rechnungsformat" in err.value.message


def test_xrechnung_without_buyer_reference_is_refused_with_explanation(
    session, customer, make_draft
) -> None:
    """[BR-DE-15] the refusal explains why XRechnung needs BT-10 and where to enter it."""
    _customer_format(session, customer, "xrechnung_ubl", reference="")
    draft = make_draft()
    with pytest.raises(issuing.IssueRefused) as err:
        issuing.prepare_issue(session, draft.id, issue_date=ISSUE_DAY)
    messages = [p.message for p in err.value.problems if p.rule == "BR-DE-15"]
    assert messages and messages[0].startswith(BUYER_REFERENCE_EXPLANATION)
    assert "Leitweg-ID" in messages[0]


def test_allowances_and_charges_change_the_totals(session, make_draft) -> None:
    """BG-20/BG-21 at two rates: totals per EN 16931, amounts stored per row, in Decimal."""
    draft = make_draft(LINES, allowances=ALLOWANCES)
    # lines 19 %: 300.00, 7 %: 49.80; 5 % of 300.00 = 15.00
    assert [a.amount for a in draft.allowances] == [
        Decimal("15.00"),
        Decimal("2.00"),
        Decimal("4.90"),
        Decimal("5.00"),
    ]
    assert [a.charge for a in draft.allowances] == [False, False, True, True]
    assert [a.reason_code for a in draft.allowances] == ["95", "", "FC", ""]
    # 19 %: 300 - 15 + 4.90 = 289.90 → 55.08; 7 %: 49.80 - 2 + 5 = 52.80 → 3.70
    assert draft.net_total == Decimal("342.70")
    assert draft.tax_total == Decimal("58.78")
    assert draft.gross_total == Decimal("401.48")
    session.expire_all()
    reloaded = service.get_invoice(session, draft.id)
    assert [a.value for a in reloaded.allowances] == [
        Decimal("5.00"),
        Decimal("2.00"),
        Decimal("4.90"),
        Decimal("5.00"),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"reason": "", "kind": "amount", "value": "5", "tax": "S19"}], "Grund"),
        ([{"reason": "Rabatt", "kind": "amount", "value": "-1", "tax": "S19"}], "über 0"),
        ([{"reason": "Rabatt", "kind": "percent", "value": "120", "tax": "S19"}], "100 %"),
        ([{"reason": "Rabatt", "kind": "amount", "value": "5", "tax": "E"}], "Steuersatz"),
        ([{"reason": "Rabatt", "kind": "amount", "value": "900", "tax": "S19"}], "negativ"),
        ([{"reason": "Rabatt", "kind": "percent", "value": "5", "tax": "S7"}], "keine Position"),
    ],
)
def test_bad_allowances_are_refused_and_nothing_is_saved(
    session, make_draft, rows, message
) -> None:
    """Bad rows give a German message naming the row; the stored draft stays unchanged."""
    draft = make_draft([line()])
    before = (draft.version, draft.gross_total)
    with pytest.raises(KmsError) as err:
        service.save_draft(
            session,
            invoice_id=draft.id,
            version=draft.version,
            as_of=ISSUE_DAY,
            contact_id=draft.contact_id,
            service_date=draft.service_date,
            lines=[line()],
            allowances=rows,
        )
    assert message in str(err.value)
    session.rollback()
    session.expire_all()
    again = service.get_invoice(session, draft.id)
    assert (again.version, again.gross_total) == before
    assert again.allowances == []


@pytest.mark.parametrize("fmt", ["xrechnung_cii", "xrechnung_ubl"])
def test_issued_invoice_with_allowances_is_valid_and_immutable(
    session, customer, make_draft, issue, fmt
) -> None:
    """Allowances reach Factur-X and XRechnung XML (CEN + KoSIT valid) and freeze at issue."""
    _customer_format(session, customer, fmt)
    invoice = issue(make_draft(LINES, allowances=ALLOWANCES))
    facturx = original_bytes(session, invoice.id, "facturx_xml").content
    assert validate(facturx, xrechnung=False, include_warnings=True) == []
    total = etree.fromstring(facturx).xpath("string(//ram:GrandTotalAmount)", namespaces=NS)
    assert total == str(invoice.gross_total) == "401.48"
    xml = original_bytes(session, invoice.id, "xrechnung_xml").content
    assert validate(xml, xrechnung=True, include_warnings=True) == []
    assert xml.count(b"Mindermengenzuschlag") == 1
    invoice.allowances[0].value = Decimal("1.00")
    with pytest.raises(ImmutableInvoiceError):
        session.flush()
    session.rollback()
    session.add(InvoiceAllowance(invoice_id=invoice.id, reason="x", value=Decimal("1")))
    with pytest.raises(ImmutableInvoiceError):
        session.flush()
    session.rollback()


def test_ubl_storno_is_a_valid_credit_note_with_the_allowances(
    session, customer, make_draft, issue
) -> None:
    """Stornieren an XRechnung-UBL invoice gives a UBL CreditNote (381) naming the original."""
    _customer_format(session, customer, "xrechnung_ubl")
    invoice = issue(make_draft(LINES, allowances=ALLOWANCES))
    storno = issuing.cancel(session, invoice.id, actor="test", issue_date=ISSUE_DAY)
    session.commit()
    assert storno.gross_total == invoice.gross_total
    xml = original_bytes(session, storno.id, "xrechnung_xml").content
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == "CreditNote"
    assert validate(xml, xrechnung=True, include_warnings=True) == []
    ref = "string(//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)"
    assert root.xpath(ref, namespaces=UBL_NS) == invoice.number
    assert len(root.xpath("/cn:CreditNote/cac:AllowanceCharge", namespaces=UBL_NS)) == 4


def test_cli_export_of_missing_xrechnung_explains(session, make_draft, issue, tmp_path) -> None:
    """`invoice export --format xrechnung` of a Factur-X invoice: German reason, no file."""
    invoice = issue(make_draft())
    target = tmp_path / "x.xml"
    result = subprocess.run(
        [sys.executable, "-m", "kms", "invoice", "export", invoice.number, "--format",
         "xrechnung", "-o", str(target)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "E-Rechnungsformat" in result.stdout + result.stderr
    assert not target.exists()


def _pdf_text(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    return "".join(page.get_textpage().get_text_range() for page in document)


def test_pdf_shows_a_row_per_allowance_and_charge(session, make_draft, issue) -> None:
    """Under the positions: positions total, one row per allowance/charge, then net total."""
    invoice = issue(make_draft(LINES, allowances=ALLOWANCES))
    text = " ".join(_pdf_text(original_bytes(session, invoice.id, "pdf").content).split())
    rows = [
        "Summe Positionen netto 349,80 €",
        "abzüglich Gesamtrabatt 5 % von 300,00 € (19 % USt) -15,00 €",
        "abzüglich Treuerabatt Bücher (7 % USt) -2,00 €",
        "zuzüglich Versandkosten (19 % USt) 4,90 €",
        "zuzüglich Mindermengenzuschlag (7 % USt) 5,00 €",
        "Summe netto 342,70 €",
        "zzgl. USt 19 % auf 289,90 € 55,08 €",
        "zzgl. USt 7 % auf 52,80 € 3,70 €",
        "Rechnungsbetrag 401,48 €",
    ]
    positions = [text.find(row) for row in rows]
    assert -1 not in positions, [r for r, p in zip(rows, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


def test_demo_shows_xrechnung_cii_and_ubl_and_allowances(capsys) -> None:
    """The demo has XRechnung customers in both syntaxes (with a UBL CreditNote for the
    Storno) and an invoice with allowances and charges; every stored XRechnung is valid."""
    from sqlalchemy import select

    from kms.cli import main
    from kms.db import session_scope
    from kms.modules.invoices import storage
    from kms.modules.invoices.models import Invoice, InvoiceFile

    assert main(["demo"]) == 0
    with session_scope(write=False) as session:
        files = [
            storage.read(session, f)
            for f in session.scalars(select(InvoiceFile).where(InvoiceFile.role == "xrechnung_xml"))
        ]
        roots = sorted(etree.QName(etree.fromstring(f.content)).localname for f in files)
        assert roots == ["CreditNote", "CrossIndustryInvoice", "Invoice", "Invoice", "Invoice"]
        for f in files:
            assert validate(f.content, xrechnung=True, include_warnings=True) == [], f.filename
        with_extras = [i for i in session.scalars(select(Invoice)) if i.allowances]
        assert len(with_extras) == 1
        assert {a.tax_rate for a in with_extras[0].allowances} == {
            Decimal("19.00"),
            Decimal("7.00"),
        }
