"""The module registry: adding a module is one line here plus its package."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kms.functions import AutomatismSpec, FunctionSpec
from kms.permissions import Permission
from kms.reporting import ReportSpec, spec_problems

# Navigation sections in the order of the manual.
SECTIONS = ("", "Kunden", "Rechnungen & Schreiben", "Finanzen", "Zusatzmodule", "Sonstiges")
# The URL path of the navigation entry that serves "/" (app.py); the browser never shows it.
# It differs from every page's path, and it is the path Streamlit itself gives app.py, so
# the entry's id is the main script's: a run that starts before any st.navigation (the
# server's first, every AppTest run) is already on the page it ends on.
ROOT_PATH = "app"


@dataclass(frozen=True)
class PageSpec:
    """One page: a thin script under pages/ and where it sits in the navigation."""

    script: str
    title: str
    icon: str
    url_path: str
    section: str
    functions: tuple[FunctionSpec, ...] = ()
    # What the acting user needs to open the page; None: every logged-in user.
    permission: Permission | None = None


@dataclass(frozen=True)
class Figure:
    """One key figure of a module on the Übersicht page, e.g. "Offene Rechnungen: 3"."""

    label: str
    value: str
    detail: str = ""
    # url_path of the page where the figure's records are (a link under the figure).
    page: str | None = None
    # True when the owner should act (overdue invoices, an old backup): shown in orange.
    attention: bool = False


@dataclass(frozen=True)
class DocumentType:
    """A kind of Dokumente document a module files, with its German label and statutory
    retention (None = none)."""

    key: str
    label: str
    retention_years: int | None = None
    legal_basis: str = ""
    user_selectable: bool = True  # offered when the user uploads
    # Dotted path to `delete(session, document) -> str` for documents whose deletion follows
    # their module's rules (backups: never the newest); "" deletes like any document.
    delete_with: str = ""


@dataclass(frozen=True)
class FileStore:
    """Files a module keeps outside files_dir/documents that Dokumente still lists: their
    storage name is "<key>:<file name>". Dotted paths, resolved on use."""

    key: str
    root: str  # () -> Path: the directory holding the store's files
    url: str  # (file name) -> str: the authenticated route that streams a file


@dataclass(frozen=True)
class ModuleSpec:
    """A module's manifest: everything it contributes, and nothing plugs in any other way.

    docs/modules.md explains each field with an example (a test builds a module from it).
    """

    key: str
    title: str
    pages: tuple[PageSpec, ...] = ()
    automatisms: tuple[AutomatismSpec, ...] = field(default=())
    models: str | None = None
    licensed: bool = False
    # Dotted path to `routes() -> list[Route]`: public reads under /pub/<key>/ (feeds, media),
    # downloads under /api/<key>/ behind kms.web.login_required.
    routes: str | None = None
    # Dotted path to `load(session) -> str`: idempotent fictitious demo data (python -m kms demo).
    demo: str | None = None
    # Dotted path to `panel(contact_id: int) -> None` (Streamlit, in the module's ui.py): the
    # module's section on a contact's detail view (its invoices, letters, documents, bookings).
    contact_panel: str | None = None
    # Dotted path to `count(session, contact_id) -> int`: how many of the module's records refer
    # to the contact. A referenced contact can only be archived, never deleted.
    contact_references: str | None = None
    # Dotted path to `export(session, contact_id) -> dict`: everything the module stores about
    # the contact, for the Auskunft (Art. 15 DSGVO). JSON-able values; bytes become ZIP files.
    contact_export: str | None = None
    # Dotted path to `overview(session) -> list[Figure]` (no Streamlit): the module's key
    # figures on the Übersicht page, computed in SQL.
    overview: str | None = None
    # Keys of the modules this one builds on; the registry orders modules after them.
    requires: tuple[str, ...] = ()
    # Dotted path to `register(subparsers, add, groups)`: the module's `python -m kms` commands.
    cli: str | None = None
    # Dotted path to a kms.backups.hooks.MonotonicCounter: numbers that never go backwards
    # across a restore (invoice number ranges).
    backup_counter: str | None = None
    # Dotted path to `turnover(session, year) -> Decimal`: received net turnover in the sense
    # of § 19 Abs. 2 UStG, counted by the Kleinunternehmer limit watch.
    turnover_source: str | None = None
    # Dotted path to `on_start() -> None`: work when the server or a CLI command starts, after
    # the migrations (finishing a restore that a killed process left). Never per session.
    on_start: str | None = None
    # Dotted path to `on_stop() -> None`: work when the server shuts down gracefully (writing
    # buffered data). uvicorn re-raises SIGTERM after its shutdown, so atexit never runs.
    on_stop: str | None = None
    # Its reports (kms.reporting.ReportSpec): the Berichte page, `kms.reports` and
    # `python -m kms report` offer them; keys are unique across all modules.
    reports: tuple[ReportSpec, ...] = ()
    # The Dokumente types the module files (label, retention); Dokumente offers and checks them.
    document_types: tuple[DocumentType, ...] = ()
    # Stores of files the module keeps outside files_dir/documents but lists in Dokumente.
    file_stores: tuple[FileStore, ...] = ()
    # Dotted path to `files(session) -> list[pathlib.Path]`: every file the module stores (a
    # media store, uploads). A licensed add-on's purge deletes them with its rows, after a
    # retained backup that holds them, so they must live under the data dir (backups copy it).
    files: str | None = None


# Built-in modules register exactly like add-ons will: a dotted path to a SPEC.
MODULE_PATHS = (
    "kms.modules.start",
    "kms.modules.contacts",
    "kms.modules.documents",
    "kms.modules.settings",
    "kms.modules.invoices",
    "kms.modules.letters",
    "kms.modules.ledger",
    "kms.modules.bank",
    "kms.modules.intake",
    "kms.modules.pricing",
    "kms.modules.podcasts",
    "kms.modules.reports",
    "kms.modules.bugreports",
    "kms.modules.users",
    "kms.modules.help",
    "kms.backups",
)


def modules() -> tuple[ModuleSpec, ...]:
    """All registered module specs: registry order, each after the modules it requires."""
    specs = [importlib.import_module(path).SPEC for path in MODULE_PATHS]
    keys = {spec.key for spec in specs}
    ordered: list[ModuleSpec] = []
    placed: set[str] = set()
    while len(ordered) < len(specs):
        ready = [
            spec
            for spec in specs
            if spec.key not in placed and all(r in placed or r not in keys for r in spec.requires)
        ]
        if not ready:  # a cycle; check() names it, the registry order stands meanwhile
            ready = [spec for spec in specs if spec.key not in placed]
        ordered.append(ready[0])
        placed.add(ready[0].key)
    return tuple(ordered)


def import_models() -> None:
    """Import every module's models so Base.metadata knows all tables."""
    importlib.import_module("kms.audit")
    importlib.import_module("kms.jobs")
    importlib.import_module("kms.periods")
    for spec in modules():
        if spec.models:
            importlib.import_module(spec.models)


