"""Rechnungen: list with filters and sums (SQL), draft editor, detail with originals and history;
▶ abschließen, stornieren, korrigieren, Zahlung, Mahnung, E-Mail as confirmed dialogs."""

from kms.modules.invoices.ui import render_invoices_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_invoices_page(ctx)


run_page("rechnungen", render)
