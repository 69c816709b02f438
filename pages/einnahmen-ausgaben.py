"""Einnahmen/Ausgaben: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.ledger.ui import render_bookings
from kms.ui.page import run_page

run_page("einnahmen-ausgaben", render_bookings)
