"""The real server's HTTP surface: security headers everywhere, proxy trust, the cookie route."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit

from kms import auth
from kms.db import ensure_migrated, session_scope
from tests import browser_support

CLIENT = "203.0.113.9"


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-case names, Set-Cookie joined) of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - local test URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            status, raw = answer.status, answer.headers
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.headers
    return status, {k.lower(): ", ".join(raw.get_all(k) or []) for k in raw}


@contextmanager
def server(kms_env: Path, **settings: str) -> Iterator[str]:
    """`python -m kms serve` on this test's data dir with extra KMS_* settings."""
    env = os.environ | {"KMS_DATA_DIR": str(kms_env), "KMS_SCHEDULER": "0"} | settings
    with browser_support.kms_server(env, kms_env.parent / "server.log", browser=False) as url:
        yield url


def ticket_for(client: str) -> str:
    """A login of the owner from `client`, as the page would have started it."""
    with session_scope() as session:
        if not auth.has_users(session):
            auth.create_user(
                session, username="erika", password="Muster-Passwort-2026", is_owner=True
            )
        _id, ticket = auth.start_session(session, "erika", client)
    return ticket


def test_every_response_carries_the_security_headers(kms_env: Path) -> None:
    """Pages, assets, health, API answers, 401 and 404 all forbid framing and sniffing and
    carry the CSP; the CSP names no other origin and allows no eval or plugins."""
    ensure_migrated()
    index = Path(streamlit.__file__).parent / "static" / "index.html"
    script = re.search(r'src="\./(static/js/index\.[^"]+\.js)"', index.read_text())
    assert script
    with server(kms_env) as url:
        for path in (
            "/",
            "/personen",
            f"/{script.group(1)}",
            "/_stcore/health",
            "/api/status",
            "/api/backups/download/x.tar",
            "/api/session/erfunden",
            "/gibt-es-nicht.txt",
        ):
            status, headers = fetch(url + path)
            assert status in (200, 401, 404), (path, status)
            assert headers["x-frame-options"] == "DENY", path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            csp = headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
            assert "http" not in csp and "unsafe-eval" not in csp and "*" not in csp, csp
            script_src = re.search(r"script-src ([^;]+)", csp)
            assert script_src and "unsafe-inline" not in script_src.group(1), csp


def test_forwarded_headers_count_only_from_trusted_proxies(kms_env: Path) -> None:
    """Without KMS_TRUSTED_PROXIES a forged X-Forwarded-For from loopback is not believed
    (the ticket of CLIENT is refused) and the cookie is not Secure; from a trusted proxy
    the forwarded address and HTTPS count, and the cookie is Secure, HttpOnly, Strict."""
    ensure_migrated()
    forged = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
    with server(kms_env) as url:
        assert fetch(f"{url}/api/session/{ticket_for(CLIENT)}", forged)[0] == 404
        status, headers = fetch(f"{url}/api/session/{ticket_for('127.0.0.1')}", forged)
        assert status == 200
        assert "httponly" in headers["set-cookie"].lower()
        assert "secure" not in headers["set-cookie"].lower()
    with server(kms_env, KMS_TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1") as url:
        status, headers = fetch(f"{url}/api/session/{ticket_for(CLIENT)}", forged)
        assert status == 200 and headers["content-type"] == "image/gif"
        cookie = headers["set-cookie"]
        assert cookie.startswith(f"{auth.SESSION_COOKIE}=")
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
        assert f"max-age={12 * 3600}" in flags


def test_streamlit_media_needs_a_live_session_cookie() -> None:
    """/media/<hash> (download buttons, previews) answers 401 without or with a revoked
    cookie and passes to Streamlit with a live one; other paths need no cookie."""
    from starlette.responses import PlainTextResponse

    from kms.web import MediaLoginMiddleware
    from tests.web_support import call, session_cookie

    ensure_migrated()
    ticket_for(CLIENT)  # creates the owner

    async def streamlit_app(scope, receive, send):  # type: ignore[no-untyped-def]
        await PlainTextResponse("Rechnung")(scope, receive, send)

    guarded = MediaLoginMiddleware(streamlit_app)

    async def endpoint(request):  # type: ignore[no-untyped-def]
        async def respond(scope, receive, send):  # type: ignore[no-untyped-def]
            await guarded(scope, receive, send)

        return respond

    def get(path: str, cookie: str | None) -> tuple[int, bytes]:
        status, _headers, body = call(endpoint, path, cookie, path_params={})
        return status, body

    cookie = session_cookie("erika")
    assert get("/media/abc123.pdf", None)[0] == 401
    assert get("/media/abc123.pdf", "x" * 43)[0] == 401
    assert get("/media/abc123.pdf", cookie) == (200, b"Rechnung")
    assert get("/static/js/index.js", None) == (200, b"Rechnung")
    with session_scope() as session:
        auth.revoke_sessions(session, "erika")
    assert get("/media/abc123.pdf", cookie)[0] == 401
