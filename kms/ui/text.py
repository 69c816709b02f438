"""Escaping for text that Streamlit renders as Markdown."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def plain(text: object) -> str:
    """Escape Markdown so user or operator text shows literally (no links, no HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))
