"""Benutzer: the owner's list of logins; create, change role, reset password, deactivate."""

from kms.modules.users.ui import render_users_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_users_page(ctx)


run_page("benutzer", render)
