"""A real server and Debian's chromium: login gate on every deep link, first-run setup, screenshots.

Each scenario starts `python -m kms serve` as a subprocess with a data dir of its own and
drives it with Playwright. Screenshots of every page land in docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from kms.config import ROOT
from kms.demo import DEMO_PASSWORD, DEMO_USER
from kms.registry import pages
from tests import browser_support
from tests.browser_support import SCREENSHOTS, settle

pytestmark = pytest.mark.browser

BANNER = "Kein Wartungsfenster geplant."


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium through Playwright (skipped without it; a failure in CI)."""
    with browser_support.chromium() as chromium:
        yield chromium


@dataclass
class Server:
    """A running KMS server: its URL and what it printed on the console."""

    url: str
    log: Path

    def setup_code(self) -> str:
        """The one-time Einrichtungscode from the console output."""
        text = self.log.read_text()
        match = re.search(r"Einrichtungscode[^\n]*\n\s+(\S+)", text)
        assert match, text
        return match.group(1)


@contextmanager
def kms_server(data_dir: Path, *, demo: bool) -> Iterator[Server]:
    """Start `python -m kms serve` on its own data dir; terminate it afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env["KMS_DATA_DIR"] = str(data_dir)
    if demo:
        subprocess.run([sys.executable, "-m", "kms", "demo"], env=env, cwd=ROOT, check=True)
    log = data_dir.parent / "server.log"
    with browser_support.kms_server(env, log) as url:
        yield Server(url, log)


def open_fresh(browser, url: str):  # type: ignore[no-untyped-def]
    """A page in a new browser context (no cookies), loaded and idle."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = context.new_page()
    page.goto(url)
    settle(page)
    return page


def log_in(page, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Type the demo login and click Anmelden exactly once."""
    page.get_by_label("Benutzername").fill(DEMO_USER)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()
    settle(page)


def heading(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [text.strip() for text in page.locator("h1").all_inner_texts()]


def test_scenario_a_login_gate_bookmarks_and_every_page(browser, tmp_path):
    """Deep links show only the login; login lands on the bookmark; every page renders, and
    none trips the Content-Security-Policy."""
    from playwright.sync_api import expect

    with kms_server(tmp_path / "data", demo=True) as server:
        for spec in pages():
            page = open_fresh(browser, f"{server.url}/{spec.url_path}")
            expect(page.get_by_label("Benutzername")).to_be_visible()
            expect(page.get_by_text(BANNER)).to_be_visible()
            assert heading(page) == [], spec.url_path
            body = page.locator("body").inner_text()
            assert "Mustermann" not in body and "Abmelden" not in body, spec.url_path
            assert page.locator('[data-testid="stSidebar"] a').count() == 0
            if spec.url_path == "start":
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "login.png"))
            page.context.close()

        page = open_fresh(browser, f"{server.url}/personen")
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        log_in(page)
        expect(page.locator("h1")).to_have_text("Personen")
        assert page.url.endswith("/personen")
        expect(page.get_by_text(BANNER)).to_be_visible()
        sidebar = page.locator('[data-testid="stSidebar"]')
        for spec in pages():
            sidebar.get_by_role("link", name=spec.title, exact=True).click()
            settle(page)
            expect(page.locator("h1")).to_have_text(spec.title)
            expect(page.get_by_text(BANNER)).to_be_visible()
            assert "unerwarteter Fehler" not in page.locator("body").inner_text()
            page.screenshot(path=str(SCREENSHOTS / f"{spec.url_path}.png"))
        # Every page works under the Content-Security-Policy: the browser blocked nothing.
        assert not [text for text in console if "Content Security Policy" in text], console
        page.context.close()

        page = open_fresh(browser, server.url)
        log_in(page, password="falsches-Passwort")
        expect(page.get_by_text("Benutzername oder Passwort ist falsch.")).to_be_visible()
        assert heading(page) == []
        page.context.close()

        # app.py has run st.navigation by now; a bookmark must still win after login.
        page = open_fresh(browser, f"{server.url}/einstellungen")
        log_in(page)
        expect(page.locator("h1")).to_have_text("Einstellungen")
        assert page.url.endswith("/einstellungen")
        # The server set the session cookie, out of reach of the page's scripts (no HTTPS
        # here, so not Secure); a reload keeps the user logged in on the same page.
        cookie = browser_support.session_cookie(page)
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (False, True, "Strict")
        assert "kms_session" not in page.evaluate("document.cookie")
        page.reload()
        settle(page)
        expect(page.locator("h1")).to_have_text("Einstellungen")
        assert page.get_by_role("button", name="Anmelden").count() == 0
        # Abmelden revokes the cookie: after a reload the login form is back.
        page.get_by_role("button", name="Abmelden").click()
        settle(page)
        page.reload()
        settle(page)
        expect(page.get_by_label("Benutzername")).to_be_visible()
        assert heading(page) == []
        page.context.close()


def test_scenario_b_first_run_setup_with_the_console_code(browser, tmp_path):
    """A fresh instance asks for the console's code; a wrong one fails, the right one logs
    the new owner in for good (a reload keeps the session)."""
    from playwright.sync_api import expect

    with kms_server(tmp_path / "data", demo=False) as server:
        page = open_fresh(browser, server.url)
        expect(page.get_by_text("Willkommen bei KMS – Ersteinrichtung")).to_be_visible()

        def submit(code: str) -> None:
            page.get_by_label("Einrichtungscode").fill(code)
            page.get_by_label("Ihr Name").fill("Erika Mustermann")
            page.get_by_label("Benutzername").fill("erika")
            page.get_by_label("Passwort", exact=True).fill("Muster-Passwort-2026")
            page.get_by_label("Passwort wiederholen").fill("Muster-Passwort-2026")
            page.get_by_role("button", name="Inhaber-Zugang anlegen").click()
            settle(page)

        submit("falscher-code")
        expect(page.get_by_text("Der Einrichtungscode stimmt nicht.")).to_be_visible()
        assert heading(page) == []

        submit(server.setup_code())
        expect(page.locator("h1")).to_have_text("Tutorial Ersteinrichtung")
        expect(page.get_by_text("1 von 4 Schritten erledigt")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "setup.png"))
        # Creating the owner is a login that lasts: the first reload keeps the owner in.
        browser_support.session_cookie(page)
        page.reload()
        settle(page)
        expect(page.locator("h1")).to_have_text("Tutorial Ersteinrichtung")
        assert page.get_by_role("button", name="Anmelden").count() == 0
        page.context.close()
