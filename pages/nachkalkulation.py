"""Nachkalkulation: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.pricing.ui import render_post_calculation
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_post_calculation(ctx)


run_page("nachkalkulation", render)
