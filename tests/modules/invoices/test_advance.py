"""Abschlags- und Schlussrechnungen (§ 14 Abs. 5 UStG): golden totals at two VAT rates,
valid Factur-X and XRechnung of advance and final invoice, and the refusals."""

from __future__ import annotations

import io
import threading
from datetime import date
from decimal import Decimal

import pikepdf
import pypdfium2
import pytest
from lxml import etree
from sqlalchemy import select

from kms.einvoice.cii import NS
from kms.einvoice.ubl import UBL_NS
from kms.einvoice.validate import validate
from kms.errors import KmsError, ValidationError
from kms.modules.contacts.service import update_contact
from kms.modules.invoices import issuing, service
from kms.modules.invoices.advance import create_advance_draft, create_final_draft
from kms.modules.invoices.models import BILLING_ADVANCE, BILLING_FINAL, Invoice
from kms.modules.invoices.storage import original_bytes
from kms.permissions import carry
from tests.modules.invoices.conftest import ISSUE_DAY, LEITWEG_ID, line

ORDER = "Auftrag 2026-17 Dachsanierung"
SERVICE = [
    line("Dachsanierung", "1", "10000.00", "S19", "C62"),
    line("Fachbücher", "1", "2000.00", "S7", "C62"),
]
HEADER = {"service_date": date(2026, 2, 27), "payment_term_days": 14}


@pytest.fixture
def advance(session, customer):
    def make(**values):
        values = {"order_reference": ORDER, **HEADER, **values}
        draft = create_advance_draft(
            session, contact_id=customer.id, as_of=ISSUE_DAY, actor="test", **values
        )
        session.commit()
        return draft

    return make


@pytest.fixture
def final(session, customer):
    def make():
        draft = create_final_draft(
            session,
            contact_id=customer.id,
            order_reference=ORDER,
            lines=SERVICE,
            as_of=ISSUE_DAY,
            actor="test",
            **HEADER,
        )
        session.commit()
        return draft

    return make


def _xrechnung(session, customer, fmt: str) -> None:
    update_contact(
        session,
        customer.id,
        version=customer.version,
        einvoice_format=fmt,
        buyer_reference=LEITWEG_ID,
    )
    session.commit()


def _first_page(session, invoice) -> str:
    pdf = pypdfium2.PdfDocument(original_bytes(session, invoice.id, "pdf").content)
    try:
        return " ".join(str(pdf[0].get_textpage().get_text_range()).split())
    finally:
        pdf.close()


def _valid(session, invoice, *, xrechnung: bool) -> bytes:
    facturx = original_bytes(session, invoice.id, "facturx_xml").content
    assert validate(facturx, xrechnung=False) == []
    if xrechnung:
        xml = original_bytes(session, invoice.id, "xrechnung_xml").content
        assert validate(xml, xrechnung=True) == []
        # Only the warning that XRechnung does not list 386 (BR-DE-17) may remain.
        rules = {p.rule for p in validate(xml, xrechnung=True, include_warnings=True)}
        assert rules <= {"BR-DE-17"}
    return facturx


def test_advance_draft_from_percent_and_amount(advance) -> None:
    """30 % of 10.000 € at 19 %; 1.000 € at 7 %; numbered "Abschlag n auf …"."""
    first = advance(order_value="10000", percent="30", tax="S19")
    assert first.billing == BILLING_ADVANCE and first.order_reference == ORDER
    assert [ln.description for ln in first.lines] == [f"Abschlag 1 auf {ORDER}"]
    assert (first.net_total, first.tax_total, first.gross_total) == (
        Decimal("3000.00"),
        Decimal("570.00"),
        Decimal("3570.00"),
    )
    second = advance(order_value="2000", amount="1000,00", tax="S7")
    assert [ln.description for ln in second.lines] == [f"Abschlag 2 auf {ORDER}"]
    assert (second.net_total, second.tax_total, second.gross_total) == (
        Decimal("1000.00"),
        Decimal("70.00"),
        Decimal("1070.00"),
    )


