"""The DejaVu fonts are parsed once per process; every PDF still embeds its own subset."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fpdf import FPDF

from kms.rendering import din5008
from kms.rendering.demo import DEMO_CREATED_AT, demo_letter
from kms.rendering.glyphs import FONT, FONT_STYLES, font_file
from kms.rendering.letter import render_letter


def _uncached_fonts(pdf: FPDF) -> None:
    """fpdf2's own add_font: parses every TTF again (the code before the cache)."""
    for style in FONT_STYLES:
        pdf.add_font(FONT, style, str(font_file(style)))


# Common glyphs only (the cut-down font), every common character in all four styles, and
# characters beyond them (Greek, Cyrillic, a ligature: the whole font).
EXTRA_TEXT = [
    "",
    "Žofie Dvořák, Łódź; Ærø – „Grüße“ … 1.234,56 € ‰ ™ "
    + "".join(chr(c) for c in range(0x20, 0x7F))
    + "".join(chr(c) for c in range(0xA0, 0x180)),
    "Ωμέγα Ж ﬁ Ǆ",
]


@pytest.mark.parametrize(("paragraphs", "extra"), [(1, 0), (12, 0), (1, 1), (1, 2)])
def test_cached_fonts_give_byte_identical_pdfs(
    monkeypatch: pytest.MonkeyPatch, paragraphs: int, extra: int
) -> None:
    """A letter rendered with the shared font templates equals fpdf2's own path byte for byte,
    whether its glyphs come from the cut-down common font or need the whole font."""
    letter = demo_letter(paragraphs)
    if EXTRA_TEXT[extra]:
        text = EXTRA_TEXT[extra]
        body = f"{text}\n\n**{text}**\n\n*{text}*\n\n***{text}***\n\n{letter.body}"
        letter = replace(letter, body=body)
    sources: list[bytes] = []
    source = din5008._source_tables
    monkeypatch.setattr(
        din5008,
        "_source_tables",
        lambda style, used: sources.append(source(style, used)) or sources[-1],
    )
    cached = render_letter(letter, created_at=DEMO_CREATED_AT)
    whole = [din5008._font_tables(style) for style in FONT_STYLES]
    # Only the third text needs the whole font, and then only for the styles that draw it.
    assert sources and (any(s in whole for s in sources) == (extra == 2))
    monkeypatch.setattr(din5008, "_add_fonts", _uncached_fonts)
    uncached = render_letter(letter, created_at=DEMO_CREATED_AT)
    assert cached == uncached


def test_each_pdf_gets_its_own_subset() -> None:
    """Glyphs used by one PDF do not leak into the next: a short PDF stays short."""
    short = demo_letter(1)
    first = render_letter(short, created_at=DEMO_CREATED_AT)
    render_letter(demo_letter(12), created_at=DEMO_CREATED_AT)
    again = render_letter(short, created_at=DEMO_CREATED_AT)
    assert first == again


def test_fonts_are_parsed_once_per_process() -> None:
    """After the first PDF, registering the four styles reads no font file again."""
    din5008._add_fonts(FPDF())  # warm
    calls = din5008._font_template.cache_info().misses
    pdf = FPDF()
    din5008._add_fonts(pdf)
    assert din5008._font_template.cache_info().misses == calls
    assert len(pdf.fonts) == 4
