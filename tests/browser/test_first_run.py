"""The first hour's start in Chromium: owner, Tutorial Ersteinrichtung, Einstellungen, Besteuerung.

A fresh server (no data) is set up as a new user would: the console's code, the tutorial, the
sidebar link back to it, Firmendaten and the Besteuerung step. Screenshots go to /tmp (the
suite's screenshots stay those of tests/browser/test_browser.py).
"""

from __future__ import annotations

import pytest

from kms.registry import pages
from tests.browser.test_browser import browser, kms_server, open_fresh  # noqa: F401
from tests.browser_support import settle

pytestmark = pytest.mark.browser


def _sidebar_hrefs(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    links = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]')
    return {
        link.inner_text().split("\n")[-1].strip(): link.get_attribute("href") or ""
        for link in links.all()
    }


def test_first_run_tutorial_links_and_besteuerung(browser, tmp_path):  # noqa: F811
    """After the owner is created: every sidebar link has its own address (the tutorial's
    pointed at the open page), Einstellungen lead back to the tutorial, and step 3 saves the
    Besteuerung on the tutorial page."""
    from playwright.sync_api import expect

    with kms_server(tmp_path / "data", demo=False) as server:
        page = open_fresh(browser, server.url)
        page.get_by_label("Einrichtungscode").fill(server.setup_code())
        page.get_by_label("Ihr Name").fill("Erika Mustermann")
        page.get_by_label("Benutzername").fill("erika")
        page.get_by_label("Passwort", exact=True).fill("Muster-Passwort-2026")
        page.get_by_label("Passwort wiederholen").fill("Muster-Passwort-2026")
        page.get_by_role("button", name="Inhaber-Zugang anlegen").click()
        settle(page)
        expect(page.locator("h1")).to_have_text("Tutorial Ersteinrichtung")
        expect(page.get_by_text("1 von 4 Schritten erledigt")).to_be_visible()

        page.get_by_role("link", name="Zu den Einstellungen").click()
        settle(page)
        expect(page.locator("h1")).to_have_text("Einstellungen")
        hrefs = _sidebar_hrefs(page)
        expected = {p.title: p.url_path for p in pages()}
        assert {t: hrefs.get(t) for t in expected} == expected
        page.screenshot(path=str(tmp_path / "einstellungen.png"))

        page.get_by_role("link", name="Zurück zum Tutorial Ersteinrichtung").click()
        settle(page)
        expect(page.locator("h1")).to_have_text("Tutorial Ersteinrichtung")
        page.get_by_text("Kleinunternehmer (§ 19 UStG)", exact=True).click()
        page.get_by_role("button", name="Besteuerung speichern").click()
        settle(page)
        expect(page.get_by_text("2 von 4 Schritten erledigt")).to_be_visible()
        # Only the Person form is left: no empty frame where the Besteuerung form was.
        expect(page.locator('[data-testid="stForm"]')).to_have_count(1)
        page.screenshot(path=str(tmp_path / "tutorial.png"), full_page=True)
        page.get_by_role("link", name="Hilfe").click()
        settle(page)
        page.get_by_role("link", name="Tutorial Ersteinrichtung").click()
        settle(page)
        page.screenshot(path=str(tmp_path / "tutorial-again.png"), full_page=True)
        page.context.close()
