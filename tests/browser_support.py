"""What every browser test needs: Debian's chromium, a KMS server on a free port, idle waits.

Servers listen on a port the kernel hands out, so a leftover process or a second test run
on the same machine can never answer in place of the server a test started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kms.config import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OWNER_PASSWORD = "Muster-Passwort-2026"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SCREENSHOTS = ROOT / "docs" / "screenshots"
START_TIMEOUT = 60


def need_chromium() -> None:
    """Skip without Debian's chromium on a laptop; in CI (CI=true) that is a failure."""
    if CHROMIUM.exists():
        return
    reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; .ci/run installs it")
    pytest.skip(reason)


def free_port() -> int:
    """A port nobody listens on right now, chosen by the kernel."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def kms_server(env: dict[str, str], log: Path, *, browser: bool = True) -> Iterator[str]:
    """Run `python -m kms serve` with `env` on a free port until the block ends; yields its URL.

    Console output goes to `log` (the setup code is printed there). The server counts as up
    once its own health route answers, so a test never talks to anything else. Tests that
    only speak HTTP pass browser=False and run without chromium.
    """
    if browser:
        need_chromium()
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kms", "serve", "--port", str(port), "--address", "127.0.0.1"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, "server exited:\n" + log.read_text()
            assert time.monotonic() < deadline, "server did not start:\n" + log.read_text()
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hanging server
            process.kill()
            process.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (never a downloaded browser)."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def owner_server(data_dir: Path, seed: Callable[[Any], object]) -> Iterator[str]:
    """A KMS server on the test's data dir (the `kms_env` fixture) with the owner login
    "erika" / OWNER_PASSWORD and whatever `seed(session)` adds."""
    from kms import auth
    from kms.db import dispose_engines, ensure_migrated, session_scope

    need_chromium()
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session, username="erika", password=OWNER_PASSWORD, display_name="Erika", is_owner=True
        )
        seed(session)
    dispose_engines()
    with kms_server({**os.environ, "KMS_SCHEDULER": "0"}, data_dir.parent / "server.log") as url:
        yield url


def settle(page: Any, timeout: int = 60_000) -> None:
    """Wait until Streamlit finished running the script and any rerun it triggered."""
    for _ in range(2):
        page.wait_for_selector(IDLE, timeout=timeout)
        page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def session_cookie(page: Any, timeout: float = 15) -> dict[str, Any]:
    """The session cookie, once the page's ticket image has fetched it after a login."""
    deadline = time.monotonic() + timeout
    while True:
        found = [c for c in page.context.cookies() if c["name"] == "kms_session"]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, "the session cookie never arrived"
        page.wait_for_timeout(100)


def choose(page: Any, box: Any, option: str, *, attempts: int = 4) -> None:
    """Open the Streamlit select `box` and click `option`, as a user would.

    A rerun that reaches the browser just as the list opens (a finished upload, a save)
    redraws the select and closes its list again; a user then simply clicks once more,
    and so does this helper, up to `attempts` times. The option must appear in the end.
    """
    target = page.get_by_role("option", name=option)
    for _ in range(attempts - 1):
        settle(page)
        box.click()
        try:
            target.wait_for(state="visible", timeout=5_000)
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: the list closed again
            page.keyboard.press("Escape")
            continue
        target.click()
        settle(page)
        return
    settle(page)
    box.click()
    target.click()
    settle(page)
