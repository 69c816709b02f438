"""▶ Teilkorrektur erstellen: a Rechnungskorrektur (BT-3 384, BG-3 = the corrected invoice)
that keeps the invoice standing and changes its open amount by the difference."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pypdfium2
import pytest
from lxml import etree

from kms.db import session_scope
from kms.einvoice.cii import NS
from kms.einvoice.validate import validate
from kms.errors import KmsError
from kms.formatting import format_money
from kms.modules.contacts.service import update_contact
from kms.modules.invoices import advance, issuing, overview, payments, reports, service
from kms.modules.invoices.models import Invoice
from kms.modules.invoices.storage import original_bytes
from kms.reporting import Period
from kms.ui.text import plain
from tests.modules.invoices.conftest import ISSUE_DAY, LEITWEG_ID, line
from tests.modules.invoices.test_page import app, draft_id  # noqa: F401 (fixture)
from tests.ui_helpers import values

# 3 h Webdesign and 1 Hosting at 19 %, 2 books at 7 %:
# net 300 + 50 + 49.80 = 399.80; VAT 350 × 19 % = 66.50, 49.80 × 7 % = 3.486 → 3.49.
LINES = [
    line("Webdesign", "3", "100.00"),
    line("Buch", "2", "24.90", "S7", "C62"),
    line("Hosting", "1", "50.00", "S19", "C62"),
]
ORIGINAL_GROSS = Decimal("469.79")
LATER = ISSUE_DAY + timedelta(days=1)


@pytest.fixture
def original(make_draft, issue):
    invoice = issue(make_draft(LINES))
    assert invoice.gross_total == ORIGINAL_GROSS
    return invoice


def _correction(session, issue, original, quantity: str = "-1", position: int = 1):
    """Teilkorrektur of one position, edited to `quantity`, issued the day after."""
    draft = issuing.create_correction(session, original.id, positions=(position,), actor="erika")
    session.commit()
    taken = LINES[position - 1]
    service.save_draft(
        session, invoice_id=draft.id, version=draft.version, contact_id=draft.contact_id,
        service_date=original.service_date, as_of=LATER, lines=[{**taken, "quantity": quantity}],
    )  # fmt: skip
    return issue(draft, LATER)


def _xml_root(session, invoice, role: str = "facturx_xml"):
    xml = original_bytes(session, invoice.id, role).content
    return xml, etree.fromstring(xml)


def test_draft_copies_the_chosen_positions_negated_and_links_the_original(
    session, original
) -> None:
    """Position 2 is copied with -2 (a full reduction to edit); no position: an empty draft."""
    draft = issuing.create_correction(session, original.id, positions=(2,))
    assert (draft.number, draft.corrects_id, draft.billing) == (None, original.id, "korrektur")
    assert [(ln.position, ln.description, ln.quantity) for ln in draft.lines] == [
        (1, "Buch", Decimal("-2"))
    ]
    # 2 × 24.90 = 49.80 net, 3.49 VAT (7 %), reversed
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        Decimal("-49.80"),
        Decimal("-3.49"),
        Decimal("-53.29"),
    )
    empty = issuing.create_correction(session, original.id)
    assert empty.lines == [] and empty.contact_id == original.contact_id
    # A draft does not change what the customer owes (in every path that derives it).
    assert service.open_amount(session, original) == ORIGINAL_GROSS
    for filters in ({}, {"contact_id": original.contact_id}):
        listed = service.list_invoices(session, day=ISSUE_DAY, **filters)
        assert listed.sum_open == listed.sum_gross == ORIGINAL_GROSS


def test_issued_correction_has_golden_totals_type_384_and_bg3(session, original, issue) -> None:
    """-1 h Webdesign: net -100.00, VAT -19.00, gross -119.00; own RE number; XML 384 with the
    original's number and date in BG-3, valid EN 16931 including BR-DE-26 (a warning rule)."""
    correction = _correction(session, issue, original)
    assert correction.number == "RE-2026-0002"
    assert (correction.net_total, correction.tax_total, correction.gross_total) == (
        Decimal("-100.00"),
        Decimal("-19.00"),
        Decimal("-119.00"),
    )
    assert correction.label == "Rechnungskorrektur RE-2026-0002"
    xml, root = _xml_root(session, correction)
    assert validate(xml, xrechnung=False, include_warnings=True) == []
    assert root.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS) == "384"
    ref = "//ram:InvoiceReferencedDocument/"
    assert root.xpath(f"string({ref}ram:IssuerAssignedID)", namespaces=NS) == original.number
    assert root.xpath(
        f"string({ref}ram:FormattedIssueDateTime/qdt:DateTimeString)", namespaces=NS
    ) == original.issue_date.strftime("%Y%m%d")
    assert root.xpath("string(//ram:GrandTotalAmount)", namespaces=NS) == "-119.00"


