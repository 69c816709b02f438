"""Übersicht: the start page after login, with every module's key figures."""

from kms.modules.start.ui import render_overview
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_overview(ctx)


run_page("start", render)