def pages() -> list[PageSpec]:
    """Every page of every module, in registry order."""
    return [page for spec in modules() for page in spec.pages]


def module_of(page: PageSpec) -> ModuleSpec:
    """The module a page belongs to."""
    return next(spec for spec in modules() if page in spec.pages)


def page_by_url(url_path: str) -> PageSpec | None:
    """The page registered under a URL path."""
    return next((p for p in pages() if p.url_path == url_path), None)


def public_routes() -> list[Any]:
    """Routes that modules serve (feeds and media publicly, downloads behind the login check).

    A licensed add-on's routes answer 403 while it is locked, except its public read routes
    under /pub/<module>/, which stay online until its data is purged.
    """
    result: list[Any] = []
    for spec in modules():
        if spec.routes:
            for route in resolve(spec.routes)():
                public = getattr(route, "path", "").startswith(f"/pub/{spec.key}/")
                result.append(_guarded(route, spec, public) if spec.licensed else route)
    return result


def _guarded(route: Any, spec: ModuleSpec, public: bool = False) -> Any:
    """The route with its endpoint behind `usable()`; a public read route only behind "its
    data is not purged" (feeds and media stay online while the data is kept)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from kms.db import session_scope
    from kms.licensing import ModuleLocked, data_kept

    endpoint = route.endpoint

    async def guarded(request: Any) -> Any:
        try:
            with session_scope(write=False) as session:
                if not public:
                    require_usable(session, spec)
                elif not data_kept(session, spec.key):
                    return PlainTextResponse("Nicht mehr verfügbar.", status_code=410)
        except ModuleLocked as exc:
            return PlainTextResponse(exc.message, status_code=403)
        if inspect.iscoroutinefunction(endpoint):
            return await endpoint(request)
        return await run_in_threadpool(endpoint, request)

    return Route(route.path, guarded, methods=list(route.methods or ()), name=route.name)


def resolve(dotted: str) -> Any:
    """Import "package.module.name" and return the named object."""
    module_path, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_path), name)


def usable(session: Session, spec: ModuleSpec) -> bool:
    """The one decision whether a module may be used now: core modules always, a licensed
    add-on while a valid licence covers today. Every entry point of a module asks this (pages,
    routes, automatisms, overview tiles, contact panels, CLI, demo), except the Auskunft export
    (Art. 15 DSGVO must always work) and an add-on's public read routes."""
    if not spec.licensed:
        return True
    from kms.licensing import is_licensed

    return is_licensed(session, spec.key)


