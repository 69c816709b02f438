"""Wiederkehrende Rechnungen: templates the ⊕ automatism issues once per period, and its log."""

from kms.modules.invoices.recurring.ui import render_recurring_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_recurring_page(ctx)


run_page("wiederkehrende_rechnungen", render)
