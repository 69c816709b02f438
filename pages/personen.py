"""Personen: list with search, filters and paging (in SQL), detail view, create and edit."""

from kms.modules.contacts.ui import render_contacts_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_contacts_page(ctx, "person")


run_page("personen", render)
