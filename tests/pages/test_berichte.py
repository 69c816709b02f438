"""Berichte: pick a report and a period, see the German table, the chart and the downloads."""

from __future__ import annotations

from datetime import date

from kms.db import session_factory
from kms.types import today
from tests import ui_helpers as ui
from tests.modules.reports.helpers import customer, invoice


def _invoices() -> int:
    """Two invoices this year (1000.00 + 234.56 net at 19 %) and one open, overdue one."""
    year = today().year
    session = session_factory()()
    try:
        kunde = customer(session, "[Klick](https://evil.example) GmbH", customer_number="K-7")
        invoice(session, kunde, date(year, 1, 10), [("S19", "1000.00")], due=date(year, 1, 24))
        invoice(session, kunde, date(year, 1, 12), [("S19", "234.56")], due=date(year, 1, 26))
        session.commit()
    finally:
        session.close()
    return year


def test_deep_link_before_login_shows_only_the_login_form(owner):
    at = ui.open_page("berichte", user=None).run()
    ui.assert_only_login(at, hidden=["Bericht", "Umsatz nach Monaten"])


def test_revenue_by_month_table_chart_and_downloads(owner):
    year = _invoices()
    at = ui.open_page("berichte").run()
    ui.assert_page_shown(at, "Berichte")
    picker = at.selectbox(key="rep_key")
    assert picker.placeholder == "Bitte auswählen …"
    picker.set_value("revenue_by_month").run()
    assert at.selectbox(key="rep_year").value == year
    table = at.dataframe[0].value
    # January: 1000.00 + 234.56 = 1234.56 net; VAT 190.00 + 44.57 (44.5664) = 234.57.
    assert table.iloc[0].tolist() == [
        "Januar",
        "2",
        "0",
        "1.234,56\xa0€",
        "234,57\xa0€",
        "1.469,13\xa0€",
    ]
    assert table.iloc[-1]["Monat"] == "Summe"
    assert len(at.get("vega_lite_chart")) == 1
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["CSV herunterladen", "XLSX herunterladen"]
    assert not at.exception and not at.error


def test_open_items_with_the_customer_name_as_plain_text(owner):
    _invoices()
    at = ui.open_page("berichte").run()
    at.selectbox(key="rep_key").set_value("open_items").run()
    assert any(c.value.startswith("Stand: ") for c in at.caption)
    table = at.dataframe[0].value
    assert table["Kunde"].tolist()[:2] == ["[Klick](https://evil.example) GmbH"] * 2
    assert table["Bucket"].tolist()[-1] == ""
    assert not at.exception and not at.error


def test_zm_offers_month_quarter_and_year_and_shows_its_note(owner):
    at = ui.open_page("berichte").run()
    at.selectbox(key="rep_key").set_value("zm").run()
    at.selectbox(key="rep_kind").set_value("quarter").run()
    at.selectbox(key="rep_quarter").set_value(1).run()
    at.selectbox(key="rep_period_year").set_value(2026).run()
    assert any("1. Quartal 2026" in ui.unescape(h.value) for h in at.subheader)
    assert any("ELSTER" in ui.unescape(i.value) for i in at.info)
    assert at.dataframe[0].value.iloc[-1].tolist() == ["Summe", "", "", "0,00\xa0€", "0,00\xa0€"]
    assert not at.exception and not at.error
