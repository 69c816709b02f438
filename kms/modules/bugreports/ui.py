"""Streamlit parts of Fehlermeldungen: write a report, see all reports, ▶ send one to support."""

from __future__ import annotations

from typing import cast

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_datetime
from kms.functions import log_function_run
from kms.mail import MailError
from kms.modules.bugreports import SEND, service
from kms.registry import pages
from kms.ui.forms import CHOOSE, labels_of, saving
from kms.ui.page import PageContext
from kms.ui.paging import pager, requested_page
from kms.ui.text import plain

LABELS = {"title": "Titel", "description": "Beschreibung"}
PAGE_SIZE = 20


def _forget_send_click() -> None:
    """Closing the dialog with × or Esc forgets the click, so it does not reopen later."""
    st.session_state.pop(f"fn_open_{SEND.key}", None)


@st.dialog("▶ Fehlermeldung versenden", on_dismiss=_forget_send_click)
def send_dialog(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        unsent = service.list_reports(session, status="offen", page_size=100)
        options = {r.id: f"#{r.id} {r.title}" for r in unsent.items}
    if not options:
        st.info("Es gibt keine unversendeten Fehlermeldungen.")
        if st.button("Schließen"):
            ctx.close_function(SEND.key)
            st.rerun()
        return
    chosen = st.selectbox(
        "Fehlermeldung", list(options), format_func=labels_of(options), placeholder=CHOOSE
    )
    c1, c2 = st.columns(2)
    if c2.button("Abbrechen"):
        ctx.close_function(SEND.key)
        st.rerun()
    if c1.button("Jetzt versenden", type="primary"):
        error = None
        with st.spinner("Wird versendet …"), saving() as result, session_scope() as session:
            try:
                service.send_report(session, cast(int, chosen))  # never None: has a default
            except MailError as exc:
                error = exc.message  # the report keeps its last_error; commit that
        if error:
            st.error(
                f"Nicht versendet: {plain(error)} Die Meldung bleibt gespeichert und kann erneut "
                "versendet werden."
            )
            log_function_run(SEND.key, ctx.user.username, "fehler", error)
        elif result["ok"]:
            log_function_run(SEND.key, ctx.user.username, "ok", f"#{chosen} versendet")
            st.success("Die Fehlermeldung wurde an den Support gesendet.")


def render_bugreports_page(ctx: PageContext) -> None:
    """The Fehlermeldungen page: ▶ dialog, new report, the list."""
    if ctx.function_requested(SEND.key):
        send_dialog(ctx)
    with st.expander("Neue Fehlermeldung", expanded=False):
        with st.form("bugreport", clear_on_submit=False):
            title = st.text_input(LABELS["title"])
            description = st.text_area(LABELS["description"])
            steps = st.text_area("Schritte zum Nachvollziehen", placeholder="1. …\n2. …")
            page_titles = ["", *[p.title for p in pages()]]
            page = st.selectbox("Betroffene Seite", page_titles, placeholder=CHOOSE)
            submitted = st.form_submit_button("Speichern", type="primary")
        if submitted:
            with saving(LABELS) as result, session_scope() as session:
                report = service.create_report(
                    session,
                    title=title,
                    description=description,
                    steps=steps,
                    page=page,
                    username=ctx.user.username,
                )
                report_id = report.id
            if result["ok"]:
                st.success(
                    f"Fehlermeldung #{report_id} gespeichert. Versenden Sie sie mit "
                    "▶ Fehlermeldung versenden in der Seitenleiste."
                )
    status = st.segmented_control(
        "Status",
        ["alle", *service.STATUSES],
        default="alle",
        key="bug_status",
        format_func=lambda s: "alle" if s == "alle" else service.STATUSES[s],
    )
    page_no = requested_page("bug_page", status)
    with session_scope(write=False) as session:
        reports = service.list_reports(
            session,
            status=None if status in (None, "alle") else status,
            page=page_no,
            page_size=PAGE_SIZE,
        )
    if not reports.total:
        st.info("Keine Fehlermeldungen.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Nr.": r.id,
                    "Titel": r.title,
                    "Seite": r.page,
                    "Status": service.STATUSES[r.status],
                    "Erstellt": format_datetime(r.created_at),
                    "Versendet": format_datetime(r.sent_at) if r.sent_at else "–",
                    "Letzter Fehler": r.last_error or "",
                }
                for r in reports.items
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    pager(reports, key="bug_page", one="Fehlermeldung", many="Fehlermeldungen")
