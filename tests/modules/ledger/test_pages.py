"""The Einnahmen/Ausgaben and Konten pages through Streamlit's AppTest (no browser)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kms.db import session_scope
from kms.modules.ledger import service
from kms.modules.settings import taxation
from tests import ui_helpers as ui

from .conftest import IBAN


def _setup() -> None:
    ui.create_owner()
    with session_scope() as s:
        taxation.set_regime(s, valid_from=date(2024, 1, 1), kind="regel")
        bank = service.save_account(s, name="Girokonto", kind="bank", iban=IBAN)
        service.create_booking(
            s,
            booking_date=date(2026, 3, 5),
            account_id=bank.id,
            kind="ausgabe",
            counterparty="Bürohaus Beispiel",
            lines=[
                service.LineInput("119.00", service.category_by_key(s, "buerobedarf").id, "V19")
            ],
        )


def test_booking_list_and_a_new_expense() -> None:
    _setup()
    at = ui.open_page("einnahmen-ausgaben").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["Gegenüber"]) == ["Bürohaus Beispiel"]
    assert list(shown["Betrag"]) == ["-119,00\xa0€"]
    # Book a Porto expense through the form.
    at.text_input(key="ledger_form_new_amount_0").input("4,50")
    with session_scope(write=False) as s:
        porto = service.category_by_key(s, "porto").id
        bank = service.list_accounts(s)[0].id
    at.selectbox(key="ledger_form_new_account").set_value(bank)
    at.selectbox(key="ledger_form_new_cat_0").set_value(porto)
    at.selectbox(key="ledger_form_new_tax_0").set_value("NSTB")
    at.button(key="ledger_form_new_save").click().run()
    assert not at.exception
    assert [ui.unescape(s.value) for s in at.success] == ["Buchung 2 gespeichert."]
    with session_scope(write=False) as s:
        assert service.get_booking(s, 2).total == Decimal("-4.50")


def test_three_decimals_shows_german_error_and_saves_nothing() -> None:
    _setup()
    at = ui.open_page("einnahmen-ausgaben").run()
    at.text_input(key="ledger_form_new_amount_0").input("4,505")
    with session_scope(write=False) as s:
        bank = service.list_accounts(s)[0].id
    at.selectbox(key="ledger_form_new_account").set_value(bank)
    at.button(key="ledger_form_new_save").click().run()
    assert any("zwei Nachkommastellen" in ui.unescape(e.value) for e in at.error)
    with session_scope(write=False) as s:
        assert service.count_bookings(s) == 1


def test_accounts_page_shows_balance() -> None:
    _setup()
    at = ui.open_page("konten").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown["Konto"]) == ["Girokonto"]
    assert list(shown["Bestand"]) == ["-119,00\xa0€"]


def test_a_fresh_instance_gets_the_default_categories() -> None:
    ui.create_owner()
    at = ui.open_page("einnahmen-ausgaben").run()
    assert not at.exception
    assert any("Bitte legen Sie zuerst" in ui.unescape(i.value) for i in at.info)
    names = [list(df.value["Kategorie"]) for df in at.dataframe if "Kategorie" in df.value.columns]
    assert names and "Bewirtung" in names[0] and "Fremdleistungen" in names[0]


def test_anlagen_tab_adds_disposes_of_and_deletes_an_asset() -> None:
    from kms.modules.ledger import assets

    _setup()
    at = ui.open_page("einnahmen-ausgaben").run()
    assert not at.exception
    # The AfA table suggests 13 years for Büromöbel.
    at.selectbox(key="ledger_asset_table").set_value("bueromoebel").run()
    assert at.number_input(key="ledger_asset_life_bueromoebel").value == 13
    at.text_input(key="ledger_asset_name").input("Schreibtisch <b>Eiche</b>")
    at.date_input(key="ledger_asset_day").set_value(date(2026, 1, 10))
    at.text_input(key="ledger_asset_cost").input("1.300,00")
    at.button(key="ledger_asset_save").click().run()
    assert not at.exception
    assert [ui.unescape(s.value) for s in at.success] == [
        "Anlagegut „Schreibtisch <b>Eiche</b>“ gespeichert."
    ]
    with session_scope(write=False) as s:
        (desk,) = assets.list_assets(s)
        assert (desk.cost, desk.useful_life_years) == (Decimal("1300.00"), 13)
    # A GWG over 800 € gets the German message and nothing is saved.
    at.text_input(key="ledger_asset_name").input("Drucker")
    at.text_input(key="ledger_asset_cost").input("900,00")
    at.selectbox(key="ledger_asset_method").set_value("gwg")
    at.button(key="ledger_asset_save").click().run()
    assert any("800,00" in ui.unescape(e.value) for e in at.error)
    at.selectbox(key="ledger_asset_dispose_id").set_value(desk.id)
    at.date_input(key="ledger_asset_dispose_day").set_value(date(2026, 6, 30)).run()
    at.button(key="ledger_asset_dispose").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert assets.list_assets(s)[0].disposed_on == date(2026, 6, 30)
    at.selectbox(key="ledger_asset_delete_id").set_value(desk.id).run()
    at.button(key="ledger_asset_delete").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert assets.list_assets(s) == []
