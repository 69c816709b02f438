"""Rechnungseingang: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.intake.ui import render_intake
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_intake(ctx)


run_page("rechnungseingang", render)
