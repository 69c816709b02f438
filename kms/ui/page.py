"""The one way a page script runs: login gate, banner, sidebar, error handling."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from kms.db import ensure_migrated, session_scope
from kms.errors import KmsError
from kms.models import ErrorLog
from kms.notices import PUBLIC, USERS
from kms.registry import PageSpec, page_by_url
from kms.ui import auth as ui_auth
from kms.ui.chrome import render_banner, render_functions, render_navigation, render_support

log = logging.getLogger(__name__)


@dataclass
class PageContext:
    """What a page's render function gets: who is logged in, and whether KMS is read-only."""

    user: ui_auth.CurrentUser
    page: PageSpec
    read_only: bool

    def function_requested(self, key: str) -> bool:
        """True while the sidebar function `key` was clicked and not yet closed."""
        return bool(st.session_state.get(f"fn_open_{key}"))

    def close_function(self, key: str) -> None:
        """Forget the function click (after its dialog finished or was cancelled)."""
        st.session_state.pop(f"fn_open_{key}", None)


# The favicon is a file of KMS's own. A ":material/…:" page icon makes the browser fetch an
# SVG from fonts.gstatic.com and an emoji one needs no file but looks different per system;
# Streamlit inlines a local SVG as a data: URI, so showing it sends no request anywhere.
FAVICON = Path(__file__).parent / "static" / "favicon.svg"


def configure() -> None:
    """Page config shared by app.py and pages run directly by deep link."""
    st.set_page_config(page_title="KMS", page_icon=FAVICON, layout="wide")


def login_required() -> ui_auth.CurrentUser | None:
    """Migrate, then show banner + setup/login when nobody is logged in."""
    ensure_migrated()
    user = ui_auth.current_user()
    if user is not None:
        return ui_auth.gate()
    # Anyone can open the login page: the banner shows only what is public.
    render_banner(PUBLIC)
    return ui_auth.gate()


def report_unexpected(page: str, exc: BaseException) -> None:
    """Log an unexpected error server-side and show a German message, never a traceback."""
    log.exception("unexpected error on page %s", page)
    error_id = None
    try:
        with session_scope() as session:
            entry = ErrorLog(
                page=page,
                error=repr(exc)[:2000],
                traceback="".join(traceback.format_exception(exc)),
            )
            session.add(entry)
            session.flush()
            error_id = entry.id
    except Exception:
        log.exception("could not store error log")
    suffix = f" (Fehlernummer {error_id})" if error_id else ""
    st.error(
        "Es ist ein unerwarteter Fehler aufgetreten"
        f"{suffix}. Ihre Eingaben wurden nicht gespeichert. Bitte versuchen Sie es erneut oder "
        "schreiben Sie eine Fehlermeldung unter Sonstiges → Fehlermeldungen."
    )


def _require_licence(page: PageSpec) -> None:
    """Licensed add-ons show a German notice instead of their content without a licence."""
    from kms.licensing import require
    from kms.registry import module_of

    spec = module_of(page)
    if spec.licensed:
        with session_scope(write=False) as session:
            require(session, spec.key, spec.title)


def run_page(url_path: str, render: Callable[[PageContext], None]) -> None:
    """Run a page: the login gate first (deep links bypass app.py), then chrome and content."""
    configure()
    page = page_by_url(url_path)
    if page is None:  # pragma: no cover - a programming error caught by registry tests
        raise RuntimeError(f"page {url_path!r} is not registered")
    try:
        user = login_required()
        if user is None:
            st.stop()
        read_only = render_banner(USERS)
        render_navigation()
        with st.sidebar:
            st.caption(f"Angemeldet als {user.display_name or user.username}")
            if st.button("Abmelden", key="kms_logout", icon=":material/logout:"):
                ui_auth.logout(user)
                st.rerun()
        render_functions(page.functions)
        render_support()
        st.title(page.title)
        _require_licence(page)
        render(PageContext(user=user, page=page, read_only=read_only))
        ui_auth.set_pending_cookie()
    except ScriptControlException:
        raise
    except KmsError as exc:
        st.error(exc.message)
    except Exception as exc:  # noqa: BLE001 - the user sees a message, the log the traceback
        report_unexpected(url_path, exc)
