"""Fehlermeldungen: write a report, see all reports, ▶ send one to support."""

from kms.modules.bugreports.ui import render_bugreports_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_bugreports_page(ctx)


run_page("fehlermeldungen", render)
