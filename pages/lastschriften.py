"""Lastschriften: SEPA mandates per customer, ▶ Lastschriftdatei erzeugen (pain.008), and
the files with their booking by the bank."""

from kms.modules.invoices.sepa.ui import render_sepa_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_sepa_page(ctx)


run_page("lastschriften", render)