@pytest.mark.parametrize(
    ("values", "field", "text"),
    [
        ({"percent": "101"}, "percent", "höchstens 100 %"),
        ({"percent": "0"}, "percent", "über 0 %"),
        ({"percent": "-5"}, "percent", "über 0 %"),
        ({"amount": "0"}, "amount", "größer als 0 €"),
        ({}, "percent", "entweder einen Prozentsatz oder einen Betrag"),
        ({"percent": "10", "amount": "5"}, "percent", "entweder"),
        ({"percent": "10", "order_reference": " "}, "order_reference", "Auftrag angeben"),
    ],
)
def test_bad_advance_input_is_refused_in_german(session, advance, values, field, text) -> None:
    with pytest.raises(ValidationError) as err:
        advance(order_value="10000", **values)
    assert err.value.field == field
    assert text in str(err.value)
    session.rollback()


def test_advances_may_not_exceed_the_order_value(session, advance) -> None:
    """Per VAT rate, drafts included: 60 % + 50 % of the order is refused, nothing saved."""
    advance(order_value="10000", percent="60")
    with pytest.raises(ValidationError) as err:
        advance(order_value="10000", percent="50")
    assert "übersteigen den Auftragswert von 10.000,00\xa0€" in str(err.value)
    session.rollback()
    # Another rate has its own order value.
    assert advance(order_value="2000", percent="50", tax="S7").net_total == Decimal("1000.00")


def test_final_invoice_without_issued_advances_is_refused(session, final) -> None:
    with pytest.raises(KmsError) as err:
        final()
    assert "keine abgeschlossene Abschlagsrechnung" in str(err.value)
    session.rollback()


def test_final_invoice_refuses_an_unissued_advance(session, advance, final, issue) -> None:
    issue(advance(order_value="10000", percent="30"))
    pending = advance(order_value="10000", percent="10")
    with pytest.raises(KmsError) as err:
        final()
    assert "nicht abgeschlossene Abschlagsrechnungen" in str(err.value)
    assert pending.label in str(err.value)
    session.rollback()


