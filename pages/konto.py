"""Mein Zugang: every user sees their role and changes their own password."""

from kms.modules.users.ui import render_account_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_account_page(ctx)


run_page("konto", render)
