"""The logged-in download of a stored document, streamed from disk (invoices, letters, uploads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from kms.db import session_scope
from kms.errors import KmsError
from kms.modules.documents import service
from kms.permissions import Permission
from kms.web import login_required

DOWNLOAD_PATH = "/api/documents/{document_id:int}/download"


def download_url(document_id: int) -> str:
    """The relative URL a logged-in browser downloads a document from."""
    return DOWNLOAD_PATH.replace("{document_id:int}", str(document_id))


def stream_url(document: service.Document) -> str:
    """The logged-in route that streams the file from disk: the backups route for archives
    kept outside the documents store, the documents route for everything else."""
    return service.storage.external_url(document.blob.storage_name) or download_url(document.id)


@login_required(Permission.DOCUMENTS_READ)
async def download(request: Request, _username: str) -> Response:
    """GET/HEAD a document as an attachment; Starlette streams it in chunks and serves Range."""
    with session_scope(write=False) as session:
        try:
            doc = service.get_document(session, request.path_params["document_id"])
        except KmsError as exc:
            return PlainTextResponse(exc.message, status_code=404)
        headers = service.download_headers(doc)
        path, mime = service.path_of(doc), headers.pop("Content-Type")
    headers.pop("Content-Length")  # FileResponse measures the file itself
    headers["Cache-Control"] = "no-store"
    return FileResponse(path, media_type=mime, headers=headers)


def routes() -> list[BaseRoute]:
    """Registered through ModuleSpec.routes; the route checks the login itself."""
    return [Route(DOWNLOAD_PATH, download, methods=["GET", "HEAD"])]
