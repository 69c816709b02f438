"""The Rechnungseingang page through Streamlit's AppTest (no browser)."""

from __future__ import annotations

from datetime import date

from kms.db import session_scope
from kms.modules.intake import service
from kms.modules.intake.models import ReceivedInvoice
from kms.modules.ledger import service as ledger
from kms.modules.settings import taxation
from tests import ui_helpers as ui

from .conftest import IBAN, sample

EVIL = "<script>alert(1)</script>**bold**"


def _receive(data: bytes, name: str) -> int:
    with session_scope() as s:
        return service.receive(s, data, name).invoice.id


def _setup() -> int:
    ui.create_owner()
    with session_scope() as s:
        taxation.set_regime(s, valid_from=date(2024, 1, 1), kind="regel")
        ledger.save_account(s, name="Girokonto", kind="bank", iban=IBAN)
        ledger.ensure_defaults(s)
    return _receive(sample("two_rates_cii.xml"), "rechnung.xml")


def _texts(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(t.value for t in at.text)


def test_list_and_readable_detail_with_girocode() -> None:
    invoice_id = _setup()
    at = ui.open_page("rechnungseingang").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Lieferant"]) == ["Erika Mustermann Webdesign"]
    assert list(table["Brutto"]) == ["193,70\xa0€"]
    assert list(table["Prüfung"]) == ["gültig"]
    at.selectbox(key="intake_pick").set_value(invoice_id).run()
    assert not at.exception
    texts = _texts(at)
    assert "Erika Mustermann Webdesign" in texts and "Musterfirma GmbH" in texts
    assert "IBAN: DE02120300000000202051" in texts
    positions = next(d.value for d in at.dataframe if "Bezeichnung" in d.value.columns)
    assert "Webdesign Startseite" in list(positions["Bezeichnung"])
    taxes = next(d.value for d in at.dataframe if "Steuer" in d.value.columns)
    assert list(taxes["Steuer"]) == ["22,42\xa0€", "3,49\xa0€"]
    assert at.get("image")[0].captions == ["GiroCode zum Bezahlen"]
    assert at.get("download_button")


def test_supplier_markup_is_shown_literally() -> None:
    _setup()
    evil = (
        sample("two_rates_cii.xml")
        .replace(b"Erika Mustermann Webdesign", b"&lt;script&gt;alert(1)&lt;/script&gt;**bold**")
        .replace(b"RE-2025-0001", b"RE-2025-0999")
    )
    evil_id = _receive(evil, "evil.xml")
    at = ui.open_page("rechnungseingang").run()
    assert EVIL in list(at.dataframe[0].value["Lieferant"])
    at.selectbox(key="intake_pick").set_value(evil_id).run()
    assert not at.exception
    assert EVIL in _texts(at)
    for element in (*at.markdown, *at.caption, *at.success, *at.info, *at.warning):
        assert "<script>" not in element.value


def test_book_from_the_page_after_confirming() -> None:
    invoice_id = _setup()
    at = ui.open_page("rechnungseingang").run()
    at.selectbox(key="intake_pick").set_value(invoice_id).run()
    plan = next(d.value for d in at.dataframe if "Buchungsbetrag" in d.value.columns)
    assert list(plan["Buchungsbetrag"]) == ["140,41\xa0€", "53,29\xa0€"]
    with session_scope(write=False) as s:
        bank = ledger.list_accounts(s)[0].id
        category = ledger.category_by_key(s, "fremdleistungen").id
    key = f"intake_book_{invoice_id}"
    at.selectbox(key=f"{key}_account").set_value(bank)
    at.selectbox(key=f"{key}_category").set_value(category)
    at.date_input(key=f"{key}_date").set_value(date(2026, 3, 10))
    at.checkbox(key=f"{key}_confirm").check().run()
    at.button(key=f"{key}_save").click().run()
    assert not at.exception
    assert any("als Buchung" in ui.unescape(s.value) for s in at.success)
    with session_scope(write=False) as s:
        record = s.get(ReceivedInvoice, invoice_id)
        assert record is not None and record.status == "gebucht"
        assert str(ledger.get_booking(s, record.booking_id).total) == "-193.70"


def test_discard_needs_confirmation() -> None:
    invoice_id = _setup()
    at = ui.open_page("rechnungseingang").run()
    at.selectbox(key="intake_pick").set_value(invoice_id).run()
    key = f"intake_discard_{invoice_id}"
    assert at.button(key=f"{key}_go").disabled
    at.checkbox(key=f"{key}_confirm").check().run()
    at.button(key=f"{key}_go").click().run()
    assert not at.exception
    with session_scope(write=False) as s:
        record = s.get(ReceivedInvoice, invoice_id)
        assert record is not None and record.status == "verworfen"


def test_owner_gets_the_multi_file_uploader() -> None:
    _setup()
    at = ui.open_page("rechnungseingang").run()
    (uploader,) = at.get("file_uploader")
    assert uploader.proto.multiple_files


def test_owner_saves_the_mailbox_with_an_encrypted_password() -> None:
    from kms.models import get_value
    from kms.modules.intake import imap

    _setup()
    at = ui.open_page("rechnungseingang").run()
    at.text_input(key="imap_host").input("imap.example.org")
    at.text_input(key="imap_user").input("rechnungen@example.org")
    at.text_input(key="imap_password").input("Geheim-Postfach-1")
    at.button(key="imap_save").click().run()
    assert not at.exception
    assert [ui.unescape(s.value) for s in at.success] == ["Postfach gespeichert."]
    with session_scope(write=False) as s:
        cfg = imap.settings(s)
        assert (cfg.host, cfg.username, cfg.has_password) == (
            "imap.example.org", "rechnungen@example.org", True,
        )  # fmt: skip
        assert "Geheim-Postfach-1" not in str(get_value(s, imap.IMAP_KEY))