def require_usable(session: Session, spec: ModuleSpec) -> None:
    """Raise ModuleLocked (with a German message) unless `usable()`."""
    if not usable(session, spec):
        from kms.licensing import require

        require(session, spec.key, spec.title)


def usable_modules(session: Session) -> tuple[ModuleSpec, ...]:
    """The modules that may be used now, in registry order."""
    return tuple(spec for spec in modules() if usable(session, spec))


def contact_panels(session: Session) -> list[tuple[str, Any]]:
    """(module title, panel function) of every usable module that shows something on a contact."""
    return [
        (spec.title, resolve(spec.contact_panel))
        for spec in usable_modules(session)
        if spec.contact_panel
    ]


def contact_reference_counters() -> list[tuple[str, Any]]:
    """(module title, counter) of every module whose records can refer to a contact."""
    return [
        (spec.title, resolve(spec.contact_references))
        for spec in modules()
        if spec.contact_references
    ]


def contact_exporters() -> list[tuple[str, str, Any]]:
    """(module key, module title, exporter) of every module that stores data about contacts."""
    return [
        (spec.key, spec.title, resolve(spec.contact_export))
        for spec in modules()
        if spec.contact_export
    ]


def overview_providers(session: Session) -> list[tuple[str, Any]]:
    """(module title, overview function) of every usable module with key figures."""
    return [
        (spec.title, resolve(spec.overview)) for spec in usable_modules(session) if spec.overview
    ]


def automatisms() -> list[AutomatismSpec]:
    """Every automatism of every module (for listing; the scheduler runs `usable_automatisms`)."""
    return [a for spec in modules() for a in spec.automatisms]


def start(url: str | None = None) -> None:
    """Process start (server, CLI): tighten the data dir's modes (an instance from before
    0700/0600), migrate, then every module's `on_start`, in order."""
    from kms.config import secure_data_dir
    from kms.db import ensure_migrated

    secure_data_dir()
    ensure_migrated(url)
    for spec in modules():
        if spec.on_start:
            resolve(spec.on_start)()


def stop() -> None:
    """Server shutdown: every module's `on_stop`, in reverse order; one failing never keeps
    the others from running."""
    import logging

    for spec in reversed(modules()):
        if spec.on_stop:
            try:
                resolve(spec.on_stop)()
            except Exception:
                logging.getLogger("kms.registry").exception("%s: on_stop failed", spec.key)


def backup_counters() -> list[Any]:
    """Every module's MonotonicCounter (kms.backups raises them after a restore)."""
    return [resolve(spec.backup_counter) for spec in modules() if spec.backup_counter]


def turnover_sources() -> list[Any]:
    """Every module's § 19 Abs. 2 UStG turnover source (the Kleinunternehmer limit watch)."""
    return [resolve(spec.turnover_source) for spec in modules() if spec.turnover_source]


def document_types() -> list[DocumentType]:
    """Every module's document types, in registry order."""
    return [t for spec in modules() for t in spec.document_types]


def file_stores() -> dict[str, FileStore]:
    """Every module's external file store by key."""
    return {store.key: store for spec in modules() for store in spec.file_stores}


def usable_automatisms(session: Session) -> list[AutomatismSpec]:
    """The automatisms of the modules that may run now (a locked add-on's stay idle)."""
    return [a for spec in usable_modules(session) for a in spec.automatisms]


def functions() -> list[FunctionSpec]:
    """Every function of every page."""
    return [f for page in pages() for f in page.functions]


