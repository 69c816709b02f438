"""Browser: write a letter from a template in Debian chromium, send it, find it in Dokumente."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kms.config import ROOT
from tests.browser_support import IDLE, SCREENSHOTS, choose, chromium, kms_server, need_chromium

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A KMS server with demo data in its own data dir."""
    need_chromium()
    env = {**os.environ, "KMS_DATA_DIR": str(tmp_path / "data"), "KMS_SCHEDULER": "0"}
    env.pop("KMS_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "kms", "demo"], env=env, cwd=ROOT, check=True)
    with kms_server(env, tmp_path / "server.log") as url:
        yield url


def idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=60_000)


def choose_in(page, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label` (main area)."""
    box = (
        page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]')
        .filter(has=page.get_by_text(label, exact=True))
        .first
    )
    choose(page, box, option)


def test_letter_from_template_lands_in_dokumente(server: str) -> None:
    """Kim gets the Newsletter template; once marked sent the letter is a Brief in Dokumente."""
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1300}, locale="de-DE")
        page.goto(f"{server}/schreiben")
        idle(page)
        page.get_by_label("Benutzername").fill("demo")
        page.get_by_label("Passwort").fill("demo-kms-2026")
        page.get_by_role("button", name="Anmelden").click()
        idle(page)
        expect(page.get_by_role("heading", name="Schreiben")).to_be_visible(timeout=30_000)

        page.get_by_role("tab", name="Neuer Brief").click()
        choose_in(page, "Kontakt", "Kim Muster, Zürich")
        expect(page.get_by_label("Anrede", exact=True).first).to_have_value("Guten Tag Kim Muster,")
        choose_in(page, "Vorlage", "Newsletter Frühjahr")
        page.get_by_role("button", name="Vorlage übernehmen").first.click()
        idle(page)
        expect(page.get_by_label("Betreff", exact=True).first).to_have_value(
            "Neuigkeiten von {absender_firma}"
        )
        page.get_by_role("button", name="Vorschau").click()
        idle(page)
        expect(page.locator('[data-testid="stImage"]').first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "schreiben-vorschau.png"), full_page=True)

        page.get_by_role("button", name="Speichern", exact=True).click()
        idle(page)
        subject = "Neuigkeiten von Musterfirma Erika Mustermann"
        expect(page.get_by_text(f"Der Brief „{subject}“ wurde als Entwurf")).to_be_visible()
        page.get_by_role("tab", name="Briefe", exact=True).click()
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("button", name="▶ Als versendet markieren").click()
        idle(page)
        page.get_by_role("button", name="Ja, als versendet markieren").click()
        idle(page)
        expect(page.get_by_text(f"„{subject}“ ist als versendet markiert.")).to_be_visible()
        page.get_by_role("tab", name="Briefe", exact=True).click()
        page.screenshot(path=str(SCREENSHOTS / "schreiben-versendet.png"), full_page=True)

        page.locator('[data-testid="stSidebar"]').get_by_role(
            "link", name="Dokumente", exact=True
        ).click()
        idle(page)
        page.get_by_label("Suche (Titel, Dateiname, Schlagwort)").fill("Neuigkeiten")
        page.keyboard.press("Enter")
        idle(page)
        expect(page.get_by_text("Seite (von 1, 1 Dokument)")).to_be_visible()
        box = page.locator('[data-testid="stSelectbox"]').filter(
            has=page.get_by_text("Dokument öffnen", exact=True)
        )
        box.click()
        expect(page.get_by_role("option", name=f"{subject} (")).to_be_visible()
        page.keyboard.press("Escape")
        page.screenshot(path=str(SCREENSHOTS / "schreiben-in-dokumente.png"), full_page=True)
