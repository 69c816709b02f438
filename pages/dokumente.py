"""Dokumente: upload, find, preview, download and delete documents."""

import streamlit as st

from kms.backups import ui as backups_ui
from kms.modules.documents import ui
from kms.permissions import Permission
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    ui.show_flash()
    backups_ui.sync_documents()
    # What the role may not use is left out; the services refuse it anyway.
    may_write = ctx.may(Permission.DOCUMENTS_WRITE)
    if may_write:
        with st.expander("Dokumente hochladen", icon=":material/upload:"):
            ui.upload_form("doc_upload", username=ctx.user.username)
    chosen = ui.document_list()
    if chosen is not None:
        st.divider()
        ui.document_detail(chosen, read_only=ctx.read_only or not may_write)
    if ctx.may(Permission.SETTINGS):
        with st.expander("Einstellungen für Dokumente", icon=":material/tune:"):
            ui.settings_form()
    if ctx.may(Permission.BACKUPS):
        st.divider()
        backups_ui.render_functions(ctx)


run_page("dokumente", render)
