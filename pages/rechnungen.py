"""Rechnungen: list with filters and sums (in SQL)."""

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_money
from kms.modules.invoices import service
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        page = service.list_invoices(session)
    if not page.items:
        st.info("Noch keine Rechnungen.")
        return
    rows = [
        {
            "Nummer": r.number or f"Entwurf {r.id}",
            "Datum": format_date(r.issue_date) if r.issue_date else "",
            "Kunde": r.customer,
            "Betrag": format_money(r.gross),
            "Status": r.status_label,
        }
        for r in page.items
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


run_page("rechnungen", render)
