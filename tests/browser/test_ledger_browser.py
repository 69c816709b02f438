"""Einnahmen/Ausgaben and Berichte in a real browser (issue 13).

On the demo data: book an expense with an uploaded PDF receipt, find it in the list, see its
net amount in the EÜR of the year on the Berichte page and in the downloaded CSV (UTF-8 BOM,
`;`, decimal comma). A three-decimal amount is refused in German and the typed input stays.
Screenshots: docs/screenshots/einnahmen-ausgaben*.png, konten.png, berichte-*.png.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

import pytest

from kms.types import today
from tests.browser.test_browser import browser, kms_server, log_in, open_fresh  # noqa: F401
from tests.browser_support import SCREENSHOTS, choose, settle
from tests.modules.documents.samples import pdf

pytestmark = pytest.mark.browser

ACCOUNT = "Girokonto (Beispiel) · Bankkonto"
CATEGORY = "Bürobedarf"
TAX_KEY = "Vorsteuer 19 %"
RECEIPT_NO = "BELEG-4711"


def select_box(scope: Any, label: str) -> Any:
    """The Streamlit select whose label is exactly `label`."""
    page = getattr(scope, "page", scope)  # a Locator knows its page; a Page is one
    return scope.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True)
    )


def text_box(scope: Any, label: str) -> Any:
    return scope.get_by_label(label, exact=True)


def shoot(page: Any, name: str) -> None:
    """A full-page screenshot once the page is idle and every table has drawn."""
    settle(page)
    for grid in page.locator('[data-testid="stDataFrame"]').all():
        if grid.is_visible():
            grid.locator("canvas").first.wait_for(state="visible")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def cell(page: Any, text: str) -> Any:
    """Table cells reading exactly `text` (Streamlit mirrors its canvas grid in a table)."""
    return page.locator('[data-testid="stDataFrame"] td').filter(
        has_text=re.compile("^" + re.escape(text) + "$")
    )


def download_csv(page: Any, target: Any) -> list[list[str]]:
    """Click "CSV herunterladen", save the file; check BOM and separator; its rows."""
    with page.expect_download() as arrival:
        page.get_by_role("button", name="CSV herunterladen").click()
    arrival.value.save_as(target)
    data = target.read_bytes()
    assert data.startswith(codecs.BOM_UTF8), data[:20]
    text = data.decode("utf-8-sig")
    assert not re.search(r"\d\.\d\d(;|\r?$)", text, re.MULTILINE), text  # no decimal points
    return [line.split(";") for line in text.splitlines()]


def new_booking_tab(page: Any) -> Any:
    page.get_by_role("tab", name="Neue Buchung").click()
    settle(page)
    panel = page.get_by_role("tabpanel", name="Neue Buchung")
    panel.get_by_text("Anzahl Positionen", exact=False).wait_for()
    return panel


def error_text(page: Any) -> str:
    alerts = page.locator('[data-testid="stAlertContentError"]')
    alerts.first.wait_for()
    return " ".join(alerts.all_inner_texts())


def test_book_an_expense_with_receipt_and_find_it_in_the_euer_csv(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    year = today().year
    with kms_server(tmp_path / "data", demo=True) as server:
        page = open_fresh(browser, f"{server.url}/einnahmen-ausgaben")
        log_in(page)
        expect(page.locator("h1")).to_have_text("Einnahmen/Ausgaben")
        shoot(page, "einnahmen-ausgaben")

        # A new user's expense: account, receipt number, one line at 19 %, a PDF receipt.
        form = new_booking_tab(page)
        choose(page, select_box(form, "Konto"), ACCOUNT)
        text_box(form, "Gegenüber (ohne Kontakt)").fill("Papier Müller GmbH")
        text_box(form, "Belegnummer").fill(RECEIPT_NO)
        choose(page, select_box(form, "Kategorie"), CATEGORY)
        choose(page, select_box(form, "Steuerschlüssel"), TAX_KEY)
        text_box(form, "Text").fill("Druckerpapier")
        form.locator('input[type="file"]').set_input_files(
            files=[{"name": "beleg.pdf", "mimeType": "application/pdf", "buffer": pdf("Beleg")}]
        )
        settle(page)
        expect(form.get_by_text("beleg.pdf")).to_be_visible()

        # Bad input first: three decimals are refused in German, nothing typed is lost.
        amount = text_box(form, "Betrag (€)")
        amount.fill("1190,001")
        amount.press("Tab")
        settle(page)
        shoot(page, "einnahmen-ausgaben-buchung")
        form.get_by_role("button", name="Speichern").click()
        settle(page)
        message = error_text(page)
        assert "Betrag" in message and "Cent" in message, message
        expect(amount).to_have_value("1190,001")
        expect(text_box(form, "Belegnummer")).to_have_value(RECEIPT_NO)
        expect(form.get_by_text("beleg.pdf")).to_be_visible()
        shoot(page, "einnahmen-ausgaben-fehler")

        amount.fill("1190,00")
        amount.press("Tab")
        settle(page)
        form.get_by_role("button", name="Speichern").click()
        settle(page)
        expect(page.get_by_text(re.compile(r"Buchung \d+ gespeichert\."))).to_be_visible()

        # The booking in the list: searched by its receipt number, opened, with its receipt.
        page.get_by_role("tab", name="Buchungen").click()
        settle(page)
        listing = page.get_by_role("tabpanel", name="Buchungen")
        search = text_box(listing, "Suche (Gegenüber, Belegnummer, Text)")
        search.fill(RECEIPT_NO)
        search.press("Enter")
        settle(page)
        expect(listing.get_by_text("Seite 1 von 1 · 1 Buchungen")).to_be_visible()
        day = today().strftime("%d.%m.%Y")
        box = select_box(listing, "Buchung öffnen")
        # An expense is listed with its sign.
        choose(page, box, re.compile(re.escape(f"· {day} · -1.190,00")))
        expect(
            listing.get_by_text(re.compile(r"^Buchung \d+ vom " + re.escape(day)))
        ).to_be_visible()
        expect(
            listing.get_by_text(f"Beleg: {RECEIPT_NO} (beleg.pdf) (in Dokumente)")
        ).to_be_visible()

        page.goto(f"{server.url}/konten")
        settle(page)
        expect(page.locator("h1")).to_have_text("Konten")
        shoot(page, "konten")

        # Berichte → EÜR of this year: the net expense in its Kennzahl, and in the CSV.
        page.goto(f"{server.url}/berichte")
        settle(page)
        choose(page, select_box(page, "Bericht"), re.compile("^EÜR$"))  # not "Anlage AVEÜR"
        choose(page, select_box(page, "Jahr"), str(year))
        expect(page.get_by_text(f"EÜR · {year}", exact=True)).to_be_visible()
        settle(page)
        # Kz 183 (übrige Betriebsausgaben) gets the net amount, Kz 185 the Vorsteuer.
        expect(cell(page, "1.000,00\xa0€")).to_have_count(1)
        expect(cell(page, "190,00\xa0€")).to_have_count(1)
        expect(cell(page, "Übrige unbeschränkt abziehbare Betriebsausgaben")).to_have_count(1)
        shoot(page, "berichte-euer")
        rows = download_csv(page, tmp_path / "euer.csv")
        assert rows[0][0] == "Bereich", rows[0]
        kz183 = [row for row in rows if row[1] == "183"]
        assert kz183 and kz183[0][-1] == "1000,00", rows  # decimal comma, no thousands dot

        # USt-Voranmeldung of this month: by Kennzahl; the booking's Vorsteuer in Kz 66.
        choose(page, select_box(page, "Bericht"), "USt-Voranmeldung")
        expect(page.get_by_text(re.compile(r"^USt-Voranmeldung · "))).to_be_visible()
        expect(cell(page, "Steuerpflichtige Umsätze zum Steuersatz von 19 %")).to_have_count(1)
        shoot(page, "berichte-ustva")
        rows = download_csv(page, tmp_path / "ustva.csv")
        assert rows[0][0] == "Kennzahl", rows[0]
        assert next(row for row in rows if row[0] == "66")[-1] == "190,00", rows
