"""Roles in a real browser: a tax adviser's navigation and a forbidden deep link; the
owner's Benutzer page (screenshot in docs/screenshots/benutzer-rollen.png)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kms.config import ROOT
from tests.browser.test_browser import browser, heading, kms_server, log_in, open_fresh  # noqa: F401
from tests.browser_support import SCREENSHOTS, settle
from tests.pages.test_roles import NAVIGATION

pytestmark = pytest.mark.browser

ADVISER, PASSWORD = "stefan", "Steuer-Passwort-2026"


def test_tax_adviser_sees_only_his_pages_and_is_refused_elsewhere(browser, tmp_path):  # noqa: F811
    """Logged in as Steuerberater: the sidebar lists the adviser's pages of the AppTest role
    test (no Personen, Schreiben, Podcasts or Einstellungen); /einstellungen says "Keine
    Berechtigung"; the owner's Benutzer page lists him with his role."""
    from playwright.sync_api import expect

    data = tmp_path / "data"
    with kms_server(data, demo=True) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
        env["KMS_DATA_DIR"] = str(data)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "kms",
                "user",
                "add",
                ADVISER,
                "--role",
                "steuerberater",
                "--name",
                "Stefan Steuer",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        page = open_fresh(browser, f"{server.url}/start")
        page.get_by_label("Benutzername").fill(ADVISER)
        page.get_by_label("Passwort", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        settle(page)
        expect(page.locator("h1")).to_have_text("Übersicht")
        links = page.locator('[data-testid="stSidebar"] a').all_inner_texts()
        # A link's text is its material icon name, a blank line and its label.
        # The same navigation the AppTest role test expects (one list for both).
        assert [text.strip().splitlines()[-1] for text in links] == NAVIGATION["stefan"]
        page.goto(f"{server.url}/einstellungen")
        settle(page)
        expect(page.get_by_text("Keine Berechtigung: Ihre Rolle darf die Seite")).to_be_visible()
        assert "Mailserver" not in page.locator("body").inner_text()
        page.context.close()

        owner = open_fresh(browser, f"{server.url}/benutzer")
        log_in(owner)
        expect(owner.locator("h1")).to_have_text("Benutzer")
        expect(owner.get_by_text("Steuerberater").first).to_be_visible()
        assert heading(owner) == ["Benutzer"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        owner.screenshot(path=str(SCREENSHOTS / "benutzer-rollen.png"), full_page=True)
        owner.context.close()
