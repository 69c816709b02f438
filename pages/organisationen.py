"""Organisationen: list with search, filters and paging (in SQL), detail view with members."""

from kms.modules.contacts.ui import render_contacts_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_contacts_page(ctx, "organisation")


run_page("organisationen", render)