@pytest.mark.parametrize("fmt", ["xrechnung_cii", "xrechnung_ubl"])
def test_xrechnung_of_the_correction_is_valid(session, customer, make_draft, issue, fmt) -> None:
    """The XRechnung (CII and UBL) of a Rechnungskorrektur passes KoSIT's rules, BR-DE-26."""
    update_contact(
        session, customer.id, version=customer.version, einvoice_format=fmt,
        buyer_reference=LEITWEG_ID,
    )  # fmt: skip
    session.commit()
    invoice = issue(make_draft(LINES))
    correction = _correction(session, issue, invoice, position=2)
    xml, root = _xml_root(session, correction, "xrechnung_xml")
    assert validate(xml, xrechnung=True, include_warnings=True) == []
    if fmt == "xrechnung_ubl":
        ubl = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
        assert root.xpath("string(//cbc:InvoiceTypeCode)", namespaces=ubl) == "384"
        assert invoice.number in xml.decode()
    else:
        assert root.xpath("string(//ram:TypeCode)", namespaces=NS) == "384"


def test_pdf_is_titled_rechnungskorrektur_and_names_the_invoice(session, original, issue) -> None:
    correction = _correction(session, issue, original)
    pdf = original_bytes(session, correction.id, "pdf").content
    text = pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range()
    assert "Rechnungskorrektur RE-2026-0002" in text
    assert f"Korrektur zu Rechnung {original.number} vom 02.03.2026" in text
    assert "mindert den Rechnungsbetrag um 119,00" in text
    assert "Bitte überweisen" not in text


def test_open_amount_status_and_sums_take_the_correction_into_account(
    session, original, issue, customer
) -> None:
    """Open = 469.79 - 119.00 = 350.79 on the invoice; the correction itself owes nothing.
    The list (aggregate and per-row paths), the Übersicht and the revenue count it."""
    correction = _correction(session, issue, original)
    assert service.open_amount(session, original) == Decimal("350.79")
    assert service.open_amount(session, correction) == 0
    assert service.status_of(session, original, ISSUE_DAY) == "offen"
    assert service.status_of(session, correction, ISSUE_DAY) == "korrektur"
    for filters in ({}, {"contact_id": customer.id}):  # status_source and per-row subqueries
        listed = service.list_invoices(session, day=ISSUE_DAY, **filters)
        rows = {r.id: r for r in listed.page.items}
        assert (rows[original.id].open, rows[correction.id].open) == (Decimal("350.79"), 0)
        assert rows[correction.id].status == "korrektur"
        assert (listed.sum_gross, listed.sum_open) == (Decimal("350.79"), Decimal("350.79"))
    only_open = service.list_invoices(session, status="offen", day=ISSUE_DAY)
    assert [r.id for r in only_open.page.items] == [original.id]
    assert only_open.sum_open == Decimal("350.79")
    figures = {f.label: f.value for f in overview.overview(session, ISSUE_DAY)}
    assert figures["Offene Rechnungen"] == format_money(Decimal("350.79"))
    assert figures["Umsatz 2026 (netto)"] == format_money(Decimal("299.80"))
    by_month = reports.revenue_by_month(session, Period.parse("2026"))
    assert by_month.iloc[-1]["Netto"] == Decimal("299.80")
    open_items = reports.open_items(session, day=ISSUE_DAY)
    assert list(open_items["Nummer"])[:-1] == [original.number]  # the last row is the total
    assert list(open_items["Offen"]) == [Decimal("350.79")] * 2
    # Paying the corrected amount settles the invoice; more than that is refused.
    with pytest.raises(KmsError):
        payments.record_payment(session, original.id, paid_on=LATER, amount="469.79")
    payments.record_payment(session, original.id, paid_on=LATER, amount="350.79")
    session.commit()
    assert service.status_of(session, original, LATER) == "bezahlt"
    assert service.open_amount(session, original) == 0
    listed = service.list_invoices(session, day=LATER)
    assert (listed.sum_gross, listed.sum_open) == (Decimal("350.79"), 0)


def test_a_payment_before_the_correction_leaves_the_difference_open(
    session, original, issue
) -> None:
    """200 paid, then +1 Hosting (59.50 more): 469.79 + 59.50 - 200 = 329.29, teilweise."""
    payments.record_payment(session, original.id, paid_on=ISSUE_DAY, amount="200")
    session.commit()
    correction = _correction(session, issue, original, quantity="1", position=3)
    assert correction.gross_total == Decimal("59.50")
    assert service.open_amount(session, original) == Decimal("329.29")
    assert service.status_of(session, original, ISSUE_DAY) == "teilweise"
    with pytest.raises(KmsError, match="bitte die Zahlung dort erfassen"):
        payments.record_payment(session, correction.id, paid_on=LATER, amount="59.50")


