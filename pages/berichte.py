"""Berichte: pick a report and a period; the table, a chart and CSV/XLSX downloads."""

from kms.modules.reports.ui import render_reports_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_reports_page(ctx)


run_page("berichte", render)
