"""Preiskalkulation in a real browser (issue 15): a user enters a Gemeinkosten post, changes the
Kalkulationsgrundlagen, creates an Angebot and reads its fair price.

Runs on the demo data, served as the demo is (KMS_DEMO=1), so the demo licence unlocks the
add-on. The expected figures are computed by hand from the demo's plan:

- demo Gemeinkosten 10.800,00 € (tests/modules/pricing/test_demo.py) + the new post
  100,00 € × 12 (no VAT) = 12.000,00 €
- Unternehmerlohn 45.000 € ÷ (1 − 25 % Steuerrücklage) = 60.000 €; + 12.000 € = 72.000 € needed
- (250 − 30 − 10 − 10) days × 8 hours × 50 % (changed here from 60 %) = 800 billable hours
- Stundensatz 72.000 € ÷ 800 = 90,00 €
- the new offer: 8 + 2 hours, 100 km × 0,30 € = 30 € → fair price 30 € + 90 € × 10 = 930,00 €

Screenshots: docs/screenshots/preiskalkulation-*.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kms.config import ROOT
from tests import browser_support
from tests.browser.test_browser import browser, log_in, open_fresh  # noqa: F401
from tests.browser.test_ledger_browser import shoot
from tests.browser_support import settle

pytestmark = pytest.mark.browser

POST = "Coworking-Platz (Test)"
OFFER = "Vortrag, 10 Stunden (Test)"
NBSP = "\xa0"


@contextmanager
def demo_server(data_dir: Path) -> Iterator[str]:
    """The demo data, served the way `make demo` serves it (demo licences count)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env["KMS_DATA_DIR"] = str(data_dir)
    subprocess.run([sys.executable, "-m", "kms", "demo"], env=env, cwd=ROOT, check=True)
    env["KMS_DEMO"] = "1"
    with browser_support.kms_server(env, data_dir.parent / "server.log") as url:
        yield url


def go(page: Any, title: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name=title, exact=True).click()
    settle(page)
    page.locator("h1").filter(has_text=title).wait_for()


def type_number(form: Any, label: str, value: str) -> None:
    box = form.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")


def save(page: Any, form: Any, message: str) -> None:
    form.get_by_role("button", name="Speichern").click()
    settle(page)
    page.get_by_text(message, exact=True).wait_for()


def table_row(page: Any, first_cell: str | re.Pattern[str]) -> str:
    """The text of the table row that starts with `first_cell` (the grid mirrors its cells
    in an accessible table)."""
    rows = page.locator('[data-testid="stDataFrame"] tr').filter(has_text=first_cell)
    rows.first.wait_for(state="attached")  # the mirror is hidden behind the canvas
    return " | ".join(t.strip() for t in rows.first.locator("td").all_text_contents())


def test_overheads_basis_and_offer_give_the_fair_price(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    with demo_server(tmp_path / "data") as url:
        page = open_fresh(browser, f"{url}/gemeinkosten")
        log_in(page)
        page.set_viewport_size({"width": 1280, "height": 2600})  # whole pages on screenshots
        page.locator("h1").filter(has_text="Gemeinkosten").wait_for()
        assert "nicht lizenziert" not in page.locator("body").inner_text()

        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("Bezeichnung", exact=True).fill(POST)
        form.get_by_label("Kategorie", exact=True).fill("Raumkosten (Miete)")
        type_number(form, "Betrag (wie bezahlt, in €)", "100")
        type_number(form, "Enthaltene Umsatzsteuer in %", "0")
        save(page, form, "Posten gespeichert.")
        metric = page.locator('[data-testid="stMetric"]').filter(has_text="Gemeinkosten im Jahr")
        assert f"12.000,00{NBSP}€" in metric.inner_text().replace(" ", NBSP)
        row = table_row(page, POST)
        assert f"| 100,00{NBSP}€ | monatlich |" in row and f"| 1.200,00{NBSP}€" in row, row
        # Plan und Ist: the category's plan is the demo's rent 600 € × 12 + the new post
        comparison = table_row(page, re.compile(r"^\s*Raumkosten \(Miete\)"))
        assert comparison.startswith(f"Raumkosten (Miete) | 8.400,00{NBSP}€ | "), comparison
        shoot(page, "preiskalkulation-gemeinkosten")

        go(page, "Kalkulationsgrundlagen")
        form = page.locator('[data-testid="stForm"]')
        type_number(form, "Abrechenbarer Anteil in %", "50")
        save(page, form, "Kalkulationsgrundlagen gespeichert.")
        assert "800" in table_row(page, "Abrechenbare Stunden im Jahr")
        assert f"72.000,00{NBSP}€" in table_row(page, "Nötiger Jahresumsatz (netto)")
        assert f"90,00{NBSP}€" in table_row(page, "Stundensatz (netto)")
        shoot(page, "preiskalkulation-kalkulationsgrundlagen")

        go(page, "Angebote")
        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("Name (z. B. „Workshop, 1 Tag“)", exact=True).fill(OFFER)
        type_number(form, "Durchführung (Stunden)", "8")
        type_number(form, "Vorbereitung (Stunden)", "2")
        type_number(form, "Fahrstrecke je Einheit (km)", "100")
        type_number(form, "Einheiten im Jahr", "10")
        save(page, form, "Angebot gespeichert.")
        row = table_row(page, OFFER)
        # Angebot | Fairer Preis netto | Preis (no planned price: the fair one) | …
        assert row.startswith(f"{OFFER} | 930,00{NBSP}€ | 930,00{NBSP}€ | "), row
        shoot(page, "preiskalkulation-angebote")

        go(page, "Kapazität")
        shoot(page, "preiskalkulation-kapazitaet")
        go(page, "Nachkalkulation")
        shoot(page, "preiskalkulation-nachkalkulation")
        page.context.close()
