"""The Angebote an Kunden page driven by Streamlit's AppTest (embedded SQLite): a draft
saved with positions, ▶ abschließen and ▶ In Rechnung übernehmen only after confirming
(also as Abschlags- and Schlussrechnung; a repeat take-over warns first), German messages
for bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kms.db import session_scope
from kms.modules.invoices import issuing
from kms.modules.invoices import service as invoices
from kms.modules.invoices.models import BILLING_ADVANCE, BILLING_FINAL, Invoice
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.quotes.models import ACCEPTED, Quote
from kms.modules.settings import demo as settings_demo
from tests.modules.invoices.conftest import line, organisation
from tests.ui_helpers import create_owner, edit_table, open_page, unescape, values


@pytest.fixture
def customer_id() -> int:
    """Owner login, demo seller, one business customer."""
    create_owner()
    with session_scope() as session:
        settings_demo.load(session)
        return organisation(session, "Musterfirma GmbH", vat_id="DE136695976").id


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def test_a_quote_draft_is_edited_with_the_positions_editor(customer_id: int) -> None:
    at = open_page("kundenangebote").run()
    assert not at.exception
    assert any("Noch keine Angebote" in str(i.value) for i in at.info)
    with session_scope() as session:
        quote_id = quotes.save_quote(
            session, contact_id=customer_id, lines=[line("Konzept", "1", "100")]
        ).id
    at.session_state["quote_selected"] = quote_id
    at.run()
    next(d for d in at.tabs[1].date_input if d.label == "Gültig bis").set_value(
        invoices.today() - timedelta(days=1)
    )
    row = {"Beschreibung": "Beratung", "Menge": "2", "Einheit": "Stunde", "Einzelpreis": "90"}
    edit_table(at, f"quote_{quote_id}_lines", added_rows=[{**row, "Steuer": "19 % USt"}])
    button(at, "Angebot speichern").click().run()
    assert not at.exception
    assert any("liegt in der Vergangenheit" in e for e in values(at.error)), values(at.error)
    with session_scope(write=False) as s:
        assert len(s.get(Quote, quote_id).lines) == 1  # nothing half-saved
    next(d for d in at.tabs[1].date_input if d.label == "Gültig bis").set_value(
        invoices.today() + timedelta(days=14)
    )
    edit_table(at, f"quote_{quote_id}_lines", added_rows=[{**row, "Steuer": "19 % USt"}])
    button(at, "Angebot speichern").click().run()
    assert not at.exception
    # (100 + 2 × 90) × 1,19
    assert any("gespeichert: 333,20" in s for s in values(at.success)), values(at.error)
    with session_scope(write=False) as s:
        quote = s.get(Quote, quote_id)
        assert [ln.description for ln in quote.lines] == ["Konzept", "Beratung"]
        assert quote.valid_until == invoices.today() + timedelta(days=14)


def test_finalize_and_take_over_happen_only_after_confirming(customer_id: int) -> None:
    with session_scope() as session:
        quote_id = quotes.save_quote(
            session,
            contact_id=customer_id,
            lines=[line("Konzept", "2", "400"), line("Druck", "1", "50", "S7")],
        ).id
    at = open_page("kundenangebote").run()
    assert "Entwurf" in at.dataframe[0].value["Nummer"].iloc[0]
    at.session_state["quote_selected"] = quote_id
    at.run()
    button(at, "▶ Angebot abschließen").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert s.get(Quote, quote_id).number is None  # nothing happens before confirming
    next(b for b in at.button if b.key == "quote_finalize_go").click().run()
    assert not at.exception
    number = f"AN-{invoices.today().year}-0001"
    assert f"Angebot {number} ist abgeschlossen." in values(at.success)
    assert any(f"Angebot {number} · versendet" in unescape(h.value) for h in at.subheader)
    assert any(b.label == "Angebot (PDF)" for b in at.get("download_button"))
    picker = next(m for m in at.multiselect if m.label == "Positionen für die Rechnung")
    picker.set_value([2]).run()
    button(at, "▶ In Rechnung übernehmen").click().run()
    next(b for b in at.button if b.key == "quote_invoice_go").click().run()
    assert not at.exception
    assert any("Rechnungsentwurf" in s for s in values(at.success)), values(at.success)
    with session_scope(write=False) as s:
        invoice = s.scalar(select(Invoice))
        assert [ln.description for ln in invoice.lines] == ["Druck"]
        assert quotes.quote_of(s, invoice.id).number == number
    assert any("Rechnungen aus diesem Angebot" in m.value for m in at.markdown)


def _sent_quote(customer_id: int) -> int:
    with session_scope() as session:
        quote_id = quotes.save_quote(
            session,
            contact_id=customer_id,
            lines=[line("Dachsanierung", "1", "8000"), line("Gerüst", "2", "1000")],
        ).id
        quotes.finalize_quote(session, quote_id)
    return quote_id


def _take_over(at: AppTest, kind: str) -> None:
    next(r for r in at.radio if r.label == "Übernehmen als").set_value(kind).run()


def test_an_advance_and_the_final_invoice_are_made_from_the_quote(customer_id: int) -> None:
    quote_id = _sent_quote(customer_id)
    at = open_page("kundenangebote")
    at.session_state["quote_selected"] = quote_id
    at.run()
    _take_over(at, "abschlag")
    assert not at.exception
    assert any("Angebotswert netto: 10.000,00" in c.value for c in at.caption)
    next(t for t in at.text_input if t.label == "Prozent").set_value("30").run()
    button(at, "▶ In Rechnung übernehmen").click().run()
    next(b for b in at.button if b.key == "quote_invoice_go").click().run()
    assert not at.exception
    # 30 % of 10.000,00 net = 3.000,00 + 570,00 VAT
    assert any("Abschlagsrechnung als Entwurf" in s and "3.570,00" in s for s in values(at.success))
    with session_scope() as s:
        advance = s.scalar(select(Invoice))
        assert (advance.billing, advance.net_total) == (BILLING_ADVANCE, Decimal("3000.00"))
        assert quotes.quote_of(s, advance.id).id == quote_id
        assert s.get(Quote, quote_id).status == ACCEPTED
        prepared = issuing.prepare_issue(s, advance.id, issue_date=invoices.today())
        issuing.issue(s, prepared)
    at.run()
    _take_over(at, "schluss")
    button(at, "▶ In Rechnung übernehmen").click().run()
    next(b for b in at.button if b.key == "quote_invoice_go").click().run()
    assert not at.exception
    # 10.000,00 − 3.000,00 = 7.000,00 net + 1.330,00 VAT still due
    assert any("Schlussrechnung als Entwurf" in s and "8.330,00" in s for s in values(at.success))
    with session_scope(write=False) as s:
        final = s.scalars(select(Invoice).order_by(Invoice.id)).all()[-1]
        assert (final.billing, final.gross_total) == (BILLING_FINAL, Decimal("8330.00"))


def test_a_second_take_over_warns_and_needs_confirming(customer_id: int) -> None:
    quote_id = _sent_quote(customer_id)
    with session_scope() as session:
        first = quotes.to_invoice(session, quote_id, positions=[1]).id
    at = open_page("kundenangebote")
    at.session_state["quote_selected"] = quote_id
    at.run()
    button(at, "▶ In Rechnung übernehmen").click().run()
    assert not at.exception
    assert any(f"bereits eine Rechnung erstellt (Entwurf {first})" in e for e in values(at.error))
    assert not any(b.key == "quote_invoice_go" and b.label == "Ja, übernehmen" for b in at.button)
    go = next(b for b in at.button if b.key == "quote_invoice_go")
    assert go.label == "Ja, trotzdem übernehmen"
    with session_scope(write=False) as s:
        assert len(quotes.invoices_of(s, quote_id)) == 1  # nothing before confirming
    go.click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert len(quotes.invoices_of(s, quote_id)) == 2