@pytest.mark.parametrize("fmt", ["xrechnung_cii", "xrechnung_ubl"])
def test_golden_final_invoice_at_two_rates_is_valid(
    session, customer, advance, final, issue, fmt
) -> None:
    """Order 10.000 € at 19 % and 2.000 € at 7 %; advances 30 % at 19 % and 1.000 € at
    7 %; the final invoice deducts both per rate and leaves exactly 9.400,00 € due."""
    _xrechnung(session, customer, fmt)
    a1 = issue(advance(order_value="10000", percent="30", tax="S19"))
    a2 = issue(advance(order_value="2000", amount="1000", tax="S7"), ISSUE_DAY)
    assert a1.number == "RE-2026-0001" and a1.label == "Abschlagsrechnung RE-2026-0001"
    facturx = _valid(session, a1, xrechnung=True)
    assert (
        etree.fromstring(facturx).xpath(
            "string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS
        )
        == "386"
    )
    assert "Abschlagsrechnung RE-2026-0001" in _first_page(session, a1)

    draft = final()
    assert draft.billing == BILLING_FINAL
    deduction_lines = draft.lines[2:]
    assert [(ln.description, ln.net, ln.deducts_invoice_id) for ln in deduction_lines] == [
        (
            "abzüglich Abschlagsrechnung RE-2026-0001 vom 02.03.2026 (19 % USt)",
            Decimal("-3000.00"),
            a1.id,
        ),
        (
            "abzüglich Abschlagsrechnung RE-2026-0002 vom 02.03.2026 (7 % USt)",
            Decimal("-1000.00"),
            a2.id,
        ),
    ]
    # 19 %: 10.000 − 3.000 = 7.000 → 1.330; 7 %: 2.000 − 1.000 = 1.000 → 70.
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        Decimal("8000.00"),
        Decimal("1400.00"),
        Decimal("9400.00"),
    )
    # The whole service (14.040 €) less both advances (3.570 € + 1.070 €) is what is due.
    assert Decimal("14040.00") - a1.gross_total - a2.gross_total == draft.gross_total

    invoice = issue(draft)
    assert invoice.label == "Schlussrechnung RE-2026-0003"
    root = etree.fromstring(_valid(session, invoice, xrechnung=True))
    assert root.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS) == "380"
    refs = root.xpath("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()", namespaces=NS)
    assert refs == ["RE-2026-0001", "RE-2026-0002"]
    taxes = {
        el.xpath("string(ram:RateApplicablePercent)", namespaces=NS): (
            el.xpath("string(ram:BasisAmount)", namespaces=NS),
            el.xpath("string(ram:CalculatedAmount)", namespaces=NS),
        )
        for el in root.xpath(
            "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS
        )
    }
    assert taxes == {"19": ("7000.00", "1330.00"), "7": ("1000.00", "70.00")}
    assert root.xpath("string(//ram:DuePayableAmount)", namespaces=NS) == "9400.00"
    if fmt == "xrechnung_ubl":
        ubl = etree.fromstring(original_bytes(session, invoice.id, "xrechnung_xml").content)
        ids = ubl.xpath(
            "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()", namespaces=UBL_NS
        )
        assert ids == ["RE-2026-0001", "RE-2026-0002"]
    page = _first_page(session, invoice)
    assert "Schlussrechnung RE-2026-0003" in page
    assert page.count("abzüglich Abschlagsrechnung") == 4  # two positions, two totals rows
    assert "RE-2026-0001 vom 02.03.2026 (19 % USt)" in page
    # § 14 Abs. 5 S. 2 UStG: the whole service, the advances per rate with their VAT, and
    # what is left to pay; every amount adds up with the e-invoice (9.400,00 € due).
    assert "Rechnungsbetrag" not in page
    assert "Gesamtleistung netto 12.000,00 €" in page
    assert "Gesamtleistung brutto 14.040,00 €" in page
    assert (
        "abzüglich Abschlagsrechnung RE-2026-0001: 3.000,00 € netto + 570,00 € USt 19 % "
        "-3.570,00 €" in page
    )
    assert (
        "abzüglich Abschlagsrechnung RE-2026-0002: 1.000,00 € netto + 70,00 € USt 7 % "
        "-1.070,00 €" in page
    )
    assert "Noch zu zahlen 9.400,00 €" in page
    assert "darin USt 19 % auf 7.000,00 € 1.330,00 €" in page
    pdf = original_bytes(session, invoice.id, "pdf").content
    info = pikepdf.open(io.BytesIO(pdf)).open_metadata()
    assert info["dc:title"] == "Schlussrechnung RE-2026-0003"
    assert "Schlussrechnung RE-2026-0003 vom" in info["dc:description"]

    # Every advance is deducted once: a second final invoice is refused.
    with pytest.raises(KmsError) as err:
        final()
    assert "wird bereits in Schlussrechnung RE-2026-0003 abgezogen" in str(err.value)
    session.rollback()


def test_final_invoice_with_facturx_only(session, advance, final, issue) -> None:
    """The default customer (Factur-X only) gets a valid final invoice too."""
    issue(advance(order_value="10000", percent="30"))
    invoice = issue(final())
    _valid(session, invoice, xrechnung=False)
    assert invoice.gross_total == Decimal("10470.00")  # 14.040 − 3.570


def _editor_rows(draft) -> list[dict]:
    """The draft's lines as the invoice editor sends them back (no link to an advance)."""
    return [
        line(ln.description, str(ln.quantity), str(ln.unit_price), service.tax_key(ln), "C62")
        for ln in draft.lines
    ]


def _deducted(draft) -> list[tuple[int | None, Decimal]]:
    return [(ln.deducts_invoice_id, ln.net) for ln in draft.lines if ln.quantity < 0]


