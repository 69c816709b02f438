"""Escaping for text that Streamlit renders as Markdown: the one helper for user text."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")
# GFM turns bare "www.…", "https://…" and e-mail addresses into links after the escapes
# are resolved, so escaping alone cannot stop them. An invisible WORD JOINER (U+2060) after
# "www", before the scheme's ":" and after "@" breaks each pattern; the text reads the same.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)\bwww(?=\.)|\b(?:https?|ftp|mailto|xmpp)(?=:)|@")


def plain(text: object) -> str:
    """Escape Markdown so user or operator text shows literally (no links, no HTML)."""
    value = _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, str(text))
    return _MD_SPECIAL.sub(r"\\\1", value)
