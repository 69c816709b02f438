"""Podcast-Kanäle: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.podcasts.ui import render_channels
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_channels(ctx)


run_page("podcast-kanaele", render)
