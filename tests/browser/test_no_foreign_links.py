"""In a real browser, a contact name with Markdown link and image syntax stays text: no <a>
or <img> the app did not put there, and no request to what it names (issue 11)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kms.config import ROOT
from kms.registry import pages
from tests import browser_support
from tests.browser.test_browser import kms_server, log_in, open_fresh
from tests.browser_support import settle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium through Playwright (skipped without it; a failure in CI)."""
    with browser_support.chromium() as chromium:
        yield chromium


EVIL = "Beacon GmbH ![x](https:host?id) [Rechnung bezahlen](https:evil.example)"

RENAME = """
from sqlalchemy import select, text
from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.notices import add_notice
from kms.permissions import SYSTEM, acting_as
with acting_as(SYSTEM), session_scope() as s:  # a script acts as the system, like the CLI
    org = s.scalar(select(Contact.id).where(Contact.kind == "organisation").order_by(Contact.id))
    s.execute(text("UPDATE contacts SET name = :n WHERE id = :i"), {"n": EVIL, "i": org})
    add_notice(s, text=EVIL)
print(org)
"""


def _foreign(page, origin: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Links and images that leave the app's origin, or any the user's text made."""
    found = []
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
        target = urlsplit(href)._replace(fragment="")  # a heading's own "#…" anchor is fine
        if target.netloc != origin or "evil" in target.geturl():
            found.append(f"a {href}")
    for src in page.eval_on_selector_all("img[src]", "els => els.map(e => e.src)"):
        scheme = urlsplit(src).scheme
        if (scheme not in ("data", "blob") and urlsplit(src).netloc != origin) or "host" in src:
            found.append(f"img {src}")
    return found


def test_a_hostile_organisation_name_makes_no_link_image_or_request(browser, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Its detail page and every page with it in the banner contain only the app's own links
    and images; the browser requests nothing the name points to; the name is readable."""
    from playwright.sync_api import expect

    data = tmp_path / "data"
    with kms_server(data, demo=True) as server:
        env = {"KMS_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-c", f"EVIL = {EVIL!r}\n" + textwrap.dedent(RENAME)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        org_id = done.stdout.strip().splitlines()[-1]
        origin = urlsplit(server.url).netloc
        page = open_fresh(browser, f"{server.url}/organisationen?id={org_id}")
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        log_in(page)
        expect(page.locator("h3", has_text="Beacon GmbH")).to_be_visible()
        heading = page.locator("h3", has_text="Beacon GmbH").inner_text().replace("\u2060", "")
        assert "[Rechnung bezahlen](https:evil.example)" in heading
        assert _foreign(page, origin) == [], "\n".join(_foreign(page, origin))
        sidebar = page.locator('[data-testid="stSidebar"]')
        for spec in pages():
            sidebar.get_by_role("link", name=spec.title, exact=True).click()
            settle(page)
            body = page.locator("body").inner_text().replace("\u2060", "")
            assert "[Rechnung bezahlen](https:evil.example)" in body, spec.url_path
            assert _foreign(page, origin) == [], spec.url_path
        # Nothing the user's text named was fetched. (Streamlit itself loads some Material
        # icons from fonts.gstatic.com; that is the CSP's business, not this text's.)
        assert [u for u in requests if urlsplit(u).hostname in ("host", "evil.example")] == []
        assert not [u for u in requests if "evil" in u or "host?id" in u]
        page.context.close()
