"""A tiny, safe Markdown subset for letter bodies: paragraphs, **bold**, *italic*, bullet lists.

Everything else (HTML, headings, links, unmatched markers) stays literal text. The parser returns
typed blocks; nothing here knows about PDF, and no input is ever handed to a markup engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A bullet item: "- " or "* " at the start of a line, up to three spaces of indent allowed.
_BULLET = re.compile(r"^ {0,3}[-*][ \t]+(?P<text>\S.*)$")
# Runs of asterisks; "***" is split into "**" and "*" so bold-italic works.
_STARS = re.compile(r"\*+")
# C0/C1 control characters except the newline, which structures the text.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Run:
    """A piece of text in one font style."""

    text: str
    bold: bool = False
    italic: bool = False


Line = tuple[Run, ...]


@dataclass(frozen=True)
class Paragraph:
    """One or more lines of runs; single newlines inside a paragraph are kept as line breaks."""

    lines: tuple[Line, ...]


@dataclass(frozen=True)
class BulletList:
    """A list of items, each item a paragraph of its own."""

    items: tuple[Paragraph, ...]


Block = Paragraph | BulletList


def parse(text: str) -> list[Block]:
    """Split text into paragraphs and bullet lists of styled runs."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n[ \t]*\n", _normalise(text)):
        blocks.extend(_parse_chunk(chunk))
    return blocks


def _normalise(text: str) -> str:
    """Unify line endings, tabs to spaces, other control characters to a space (no glyphs)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub(" ", text).strip("\n")


def _parse_chunk(chunk: str) -> list[Block]:
    """Parse text between blank lines: plain lines form paragraphs, bullet lines form lists."""
    blocks: list[Block] = []
    plain: list[str] = []
    items: list[list[str]] = []
    for raw in chunk.split("\n"):
        bullet = _BULLET.match(raw)
        if bullet:
            _flush_plain(blocks, plain)
            items.append([bullet["text"]])
        elif items and raw.startswith(" ") and raw.strip():
            items[-1].append(raw.strip())  # indented line continues the last item
        else:
            _flush_items(blocks, items)
            if raw.strip():
                plain.append(raw.rstrip())
    _flush_plain(blocks, plain)
    _flush_items(blocks, items)
    return blocks


def _flush_plain(blocks: list[Block], plain: list[str]) -> None:
    """Emit collected plain lines as one paragraph."""
    if plain:
        blocks.append(_paragraph(plain))
        plain.clear()


def _flush_items(blocks: list[Block], items: list[list[str]]) -> None:
    """Emit collected bullet items as one list."""
    if items:
        blocks.append(BulletList(tuple(_paragraph(item) for item in items)))
        items.clear()


def _paragraph(lines: list[str]) -> Paragraph:
    """Build a paragraph from raw lines, parsing emphasis line by line."""
    return Paragraph(tuple(parse_inline(line) for line in lines))


def parse_inline(line: str) -> Line:
    """Parse **bold** and *italic* in one line; unmatched or misplaced markers stay literal."""
    tokens = _tokenize(line)
    matched = _match_delimiters(tokens)
    runs: list[Run] = []
    bold = italic = False
    for index, token in enumerate(tokens):
        if index in matched:
            bold, italic = (not bold, italic) if token == "**" else (bold, not italic)  # noqa: S105
        else:
            _append_run(runs, Run(token, bold, italic))
    return tuple(runs)


def _tokenize(line: str) -> list[str]:
    """Split a line into text and delimiter tokens ("**" or "*")."""
    tokens: list[str] = []
    pos = 0
    for stars in _STARS.finditer(line):
        tokens.append(line[pos : stars.start()])
        opening = stars.end() < len(line) and not line[stars.end()].isspace()
        tokens.extend(_split_stars(len(stars.group()), opening))
        pos = stars.end()
    tokens.append(line[pos:])
    return tokens


def _split_stars(count: int, opening: bool) -> list[str]:
    """Turn a run of asterisks into delimiters; "***" opens as "**","*" and closes as "*","**"."""
    if count > 3:
        return ["*" * count]  # "****" and longer carry no meaning in this subset
    if count == 3:
        return ["**", "*"] if opening else ["*", "**"]  # so that bold-italic nests properly
    return ["*" * count]


def _match_delimiters(tokens: list[str]) -> set[int]:
    """Return indices of delimiter tokens that pair up as opener/closer; the rest is literal."""
    matched: set[int] = set()
    stack: list[int] = []
    for index, token in enumerate(tokens):
        if token not in ("*", "**"):
            continue
        opener = _find_opener(tokens, stack, index)
        if opener is not None:
            del stack[stack.index(opener) :]  # markers opened inside and never closed stay literal
            matched.update((opener, index))
        elif _can_open(tokens, index):
            stack.append(index)
    return matched


def _find_opener(tokens: list[str], stack: list[int], index: int) -> int | None:
    """Find the innermost open delimiter of the same kind that this token can close."""
    if not _can_close(tokens, index):
        return None
    for opener in reversed(stack):
        if tokens[opener] == tokens[index] and _has_content(tokens, opener, index):
            return opener
    return None


def _has_content(tokens: list[str], opener: int, closer: int) -> bool:
    """An emphasis must enclose some visible text ("****" is no empty bold)."""
    return any(t.strip() for t in tokens[opener + 1 : closer] if t not in ("*", "**"))


def _neighbour_char(tokens: list[str], index: int, step: int) -> str:
    """The character right before (step -1) or after (step +1) a delimiter, "" at line edges."""
    pos = index + step
    while 0 <= pos < len(tokens):
        if tokens[pos]:
            return tokens[pos][-1] if step < 0 else tokens[pos][0]
        pos += step
    return ""


def _can_open(tokens: list[str], index: int) -> bool:
    """An opener must be followed by a non-space character ("5 * 3" stays literal)."""
    after = _neighbour_char(tokens, index, 1)
    return bool(after) and not after.isspace()


def _can_close(tokens: list[str], index: int) -> bool:
    """A closer must follow a non-space character."""
    before = _neighbour_char(tokens, index, -1)
    return bool(before) and not before.isspace()


def _append_run(runs: list[Run], run: Run) -> None:
    """Append a run, merging it with the previous one if the style is the same."""
    if not run.text:
        return
    if runs and (runs[-1].bold, runs[-1].italic) == (run.bold, run.italic):
        runs[-1] = Run(runs[-1].text + run.text, run.bold, run.italic)
    else:
        runs.append(run)


def plain_text(blocks: list[Block]) -> str:
    """The visible text of parsed blocks, for checks and previews."""
    parts: list[str] = []
    for block in blocks:
        paragraphs = block.items if isinstance(block, BulletList) else (block,)
        for paragraph in paragraphs:
            parts.extend("".join(run.text for run in line) for line in paragraph.lines)
    return "\n".join(parts)
