"""Ersteinrichtung / Tutorial: owner login → Einstellungen → Besteuerung → own Person → fertig."""

from kms.modules.help.ui import render_onboarding_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_onboarding_page(ctx)


run_page("ersteinrichtung", render)
