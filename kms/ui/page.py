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
from kms.permissions import Permission, granted
from kms.registry import PageSpec, module_of, page_by_url
from kms.ui import auth as ui_auth
from kms.ui import inputs  # noqa: F401 - installs the input cleaning before any widget runs
from kms.ui.chrome import render_banner, render_functions, render_navigation, render_support
from kms.ui.licence import page_allowed
from kms.ui.text import plain

log = logging.getLogger(__name__)

NO_PERMISSION = (
    "Keine Berechtigung: Ihre Rolle darf die Seite „{title}“ nicht öffnen. Bitte wenden Sie "
    "sich an den Inhaber, wenn Sie sie brauchen."
)


def user_permissions() -> frozenset[Permission]:
    """What the logged-in user's role allows, read once per run (role changes apply at once)."""
    with session_scope(write=False) as session:
        return granted(session)


@dataclass
class PageContext:
    """What a page's render function gets: who is logged in, and whether KMS is read-only."""

    user: ui_auth.CurrentUser
    page: PageSpec
    read_only: bool
    permissions: frozenset[Permission] = frozenset(Permission)

    def may(self, permission: Permission | None) -> bool:
        """True if the user's role allows `permission` (to hide what a service would refuse)."""
        return permission is None or permission in self.permissions

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
    """Page config shared by app.py and pages run directly by deep link.

    The favicon is KMS's own SVG, which Streamlit hands to the browser as a data: URL: a
    Material icon name would be fetched from Google's font server (the CSP blocks other
    origins anyway), and a file served from /media would need a login (kms.web).
    """
    st.set_page_config(page_title="KMS", page_icon=FAVICON, layout="wide")


def login_required() -> ui_auth.CurrentUser | None:
    """Migrate, then show banner + setup/login when nobody is logged in."""
    ensure_migrated()
    user = ui_auth.resume_from_cookie()
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
        permissions = user_permissions()
        ctx = PageContext(user=user, page=page, read_only=read_only, permissions=permissions)
        render_navigation(ctx.may)
        with st.sidebar:
            st.caption(f"Angemeldet als {plain(user.display_name or user.username)}")
            if st.button("Abmelden", key="kms_logout", icon=":material/logout:"):
                ui_auth.logout(user)
                st.rerun()
        allowed = ctx.may(page.permission)
        if allowed:
            render_functions(tuple(f for f in page.functions if ctx.may(f.permission)))
        render_support()
        st.title(page.title)
        if not allowed:
            # A deep link or bookmark to a page the role may not open: say so, show nothing.
            st.error(NO_PERMISSION.format(title=page.title), icon=":material/block:")
        elif page_allowed(page, module_of(page)):  # else a locked add-on's licence page
            render(ctx)
        # A login that lands on a refused or locked page still needs its cookie.
        ui_auth.set_pending_cookie()
    except ScriptControlException:
        raise
    except KmsError as exc:
        st.error(plain(exc.message))
    except Exception as exc:  # noqa: BLE001 - the user sees a message, the log the traceback
        report_unexpected(url_path, exc)
