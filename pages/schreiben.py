"""Schreiben: letters with preview, templates, ▶ Serienbrief, ▶ send by post or e-mail."""

from kms.modules.letters.ui import render_letters_page
from kms.ui.page import PageContext, run_page


def render(ctx: PageContext) -> None:
    render_letters_page(ctx)


run_page("schreiben", render)
