"""Angebote: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.pricing.ui import render_offerings
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_offerings(ctx)


run_page("angebote", render)