@pytest.mark.parametrize("rows", ["as_shown", "service_only"])
def test_final_draft_saved_in_the_editor_keeps_its_deductions(
    session, customer, advance, final, issue, rows
) -> None:
    """▶ Speichern in the ordinary editor (with the "abzüglich …" rows as shown, or with
    only the service lines) keeps the Schlussrechnung, its links to the advances (BG-3)
    and the amount due; the invoice is then issued as usual."""
    first = issue(advance(order_value="10000", percent="30"))
    draft = final()
    sent = _editor_rows(draft) if rows == "as_shown" else SERVICE
    service.save_draft(
        session,
        invoice_id=draft.id,
        version=draft.version,
        contact_id=customer.id,
        lines=sent,
        as_of=ISSUE_DAY,
        **HEADER,
    )
    session.commit()
    session.refresh(draft)
    assert draft.billing == BILLING_FINAL and draft.order_reference == ORDER
    assert _deducted(draft) == [(first.id, Decimal("-3000.00"))]
    assert len(draft.lines) == 3 and draft.gross_total == Decimal("10470.00")
    invoice = issue(draft)
    assert invoice.label == "Schlussrechnung RE-2026-0002"
    assert "RE-2026-0001" in _first_page(session, invoice)


def test_final_draft_follows_a_cancelled_advance(session, customer, advance, final, issue) -> None:
    """An advance cancelled after the final draft was made: issuing is refused until the
    draft is saved again, which then deducts only the remaining advance."""
    first = issue(advance(order_value="10000", percent="30"))
    second = issue(advance(order_value="10000", percent="10"))
    draft = final()
    assert [a for a, _ in _deducted(draft)] == [first.id, second.id]
    issuing.cancel(session, second.id, actor="test", issue_date=ISSUE_DAY)
    session.commit()
    with pytest.raises(issuing.IssueRefused) as err:
        issue(draft)
    assert any(
        p.rule == "SCHLUSSRECHNUNG" and second.label in p.message and "storniert" in p.message
        for p in err.value.problems
    )
    session.rollback()
    service.save_draft(
        session,
        invoice_id=draft.id,
        contact_id=customer.id,
        lines=_editor_rows(draft),
        as_of=ISSUE_DAY,
        **HEADER,
    )
    session.commit()
    session.refresh(draft)
    assert _deducted(draft) == [(first.id, Decimal("-3000.00"))]
    assert issue(draft).gross_total == Decimal("10470.00")


def test_deducted_advance_cannot_be_cancelled_alone(session, advance, final, issue) -> None:
    """Storno of an advance the issued Schlussrechnung deducts is refused in German (the
    final invoice would deduct a cancelled advance); after the final invoice's Storno it
    is allowed."""
    first = issue(advance(order_value="10000", percent="30"))
    invoice = issue(final())
    with pytest.raises(KmsError) as err:
        issuing.cancel(session, first.id, actor="test", issue_date=ISSUE_DAY)
    assert str(err.value) == (
        "Abschlagsrechnung RE-2026-0001 wird in Schlussrechnung RE-2026-0002 abgezogen und "
        "kann deshalb nicht allein storniert werden. Bitte zuerst Schlussrechnung "
        "RE-2026-0002 stornieren und danach eine neue Schlussrechnung erstellen."
    )
    session.rollback()
    issuing.cancel(session, invoice.id, actor="test", issue_date=ISSUE_DAY)
    session.commit()
    assert issuing.cancel(session, first.id, actor="test", issue_date=ISSUE_DAY).number


def _twin(session, customer, draft):
    """A second final draft deducting the same advance, as two users starting the
    Schlussrechnung at the same moment would leave behind (both passed `deductions`)."""
    twin = service.save_draft(
        session, contact_id=customer.id, lines=SERVICE, as_of=ISSUE_DAY, **HEADER
    )
    twin.billing, twin.order_reference = BILLING_FINAL, ORDER
    twin.lines = [
        *twin.lines,
        *(issuing._copy_line(ln) for ln in draft.lines if ln.deducts_invoice_id),
    ]
    for copy, ln in zip(twin.lines[2:], draft.lines[2:], strict=True):
        copy.deducts_invoice_id = ln.deducts_invoice_id
    twin.net_total, twin.tax_total, twin.gross_total = service.compute_totals(twin)
    session.commit()
    return twin


