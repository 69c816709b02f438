"""Konten: the page script stays thin; the body lives in the module's ui.py."""

from kms.modules.ledger.ui import render_accounts
from kms.ui.page import run_page

run_page("konten", render_accounts)
