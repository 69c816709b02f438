"""Kontoauszüge: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.bank.ui import render as render_bank
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_bank(ctx)


run_page("kontoauszuege", render)
