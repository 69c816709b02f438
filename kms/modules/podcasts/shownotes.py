"""Show notes: a tiny Markdown subset rendered to safe HTML for the feed (content:encoded).

Everything the author typed is escaped first; only this subset becomes markup afterwards:
paragraphs (blank line), line breaks, **bold**, *italic* / _italic_, [links](https://…) with
http(s) targets only, and lists ("- " / "* " bullets, "1. " numbered). Anything else (raw
HTML, javascript: links, images) stays visible text.
"""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])")
# On escaped text: [label](http(s)://target); the target has no spaces, quotes or brackets.
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s()<>\"']+)\)")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,4}[.)]\s+(.*)$")


def _inline(escaped: str) -> str:
    """Links, bold and italic on already escaped text (link targets are never re-marked)."""
    parts: list[str] = []
    last = 0
    for match in _LINK.finditer(escaped):
        parts.append(_emphasis(escaped[last : match.start()]))
        label, target = match.group(1), match.group(2)
        parts.append(f'<a href="{target}">{_emphasis(label)}</a>')
        last = match.end()
    parts.append(_emphasis(escaped[last:]))
    return "".join(parts)


def _emphasis(text: str) -> str:
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _ITALIC.sub(r"<em>\1</em>", text)


def render(source: str) -> str:
    """The notes as HTML (safe to embed: only the subset's tags, only http(s) links)."""
    blocks = re.split(r"\n\s*\n", source.replace("\r\n", "\n").replace("\r", "\n").strip())
    out: list[str] = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        escaped = [html.escape(line.strip(), quote=True) for line in lines]
        for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            items = [pattern.match(line) for line in escaped]
            if all(items):
                body = "".join(f"<li>{_inline(m.group(1))}</li>" for m in items if m)
                out.append(f"<{tag}>{body}</{tag}>")
                break
        else:
            out.append("<p>" + "<br/>".join(_inline(line) for line in escaped) + "</p>")
    return "".join(out)


def plain(source: str) -> str:
    """The notes as plain text (markup characters of the subset removed), for summaries."""
    text = _LINK.sub(r"\1 (\2)", source)
    text = _BOLD.sub(r"\1", text)
    return _ITALIC.sub(r"\1", text).strip()
