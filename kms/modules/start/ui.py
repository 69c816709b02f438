"""The Übersicht page: greeting, the Ersteinrichtung reminder and every module's key figures."""

from __future__ import annotations

import streamlit as st

from kms import onboarding
from kms.db import session_scope
from kms.permissions import Permission
from kms.registry import Figure, overview_providers, page_by_url
from kms.ui.page import PageContext
from kms.ui.text import plain

COLUMNS = 4


def render_overview(ctx: PageContext) -> None:
    """Greeting, setup reminder, then the figures of all modules in tiles of four per row."""
    with session_scope(write=False) as session:
        progress = onboarding.steps(session)
        figures = [
            figure
            for _title, provide in overview_providers(session)
            for figure in provide(session)
            if _may_see(ctx, figure)
        ]
    st.write(f"Willkommen, {plain(ctx.user.display_name or ctx.user.username)}.")
    if not progress.done and ctx.may(Permission.SETTINGS):
        st.info("Die Ersteinrichtung ist noch nicht abgeschlossen.")
        st.page_link("pages/ersteinrichtung.py", label="Zur Ersteinrichtung", icon="▶️")
    for start in range(0, len(figures), COLUMNS):
        for column, figure in zip(
            st.columns(COLUMNS), figures[start : start + COLUMNS], strict=False
        ):
            with column:
                _tile(figure)


def _may_see(ctx: PageContext, figure: Figure) -> bool:
    """A figure belongs to its page: shown only to roles that may open that page (roles)."""
    page = page_by_url(figure.page) if figure.page else None
    return page is None or ctx.may(page.permission)


def _tile(figure: Figure) -> None:
    with st.container(border=True):
        st.caption(plain(figure.label))
        value = f":orange[{plain(figure.value)}]" if figure.attention else plain(figure.value)
        st.markdown(f"### {value}")
        if figure.detail:
            st.caption(plain(figure.detail))
        page = page_by_url(figure.page) if figure.page else None
        if page is not None:
            st.page_link(page.script, label=f"Zu {page.title}", icon=":material/arrow_forward:")
