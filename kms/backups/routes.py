"""The authenticated download of a backup, streamed from disk (also for gigabytes)."""

from __future__ import annotations

from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from kms import auth
from kms.backups.errors import BackupError
from kms.backups.store import find_backup
from kms.db import session_scope
from kms.permissions import Permission, acting_as, may

DOWNLOAD_PATH = "/api/backups/download/{name}"


def download_url(name: str) -> str:
    """The relative URL a logged-in browser downloads a backup from."""
    return DOWNLOAD_PATH.replace("{name}", name)


def logged_in(request: Request) -> str | None:
    """The username if the login cookie is a valid, unrevoked HS256 JWT of an active user."""
    token = request.cookies.get(auth.COOKIE_NAME)
    if not token:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(token, auth.cookie_key(), algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    with session_scope(write=False) as session:
        return str(claims["username"]) if auth.token_is_valid(session, claims) else None


async def download(request: Request) -> Response:
    """GET/HEAD a backup by name; Starlette streams the file in chunks and serves Range."""
    username = logged_in(request)
    if not username:
        return PlainTextResponse("Bitte melden Sie sich bei KMS an.", status_code=401)
    # A backup holds every record and the password hashes: only roles that manage backups.
    with acting_as(username), session_scope(write=False) as session:
        if not may(session, Permission.BACKUPS):
            return PlainTextResponse(
                "Keine Berechtigung: Backups darf nur die Rolle Inhaber herunterladen.",
                status_code=403,
            )
    try:
        backup = find_backup(request.path_params["name"])
    except BackupError as exc:
        return PlainTextResponse(exc.message, status_code=404)
    return FileResponse(
        backup.path,
        media_type="application/octet-stream",
        filename=backup.name,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def routes() -> list[BaseRoute]:
    """Registered through ModuleSpec.routes; the route checks the login itself."""
    return [Route(DOWNLOAD_PATH, download, methods=["GET", "HEAD"])]