def test_second_final_invoice_may_not_deduct_an_advance_again(
    session, customer, advance, final, issue
) -> None:
    first = issue(advance(order_value="10000", percent="30"))
    draft = final()
    twin = _twin(session, customer, draft)
    assert _deducted(twin) == [(first.id, Decimal("-3000.00"))]
    issue(draft)
    with pytest.raises(issuing.IssueRefused) as err:
        issue(twin)
    assert [p.message for p in err.value.problems] == [
        "Abschlagsrechnung RE-2026-0001 wird bereits in Schlussrechnung RE-2026-0002 "
        "abgezogen. Eine Abschlagsrechnung wird nur einmal abgezogen: bitte diesen Entwurf "
        "löschen."
    ]


def test_two_final_invoices_issued_at_once_deduct_once(
    session, customer, advance, final, issue, db_url
) -> None:
    """Two sessions issue both final drafts at the same moment: the advance rows are
    locked, so exactly one is issued and the other is refused."""
    issue(advance(order_value="10000", percent="30"))
    draft = final()
    ids = [draft.id, _twin(session, customer, draft).id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work(draft_id: int) -> None:
        barrier.wait()
        try:
            issuing.issue_invoice(draft_id, issue_date=ISSUE_DAY, url=db_url)
            outcomes.append("issued")
        except issuing.IssueRefused as exc:
            outcomes.append(" ".join(p.message for p in exc.problems))

    threads = [threading.Thread(target=carry(work), args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes)[0].startswith("Abschlagsrechnung RE-2026-0001 wird bereits in")
    assert sorted(outcomes)[1] == "issued"
    session.expire_all()
    issued = session.scalars(
        select(Invoice).where(Invoice.billing == BILLING_FINAL, Invoice.issued_at.is_not(None))
    ).all()
    assert len(issued) == 1


def test_cancelled_final_invoice_frees_its_advances(session, advance, final, issue) -> None:
    """After ▶ Stornieren of the Schlussrechnung a new one deducts the same advance again."""
    issue(advance(order_value="10000", percent="30"))
    first = issue(final())
    issuing.cancel(session, first.id, actor="test", issue_date=ISSUE_DAY)
    session.commit()
    again = final()
    assert again.gross_total == first.gross_total == Decimal("10470.00")


def test_korrigieren_keeps_advance_and_final_invoice_what_they_are(
    session, advance, final, issue
) -> None:
    """▶ Korrigieren (Storno + new draft) of a Schlussrechnung gives a Schlussrechnung draft
    that deducts the advance again, linked; of an advance, an advance draft of the order."""
    first = issue(advance(order_value="10000", percent="30"))
    closing = issue(final())
    _, draft = issuing.correct(session, closing.id, actor="test", issue_date=ISSUE_DAY)
    session.commit()
    assert (draft.billing, draft.order_reference) == (BILLING_FINAL, ORDER)
    assert _deducted(draft) == [(first.id, Decimal("-3000.00"))]
    assert draft.gross_total == closing.gross_total == Decimal("10470.00")
    assert issue(draft).label.startswith("Schlussrechnung ")
    second = issue(advance(order_value="10000", percent="10"))
    _, again = issuing.correct(session, second.id, actor="test", issue_date=ISSUE_DAY)
    assert (again.billing, again.order_reference) == (BILLING_ADVANCE, ORDER)


def test_demo_data_has_an_advance_final_pair(session, seller) -> None:
    """The demo issues two advances and the Schlussrechnung that deducts both."""
    from kms.modules.invoices import demo

    demo.load(session)
    session.commit()
    pair = session.scalars(
        select(Invoice).where(Invoice.order_reference == demo.DEMO_ORDER).order_by(Invoice.id)
    ).all()
    assert [(i.billing, i.is_issued) for i in pair] == [
        (BILLING_ADVANCE, True),
        (BILLING_ADVANCE, True),
        (BILLING_FINAL, True),
    ]
    assert pair[2].gross_total == Decimal("9400.00")
    assert {ln.deducts_invoice_id for ln in pair[2].lines} == {None, pair[0].id, pair[1].id}
