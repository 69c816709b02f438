"""Licences in a real browser: without a licence the Preiskalkulation pages stay in the
navigation with a lock and explain the licence with the instance id; a licence installed in
Einstellungen → Lizenzen unlocks them (screenshot docs/screenshots/preiskalkulation-gesperrt.png).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from kms import licensing
from kms.config import ROOT
from kms.modules.pricing import SPEC as PRICING
from kms.types import today
from tests import browser_support
from tests.browser.test_browser import browser, log_in, open_fresh  # noqa: F401
from tests.browser_support import SCREENSHOTS, session_cookie, settle

pytestmark = pytest.mark.browser

LOCK = "lock"  # the material icon name a locked page's link shows before its label


def _sidebar_icons(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Label → icon name of every navigation link (a link's text is icon, blank line, label)."""
    texts = page.locator('[data-testid="stSidebar"] a').all_inner_texts()
    lines = [[line.strip() for line in text.strip().splitlines() if line.strip()] for text in texts]
    return {parts[-1]: parts[0] for parts in lines if len(parts) > 1}


def test_a_licence_installed_in_the_settings_unlocks_the_pricing_pages(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    # A vendor key pair trusted through the operator setting, as tests/modules/pricing does;
    # the server is no demo process, so the demo's own licences do not count.
    private, public = licensing.generate_keypair()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env["KMS_DATA_DIR"] = str(data)
    env["KMS_LICENSE_PUBLIC_KEYS"] = public
    subprocess.run([sys.executable, "-m", "kms", "demo"], env=env, cwd=ROOT, check=True)
    instance = subprocess.run(
        [sys.executable, "-m", "kms", "license", "instance-id"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert instance
    titles = [p.title for p in PRICING.pages]

    with browser_support.kms_server(env, tmp_path / "server.log") as url:
        page = open_fresh(browser, f"{url}/gemeinkosten")
        log_in(page)
        session_cookie(page)  # the login holds across page loads from now on
        for spec in PRICING.pages:
            page.goto(f"{url}/{spec.url_path}")
            settle(page)
            expect(page.locator("h1")).to_have_text(spec.title)
            expect(page.get_by_text("„Preiskalkulation“ ist nicht lizenziert.")).to_be_visible()
            expect(page.get_by_text("Dieses Zusatzmodul wird separat gebucht.")).to_be_visible()
            assert page.locator('[data-testid="stCode"]').inner_text().strip() == instance
        icons = _sidebar_icons(page)
        assert [icons[t] for t in titles] == [LOCK] * len(titles), icons
        assert icons["Einstellungen"] != LOCK
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # The instance id is random per run: masked, so the committed screenshot stays stable.
        page.screenshot(
            path=str(SCREENSHOTS / "preiskalkulation-gesperrt.png"),
            full_page=True,
            mask=[page.locator('[data-testid="stCode"] code')],
        )

        token = licensing.issue(
            private,
            module="pricing",
            licensee="Erika Mustermann",
            instance=instance,
            valid_until=today() + timedelta(days=365),
        )
        page.goto(f"{url}/einstellungen")
        settle(page)
        page.get_by_role("tab", name="Lizenzen").click()
        settle(page)
        expect(page.get_by_text(instance, exact=True)).to_be_visible()
        area = page.get_by_label("Lizenzschlüssel")
        area.fill(token)
        area.press("Control+Enter")  # Streamlit takes a text area's value on submit or blur
        settle(page)
        page.get_by_role("button", name="Lizenz installieren").click()
        settle(page)
        expect(page.get_by_text("Lizenz für „pricing“ installiert")).to_be_visible()

        for spec in PRICING.pages:
            page.goto(f"{url}/{spec.url_path}")
            settle(page)
            expect(page.locator("h1")).to_have_text(spec.title)
            body = page.locator("body").inner_text()
            assert "nicht lizenziert" not in body, spec.url_path
            assert "separat gebucht" not in body, spec.url_path
            assert "unerwarteter Fehler" not in body, spec.url_path
        icons = _sidebar_icons(page)
        assert LOCK not in [icons[t] for t in titles], icons
        page.context.close()
