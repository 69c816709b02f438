"""The authenticated download of a backup, streamed from disk (also for gigabytes)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from kms.backups.errors import BackupError
from kms.backups.store import find_backup
from kms.permissions import Permission
from kms.web import login_required

DOWNLOAD_PATH = "/api/backups/download/{name}"


def download_url(name: str) -> str:
    """The relative URL a logged-in browser downloads a backup from."""
    return DOWNLOAD_PATH.replace("{name}", name)


# A backup holds every record and the password hashes: only roles that manage backups.
@login_required(Permission.BACKUPS)
async def download(request: Request, _username: str) -> Response:
    """GET/HEAD a backup by name; Starlette streams the file in chunks and serves Range."""
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
