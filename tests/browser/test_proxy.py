"""KMS behind Debian's nginx with the shipped site config (docs/deploy/nginx-kms.conf).

nginx listens on 127.0.0.2 and connects to KMS from 127.0.0.3 (the only trusted proxy), so
the browser's address, nginx's address and an address the browser forges all differ. TLS
is replaced by the forwarded `X-Forwarded-Proto: https` a TLS server block would send.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kms.config import ROOT
from kms.demo import DEMO_PASSWORD, DEMO_USER
from tests import browser_support
from tests.browser_support import free_port, settle

pytestmark = pytest.mark.browser

SITE = ROOT / "docs" / "deploy" / "nginx-kms.conf"
NGINX_ADDRESS = "127.0.0.2"  # where the browser connects
PROXY_ADDRESS = "127.0.0.3"  # where nginx connects to KMS from: KMS_TRUSTED_PROXIES
FORGED = "203.0.113.66"


def nginx_binary() -> str:
    """Debian's nginx; skipped on a laptop without it, a failure in CI (CI=true)."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found:
        return found
    reason = "the reverse-proxy test needs Debian's nginx (apt-get install nginx)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; .ci/run installs it")
    pytest.skip(reason)


def _replace(text: str, pattern: str, new: str, count: int) -> str:
    """Replace `pattern`, which must occur exactly `count` times (the shipped file changed?)."""
    result, n = re.subn(pattern, new, text, flags=re.M)
    assert n == count, f"{pattern!r} occurs {n} times in {SITE.name}, expected {count}"
    return result


def site_for_test(kms_port: int, nginx_port: int) -> str:
    """The shipped site config with TLS swapped for plain HTTP on loopback, nothing else."""
    text = SITE.read_text()
    blocks = re.findall(r"^server \{.*?^\}", text, flags=re.M | re.S)
    assert len(blocks) == 2, blocks
    text = text.replace(blocks[0], "")  # the port-80 redirect to HTTPS
    text = _replace(text, r"^\s+server 127\.0\.0\.1:8501;", f"    server 127.0.0.1:{kms_port};", 1)
    text = _replace(
        text,
        r"^\s+listen 443 ssl;",
        f"    listen {NGINX_ADDRESS}:{nginx_port};\n    proxy_bind {PROXY_ADDRESS};",
        1,
    )
    text = _replace(text, r"^\s+listen \[::\]:443 ssl;\n", "", 1)
    text = _replace(text, r"^\s+http2 on;\n", "", 1)
    text = _replace(text, r"^\s+ssl_\w+ .*\n", "", 3)
    return _replace(text, r"X-Forwarded-Proto \$scheme;", "X-Forwarded-Proto https;", 2)


@contextmanager
def nginx(kms_port: int, prefix: Path) -> Iterator[tuple[str, Path]]:
    """nginx in the foreground with its own prefix, temp dirs and logs; killed afterwards."""
    binary = nginx_binary()
    port = free_port()
    for name in ("logs", "tmp"):
        (prefix / name).mkdir(parents=True, exist_ok=True)
    (prefix / "kms.conf").write_text(site_for_test(kms_port, port))
    access = prefix / "logs" / "access.log"
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers may use the test's temp dirs
    (prefix / "nginx.conf").write_text(
        f"""{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    log_format addr '$remote_addr $request_method $uri';
    access_log {access} addr;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {prefix}/kms.conf;
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://{NGINX_ADDRESS}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "nginx did not answer"
            time.sleep(0.2)
        yield url, access
    finally:
        process.kill()
        process.wait()


def login_clients(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "kms.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT client FROM login_attempts ORDER BY id")]


def test_kms_behind_nginx_secure_cookie_and_the_forwarded_client_address(tmp_path):
    """Through nginx: the app works under its CSP, the session cookie is Secure, HttpOnly and
    SameSite=Strict and survives a reload, every answer carries the security headers, and
    the login back-off counts the browser's address, not nginx's and not a forged one."""
    from playwright.sync_api import expect

    nginx_binary()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env |= {"KMS_DATA_DIR": str(data_dir), "KMS_TRUSTED_PROXIES": PROXY_ADDRESS}
    subprocess.run([sys.executable, "-m", "kms", "demo"], env=env, cwd=ROOT, check=True)
    with (
        browser_support.kms_server(env, tmp_path / "server.log") as kms_url,
        nginx(int(kms_url.rsplit(":", 1)[1]), tmp_path / "nginx") as (url, access),
        browser_support.chromium() as browser,
    ):
        context = browser.new_context(
            viewport={"width": 1280, "height": 800},
            locale="de-DE",
            extra_http_headers={"X-Forwarded-For": FORGED},
        )
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        answer = page.goto(f"{url}/einstellungen")
        assert answer is not None
        headers = answer.headers
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        settle(page)

        page.get_by_label("Benutzername").fill(DEMO_USER)
        page.get_by_label("Passwort", exact=True).fill("falsches-Passwort")
        page.get_by_role("button", name="Anmelden").click()
        settle(page)
        expect(page.get_by_text("Benutzername oder Passwort ist falsch.")).to_be_visible()
        browser_address = re.findall(r"^(\S+) GET /einstellungen$", access.read_text(), re.M)
        assert browser_address and browser_address[-1] not in (PROXY_ADDRESS, FORGED)
        assert login_clients(data_dir) == [browser_address[-1]]

        page.get_by_label("Passwort", exact=True).fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        settle(page)
        expect(page.locator("h1")).to_have_text("Einstellungen")
        assert login_clients(data_dir) == [browser_address[-1]] * 2

        cookie = browser_support.session_cookie(page)
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
        assert "kms_session" not in page.evaluate("document.cookie")

        page.reload()
        settle(page)
        expect(page.locator("h1")).to_have_text("Einstellungen")
        assert page.get_by_role("button", name="Anmelden").count() == 0
        # The app works under the CSP: the browser reported no violation on the way.
        assert not [text for text in console if "Content Security Policy" in text], console
        context.close()