def test_refusals(session, original, issue, make_draft) -> None:
    """No correction of a draft, a Storno, a cancelled invoice or a correction; an invoice with
    an issued correction is not cancelled (the correction would stay); nor is a correction."""
    draft = make_draft([line()])
    with pytest.raises(KmsError, match="Entwurf wird nicht korrigiert"):
        issuing.create_correction(session, draft.id)
    with pytest.raises(KmsError, match="keine Position 9"):
        issuing.create_correction(session, original.id, positions=(9,))
    correction = _correction(session, issue, original)
    with pytest.raises(KmsError, match="nicht erneut korrigiert"):
        issuing.create_correction(session, correction.id)
    with pytest.raises(KmsError, match="durch Rechnungskorrektur RE-2026-0002 geändert"):
        issuing.cancel(session, original.id, issue_date=LATER)
    with pytest.raises(KmsError, match="durch Rechnungskorrektur RE-2026-0002 geändert"):
        issuing.correct(session, original.id, issue_date=LATER)
    with pytest.raises(KmsError, match="Rechnungskorrektur wird nicht storniert"):
        issuing.cancel(session, correction.id, issue_date=LATER)
    session.rollback()
    other = issue(make_draft([line()]), LATER)
    storno = issuing.cancel(session, other.id, issue_date=LATER)
    session.commit()
    with pytest.raises(KmsError, match="Stornorechnung kann nicht korrigiert"):
        issuing.create_correction(session, storno.id)
    with pytest.raises(KmsError, match="ist storniert"):
        issuing.create_correction(session, other.id)


def test_an_advance_invoice_is_not_corrected(session, customer, issue) -> None:
    draft = advance.create_advance_draft(
        session, contact_id=customer.id, order_reference="Auftrag 7", order_value="3000",
        amount="1000", service_date=date(2026, 2, 27), as_of=ISSUE_DAY,
    )  # fmt: skip
    invoice = issue(draft)
    with pytest.raises(KmsError, match="Abschlagsrechnung wird über die Schlussrechnung"):
        issuing.create_correction(session, invoice.id)


def test_draft_of_a_meanwhile_cancelled_invoice_is_not_issued(session, original, issue) -> None:
    """Storno while a correction draft waits: issuing the draft lists why, takes no number."""
    draft = issuing.create_correction(session, original.id, positions=(1,))
    issuing.cancel(session, original.id, issue_date=ISSUE_DAY)
    session.commit()
    with pytest.raises(issuing.IssueRefused) as refused:
        issue(draft, LATER)
    assert any(p.rule == "KORREKTUR" and "storniert" in p.message for p in refused.value.problems)
    session.expire_all()
    assert draft.number is None


def test_a_normal_invoice_below_zero_is_still_refused(session, make_draft) -> None:
    """Only a Rechnungskorrektur may be negative."""
    draft = make_draft([line(quantity="-1")])
    assert service.amount_problem(draft).startswith("Der Rechnungsbetrag ist")
    with pytest.raises(issuing.IssueRefused, match="über 0"):
        issuing.prepare_issue(session, draft.id, issue_date=ISSUE_DAY)


def test_page_button_explains_confirms_and_links_both_ways(draft_id) -> None:  # noqa: F811
    """▶ Teilkorrektur erstellen explains the difference to Storno/Korrigieren, creates the
    draft only after "Ja, ausführen" and shows it; both details name each other."""
    issued = issuing.issue_invoice(draft_id, actor="test")  # 2 h Webdesign: 238.00
    at = app()
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    next(b for b in at.button if b.label == "▶ Teilkorrektur erstellen").click().run()
    assert not at.exception
    assert any("▶ Stornieren hebt dagegen" in m for m in values(at.markdown))
    at.multiselect(key="amend_positions").set_value([1]).run()
    with session_scope(write=False) as s:  # nothing before the confirmation
        assert issuing.corrections_of(s, issued.id, issued=False) == []
    next(b for b in at.button if b.key == "amend_go").click().run()
    assert not at.exception
    new_id = at.session_state["inv_selected"]
    assert at.subheader[0].value.startswith(plain(f"Entwurf {new_id}"))
    assert f"Korrektur zu Rechnung {issued.number} vom " in " ".join(values(at.caption))
    with session_scope() as s:
        draft = s.get(Invoice, new_id)
        assert (draft.corrects_id, [ln.quantity for ln in draft.lines]) == (issued.id, [-2])
        service.save_draft(
            s, invoice_id=new_id, version=draft.version, contact_id=draft.contact_id,
            service_date=service.today(), lines=[line("Webdesign", "-1", "100")],
        )  # fmt: skip
    correction = issuing.issue_invoice(new_id, actor="test")
    at.selectbox(key="inv_pick").set_value(issued.id).run()
    assert not at.exception
    links = " ".join(values(at.caption))
    assert f"korrigiert durch Rechnungskorrektur {correction.number}" in links
    assert at.metric[1].value == format_money(Decimal("119.00"))  # Offen: 238.00 - 119.00
