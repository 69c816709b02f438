"""Konten: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.ledger.ui import render_accounts
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_accounts(ctx)


run_page("konten", render)
