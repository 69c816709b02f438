"""Leistungen & Artikel: the price list (list, form, archive, import/export); the body lives in
the invoices module's ui.py."""

from kms.modules.invoices.ui import render_articles_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_articles_page(ctx)


run_page("artikel", render)
