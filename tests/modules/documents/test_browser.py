"""Dokumente in a real browser: upload a PDF to a contact, find it in the list, preview it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kms import auth
from kms.db import dispose_engines, ensure_migrated, session_scope
from kms.modules.contacts.service import create_person
from tests.browser_support import (
    SCREENSHOTS,
    choose,
    chromium,
    kms_server,
    need_chromium,
    settle,
)
from tests.modules.documents import samples

PASSWORD = "Muster-Passwort-2026"
SCREENSHOT = SCREENSHOTS / "dokumente.png"

pytestmark = pytest.mark.browser


@pytest.fixture
def server(kms_env: Path) -> Iterator[str]:
    """A KMS server on its own data dir with a login and the person Erika Mustermann."""
    need_chromium()
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session, username="erika", password=PASSWORD, display_name="Erika", is_owner=True
        )
        create_person(session, first_name="Erika", last_name="Mustermann", city="Musterstadt")
    dispose_engines()
    with kms_server({**os.environ, "KMS_SCHEDULER": "0"}, kms_env.parent / "server.log") as url:
        yield url


def test_upload_a_pdf_to_a_contact_and_preview_it(server: str, tmp_path: Path) -> None:
    """Log in, upload a PDF linked to Erika Mustermann, open it: title, contact and page image."""
    from playwright.sync_api import expect

    pdf = tmp_path / "Angebot Fotoshooting.pdf"
    pdf.write_bytes(samples.pdf("Angebot Fotoshooting"))
    with chromium() as browser:
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(f"{server}/dokumente")
            page.get_by_label("Benutzername").fill("erika")
            page.get_by_label("Passwort").fill(PASSWORD)
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("heading", name="Dokumente")).to_be_visible()
            settle(page)

            page.get_by_text("Dokumente hochladen").click()
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(pdf)
            expect(page.locator('[data-testid="stFileChip"]')).to_have_count(1)
            settle(page)
            picker = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Kontakte")
            picker.click()
            page.keyboard.type("Erika")  # narrow the list, as a user would
            option = page.get_by_role("option", name="Erika Mustermann, Musterstadt")
            expect(option).to_be_visible()
            option.click()
            page.keyboard.press("Escape")
            page.get_by_role("textbox", name="Titel (optional)").fill("Angebot Fotoshooting")
            page.get_by_role("button", name="Hochladen").click()
            expect(
                page.get_by_text("„Angebot Fotoshooting.pdf“ wurde gespeichert.")
            ).to_be_visible()
            settle(page)
            page.get_by_text("Dokumente hochladen").click()  # close the form again

            expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible()
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Dokument öffnen")
            choose(page, box, "Angebot Fotoshooting")
            expect(page.get_by_role("heading", name="Angebot Fotoshooting")).to_be_visible()
            expect(page.get_by_text("Kontakte: Erika Mustermann")).to_be_visible()
            preview = page.locator('[data-testid="stImage"] img').first
            expect(preview).to_be_visible()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 500", arg=preview.element_handle()
            )
            settle(page)
            # Streamlit scrolls inside its own container: a tall window shows the preview too.
            page.set_viewport_size({"width": 1400, "height": 2300})
            settle(page)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        except BaseException:
            page.screenshot(path=str(tmp_path.parent / "dokumente-failure.png"), full_page=True)
            raise
