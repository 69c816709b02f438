"""Stornieren and Korrigieren: own number range, type 381 with BG-3, reversing amounts."""

from __future__ import annotations

from datetime import timedelta

import pypdfium2
import pytest
import zxingcpp
from lxml import etree

from kms.audit import history
from kms.einvoice.cii import NS
from kms.einvoice.validate import validate
from kms.errors import KmsError
from kms.modules.invoices import issuing, service
from kms.modules.invoices.storage import original_bytes
from tests.modules.invoices.conftest import ISSUE_DAY, line


@pytest.fixture
def issued(session, make_draft, issue):
    return issue(make_draft([line(), line("Buch", "1", "20.00", "S7", "C62")]))


def test_storno_has_its_own_number_and_references_the_original(session, issued) -> None:
    """ST-… number, type 381, BG-3 = original number and date; XML valid; status storniert."""
    storno = issuing.cancel(session, issued.id, actor="erika", issue_date=ISSUE_DAY)
    session.commit()
    assert storno.number == "ST-2026-0001"
    assert (storno.gross_total, storno.cancels_id) == (issued.gross_total, issued.id)
    xml = original_bytes(session, storno.id, "facturx_xml").content
    assert validate(xml, xrechnung=False) == []
    root = etree.fromstring(xml)
    assert root.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=NS) == "381"
    ref = "//ram:InvoiceReferencedDocument/"
    assert root.xpath(f"string({ref}ram:IssuerAssignedID)", namespaces=NS) == issued.number
    assert root.xpath(
        f"string({ref}ram:FormattedIssueDateTime/qdt:DateTimeString)", namespaces=NS
    ) == issued.issue_date.strftime("%Y%m%d")
    assert service.status_of(session, issued) == "storniert"
    assert service.status_of(session, storno) == "storno"
    assert history(session, "invoice", storno.id)[-1].action == "cancelled"


def test_storno_pdf_is_labelled_and_has_no_girocode(session, issued) -> None:
    """The PDF says "Stornorechnung", names the original, shows negative amounts, no QR."""
    storno = issuing.cancel(session, issued.id, issue_date=ISSUE_DAY)
    pdf = original_bytes(session, storno.id, "pdf").content
    page = pypdfium2.PdfDocument(pdf)[0]
    text = page.get_textpage().get_text_range()
    assert "Stornorechnung ST-2026-0001" in text
    assert f"zur Rechnung {issued.number} vom 02.03.2026" in text
    assert "Gutschrift" not in text
    assert "-378,40" in text.replace("\u2212", "-")  # 300 + 57 + 20 + 1.40, reversed
    assert zxingcpp.read_barcodes(page.render(scale=4).to_pil()) == []


def test_cancel_twice_or_cancel_a_storno_is_refused(session, issued) -> None:
    """One Storno per invoice; a Stornorechnung itself cannot be cancelled; drafts neither."""
    storno = issuing.cancel(session, issued.id, issue_date=ISSUE_DAY)
    with pytest.raises(KmsError, match="bereits storniert"):
        issuing.cancel(session, issued.id, issue_date=ISSUE_DAY)
    with pytest.raises(KmsError, match="Stornorechnung kann nicht"):
        issuing.cancel(session, storno.id, issue_date=ISSUE_DAY)


def test_correct_cancels_and_prefills_a_new_draft(session, issued) -> None:
    """Korrigieren = Storno + a draft with the same customer, lines and terms."""
    storno, draft = issuing.correct(session, issued.id, issue_date=ISSUE_DAY + timedelta(days=1))
    session.commit()
    assert storno.cancels_id == issued.id
    assert draft.number is None and draft.corrects_id == issued.id
    assert [(ln.description, ln.net) for ln in draft.lines] == [
        (ln.description, ln.net) for ln in issued.lines
    ]
    assert draft.gross_total == issued.gross_total
    edited = service.save_draft(
        session, invoice_id=draft.id, contact_id=draft.contact_id, as_of=ISSUE_DAY,
        service_date=issued.service_date, lines=[line("Webdesign korrigiert", "2")],
    )  # fmt: skip
    assert edited.net_total == 200
