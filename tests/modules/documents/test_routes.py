"""Every stored document downloads through the logged-in route, streamed from disk."""

from __future__ import annotations

from kms import auth
from kms.db import ensure_migrated, session_scope
from kms.modules.documents import service
from kms.modules.documents.routes import download, download_url, stream_url
from kms.server import routes
from tests import web_support
from tests.modules.documents import samples

PASSWORD = "Muster-Passwort-2026"


def get(document_id: int, cookie: str | None) -> tuple[int, dict[str, str], bytes]:
    return web_support.call(
        download, download_url(document_id), cookie, path_params={"document_id": document_id}
    )


def test_documents_download_only_with_a_live_session_cookie() -> None:
    """Without a cookie, with a forged or a revoked one: 401; logged in: the stored bytes as
    an attachment that is never sniffed; an unknown id: 404 in German."""
    ensure_migrated()
    content = samples.pdf("Rechnung RE-2026-0001")
    with session_scope() as session:
        auth.create_user(session, username="erika", password=PASSWORD, is_owner=True)
        doc = service.upload(session, content=content, filename="Rechnung.pdf").document
        doc_id = doc.id
        assert stream_url(doc) == f"/api/documents/{doc_id}/download"
    assert get(doc_id, None)[0] == 401
    assert get(doc_id, "x" * 43)[0] == 401
    cookie = web_support.session_cookie("erika")
    status, headers, body = get(doc_id, cookie)
    assert (status, body) == (200, content)
    assert headers["content-disposition"] == 'attachment; filename="Rechnung.pdf"'
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    status, _headers, body = get(doc_id + 1, cookie)
    assert status == 404 and "gibt es nicht" in body.decode()
    with session_scope() as session:
        auth.revoke_sessions(session, "erika")
    assert get(doc_id, cookie)[0] == 401


def test_route_is_registered_through_the_module_spec() -> None:
    """The server picks the documents route up from ModuleSpec.routes."""
    assert any(
        getattr(r, "path", "") == "/api/documents/{document_id:int}/download" for r in routes()
    )


def test_document_download_follows_the_role() -> None:
    """Each role that reads documents gets the file, even the read-only Steuerberater; a
    deactivated login's cookie gets 401."""
    from kms.modules.users import service as users
    from kms.permissions import Role

    ensure_migrated()
    content = samples.pdf("Vertrag")
    with session_scope() as session:
        auth.create_user(session, username="olga", password=PASSWORD, role=Role.OWNER)
        auth.create_user(session, username="stefan", password=PASSWORD, role=Role.ADVISER)
        doc_id = service.upload(session, content=content, filename="Vertrag.pdf").document.id
    for name in ("olga", "stefan"):
        status, _headers, body = get(doc_id, web_support.session_cookie(name))
        assert (status, body) == (200, content)
    cookie = web_support.session_cookie("stefan")
    with session_scope() as session:
        users.deactivate(session, "stefan")
    assert get(doc_id, cookie)[0] == 401
