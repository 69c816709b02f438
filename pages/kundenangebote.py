"""Angebote an Kunden: quotes with positions like invoices, AN numbers, PDF, the customer's
answer, Auftragsbestätigung and ▶ In Rechnung übernehmen."""

from kms.modules.invoices.quotes.ui import render_quotes_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_quotes_page(ctx)


run_page("kundenangebote", render)
