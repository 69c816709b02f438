"""The invoices section on a contact's detail view."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_money
from kms.modules.invoices.service import list_invoices


def panel(contact_id: int) -> None:
    """The contact's invoices (newest 20) with status, and open/total sums."""
    with session_scope(write=False) as session:
        page = list_invoices(session, contact_id=contact_id, page_size=20)
    if page.total == 0:
        st.caption("Keine Rechnungen.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Nummer": r.number or f"Entwurf {r.id}",
                    "Datum": format_date(r.issue_date) if r.issue_date else "",
                    "Betrag": format_money(r.gross),
                    "Offen": format_money(r.open) if r.open else "",
                    "Status": r.status_label,
                }
                for r in page.items
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"{page.total} Rechnungen · Summe {format_money(page.sum_gross)} · "
        f"offen {format_money(page.sum_open)}"
    )
