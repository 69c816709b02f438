"""Podcast-Statistik: a thin page; the body lives in kms.modules.podcasts.statistics.ui."""

from kms.modules.podcasts.statistics.ui import render_statistics
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_statistics(ctx)


run_page("podcast-statistik", render)
