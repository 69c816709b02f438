"""Rechnungen in a real browser: issue a draft, download the PDF, look at it as a PNG."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest

from kms import auth
from kms.db import dispose_engines, ensure_migrated, session_scope
from kms.einvoice.facturx_pdf import inspect
from kms.modules.invoices import service
from kms.modules.settings import demo as settings_demo
from tests.browser_support import (
    SCREENSHOTS,
    choose,
    chromium,
    kms_server,
    need_chromium,
    settle,
)
from tests.modules.invoices.conftest import line, organisation

PASSWORD = "Muster-Passwort-2026"
pytestmark = pytest.mark.browser


@pytest.fixture
def server(kms_env: Path) -> Iterator[tuple[str, int]]:
    """A KMS server with a login, the demo seller and one draft invoice."""
    need_chromium()
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session, username="erika", password=PASSWORD, display_name="Erika", is_owner=True
        )
        settings_demo.load(session)
        customer = organisation(session, "Musterfirma GmbH", vat_id="DE136695976")
        draft = service.save_draft(
            session,
            contact_id=customer.id,
            service_date=service.today(),
            intro_text="Vielen Dank für Ihren Auftrag. Wir berechnen Ihnen:",
            skonto_percent="2",
            skonto_days=10,
            lines=[
                line("Webdesign Startseite", "12", "85"),
                line(
                    "Hosting",
                    "1",
                    "19.99",
                    "S19",
                    "MON",
                    discount_kind="percent",
                    discount_value="10",
                    discount_reason="Treuerabatt",
                ),
                line("Fachbuch Barrierefreiheit", "2", "24.90", "S7", "C62"),
            ],
        )
        draft_id = draft.id
    dispose_engines()
    with kms_server({**os.environ, "KMS_SCHEDULER": "0"}, kms_env.parent / "server.log") as url:
        yield url, draft_id


def test_issue_and_download_an_invoice(server: tuple[str, int], tmp_path: Path) -> None:
    """Log in, open the draft, ▶ abschließen with confirmation, download the PDF/A-3, view it;
    the download link gives the file to the logged-in browser only."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)

    url, draft_id = server
    with chromium() as browser:
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(f"{url}/rechnungen")
            page.get_by_label("Benutzername").fill("erika")
            page.get_by_label("Passwort").fill(PASSWORD)
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("heading", name="Rechnungen").first).to_be_visible()
            settle(page)
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Rechnung öffnen")
            choose(page, box, f"Entwurf {draft_id} – Musterfirma GmbH")
            settle(page)
            page.get_by_role("button", name="▶ Rechnung abschließen").click()
            dialog = page.get_by_role("dialog")
            expect(dialog.get_by_text("nicht mehr änderbar")).to_be_visible()
            dialog.get_by_role("button", name="Prüfen und abschließen").click()
            year = service.today().year
            done = page.get_by_text(f"Rechnung RE-{year}-0001 ist ausgestellt.")
            expect(done).to_be_visible(timeout=60_000)
            settle(page)
            expect(page.get_by_text(f"Rechnung RE-{year}-0001 · offen")).to_be_visible()
            with page.expect_download() as info:
                page.get_by_role("button", name="PDF (Factur-X)").click()
            target = tmp_path / "rechnung.pdf"
            info.value.save_as(target)
            settle(page)  # the download reruns the page
            # The file is there only for a logged-in browser: with the session cookie the
            # bytes, without it (the link alone) 401.
            link = info.value.url
            assert "/media/" in link, link
            assert page.context.request.get(link).body() == target.read_bytes()
            stranger = browser.new_context()
            assert stranger.request.get(link).status == 401
            stranger.close()
            page.screenshot(path=str(SCREENSHOTS / "rechnungen.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(tmp_path / "rechnungen-failure.png"), full_page=True)
            raise
    pdf = target.read_bytes()
    assert inspect(pdf).pdfa_part == "3"
    document = pypdfium2.PdfDocument(pdf)
    try:
        document[0].render(scale=100 / 72).to_pil().save(SCREENSHOTS / "rechnung-pdf.png")
        assert f"Rechnung RE-{year}-0001" in document[0].get_textpage().get_text_range()
    finally:
        document.close()