def check(*, imports: bool = True) -> list[str]:
    """Start-up checks: unique keys and URL paths, known sections, scripts that exist.

    `imports=False` (the server's start) checks the manifest's dotted paths without importing
    them (`defines`): importing every module's UI, demo and PDF code took seconds before the
    server could answer, and the pages import what they use anyway. Tests check with imports.
    """
    from kms.config import ROOT

    problems: list[str] = []
    seen: set[str] = set()
    for page in pages():
        if page.section not in SECTIONS:
            problems.append(f"{page.script}: unknown section {page.section!r}")
        if page.url_path in seen:
            problems.append(f"{page.script}: duplicate url_path {page.url_path!r}")
        seen.add(page.url_path)
        if page.url_path == ROOT_PATH:
            problems.append(f"{page.script}: url_path {ROOT_PATH!r} is the root entry's")
        if not (ROOT / page.script).is_file():
            problems.append(f"{page.script}: script missing")
    keys = [a.key for a in automatisms()] + [f.key for f in functions()]
    problems += [f"duplicate function/automatism key {k!r}" for k in set(keys) if keys.count(k) > 1]
    problems += contact_hook_problems(modules())
    problems += manifest_problems(modules(), imports=imports)
    problems += route_problems(modules())
    problems += report_problems(modules(), imports=imports)
    return problems


def reports(session: Session | None = None) -> list[tuple[ModuleSpec, ReportSpec]]:
    """(module, report) of every module, or of every usable module when a session is given."""
    specs = modules() if session is None else usable_modules(session)
    return [(spec, report) for spec in specs for report in spec.reports]


def report_problems(specs: tuple[ModuleSpec, ...], *, imports: bool = True) -> list[str]:
    """Every report's function and note resolve, its declaration is sound, keys are unique.

    With `imports=False` (the server's start) a path counts when its module file defines the
    name, so starting does not import the reports' pandas and PDF code."""
    problems = []
    keys: dict[str, str] = {}
    for spec in specs:
        for report in spec.reports:
            where = f"module {spec.key!r}: report {report.key!r}"
            if report.key in keys:
                first = keys[report.key]
                problems.append(
                    f"{where}: duplicate report key, already declared by module {first!r}"
                )
            keys.setdefault(report.key, spec.key)
            for name in ("function", "note"):
                dotted = getattr(report, name)
                if dotted is None:
                    continue
                if not imports:
                    if not defines(dotted):
                        problems.append(f"{where}: {name} {dotted!r} does not resolve")
                    continue
                try:
                    target = resolve(dotted)
                except (ImportError, AttributeError, ValueError) as exc:
                    problems.append(f"{where}: {name} {dotted!r} does not resolve ({exc})")
                    continue
                if not callable(target):
                    problems.append(f"{where}: {name} {dotted!r} is not callable")
            problems += [f"module {spec.key!r}: {p}" for p in spec_problems(report)]
    return problems


# Streamlit serves these itself; a module route there would shadow or be shadowed.
RESERVED_PREFIXES = ("/_stcore/", "/media/", "/component/", "/static/", "/app/static/")


def route_problems(specs: tuple[ModuleSpec, ...]) -> list[str]:
    """Module routes live under /pub/<module>/ (public, no login) or /api/<module>/ (behind
    the login check); never under Streamlit's own prefixes or on a page's URL."""
    problems = []
    page_paths = {f"/{page.url_path}" for spec in specs for page in spec.pages}
    for spec in specs:
        if not spec.routes:
            continue
        for route in resolve(spec.routes)():
            path = getattr(route, "path", "")
            where = f"module {spec.key!r}: route {path!r}"
            if path.startswith(RESERVED_PREFIXES):
                problems.append(f"{where} is under a prefix Streamlit reserves")
            if any(path.rstrip("/") == p or path.startswith(p + "/") for p in page_paths):
                problems.append(f"{where} collides with a page URL")
            if not path.startswith((f"/pub/{spec.key}/", f"/api/{spec.key}/")):
                problems.append(f"{where} must start with /pub/{spec.key}/ or /api/{spec.key}/")
    return problems


DOTTED_FIELDS = (
    "routes",
    "demo",
    "contact_panel",
    "contact_references",
    "contact_export",
    "overview",
    "cli",
    "backup_counter",
    "turnover_source",
    "on_start",
    "files",
    "on_stop",
)


