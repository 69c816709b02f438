"""One decision whether a module may be used: every entry point of a licensed add-on asks it."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date

import pytest
from starlette.applications import Starlette

from kms import licensing, registry
from kms.db import session_scope
from kms.functions import run_due
from tests import fake_addon


@pytest.fixture
def addon(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The stand-in add-on is registered (unlicensed) beside Kunden; yields its call log."""
    monkeypatch.setattr(registry, "MODULE_PATHS", ("kms.modules.contacts", "tests.fake_addon"))
    monkeypatch.setattr(
        "kms.registry.usable_automatisms",
        lambda session: [
            a
            for spec in registry.usable_modules(session)
            for a in spec.automatisms
            if spec.key == "fakeaddon"
        ],
    )
    fake_addon.CALLS.clear()
    yield fake_addon.CALLS
    fake_addon.CALLS.clear()


def _license(monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    token = licensing.issue(
        private, module="fakeaddon", licensee="Musterfirma", valid_until=date(2099, 12, 31)
    )
    with session_scope() as session:
        licensing.install(session, token)


def _get(path: str) -> tuple[int, str]:
    """One GET through the ASGI app built from the registry's routes: (status, body)."""
    app = Starlette(routes=registry.public_routes())
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode()


def _use_every_entry_point() -> None:
    from kms.demo import load_demo
    from kms.modules.contacts import privacy, service

    with session_scope() as session:
        contact_id = service.create_person(session, last_name="Mustermann").id
    with session_scope(write=False) as session:
        for _title, provide in registry.overview_providers(session):
            provide(session)
        for _title, panel in registry.contact_panels(session):
            panel(contact_id)
        archive = privacy.subject_access(session, contact_id)
    data = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("auskunft.json"))["Daten"]
    assert data["Zusatzmodul"] == ["ein Datensatz"]  # the Auskunft never locks
    run_due()
    load_demo(force=True)


def test_a_locked_add_on_is_idle_on_every_entry_point_but_auskunft_and_public_routes(
    addon: list[str],
) -> None:
    """Without a licence: no tile, panel, automatism, demo or private route; the Auskunft
    and the public feed still answer."""
    with session_scope(write=False) as session:
        assert not registry.usable(session, fake_addon.SPEC)
        with pytest.raises(licensing.ModuleLocked, match="nicht lizenziert"):
            registry.require_usable(session, fake_addon.SPEC)
    _use_every_entry_point()
    status, text = _get("/api/fakeaddon/data")
    assert status == 403 and "nicht lizenziert" in text
    assert _get("/pub/fakeaddon/feed.xml") == (200, "öffentlich")
    assert addon == ["export", "public route"]


def test_a_licensed_add_on_runs_on_every_entry_point(
    addon: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a valid licence every entry point runs the add-on's code."""
    _license(monkeypatch)
    _use_every_entry_point()
    assert _get("/api/fakeaddon/data") == (200, "privat")
    assert addon == ["overview", "panel", "export", "automatism", "demo", "private route"]


def test_core_modules_are_always_usable() -> None:
    """Modules without `licensed` need no licence."""
    with session_scope(write=False) as session:
        assert registry.usable_modules(session) == registry.modules()
