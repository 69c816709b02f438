"""The authenticated download of a Kanzleipaket built on the Einnahmen/Ausgaben page,
streamed from disk (Starlette's FileResponse reads it in chunks), also when it is large."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from kms.permissions import Permission
from kms.web import login_required

DOWNLOAD_PATH = "/api/ledger/kanzleipaket/{token}"


def download_url(token: str) -> str:
    return DOWNLOAD_PATH.replace("{token}", token)


@login_required(Permission.LEDGER_READ)
async def download(request: Request, _username: str) -> Response:
    from kms.modules.ledger.kanzlei import find_export

    path = find_export(request.path_params["token"])
    if path is None:
        return PlainTextResponse(
            "Dieses Kanzleipaket gibt es nicht (mehr). Bitte auf der Seite Einnahmen/Ausgaben "
            "neu erstellen.",
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def routes() -> list[BaseRoute]:
    """Registered through ModuleSpec.routes; the route checks the login itself."""
    return [Route(DOWNLOAD_PATH, download, methods=["GET", "HEAD"])]
