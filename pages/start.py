"""Übersicht: the start page after login, with every module's key figures."""

from kms.modules.start.ui import render_overview
from kms.ui.page import run_page

run_page("start", render_overview)
