"""Hilfe: every function (▶) and automatism (⊕) with its schedule, last and next run."""

from kms.modules.help.ui import render_help_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_help_page(ctx)


run_page("hilfe", render)
