"""The module registry: adding a module is one line here plus its package."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from kms.functions import AutomatismSpec, FunctionSpec
from kms.permissions import Permission

# Navigation sections in the order of the manual.
SECTIONS = ("", "Kunden", "Rechnungen & Schreiben", "Finanzen", "Zusatzmodule", "Sonstiges")


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
class ModuleSpec:
    """A module's manifest: its pages, functions (▶), automatisms (⊕) and models."""

    key: str
    title: str
    pages: tuple[PageSpec, ...] = ()
    automatisms: tuple[AutomatismSpec, ...] = field(default=())
    models: str | None = None
    licensed: bool = False
    # Dotted path to a function returning Starlette routes served without login (feeds).
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


# Built-in modules register exactly like add-ons will: a dotted path to a SPEC.
MODULE_PATHS = (
    "kms.modules.start",
    "kms.modules.contacts",
    "kms.modules.documents",
    "kms.modules.settings",
    "kms.modules.invoices",
    "kms.modules.letters",
    "kms.modules.bugreports",
    "kms.modules.users",
    "kms.modules.help",
    "kms.backups",
)


def modules() -> tuple[ModuleSpec, ...]:
    """All registered module specs, in registry order."""
    return tuple(importlib.import_module(path).SPEC for path in MODULE_PATHS)


def import_models() -> None:
    """Import every module's models so Base.metadata knows all tables."""
    importlib.import_module("kms.audit")
    importlib.import_module("kms.jobs")
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
    """Routes that modules serve publicly (no login), e.g. podcast feeds and media."""
    result: list[Any] = []
    for spec in modules():
        if spec.routes:
            result.extend(resolve(spec.routes)())
    return result


def resolve(dotted: str) -> Any:
    """Import "package.module.name" and return the named object."""
    module_path, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_path), name)


def contact_panels() -> list[tuple[str, Any]]:
    """(module title, panel function) of every module that shows something on a contact."""
    return [(spec.title, resolve(spec.contact_panel)) for spec in modules() if spec.contact_panel]


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


def overview_providers() -> list[tuple[str, Any]]:
    """(module title, overview function) of every module with key figures for the Übersicht."""
    return [(spec.title, resolve(spec.overview)) for spec in modules() if spec.overview]


def automatisms() -> list[AutomatismSpec]:
    """Every automatism of every module."""
    return [a for spec in modules() for a in spec.automatisms]


def functions() -> list[FunctionSpec]:
    """Every function of every page."""
    return [f for page in pages() for f in page.functions]


def check() -> list[str]:
    """Start-up checks: unique keys and URL paths, known sections, scripts that exist."""
    from kms.config import ROOT

    problems: list[str] = []
    seen: set[str] = set()
    for page in pages():
        if page.section not in SECTIONS:
            problems.append(f"{page.script}: unknown section {page.section!r}")
        if page.url_path in seen:
            problems.append(f"{page.script}: duplicate url_path {page.url_path!r}")
        seen.add(page.url_path)
        if not (ROOT / page.script).is_file():
            problems.append(f"{page.script}: script missing")
    keys = [a.key for a in automatisms()] + [f.key for f in functions()]
    problems += [f"duplicate function/automatism key {k!r}" for k in set(keys) if keys.count(k) > 1]
    return problems
