"""Einnahmen/Ausgaben: the page script stays thin; the body lives in the module's ui.py.

The file is named like its URL: Streamlit resolves a deep link opened before the first
st.navigation run by the scripts in pages/, so /einnahmen-ausgaben must be a file name here.
"""

from kms.modules.ledger.ui import render_bookings
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_bookings(ctx)


run_page("einnahmen-ausgaben", render)
