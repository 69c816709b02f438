"""Einnahmen/Ausgaben: DATEV settings, ▶ DATEV-Export and ▶ Kanzleipaket through AppTest, and
the Kanzleipaket download route."""

from __future__ import annotations

from datetime import date
from zipfile import ZipFile

from kms.db import session_scope
from kms.jobs import get_job, wait_all
from kms.modules.ledger import datev, service
from kms.modules.ledger.routes import download, download_url
from kms.modules.settings import taxation
from tests import ui_helpers as ui
from tests import web_support

from .conftest import IBAN

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _setup() -> None:
    ui.create_owner()
    with session_scope() as s:
        taxation.set_regime(s, valid_from=date(2024, 1, 1), kind="regel")
        office = service.category_by_key(s, "buerobedarf").id
        bank = service.save_account(s, name="Girokonto", kind="bank", iban=IBAN)
        service.create_booking(
            s, booking_date=date(2025, 3, 5), account_id=bank.id, kind="ausgabe",
            counterparty="Bürohaus Beispiel", receipt=("beleg.pdf", PDF),
            lines=[service.LineInput("119.00", office, "V19")],
        )  # fmt: skip


def test_datev_settings_refuse_bad_numbers_and_save() -> None:
    _setup()
    at = ui.open_page("einnahmen-ausgaben").run()
    assert not at.exception
    ui.fill(at, {"Berater-Nr.": "12", "Mandanten-Nr.": "10001"})
    ui.click(at, "DATEV-Einstellungen speichern")
    assert any("Berater-Nr. muss eine Zahl von 1001 bis 9999999" in ui.unescape(e.value)
               for e in at.error)  # fmt: skip
    with session_scope(write=False) as s:
        assert datev.get_settings(s).advisor_number is None
    ui.fill(at, {"Berater-Nr.": "1234567", "Mandanten-Nr.": "10001"})
    ui.click(at, "DATEV-Einstellungen speichern")
    assert "DATEV-Einstellungen gespeichert." in [ui.unescape(s.value) for s in at.success]
    with session_scope(write=False) as s:
        assert datev.get_settings(s).advisor_number == 1234567


def test_datev_export_function() -> None:
    _setup()
    at = ui.open_page("einnahmen-ausgaben")
    at.session_state["fn_open_ledger.datev"] = True
    at.run()
    at.date_input(key="ledger_datev_from").set_value(date(2025, 1, 1))
    at.date_input(key="ledger_datev_to").set_value(date(2025, 3, 31))
    at.button(key="ledger_datev_go").click().run()
    assert not at.exception
    assert any("fehlt die Berater-Nr." in ui.unescape(e.value) for e in at.error)
    with session_scope() as s:
        datev.save_settings(s, advisor_number="1001", client_number="1", chart="03")
    at.button(key="ledger_datev_go").click().run()
    assert not at.exception
    assert "1 Buchungszeilen vom 01.01.2025 bis 31.03.2025." in [
        ui.unescape(s.value) for s in at.success
    ]
    assert at.get("download_button")


def test_kanzleipaket_function_and_download_route() -> None:
    _setup()
    at = ui.open_page("einnahmen-ausgaben")
    at.session_state["fn_open_ledger.kanzleipaket"] = True
    at.run()
    at.date_input(key="ledger_kanzlei_from").set_value(date(2025, 1, 1))
    at.date_input(key="ledger_kanzlei_to").set_value(date(2025, 12, 31))
    at.button(key="ledger_kanzlei_go").click().run()
    assert not at.exception
    # The package is built by a background job (kms.jobs); the page shows it when done.
    wait_all(timeout=60)
    at.run()
    assert not at.exception
    assert any("1 Buchungen und 1 Belegen" in ui.unescape(s.value) for s in at.success)
    with session_scope(write=False) as s:
        job = get_job(s, at.session_state["ledger_kanzlei_package"])
        token = job.result["token"]
        assert job.kind == "kanzleipaket" and job.username == ui.OWNER
    links = at.get("link_button")
    assert len(links) == 1 and download_url(token) in str(links[0].proto)
    # Opened again in a new browser session: the user's package of the last day is offered.
    again = ui.open_page("einnahmen-ausgaben")
    again.session_state["fn_open_ledger.kanzleipaket"] = True
    again.run()
    assert download_url(token) in str(again.get("link_button")[0].proto)
    url = download_url(token)

    def call(path: str, cookie: str | None) -> tuple[int, dict[str, str], bytes]:
        return web_support.call(
            download, path, cookie, path_params={"token": path.rsplit("/", 1)[-1]}
        )

    assert call(url, None)[0] == 401
    status, headers, body = call(url, web_support.session_cookie(ui.OWNER))
    assert (
        status == 200 and "Kanzleipaket_2025-01-01_2025-12-31.zip" in headers["content-disposition"]
    )
    import io

    with ZipFile(io.BytesIO(body)) as zf:
        assert any(n.startswith("Belegarchiv/") and n.endswith("beleg.pdf") for n in zf.namelist())
    assert (
        call(download_url("..%2F..%2Fkms.sqlite3"), web_support.session_cookie(ui.OWNER))[0] == 404
    )
    assert call(download_url("A" * 32), web_support.session_cookie(ui.OWNER))[0] == 404


def test_kanzleipaket_job_reports_a_german_error() -> None:
    _setup()
    at = ui.open_page("einnahmen-ausgaben")
    at.session_state["fn_open_ledger.kanzleipaket"] = True
    at.run()
    at.date_input(key="ledger_kanzlei_from").set_value(date(2025, 12, 31))
    at.date_input(key="ledger_kanzlei_to").set_value(date(2025, 1, 1))
    at.button(key="ledger_kanzlei_go").click().run()
    assert any("vor seinem Anfang" in ui.unescape(e.value) for e in at.error)
    assert "ledger_kanzlei_package" not in at.session_state


def test_download_route_is_registered_through_the_module_spec() -> None:
    from kms.server import routes

    assert any(getattr(r, "path", "") == "/api/ledger/kanzleipaket/{token}" for r in routes())


def test_geldkonto_and_sachkonto_are_edited_on_the_settings_tab() -> None:
    _setup()
    with session_scope(write=False) as s:
        bank = service.list_accounts(s)[0].id
        porto = service.category_by_key(s, "porto").id
    at = ui.open_page("einnahmen-ausgaben").run()
    at.selectbox(key="ledger_datev_acc").set_value(bank)
    at.text_input(key="ledger_datev_acc_no").input("12A0")
    at.button(key="ledger_datev_acc_save").click().run()
    assert any("genau 4 Ziffern" in ui.unescape(e.value) for e in at.error)
    at.text_input(key="ledger_datev_acc_no").input("1210")
    at.button(key="ledger_datev_acc_save").click().run()
    assert "Geldkonto gespeichert." in [ui.unescape(s.value) for s in at.success]
    at.selectbox(key="ledger_datev_cat").set_value(porto)
    at.text_input(key="ledger_datev_cat_03").input("4911")
    at.button(key="ledger_datev_cat_save").click().run()
    assert "Sachkonten gespeichert." in [ui.unescape(s.value) for s in at.success]
    with session_scope(write=False) as s:
        account = service.list_accounts(s)[0]
        category = service.category_by_key(s, "porto")
        assert datev.money_account(s, account, "03") == "1210"
        assert datev.category_account(s, category, "03") == "4911"
        assert datev.category_account(s, category, "04") == "6800"  # empty: the default
    shown = [df.value for df in at.dataframe]
    assert any("DATEV-Geldkonto" in df.columns and "1210" in list(df["DATEV-Geldkonto"])
               for df in shown)  # fmt: skip
