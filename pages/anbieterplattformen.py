"""Anbieterplattformen: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.podcasts.ui import render_platforms
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_platforms(ctx)


run_page("anbieterplattformen", render)
