"""HTTP-level security of the one server: proxy trust, response headers, session cookie, login.

Everything here works on Starlette requests and ASGI messages; services stay free of it and
pages never see it. kms.server wires it into the st.App.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import re
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kms import auth
from kms.config import get_config
from kms.db import session_scope
from kms.permissions import Permission, PermissionDenied, acting_as, require_permission
from kms.types import utcnow

# A transparent 1×1 GIF: what the page's invisible ticket image receives with its cookie.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
LOGIN_REQUIRED = "Bitte melden Sie sich bei KMS an."


def trust_configured_proxies() -> None:
    """Let uvicorn believe X-Forwarded-For/-Proto only from KMS_TRUSTED_PROXIES.

    uvicorn trusts 127.0.0.1 by default, so anyone on the machine (or anything that reaches
    a loopback-bound port) could pick the client address the login back-off counts, and
    claim HTTPS. Streamlit builds uvicorn's Config without `forwarded_allow_ips`, so uvicorn
    reads FORWARDED_ALLOW_IPS; an empty value trusts nobody.
    """
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(get_config().trusted_proxies)


# --- response headers (ASVS V14.4) -------------------------------------------------------


@cache
def _inline_script_hashes() -> tuple[str, ...]:
    """CSP hashes of the inline scripts in Streamlit's index.html (one line, no nonce)."""
    spec = importlib.util.find_spec("streamlit")
    index = Path(str(spec.origin if spec else "")).parent / "static" / "index.html"
    scripts = re.findall(r"<script>(.*?)</script>", index.read_text(encoding="utf-8"), re.S)
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    )


@cache
def content_security_policy() -> str:
    """As strict as Streamlit allows: nothing from another origin, no plugins, no framing.

    Streamlit's emotion styles need inline styles; its workers and downloads use blob:,
    icons and images data:; the app talks to its own origin over HTTP and WebSocket.
    """
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *_inline_script_hashes()]),
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "font-src": "'self' data:",
        "media-src": "'self' blob:",
        "connect-src": "'self'",
        "worker-src": "'self' blob:",
        "frame-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers() -> list[tuple[bytes, bytes]]:
    """The headers every HTTP response carries."""
    return [
        (b"content-security-policy", content_security_policy().encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]


class SecurityHeadersMiddleware:
    """Adds security_headers() to every HTTP response (pages, assets, API, errors).

    Plain ASGI, not BaseHTTPMiddleware, so streamed downloads and the WebSocket pass as-is.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # A response with a stricter policy of its own (a downloaded document's
                # `sandbox`) keeps it; it only gains the ban on framing.
                for index, (name, value) in enumerate(headers):
                    if (
                        name.lower() == b"content-security-policy"
                        and b"frame-ancestors" not in value
                    ):
                        headers[index] = (name, value + b"; frame-ancestors 'none'")
                headers += [(name, value) for name, value in extra if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- the session cookie and the one login check of every route ---------------------------

MEDIA_PREFIX = "/media/"


class MediaLoginMiddleware:
    """Streamlit's /media/<hash> files (download buttons, PDF and image previews) only with a
    live session cookie: the hash alone must not open an invoice to whoever learns it.

    The browser sends the HttpOnly cookie with every same-origin request, so a logged-in
    user notices nothing; without it the answer is 401.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MEDIA_PREFIX):
            request = Request(scope)
            if await run_in_threadpool(request_user, request) is None:
                response = PlainTextResponse(
                    LOGIN_REQUIRED, status_code=401, headers={"Cache-Control": "no-store"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def client_host(request: Request) -> str:
    """The peer (or the client a trusted proxy named), as the login back-off records it."""
    return request.client.host if request.client else "unbekannt"


def request_user(request: Request) -> str | None:
    """The username of the request's live session cookie (sliding its idle timeout)."""
    token = request.cookies.get(auth.SESSION_COOKIE)
    if not token:
        return None
    now = utcnow()
    with session_scope(write=False) as session:
        live = auth.find_session(session, token, now)
    if live is None:
        return None
    if live.needs_touch(now):
        with session_scope() as session:
            auth.touch_session(session, live.session_id, now)
    return live.username


Handler = Callable[[Request, str], Awaitable[Response]]


def login_required(
    permission: Permission,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Guard a route: 401 without a live session, 403 when the user's role lacks
    `permission`, else handler(request, username), run as that user (kms.permissions)."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            no_store = {"Cache-Control": "no-store"}
            username = request_user(request)
            if username is None:
                return PlainTextResponse(LOGIN_REQUIRED, status_code=401, headers=no_store)
            with acting_as(username):
                try:
                    with session_scope(write=False) as session:
                        require_permission(permission, session)
                except PermissionDenied as exc:
                    return PlainTextResponse(exc.message, status_code=403, headers=no_store)
                return await handler(request, username)

        route.__name__ = handler.__name__
        route.__doc__ = handler.__doc__
        return route

    return wrap


async def redeem(request: Request) -> Response:
    """GET /api/session/<ticket>: exchange a login's one-time ticket for the session cookie.

    HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure whenever
    the browser talks HTTPS to us or to a trusted proxy; it expires with the session's
    absolute lifetime, and the server ends it sooner when idle or revoked.
    """
    with session_scope() as session:
        token = auth.redeem_ticket(session, request.path_params["ticket"], client_host(request))
    if token is None:
        return PlainTextResponse("Unbekannte oder abgelaufene Anmeldung.", status_code=404)
    response = Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})
    _idle, max_age = auth.session_limits()
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=int(max_age.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


def routes() -> list[BaseRoute]:
    """The session route; it needs no login, only a fresh ticket from this address."""
    return [Route("/api/session/{ticket}", redeem, methods=["GET"])]
