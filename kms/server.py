"""The one server process: Streamlit UI, background automatisms and public routes."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

import kms
from kms.config import ROOT, get_config, private_umask
from kms.db import session_scope
from kms.registry import check, public_routes, start, stop
from kms.scheduler import Scheduler
from kms.web import MediaLoginMiddleware, SecurityHeadersMiddleware, trust_configured_proxies
from kms.web import routes as web_routes

log = logging.getLogger("kms.server")
private_umask()  # also when started as `streamlit run kms/server.py`, not through the CLI


async def status(_request: Request) -> JSONResponse:
    """Public status: version and whether KMS is read-only (for monitoring)."""
    from kms.notices import banner

    with session_scope(write=False) as session:
        state = banner(session)
    return JSONResponse({"version": kms.__version__, "read_only": state.read_only})


def routes() -> list[BaseRoute]:
    """Status, the session cookie route, and whatever modules register (feeds, downloads)."""
    return [
        Route("/api/status", status, methods=["GET", "HEAD"]),
        *web_routes(),
        *public_routes(),
    ]


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    """Start (migrations, then every module's on_start: a restore a killed process left is
    finished and the backups are listed in Dokumente), check the registry, and run the
    scheduler for the life of the server; at shutdown every module's on_stop."""
    start()
    problems = check(imports=False)  # importing every module's code here delayed the start
    if problems:
        raise RuntimeError("Module registry is inconsistent: " + "; ".join(problems))
    threading.Thread(target=warm_first_page, name="kms-warm-imports", daemon=True).start()
    scheduler = None
    if get_config().scheduler_enabled:
        scheduler = Scheduler(float(os.environ.get("KMS_SCHEDULER_INTERVAL", "20")))
        scheduler.start()
        log.info("scheduler started")
    try:
        yield {}
    finally:
        if scheduler is not None:
            scheduler.stop()
        stop()


def warm_first_page() -> None:
    """Import what the first page run needs and the server's start did not, while the
    browser is still loading Streamlit's scripts: st.set_page_config hands the favicon to
    Streamlit's image code, which imports numpy and PIL (about a quarter second; the login
    page would otherwise wait for it). Only third-party packages that import nothing of
    KMS, so this thread and a page's script thread never wait for each other's imports."""
    try:
        import numpy  # noqa: F401
        from PIL import Image, ImageFile  # noqa: F401
    except ImportError:  # pragma: no cover - both are Streamlit dependencies
        log.warning("warm-up imports failed", exc_info=True)


def on_script_error(exc: Exception) -> bool:
    """Last line of defence: an error that escaped run_page is logged, never shown raw."""
    from kms.ui.page import report_unexpected

    report_unexpected("app", exc)
    return True


# Before uvicorn reads its configuration: forwarded headers only from KMS_TRUSTED_PROXIES.
trust_configured_proxies()
app = st.App(
    ROOT / "app.py",
    lifespan=lifespan,
    routes=routes(),
    # Outermost first: even a refused /media request gets the security headers.
    middleware=[Middleware(SecurityHeadersMiddleware), Middleware(MediaLoginMiddleware)],
    on_script_error=on_script_error,
)
