"""Angebote an Kunden in a real browser (issue 17): a user opens the demo's accepted quote,
leaves its third position out and takes the rest into an invoice draft, which the quote then
names and Rechnungen lists with the right amount.

The demo quote (kms/modules/invoices/demo.py): 24 h + 40 h Konzept/Umsetzung at 85,00 € and
19 %, one book at 39,90 € and 7 %; gross 6.473,60 € + 42,69 € = 6.516,29 €. Without the book
the draft is 64 × 85,00 € = 5.440,00 € net + 19 % = 6.473,60 €.

Screenshot: docs/screenshots/angebot-in-rechnung.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_browser import browser, log_in, open_fresh  # noqa: F401
from tests.browser.test_ledger_browser import select_box, shoot
from tests.browser.test_pricing_browser import demo_server, go, table_row
from tests.browser_support import choose, settle

pytestmark = pytest.mark.browser

NBSP = "\xa0"
CUSTOMER = "Musterfirma GmbH"


def test_an_accepted_quote_becomes_an_invoice_draft_without_one_position(
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    with demo_server(tmp_path / "data") as url:
        page = open_fresh(browser, url)
        log_in(page)
        page.set_viewport_size({"width": 1280, "height": 2200})  # whole pages on screenshots
        go(page, "Angebote an Kunden")
        row = table_row(page, re.compile(r"^\s*AN-\d{4}-0001"))
        number = row.split(" | ")[0]
        assert f"| {CUSTOMER} | 6.516,29{NBSP}€ |" in row and row.endswith("| angenommen"), row

        choose(page, select_box(page, "Angebot öffnen"), f"{number} – {CUSTOMER}")
        page.get_by_text(f"Angebot {number} · angenommen", exact=True).wait_for()
        positions = page.locator('[data-testid="stMultiSelect"]').filter(
            has=page.get_by_text("Positionen für die Rechnung", exact=True)
        )
        tags = positions.locator("[data-tag]")
        tags.first.wait_for()
        assert tags.count() == 3
        # The user removes the last position (the book) as in any select: Backspace.
        positions.locator("input").click()
        page.keyboard.press("Backspace")
        page.keyboard.press("Escape")
        settle(page)
        assert tags.count() == 2
        assert "Fachbuch" not in positions.inner_text()

        page.get_by_role("button", name="▶ In Rechnung übernehmen").click()
        settle(page)
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Aus den gewählten Positionen von", exact=False).wait_for()
        dialog.get_by_role("button", name="Ja, übernehmen", exact=True).click()
        settle(page)
        done = page.get_by_text(re.compile(r"^Rechnungsentwurf \d+ ist angelegt"))
        done.wait_for()
        draft = re.search(r"Rechnungsentwurf (\d+)", done.inner_text())
        assert draft is not None
        label = f"Entwurf {draft.group(1)}"
        # The quote names its invoice (the link back is proven in test_to_invoice.py).
        page.get_by_text(f"Rechnungen aus diesem Angebot: {label}").wait_for()
        shoot(page, "angebot-in-rechnung")

        go(page, "Rechnungen")
        row = table_row(page, label)
        assert f"| {CUSTOMER} |" in row and f"| 6.473,60{NBSP}€" in row, row
        page.context.close()