def defines(dotted: str) -> bool:
    """Whether "package.module.name" names a module file that defines or imports `name` at
    its top level, read from the source without importing it (loaded modules are asked)."""
    module_path, _, name = dotted.rpartition(".")
    loaded = sys.modules.get(module_path)
    if loaded is not None:
        return hasattr(loaded, name)
    try:
        found = importlib.util.find_spec(module_path)
    except (ImportError, ValueError):
        return False
    if found is None:
        return False
    if found.origin is None or not found.origin.endswith(".py"):  # not plain source: import
        return _imported_has(dotted)
    tree = ast.parse(Path(found.origin).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return name in names


def _imported_has(dotted: str) -> bool:
    try:
        resolve(dotted)
    except (ImportError, AttributeError):
        return False
    return True


def manifest_problems(specs: tuple[ModuleSpec, ...], *, imports: bool = True) -> list[str]:
    """Every dotted path resolves, every required module is registered, no cycles.

    With `imports=False` a path counts as resolving when its module file defines the name
    (`defines`), so nothing is imported (the server's start, see `check`).
    """
    problems = []
    keys = {spec.key for spec in specs}
    for spec in specs:
        for name in DOTTED_FIELDS:
            dotted = getattr(spec, name)
            if dotted is None:
                continue
            if not imports:
                if not defines(dotted):
                    problems.append(f"module {spec.key!r}: {name} {dotted!r} does not resolve")
                continue
            try:
                resolve(dotted)
            except (ImportError, AttributeError) as exc:
                problems.append(f"module {spec.key!r}: {name} {dotted!r} does not resolve ({exc})")
        problems += [
            f"module {spec.key!r} requires {r!r}, which is not registered"
            for r in spec.requires
            if r not in keys
        ]
        extra = [
            (f"document type {t.key!r} delete_with", t.delete_with) for t in spec.document_types
        ]
        extra += [
            (f"file store {f.key!r} {n}", getattr(f, n))
            for f in spec.file_stores
            for n in ("root", "url")
        ]
        for what, dotted in extra:
            try:
                if dotted:
                    resolve(dotted)
            except (ImportError, AttributeError) as exc:
                problems.append(f"module {spec.key!r}: {what} {dotted!r} does not resolve ({exc})")
        # Before the first st.navigation run of a server, Streamlit resolves a deep link by
        # the file names in pages/: a script named otherwise answers "Page not found".
        problems += [
            f"module {spec.key!r}: page {page.url_path!r} must live in pages/{page.url_path}.py"
            for page in spec.pages
            if Path(page.script) != Path("pages") / f"{page.url_path}.py"
        ]
        if (spec.document_types or spec.file_stores) and spec.key != "documents":
            if "documents" not in spec.requires:
                problems.append(
                    f"module {spec.key!r} files documents but does not require 'documents'"
                )
    for kind, names in (
        ("document type", [t.key for spec in specs for t in spec.document_types]),
        ("file store", [f.key for spec in specs for f in spec.file_stores]),
    ):
        problems += [f"duplicate {kind} {k!r}" for k in sorted(set(names)) if names.count(k) > 1]
    order = [spec.key for spec in specs]
    for spec in specs:
        late = [r for r in spec.requires if r in keys and order.index(r) > order.index(spec.key)]
        if late:
            problems.append(f"module {spec.key!r}: circular requirement on {', '.join(late)}")
    return problems


def tables_of(spec: ModuleSpec) -> list[Any]:
    """The tables a module's models declare (its `models` module, imported)."""
    if not spec.models:
        return []
    from kms.models import Base

    importlib.import_module(spec.models)
    return [
        mapper.local_table
        for mapper in Base.registry.mappers
        if mapper.class_.__module__ == spec.models
    ]


def files_of(session: Session, spec: ModuleSpec) -> list[Path]:
    """The files the module stores now (its `files` hook; none without one)."""
    if not spec.files:
        return []
    return [Path(path) for path in resolve(spec.files)(session)]


def contact_hook_problems(specs: tuple[ModuleSpec, ...]) -> list[str]:
    """A module whose tables point at contacts must say so: references (a referenced contact is
    archived, never deleted, instead of failing on the database's RESTRICT) and export (the
    Auskunft under Art. 15 DSGVO must contain its records)."""
    problems = []
    for spec in specs:
        if spec.key == "contacts":
            continue
        referring = sorted(
            table.name
            for table in tables_of(spec)
            if any(fk.target_fullname.startswith("contacts.") for fk in table.foreign_keys)
        )
        if not referring:
            continue
        missing = [
            hook for hook in ("contact_references", "contact_export") if not getattr(spec, hook)
        ]
        if missing:
            problems.append(
                f"module {spec.key!r}: tables {', '.join(referring)} refer to contacts "
                f"but the spec lacks {' and '.join(missing)}"
            )
    return problems
