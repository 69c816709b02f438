"""Call KMS's HTTP routes in-process as Starlette would, with or without a session cookie."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kms import auth
from kms.db import session_scope


def session_cookie(username: str, client: str = "127.0.0.1") -> str:
    """A session cookie as a login and its redeemed ticket give the browser."""
    with session_scope() as session:
        _id, ticket = auth.start_session(session, username, client)
        token = auth.redeem_ticket(session, ticket, client)
    assert token is not None
    return token


def call(
    endpoint: Callable[[Request], Awaitable[Response]],
    path: str,
    cookie: str | None,
    *,
    path_params: dict[str, Any],
    method: str = "GET",
) -> tuple[int, dict[str, str], bytes]:
    """Run `endpoint` for `path`, collecting status, headers and the (streamed) body."""
    headers = [(b"cookie", f"{auth.SESSION_COOKIE}={cookie}".encode())] if cookie else []
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "query_string": b"",
        "path_params": path_params,
        "client": ("127.0.0.1", 50000),
    }
    sent: list[dict[str, Any]] = []
    requested: list[bool] = []

    async def receive() -> dict[str, Any]:
        if requested:  # the client stays connected until the response is complete
            await asyncio.Event().wait()
        requested.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        response = await endpoint(Request(scope, receive))
        await response(scope, receive, send)

    asyncio.run(run())
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body
