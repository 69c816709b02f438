"""kms.ui.text.plain: the one escaping helper for user text shown through Markdown."""

from __future__ import annotations

import re

import pytest

from kms.ui.text import WORD_JOINER, plain

# What GFM turns into a link in the parsed text (escapes resolved), and Markdown syntax.
AUTOLINK = re.compile(r"(?i)(https?://|www\.|[\w.+-]+@[\w-]+\.)")


def _as_parsed(markdown: str) -> str:
    """The text a Markdown parser sees after resolving backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown)


@pytest.mark.parametrize(
    "text",
    [
        "Beacon GmbH ![x](https:host?id) [Rechnung bezahlen](https:evil.example)",
        "Zahlen Sie unter https://evil.example/pay",
        "Mehr auf www.evil.example",
        "Schreiben Sie an info@musterfirma.example.org",
        "<img src=x onerror=alert(1)> **fett** `code` # Titel",
    ],
)
def test_user_text_makes_no_link_image_or_markup(text: str) -> None:
    """Every Markdown character is escaped and no autolink pattern survives parsing, yet
    the user reads exactly the text that was typed."""
    shown = plain(text)
    assert not re.search(r"(?<!\\)[\[\]()<>*`#!]", shown)
    assert not AUTOLINK.search(_as_parsed(shown))
    assert _as_parsed(shown).replace(WORD_JOINER, "") == text
