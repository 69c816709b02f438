"""What every page shows around its content: the banner and the sidebar."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from kms.config import ROOT
from kms.db import session_scope
from kms.functions import FunctionSpec
from kms.notices import Audience, banner
from kms.permissions import Permission
from kms.support import support_contact
from kms.ui.text import plain


def render_banner(audience: Audience) -> bool:
    """Hinweise und Wartungsfenster at the top, as far as `audience` may read them;
    returns True while KMS is read-only."""
    with session_scope(write=False) as session:
        state = banner(session, audience=audience)
    box = st.container(key="kms_banner")
    with box:
        for notice in state.notices:
            show = st.warning if notice.level == "warning" else st.info
            show(plain(notice.text), icon=":material/campaign:")
        for level, text in state.system_warnings:
            show = st.warning if level == "warning" else st.info
            show(plain(text), icon=":material/notifications:")
        text = plain(state.maintenance_text)
        if state.read_only:
            st.error(text, icon=":material/construction:")
        elif state.window_soon:
            st.warning(text, icon=":material/schedule:")
        else:
            st.caption(f":material/event: {text}")
    return state.read_only


def render_navigation(may_open: Callable[[Permission | None], bool]) -> None:
    """Sectioned page links in the sidebar: only the pages the user's role may open."""
    from kms.registry import SECTIONS, pages
    from kms.ui.licence import LOCK_ICON, locked_pages

    locked = locked_pages()
    by_section: dict[str, list] = {name: [] for name in SECTIONS}
    for page in pages():
        if may_open(page.permission):
            by_section[page.section].append(page)
    with st.sidebar:
        for section, items in by_section.items():
            if not items:
                continue
            if section:
                st.caption(section)
            for page in items:
                # A Page object that is never the default: Streamlit gives the default page's
                # link an empty href, which the browser resolves to the page that is open
                # (during the Ersteinrichtung "Tutorial Ersteinrichtung" led to /einstellungen).
                # A locked add-on's pages stay listed with a lock: they explain the licence.
                icon = LOCK_ICON if page.url_path in locked else page.icon
                target = st.Page(
                    ROOT / page.script, title=page.title, icon=icon, url_path=page.url_path
                )
                st.page_link(target, label=page.title, icon=icon)


def render_support() -> None:
    """The operator's support contact at the bottom of the sidebar."""
    contact = support_contact()
    if not any(contact.values()):
        return
    with st.sidebar:
        st.divider()
        st.caption("Support")
        for value in contact.values():
            if value:
                st.caption(plain(value))


def render_functions(functions: tuple[FunctionSpec, ...]) -> None:
    """The page's ▶ functions under "Funktionen" in the sidebar."""
    if not functions:
        return
    with st.sidebar:
        st.subheader("Funktionen")
        for fn in functions:
            if st.button(f"▶ {fn.label}", key=f"fn_{fn.key}", help=fn.description, width="stretch"):
                st.session_state[f"fn_open_{fn.key}"] = True
