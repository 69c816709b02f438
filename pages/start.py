"""Übersicht: the start page after login."""

import streamlit as st

from kms.db import session_scope
from kms.onboarding import steps
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        progress = steps(session)
    st.write(f"Willkommen, {ctx.user.display_name or ctx.user.username}.")
    if not progress.done:
        st.info("Die Ersteinrichtung ist noch nicht abgeschlossen.")
        st.page_link("pages/ersteinrichtung.py", label="Zur Ersteinrichtung", icon="▶️")
    st.page_link("pages/personen.py", label="Personen", icon=":material/person:")
    st.page_link("pages/einstellungen.py", label="Einstellungen", icon=":material/settings:")
    st.page_link("pages/hilfe.py", label="Hilfe", icon=":material/help:")


run_page("start", render)
