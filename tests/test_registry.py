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

from kms import cli, licensing, registry
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
    with session_scope() as session:
        token = licensing.issue(
            private,
            module="fakeaddon",
            licensee="Musterfirma",
            instance=licensing.instance_id(session),
            valid_until=date(2099, 12, 31),
        )
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
    from kms.demo import load_demo_data
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
    with session_scope() as session:
        load_demo_data(session)
    cli.main(["fakeaddon", "ping"])


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


def test_public_routes_of_an_add_on_go_offline_once_its_purge_is_due(
    addon: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expired: feeds stay online while the data is kept; after the retention period: 410."""
    from datetime import UTC, datetime

    _license(monkeypatch)
    monkeypatch.setattr("kms.types.utcnow", lambda: datetime(2100, 3, 1, tzinfo=UTC))
    assert _get("/api/fakeaddon/data")[0] == 403
    assert _get("/pub/fakeaddon/feed.xml") == (200, "öffentlich")
    monkeypatch.setattr("kms.types.utcnow", lambda: datetime(2100, 7, 1, tzinfo=UTC))
    assert _get("/pub/fakeaddon/feed.xml") == (410, "Nicht mehr verfügbar.")
    assert addon == ["public route"]


def test_a_locked_add_on_cli_command_says_why_in_german(
    addon: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m kms fakeaddon ping` exits 2 with the licence message and runs nothing."""
    assert cli.main(["fakeaddon", "ping"]) == 2
    assert "Fehler: Das Zusatzmodul „Zusatzmodul“ ist nicht lizenziert" in capsys.readouterr().err
    assert addon == []


def test_a_licensed_add_on_runs_on_every_entry_point(
    addon: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a valid licence every entry point runs the add-on's code."""
    _license(monkeypatch)
    _use_every_entry_point()
    assert _get("/api/fakeaddon/data") == (200, "privat")
    assert addon == ["overview", "panel", "export", "automatism", "demo", "cli", "private route"]


def test_core_modules_are_always_usable() -> None:
    """Modules without `licensed` need no licence."""
    with session_scope(write=False) as session:
        usable = registry.usable_modules(session)
    assert usable == tuple(spec for spec in registry.modules() if not spec.licensed)
    # An unlicensed add-on (Preiskalkulation) is not usable, its data and pages stay.
    assert "pricing" in {spec.key for spec in registry.modules()}
    assert "pricing" not in {spec.key for spec in usable}


def test_modules_come_after_the_modules_they_require(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order of MODULE_PATHS does not matter: requires decides (demo, hooks, navigation)."""
    monkeypatch.setattr(
        registry,
        "MODULE_PATHS",
        (
            "kms.modules.invoices",
            "kms.modules.settings",
            "kms.modules.documents",
            "kms.modules.contacts",
        ),
    )
    # Each step takes the first module in MODULE_PATHS whose requirements are placed.
    assert [spec.key for spec in registry.modules()] == [
        "settings",
        "contacts",
        "documents",
        "invoices",
    ]


def test_manifest_problems_name_unresolvable_paths_missing_and_circular_requirements() -> None:
    """check() refuses a dotted path that does not import, an unknown or circular requirement."""
    from dataclasses import replace

    from kms.registry import ModuleSpec, manifest_problems

    broken = replace(fake_addon.SPEC, overview="tests.fake_addon.gibt_es_nicht")
    assert manifest_problems((broken,))[0].startswith(
        "module 'fakeaddon': overview 'tests.fake_addon.gibt_es_nicht' does not resolve"
    )
    # The server's start checks the same without importing (the module file must define it).
    assert manifest_problems((broken,), imports=False) == [
        "module 'fakeaddon': overview 'tests.fake_addon.gibt_es_nicht' does not resolve"
    ]
    assert manifest_problems((fake_addon.SPEC,), imports=False) == []
    missing_module = replace(fake_addon.SPEC, demo="tests.gibt_es_nicht.load")
    assert manifest_problems((missing_module,), imports=False)[0].endswith("does not resolve")
    lonely = ModuleSpec(key="a", title="A", requires=("ledger",))
    assert manifest_problems((lonely,)) == ["module 'a' requires 'ledger', which is not registered"]
    a = ModuleSpec(key="a", title="A", requires=("b",))
    b = ModuleSpec(key="b", title="B", requires=("a",))
    assert manifest_problems((a, b)) == ["module 'a': circular requirement on b"]


def test_a_page_script_is_named_like_its_url() -> None:
    """A deep link opened right after the server started is resolved by the file names in
    pages/ (no st.navigation has run yet): /podcast-kanaele served by podcast_kanaele.py
    showed Streamlit's "Page not found" to the first visitor."""
    from kms.registry import ModuleSpec, PageSpec, manifest_problems

    page = PageSpec("pages/podcast_kanaele.py", "Podcast-Kanäle", "🎙", "podcast-kanaele", "X")
    assert manifest_problems((ModuleSpec(key="a", title="A", pages=(page,)),)) == [
        "module 'a': page 'podcast-kanaele' must live in pages/podcast-kanaele.py"
    ]
    assert registry.check() == []  # every registered page, its script existing


def test_document_types_and_file_stores_come_from_the_module_specs() -> None:
    """Dokumente knows the types and stores the modules declare; check() refuses a duplicate,
    an unresolvable path and a module that files documents without requiring Dokumente."""
    from kms.modules.documents import service, storage
    from kms.registry import DocumentType, FileStore, ModuleSpec, manifest_problems

    owners = {t.key: s.key for s in registry.modules() for t in s.document_types}
    assert owners["invoice"] == owners["dunning"] == "invoices"
    assert owners["letter"] == "letters" and owners["backup"] == "backups"
    assert owners["upload"] == "documents"
    assert [t.key for t in service.document_types()][-1] == "other"
    assert service.get_type("letter").retention_years == 6
    assert storage.split_external("backups:a.tar") is not None
    assert registry.file_stores()["backups"].root == "kms.backups.store.backups_dir"

    docs = ModuleSpec(key="documents", title="Dokumente")
    a = ModuleSpec(
        key="a",
        title="A",
        requires=("documents",),
        document_types=(DocumentType("offer", "Angebot", delete_with="tests.nichts.da"),),
        file_stores=(FileStore("media", "tests.nichts.root", "tests.nichts.url"),),
    )
    b = ModuleSpec(key="b", title="B", document_types=(DocumentType("offer", "Offerte"),))
    problems = manifest_problems((docs, a, b))
    assert any(
        "document type 'offer' delete_with 'tests.nichts.da' does not" in p for p in problems
    )
    assert any("file store 'media' root" in p for p in problems)
    assert "module 'b' files documents but does not require 'documents'" in problems
    assert "duplicate document type 'offer'" in problems


def test_the_real_registry_declares_hooks_in_the_manifest() -> None:
    """Invoices declare their restore counter and commands, the ledger the one §19 turnover
    source, in their ModuleSpecs."""
    from kms.backups.hooks import counters
    from kms.modules.invoices.backup_hooks import COUNTER
    from kms.modules.ledger.turnover import received_turnover
    from kms.modules.settings.taxation import turnover_sources

    assert counters() == [COUNTER]
    assert turnover_sources() == [received_turnover]
    assert registry.check() == []


def test_the_servers_start_check_imports_no_module_code() -> None:
    """The server's check agrees with the importing one on the real registry and imports none
    of the modules' UI, demo or PDF code (that made the cold start seconds slower)."""
    import subprocess
    import sys

    from kms.config import ROOT

    probe = (
        "import sys; from kms.registry import check; "
        "before = set(sys.modules); assert check(imports=False) == []; "
        "new = set(sys.modules) - before; "
        "print(sorted(m for m in new if m.split('.')[0] in ('fpdf', 'pandas', 'facturx')"
        " or m.endswith(('.ui', '.demo'))))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "[]"
    assert registry.check(imports=False) == registry.check() == []


def test_route_problems_name_reserved_prefixes_page_urls_and_foreign_paths(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A module route under /media/, on a page's URL, or outside /pub|api/<module>/ is refused."""
    from dataclasses import replace

    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from kms.registry import ModuleSpec, PageSpec, route_problems

    def ok(_request: object) -> PlainTextResponse:
        return PlainTextResponse("")

    paths = ["/media/x", "/rechnungen/export", "/feeds/a.xml", "/api/demo/x", "/pub/demo/x"]
    monkeypatch.setattr(fake_addon, "routes", lambda: [Route(p, ok) for p in paths])
    page = PageSpec("pages/rechnungen.py", "Rechnungen", "", "rechnungen", "")
    spec = replace(
        ModuleSpec(key="demo", title="Demo", pages=(page,)), routes="tests.fake_addon.routes"
    )
    assert route_problems((spec,)) == [
        "module 'demo': route '/media/x' is under a prefix Streamlit reserves",
        "module 'demo': route '/media/x' must start with /pub/demo/ or /api/demo/",
        "module 'demo': route '/rechnungen/export' collides with a page URL",
        "module 'demo': route '/rechnungen/export' must start with /pub/demo/ or /api/demo/",
        "module 'demo': route '/feeds/a.xml' must start with /pub/demo/ or /api/demo/",
    ]
