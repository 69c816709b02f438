"""Einstellungen: Firmendaten, Logo, Besteuerung, Mailserver, Sicherheit."""

from kms.modules.settings.ui import render_settings_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_settings_page(ctx)


run_page("einstellungen", render)
