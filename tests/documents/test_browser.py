"""Dokumente in a real browser: upload a PDF to a contact, find it in the list, preview it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kms import auth
from kms.config import ROOT
from kms.db import dispose_engines, ensure_migrated, session_scope
from kms.modules.contacts.service import create_person
from tests.documents import samples

CHROMIUM = Path("/usr/bin/chromium")
PORT = 8631
PASSWORD = "Muster-Passwort-2026"
SCREENSHOT = ROOT / "docs" / "screenshots" / "dokumente.png"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

pytestmark = pytest.mark.browser


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("/usr/bin/chromium is missing in CI (.ci/run installs it)")
    pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"server did not listen on {port}")


@pytest.fixture
def server(kms_env: Path) -> Iterator[str]:
    """A KMS server on its own data dir with a login and the person Erika Mustermann."""
    _need_chromium()
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session, username="erika", password=PASSWORD, display_name="Erika", is_owner=True
        )
        create_person(session, first_name="Erika", last_name="Mustermann", city="Musterstadt")
    dispose_engines()
    env = {**os.environ, "KMS_SCHEDULER": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kms", "serve", "--port", str(PORT), "--address", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(PORT, proc)
        yield f"http://127.0.0.1:{PORT}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_upload_a_pdf_to_a_contact_and_preview_it(server: str, tmp_path: Path) -> None:
    """Log in, upload a PDF linked to Erika Mustermann, open it: title, contact and page image."""
    from playwright.sync_api import expect, sync_playwright

    pdf = tmp_path / "Angebot Fotoshooting.pdf"
    pdf.write_bytes(samples.pdf("Angebot Fotoshooting"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{server}/dokumente")
            page.get_by_label("Benutzername").fill("erika")
            page.get_by_label("Passwort").fill(PASSWORD)
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("heading", name="Dokumente")).to_be_visible()
            page.wait_for_selector(IDLE)

            page.get_by_text("Dokumente hochladen").click()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(pdf)
            expect(page.locator('[data-testid="stFileChip"]')).to_have_count(1)
            page.wait_for_selector(IDLE)
            picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Kontakte")
            picker.click()
            page.keyboard.type("Erika")  # narrow the list, as a user would
            option = page.get_by_role("option", name="Erika Mustermann, Musterstadt")
            expect(option).to_be_visible()
            option.click()
            page.keyboard.press("Escape")
            page.get_by_label("Titel (optional)").fill("Angebot Fotoshooting")
            page.get_by_role("button", name="Hochladen").click()
            expect(
                page.get_by_text("„Angebot Fotoshooting.pdf“ wurde gespeichert.")
            ).to_be_visible()
            page.wait_for_selector(IDLE)
            page.get_by_text("Dokumente hochladen").click()  # close the form again

            expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
            page.locator('[data-testid="stSelectbox"]').filter(has_text="Dokument öffnen").click()
            page.get_by_role("option", name="Angebot Fotoshooting").click()
            expect(page.get_by_role("heading", name="Angebot Fotoshooting")).to_be_visible()
            expect(page.get_by_text("Kontakte: Erika Mustermann")).to_be_visible()
            preview = page.locator('[data-testid="stImage"] img').first
            expect(preview).to_be_visible()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 500", arg=preview.element_handle()
            )
            page.wait_for_selector(IDLE)
            # Streamlit scrolls inside its own container: a tall window shows the preview too.
            page.set_viewport_size({"width": 1400, "height": 2300})
            page.wait_for_selector(IDLE)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        except BaseException:
            page.screenshot(path=str(tmp_path.parent / "dokumente-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
