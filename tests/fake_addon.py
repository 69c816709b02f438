"""A stand-in licensed add-on with every kind of entry point, for the licence gate tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from kms.config import get_config
from kms.functions import AutomatismSpec
from kms.registry import Figure, ModuleSpec

# Every call of an entry point is recorded here.
CALLS: list[str] = []


def _automatism(_session: Any, _now: datetime) -> str:
    CALLS.append("automatism")
    return "gelaufen"


def overview(_session: Any) -> list[Figure]:
    CALLS.append("overview")
    return [Figure("Zusatzmodul", "42")]


def panel(_contact_id: int) -> None:
    CALLS.append("panel")


def count(_session: Any, _contact_id: int) -> int:
    return 0


def export(_session: Any, _contact_id: int) -> list[str]:
    CALLS.append("export")
    return ["ein Datensatz"]


def demo(_session: Any) -> str:
    CALLS.append("demo")
    return "Zusatzmodul"


async def _private(_request: Request) -> PlainTextResponse:
    CALLS.append("private route")
    return PlainTextResponse("privat")


def _feed(_request: Request) -> PlainTextResponse:
    CALLS.append("public route")
    return PlainTextResponse("öffentlich")


def _cli_ping(_args: Any) -> int:
    CALLS.append("cli")
    return 0


def register_cli(sub: Any, add: Any, groups: Any) -> None:
    group = groups(sub, "fakeaddon", "Zusatzmodul zum Testen", "fakeaddon_cmd")
    add(group, "ping", _cli_ping, "einen Aufruf vermerken")


def media_dir() -> Path:
    """Where the stand-in keeps its files (like a media store under the data dir)."""
    return get_config().files_dir / "fakeaddon"


def stored_files(_session: Any) -> list[Path]:
    """Its stored files (ModuleSpec.files): everything in media_dir()."""
    folder = media_dir()
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def routes() -> list[Route]:
    return [
        Route("/api/fakeaddon/data", _private, methods=["GET"]),
        Route("/pub/fakeaddon/feed.xml", _feed, methods=["GET"]),
    ]


SPEC = ModuleSpec(
    key="fakeaddon",
    title="Zusatzmodul",
    licensed=True,
    automatisms=(
        AutomatismSpec("fakeaddon_tick", "Ticken", "Tickt.", timedelta(hours=1), _automatism),
    ),
    routes="tests.fake_addon.routes",
    cli="tests.fake_addon.register_cli",
    demo="tests.fake_addon.demo",
    overview="tests.fake_addon.overview",
    contact_panel="tests.fake_addon.panel",
    contact_references="tests.fake_addon.count",
    contact_export="tests.fake_addon.export",
    files="tests.fake_addon.stored_files",
)
