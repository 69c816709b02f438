"""Abschlags- und Schlussrechnung in a real browser: a user bills 30 % of a 10.000 € order
as an advance, issues it, then creates and issues the Schlussrechnung over the whole
service; the page shows what is still due: 11.900,00 € − 3.570,00 € = 8.330,00 €."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kms.modules.settings import demo as settings_demo
from kms.types import today
from tests.browser.test_ledger_browser import select_box
from tests.browser.test_pricing_browser import table_row
from tests.browser_support import OWNER_PASSWORD, choose, chromium, owner_server, settle
from tests.modules.invoices.conftest import organisation

CUSTOMER = "Musterfirma GmbH"
ORDER = "Auftrag 2026-17 Dachsanierung"
NBSP = "\xa0"
pytestmark = pytest.mark.browser


@pytest.fixture
def server(kms_env: Path) -> Iterator[str]:
    """A KMS server with a login, the demo seller and one customer."""

    def seed(session: Any) -> None:
        settings_demo.load(session)
        organisation(session, CUSTOMER, vat_id="DE136695976")

    with owner_server(kms_env, seed) as url:
        yield url


def _issue(page: Any, number: str) -> None:
    """▶ Rechnung abschließen on the selected draft, confirmed in the dialog."""
    page.get_by_role("button", name="▶ Rechnung abschließen").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("nicht mehr änderbar", exact=False).wait_for()
    dialog.get_by_role("button", name="Prüfen und abschließen").click()
    page.get_by_text(f"Rechnung {number} ist ausgestellt.", exact=True).wait_for(timeout=90_000)
    settle(page)


def _open_form(page: Any) -> Any:
    """The expander "Abschlags- oder Schlussrechnung anlegen" on the draft tab, open."""
    page.get_by_role("tab", name="Entwurf bearbeiten").click()
    settle(page)
    title = page.get_by_text("Abschlags- oder Schlussrechnung anlegen", exact=True)
    form = page.locator('[data-testid="stExpander"]').filter(has=title)
    if not form.get_by_label("Auftrag", exact=True).is_visible():
        title.click()
        settle(page)
    return form


def _type_row(page: Any, grid: Any, cells: list[str]) -> None:
    """Add a row to an empty dynamic data editor and type `cells` from its first column
    on ("" skips a column), as a user does: click the add row, type, Enter, next cell."""
    box = grid.bounding_box()
    # The empty editor's "add row" line sits right below the header (both ~35 px high).
    page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)
    settle(page)  # the new row reruns the page; the click then selects its first cell
    page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)
    for text in cells:
        if text:
            _type_cell(page, grid, text)
        page.keyboard.press("ArrowRight")
    settle(page)


def _type_cell(page: Any, grid: Any, text: str, *, attempts: int = 3) -> None:
    """Type into the selected cell and commit with Enter. A rerun of the previous edit that
    reaches the browser just then can drop the value (the grid redraws); a user then types
    it once more, and so does this helper. The grid's accessible mirror must show it."""
    shown = grid.locator("td").filter(has_text=re.compile(f"^{re.escape(text)}$"))
    canvas = grid.locator('[data-testid="data-grid-canvas"]')
    for _ in range(attempts):
        canvas.focus()  # a rerun can take the keyboard focus from the grid; the cell stays
        page.keyboard.type(text)  # the first key opens the cell's editor
        editor = page.locator("textarea:focus, input:focus")
        editor.wait_for()
        if editor.input_value() != text:  # the key that opened the editor can be lost
            editor.fill(text)
        page.keyboard.press("Enter")  # commits; the selection moves one row down
        settle(page)  # the edit reruns the page
        page.keyboard.press("ArrowUp")
        try:
            shown.first.wait_for(state="attached", timeout=5_000)
            return
        except Exception:  # noqa: BLE001, S112 - playwright's TimeoutError: value dropped
            continue
    raise AssertionError(f"the grid never showed {text!r}")


def test_advance_then_final_invoice_shows_the_amount_due(server: str, tmp_path: Path) -> None:
    year = today().year
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{server}/rechnungen")
            page.get_by_label("Benutzername").fill("erika")
            page.get_by_label("Passwort").fill(OWNER_PASSWORD)
            page.get_by_role("button", name="Anmelden").click()
            page.locator("h1").filter(has_text="Rechnungen").wait_for()
            settle(page)

            # The advance: 30 % of 10.000 € net at 19 % = 3.000 € + 570 € = 3.570 €.
            form = _open_form(page)
            choose(page, select_box(form, "Kunde"), CUSTOMER)
            form.get_by_label("Auftrag", exact=True).fill(ORDER)
            form.get_by_label("Auftragswert (netto, zu diesem Steuersatz)").fill("10000")
            form.get_by_label("Prozent", exact=True).fill("30")
            form.get_by_label("Prozent", exact=True).press("Tab")
            settle(page)
            form.get_by_role("button", name="Abschlagsrechnung anlegen").click()
            settle(page)
            page.get_by_text(re.compile(r"^Entwurf \d+ angelegt")).wait_for()
            _issue(page, f"RE-{year}-0001")

            # The Schlussrechnung over the whole service: 10.000 € net at 19 %.
            form = _open_form(page)
            form.get_by_text("Schlussrechnung", exact=True).click()
            settle(page)
            form = _open_form(page)  # the rerun may show the first tab again
            assert form.get_by_label("Auftrag", exact=True).input_value() == ORDER
            grid = form.locator('[data-testid="stDataFrame"]')
            _type_row(page, grid, ["Dachsanierung", "1", "", "10000"])
            form.get_by_role("button", name="Schlussrechnung anlegen").click()
            settle(page)
            page.get_by_text(re.compile(r"^Entwurf \d+ angelegt")).wait_for()
            _issue(page, f"RE-{year}-0002")

            page.get_by_text(f"Schlussrechnung RE-{year}-0002 · offen", exact=True).wait_for()
            due = f"8.330,00{NBSP}€"
            row = table_row(page, f"RE-{year}-0002")
            assert f"| {CUSTOMER} | {due} | {due} |" in row, row  # Betrag and Offen
            assert f"| 3.570,00{NBSP}€ | 3.570,00{NBSP}€ |" in table_row(page, f"RE-{year}-0001")
            page.screenshot(path=str(tmp_path / "schlussrechnung.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
