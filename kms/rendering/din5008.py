"""fpdf2 base for DIN 5008 Form B business documents on A4 (letters, invoices, dunning letters).

All coordinates are millimetres from the top-left page corner. User text is always drawn as
plain text: no fpdf2 markdown, no HTML, and the "{nb}" page alias is switched off.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from babel import Locale
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from PIL import Image, UnidentifiedImageError

from kms.formatting import format_iban
from kms.rendering.errors import RenderError
from kms.rendering.glyphs import FONT, FONT_STYLES, fallbacks_for, font_file, strip_selectors
from kms.rendering.glyphs import unprintable_message as _unprintable
from kms.rendering.markdown import BulletList, Line, Paragraph, parse
from kms.rendering.models import Company
from kms.types import utcnow

__all__ = [
    "Din5008Pdf",
    "RenderError",
    "build_address_lines",
    "check_address_lines",
    "country_name",
    "render_paginated",
]

PDFA = "PDF/A-3B"

# --- DIN 5008 Form B geometry (mm) -------------------------------------------------------
PAGE_W, PAGE_H = 210.0, 297.0
TEXT_X = 25.0  # DIN 5008: text starts 25 mm from the left edge
TEXT_RIGHT = PAGE_W - 20.0  # DIN 5008: right margin at least 20 mm
TEXT_W = TEXT_RIGHT - TEXT_X
LETTERHEAD_H = 45.0  # Form B letterhead zone
ADDRESS_X, ADDRESS_Y, ADDRESS_W, ADDRESS_H = 20.0, 45.0, 85.0, 45.0
RECIPIENT_Y = ADDRESS_Y + 17.7  # 17.7 mm return-address/notes zone, then 27.3 mm address zone
ADDRESS_BOTTOM = ADDRESS_Y + ADDRESS_H
# Address text is aligned with the body text (5 mm inside the window), so it may be 80 mm wide.
ADDRESS_TEXT_W = ADDRESS_X + ADDRESS_W - TEXT_X
ADDRESS_MAX_LINES = 6  # DIN 5008: at most 6 lines in the 27.3 mm address zone
ADDRESS_PT, ADDRESS_LH = 10, 4.23  # 6 lines * 4.23 mm = 25.4 mm < 27.3 mm
RETURN_PT, NOTE_PT, ZONE_LH = 7, 8, 3.4
ZONE_MIN_PT = 6  # smaller return lines are hard to read for the postal service
MAX_NOTES = 3  # two return lines + 3 notes (5 * 3.4 mm) fit the 17.7 mm zone
INFO_X, INFO_Y = 125.0, 50.0  # Form B information block
INFO_LABEL_PT, INFO_VALUE_PT, INFO_LH = 8, 9, 4.0
INFO_MIN_PT = 7.5
INFO_MAX_BOTTOM = 120.0
FOLD_MARKS = (105.0, 210.0)  # Form B fold marks
PUNCH_MARK = PAGE_H / 2  # 148.5 mm
FOOTER_Y, FOOTER_PT, FOOTER_LH = 273.0, 7, 3.0
FOOTER_MIN_PT = 5.5
WORD_MIN_PT = 4.5  # an unbreakable word (e-mail address, URL) may shrink this far
LETTERHEAD_PT, LETTERHEAD_MIN_PT = 16, 10
FOOTER_COLUMNS = 3
PAGE_NO_Y = 266.0
BODY_BOTTOM = 262.0  # body text stops above page number and footer
CONT_Y, CONT_BODY_Y = 12.0, 30.0  # continuation header on following pages
BODY_PT, BODY_LH = 11, 4.8
BULLET_INDENT = 5.0


def plan_breaks(count: int, room: int, full: int, keep: int = 2) -> list[int]:
    """Lines of a count-line block on this page (room free) and on each following one (full).

    Widow/orphan control: a page never ends with fewer than `keep` lines of a block that
    goes on, and never starts with fewer than `keep` lines of a block that began earlier;
    a leading 0 means the block starts on a new page.
    """
    chunks: list[int] = []
    remaining = count
    while remaining > room:
        take = room
        if remaining - take < keep:
            take = remaining - keep  # leave the next page at least `keep` lines (widow)
        if take < keep:
            take = 0  # fewer than `keep` lines at a page bottom: start on the next page (orphan)
        chunks.append(take)
        remaining -= take
        room = max(full, keep + 1)
    chunks.append(remaining)
    return chunks


def clean_line(text: str) -> str:
    """Make user text a single printable line: no control characters, no line breaks."""
    return "".join(_printable(c, " ") for c in text).strip()


def _printable(char: str, control: str) -> str:
    """Controls (line breaks, tabs) become `control`; invisible format characters vanish."""
    category = unicodedata.category(char)
    if category == "Cc":
        return control
    # Soft hyphens, zero-width and bidi overrides (Cf) have no glyph; drop them, keep the word.
    return "" if category[0] == "C" else char


def country_name(code: str) -> str:
    """German name of an ISO 3166-1 alpha-2 country code, e.g. "AT" → "Österreich"."""
    name = Locale("de").territories.get(code.strip().upper()) if code.strip().isalpha() else None
    if name is None:
        raise RenderError(f"Unbekannter Ländercode „{code}“.")
    return name


def build_address_lines(
    name_lines: Sequence[str],
    street: str,
    postcode: str,
    town: str,
    country: str = "DE",
) -> list[str]:
    """Address lines for the window; foreign addresses end with the country in capitals."""
    lines = [*name_lines, street, f"{postcode} {town}"]
    if country.strip().upper() != "DE":
        # DIN 5008 / Deutsche Post: destination country last, in capitals, in German.
        lines.append(country_name(country).upper())
    return check_address_lines(lines)


def check_address_lines(lines: Sequence[str]) -> list[str]:
    """Clean the lines, wrap those wider than the field, refuse what 6 lines cannot hold."""
    cleaned = [clean_line(line) for line in lines if clean_line(line)]
    if not cleaned:
        raise RenderError("Die Empfängeranschrift ist leer.")
    if len(cleaned) > ADDRESS_MAX_LINES:
        raise RenderError(
            f"Die Anschrift hat {len(cleaned)} Zeilen, erlaubt sind höchstens "
            f"{ADDRESS_MAX_LINES} (DIN 5008)."
        )
    # DIN 5008 lets a long name run over two lines; any line may wrap at a space as long
    # as the whole address still fits the six lines of the address zone.
    wrapped = [part for line in cleaned for part in _wrap_address_line(line)]
    if len(wrapped) > ADDRESS_MAX_LINES:
        raise RenderError(
            f"Die Anschrift braucht im {ADDRESS_TEXT_W:.0f} mm breiten Anschriftfeld "
            f"{len(wrapped)} Zeilen, erlaubt sind höchstens {ADDRESS_MAX_LINES} (DIN 5008). "
            "Bitte den Namen oder den Adresszusatz kürzen."
        )
    return wrapped


def _wrap_address_line(line: str) -> list[str]:
    """The line as it fits the address field, broken at spaces only (never inside a word)."""
    for word in line.split():
        width = _measure(word, "", ADDRESS_PT)
        if width > ADDRESS_TEXT_W:
            raise RenderError(
                f"Die Anschriftzeile „{line}“ ist zu breit für das Anschriftfeld "
                f"(„{word}“ allein ist {width:.0f} mm breit, erlaubt sind "
                f"{ADDRESS_TEXT_W:.0f} mm)."
            )
    return wrap_at_spaces(line, ADDRESS_TEXT_W, lambda text: _measure(text, "", ADDRESS_PT))


def wrap_at_spaces(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy line breaking at spaces only; a word is never split (callers check its width)."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and measure(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines or [""]


class _GlyphSafePdf(FPDF):
    """FPDF that draws characters missing from DejaVu with a fallback font, or refuses them."""

    def normalize_text(self, text: str) -> str:
        """fpdf2 passes every text through here: register the fallbacks it needs first."""
        text = strip_selectors(text)
        fonts, missing = fallbacks_for(text)
        if missing:
            # Never lose a character silently (fpdf2 would only log a warning).
            raise RenderError(_unprintable(text) or "")
        known = getattr(self, "_fallback_families", [])
        added = [font for font in fonts if font.family not in known]
        if added:
            for font in added:
                self.add_font(font.family, "", str(font.path))
            self._fallback_families = [*known, *(font.family for font in added)]
            # One style per fallback font: bold emoji are drawn regular rather than dropped.
            self.set_fallback_fonts(self._fallback_families, exact_match=False)
        return super().normalize_text(text)


@cache
def _measuring_pdf() -> FPDF:
    """One hidden document used only for string widths."""
    pdf = _GlyphSafePdf(unit="mm", format="A4")
    _add_fonts(pdf)
    return pdf


def _measure(text: str, style: str, size: float) -> float:
    """Width in mm of text in the vendored font."""
    pdf = _measuring_pdf()
    pdf.set_font(FONT, style, size)
    return pdf.get_string_width(text)


def _add_fonts(pdf: FPDF) -> None:
    """Register the vendored DejaVu family (umlauts, ß, €; embedded as PDF/A wants).

    Parsing the TTFs took half the time of rendering an invoice, so each style is parsed
    once per process (`_font_template`); every PDF gets a copy that shares the read-only
    metrics, has its own subset state, and unpickles its own font tables only when
    output subsets them (fpdf2 subsets `ttfont` in place). Byte-identical to add_font.
    """
    for style in FONT_STYLES:
        template = _font_template(style)
        font = _PrivateTablesFont.__new__(_PrivateTablesFont)
        for slot in TTFFont.__slots__:  # fpdf2's TTFFont keeps its state in slots
            if slot != "ttfont" and hasattr(template, slot):  # ttfont: on first use
                setattr(font, slot, getattr(template, slot))
        font._tables = _font_tables(style)
        font._style = style
        font.i = len(pdf.fonts) + 1
        font._hbfont = None
        font.biggest_size_pt = 0
        font.missing_glyphs = []
        font.subset = SubsetMap(font)
        pdf.fonts[template.fontkey] = font


class _PrivateTablesFont(TTFFont):
    """A TTFFont whose fontTools tables are this PDF's own copy, made when first needed.

    fpdf2 asks for them only when it writes the PDF, to subset them to the glyphs used. If
    those are all among the common glyphs (`COMMON_TEXT`), the copy is made from the font
    already cut down to them (`_common_tables`): subsetting 400 glyphs instead of 6,000
    took the fonts' share of an invoice from about 300 ms to 40 ms, with the same bytes.
    """

    _tables: bytes  # the whole font, pickled (shared by all PDFs of the process)
    _style: str

    def __getattr__(self, name: str) -> Any:
        if name == "ttfont":
            source = _source_tables(self._style, set(self.subset.get_all_glyph_names()))
            # Our own vendored font, pickled by this process: no untrusted input.
            tables = pickle.loads(source)  # noqa: S301
            self.ttfont = tables
            return tables
        raise AttributeError(name)


def _source_tables(style: str, used: set[str]) -> bytes:
    """The cut-down common font when it has every glyph used, else the whole font."""
    common, common_tables = _common_tables(style)
    return common_tables if used <= common else _font_tables(style)


# Characters of nearly every German business document, with the Latin letters of names
# from the rest of Europe: ASCII, Latin-1, Latin Extended-A, typographic punctuation, €.
COMMON_TEXT = (
    "".join(chr(code) for code in range(0x20, 0x7F))
    + "".join(chr(code) for code in range(0xA0, 0x180))
    + "ƒȘșȚțˆˇ˘˙˚˛˜˝–—‘’‚“”„†‡•…‰‹›€™−≤≥"
)


@cache
def _common_tables(style: str) -> tuple[frozenset[str], bytes]:
    """The font cut down to COMMON_TEXT's glyphs, and their names (once per process).

    It is cut with fpdf2's own subset options, keeping glyph names (fpdf2 finds glyphs by
    name), so fpdf2's subset of it equals its subset of the whole font byte for byte
    (tests/rendering/test_font_cache.py compares both).
    """
    from fontTools import subset as ftsubset

    font = pickle.loads(_font_tables(style))  # noqa: S301 - our own font, see above
    cmap = font.getBestCmap()
    names = {cmap[ord(char)] for char in COMMON_TEXT if ord(char) in cmap}
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
    options.drop_tables += ["FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta"]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=sorted(names))
    subsetter.subset(font)
    kept = frozenset(font.getGlyphOrder())
    return kept, pickle.dumps(font)


@cache
def _font_template(style: str) -> TTFFont:
    """The font as fpdf2 parses it, once per process and style."""
    scratch = FPDF()
    scratch.add_font(FONT, style, str(font_file(style)))
    font = scratch.fonts[f"{FONT.lower()}{style}"]
    if not isinstance(font, TTFFont):  # pragma: no cover - add_font always makes one
        raise RenderError("Schrift konnte nicht geladen werden.")
    return font


@cache
def _font_tables(style: str) -> bytes:
    """The parsed tables of the template (glyphs decompiled), ready to copy per PDF."""
    return pickle.dumps(_font_template(style).ttfont)


def render_paginated(build: Callable[[int | None], Din5008Pdf]) -> bytes:
    """Build once to count pages, again with "Seite N von M" if there is more than one page."""
    pdf = build(None)
    total = pdf.pages_count
    if total > 1:
        pdf = build(total)
    return bytes(pdf.output())


@dataclass(frozen=True)
class _PrintLine:
    """One laid-out body line: where it starts, its styled runs, and whether it has a bullet."""

    x: float
    runs: tuple[tuple[str, str], ...]
    bullet: bool = False


def _merge_runs(row: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Join neighbouring pieces of one style; drop the spaces at the line's end."""
    merged: list[tuple[str, str]] = []
    for text, style in row:
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + text, style)
        else:
            merged.append((text, style))
    while merged and not merged[-1][0].rstrip():
        merged.pop()
    if merged:
        merged[-1] = (merged[-1][0].rstrip(), merged[-1][1])
    return tuple(merged)


def _is_heading(lines: Sequence[_PrintLine]) -> bool:
    """A one-line block that is all bold, or ends in ":" (it introduces what follows)."""
    if len(lines) != 1 or not lines[0].runs or lines[0].bullet:
        return False
    runs = lines[0].runs
    return all("B" in style for _, style in runs) or runs[-1][0].endswith(":")


class Din5008Pdf(_GlyphSafePdf):
    """A4 page, DIN 5008 Form B: letterhead, address field, marks, footer, follow-up header."""

    def __init__(
        self,
        company: Company,
        *,
        running_title: str,
        date_text: str,
        page_total: int | None = None,
        compliance: str | None = PDFA,
    ) -> None:
        """Set up A4 in mm with embedded fonts; page_total enables "Seite N von M"."""
        # PDF/A-3B by default: GoBD archiving, and ZUGFeRD invoices need part 3 for the XML.
        super().__init__(orientation="P", unit="mm", format="A4", enforce_compliance=compliance)
        self.compliance = compliance
        self.company = company
        self.running_title = clean_line(running_title)
        self.date_text = clean_line(date_text)
        self.page_total = page_total
        self.alias_nb_pages(None)  # type: ignore[arg-type]  # user text containing "{nb}" must print literally
        _add_fonts(self)
        self.set_margins(TEXT_X, CONT_BODY_Y, PAGE_W - TEXT_RIGHT)
        self.c_margin = 0  # text starts exactly at the DIN 5008 positions, no cell padding
        self.set_auto_page_break(True, margin=PAGE_H - BODY_BOTTOM)
        self.set_font(FONT, "", BODY_PT)
        self.set_lang("de-DE")

    def set_document_info(self, title: str, created_at: datetime | None = None) -> None:
        """PDF metadata; a fixed created_at makes the output byte-for-byte reproducible."""
        title, author = clean_line(title), clean_line(self.company.display_name)
        self.set_title(title)
        self.set_author(author)
        self.set_creator("KMS")
        created = created_at or utcnow()
        # A naive datetime is taken as UTC so the bytes do not depend on the machine's zone.
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        self.set_creation_date(created)
        if self.compliance:
            # fpdf2's own XMP stamps "now" as ModifyDate; ours keeps the bytes reproducible.
            self.set_xmp_metadata(pdfa_xmp(title, author, "KMS", created, self.compliance))

    # --- page furniture ---------------------------------------------------------------

    def header(self) -> None:
        """Letterhead on page 1, continuation header on every following page."""
        if self.page == 1:
            self._letterhead()
        else:
            self._continuation_header()
        self.set_xy(self.l_margin, CONT_BODY_Y)

    def footer(self) -> None:
        """Fold/punch marks, page number and the legal footer on every page."""
        self._marks()
        self._page_number()
        self._legal_footer()

    def _letterhead(self) -> None:
        """Company name top left, the optional logo right-aligned; both inside the 45 mm zone."""
        logo_x = self._logo(self.company.logo) if self.company.logo else TEXT_RIGHT
        name = clean_line(self.company.display_name)
        name_w = logo_x - TEXT_X - 5
        self.set_text_color(0)
        self._shrink_to_fit(name, name_w, LETTERHEAD_PT, LETTERHEAD_MIN_PT, style="B")
        self.set_xy(TEXT_X, 15)
        # A name too long even at 10 pt wraps onto a second line rather than being cut.
        self.multi_cell(name_w, 6, name, align="L", max_line_height=6)

    def _logo(self, data: bytes) -> float:
        """Scale the logo into a 60 × 28 mm box ending at the right margin; return its left x."""
        box_w, box_h, top = 60.0, LETTERHEAD_H - 17.0, 10.0
        image = _logo_image(data)
        scale = min(box_w / image.width, box_h / image.height)
        width, height = image.width * scale, image.height * scale
        self.image(image, x=TEXT_RIGHT - width, y=top, w=width, h=height)
        return TEXT_RIGHT - width

    def _continuation_header(self) -> None:
        """DIN 5008 following pages: sender, subject/recipient and date instead of the field."""
        self.set_text_color(0)
        self.set_font(FONT, "B", 9)
        self.set_xy(TEXT_X, CONT_Y)
        self.cell(TEXT_W * 0.7, 4.5, clean_line(self.company.display_name))
        self.set_font(FONT, "", 9)
        self.cell(TEXT_W * 0.3, 4.5, self.date_text, align="R")
        self.set_xy(TEXT_X, CONT_Y + 4.5)
        self.cell(TEXT_W, 4.5, self._fit(self.running_title, TEXT_W))
        self._rule(CONT_Y + 10.5)

    def _fit(self, text: str, width: float) -> str:
        """Shorten text with an ellipsis so it fits width in the current font."""
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def _rule(self, y: float) -> None:
        """A thin grey line across the text width."""
        self.set_draw_color(150)
        self.set_line_width(0.2)
        self.line(TEXT_X, y, TEXT_RIGHT, y)

    def _marks(self) -> None:
        """Fold marks at 105/210 mm and the punch mark at 148.5 mm (DIN 5008 Form B)."""
        self.set_draw_color(120)
        self.set_line_width(0.2)
        for y in FOLD_MARKS:
            self.line(3, y, 8, y)
        self.line(3, PUNCH_MARK, 11, PUNCH_MARK)

    def _page_number(self) -> None:
        """DIN 5008: number the pages of multi-page documents, "Seite N von M"."""
        if not self.page_total or self.page_total < 2:
            return
        self.set_text_color(0)
        self.set_font(FONT, "", 8)
        self.set_xy(TEXT_X, PAGE_NO_Y)
        self.cell(TEXT_W, 4, f"Seite {self.page} von {self.page_total}", align="R")

    def _legal_footer(self) -> None:
        """Three columns of legal company details required on business letters (§ 35a GmbHG)."""
        self._rule(FOOTER_Y - 2)
        self.set_text_color(60)
        col_w = TEXT_W / FOOTER_COLUMNS
        for index, lines in enumerate(footer_columns(self.company)):
            self.set_y(FOOTER_Y)
            for text in lines:
                self._footer_entry(TEXT_X + index * col_w, col_w - 2, text)
        self.set_text_color(0)

    def _footer_entry(self, x: float, width: float, text: str) -> None:
        """One footer entry, shrunk to fit or else wrapped; refuse rather than leave the page."""
        for line in self._fit_words(text, width, FOOTER_PT, FOOTER_MIN_PT):
            self.set_x(x)
            self.cell(width, FOOTER_LH, line, new_x="LEFT", new_y="NEXT")
        if self.get_y() > PAGE_H - 4:
            raise RenderError(f"Die Fußzeile ist zu lang (bei „{text}“).")

    def _fit_words(self, text: str, width: float, size: float, min_size: float) -> list[str]:
        """Lines of text in width: one line shrunk down to min_size, else wrapped at spaces.

        A word is never broken: an e-mail address, a website or an IBAN group stays whole,
        in a smaller font if it must (down to WORD_MIN_PT), or the text is refused.
        """
        if self._shrink_to_fit(text, width, size, min_size):
            return [text]
        self.set_font(FONT, "", size)  # wrapping at normal size reads better
        longest = max(text.split(), key=self.get_string_width)
        if not self._shrink_to_fit(longest, width, size, WORD_MIN_PT):
            raise RenderError(
                f"„{longest}“ ist zu lang für den Platz im Briefbogen ({width:.0f} mm); "
                "bitte kürzer angeben."
            )
        return wrap_at_spaces(text, width, self.get_string_width)

    def _shrink_to_fit(
        self, text: str, width: float, size: float, min_size: float, style: str = ""
    ) -> bool:
        """Set the font as large as possible (≤ size, ≥ min_size); True if text then fits."""
        self.set_font(FONT, style, size)
        while self.get_string_width(text) > width and size > min_size:
            size -= 0.5
            self.set_font(FONT, style, size)
        return self.get_string_width(text) <= width

    # --- first-page blocks ------------------------------------------------------------

    def draw_address(self, lines: Sequence[str], notes: Sequence[str] = ()) -> None:
        """Return line and notes bottom-aligned in the 17.7 mm zone, recipient from 62.7 mm."""
        recipient = check_address_lines(lines)
        zone = [*self._return_lines(), *self._notes(notes)]
        for index, (size, text) in enumerate(zone):
            if not self._shrink_to_fit(text, ADDRESS_TEXT_W, size, ZONE_MIN_PT):
                raise RenderError(f"Die Zeile „{text}“ ist zu breit für das Anschriftfeld.")
            self.set_xy(TEXT_X, RECIPIENT_Y - (len(zone) - index) * ZONE_LH - 0.3)
            self.cell(ADDRESS_TEXT_W, ZONE_LH, text)
        self.set_font(FONT, "", ADDRESS_PT)
        for index, line in enumerate(recipient):
            # 0.5 mm down so the glyph tops (ascenders, umlaut dots) stay inside the zone.
            self.set_xy(TEXT_X, RECIPIENT_Y + 0.5 + index * ADDRESS_LH)
            self.cell(ADDRESS_TEXT_W, ADDRESS_LH, line)

    def _return_lines(self) -> list[tuple[float, str]]:
        """The return address in one line, or two (name / address) if one is too wide."""
        parts = return_parts(self.company)
        one_line = " · ".join(parts)
        if self._shrink_to_fit(one_line, ADDRESS_TEXT_W, RETURN_PT, ZONE_MIN_PT):
            return [(RETURN_PT, one_line)]
        return [(RETURN_PT, parts[0]), (RETURN_PT, " · ".join(parts[1:]))]

    def _notes(self, notes: Sequence[str]) -> list[tuple[float, str]]:
        """Notes such as "Einschreiben" for the Vermerkzone, at most three."""
        cleaned = [clean_line(note) for note in notes if clean_line(note)]
        if len(cleaned) > MAX_NOTES:
            raise RenderError(f"Höchstens {MAX_NOTES} Vermerke passen über die Anschrift.")
        return [(NOTE_PT, note) for note in cleaned]

    def draw_info_block(self, pairs: Sequence[tuple[str, str]]) -> float:
        """Label/value pairs from x 125 mm, y 50 mm; returns the y below the block."""
        rows = [(clean_line(k), clean_line(v)) for k, v in pairs if clean_line(k) or clean_line(v)]
        self.set_font(FONT, "", INFO_LABEL_PT)
        label_w = min(30.0, max((self.get_string_width(k) for k, _ in rows), default=0) + 2.5)
        y = INFO_Y
        for label, value in rows:
            y = self._info_row(y, label_w, label, value)
        if y > INFO_MAX_BOTTOM:
            raise RenderError("Der Informationsblock ist zu lang für die erste Seite.")
        return y

    def _info_row(self, y: float, label_w: float, label: str, value: str) -> float:
        """One label/value row; long values wrap. Returns the y of the next row."""
        self.set_font(FONT, "", INFO_LABEL_PT)
        self.set_text_color(90)
        self.set_xy(INFO_X, y)
        self.multi_cell(label_w, INFO_LH, label, new_x="LMARGIN", new_y="NEXT", align="L")
        label_bottom = self.get_y()
        self.set_text_color(0)
        value_w = TEXT_RIGHT - INFO_X - label_w
        x, top = INFO_X + label_w, y
        try:
            # What is too wide wraps at spaces; ragged right as everywhere in DIN 5008.
            lines = self._fit_words(value, value_w, INFO_VALUE_PT, INFO_MIN_PT)
        except RenderError:
            # A long unbreakable value (an e-mail address) gets the block's whole width.
            x, top, value_w = INFO_X, label_bottom, TEXT_RIGHT - INFO_X
            lines = self._fit_words(value, value_w, INFO_VALUE_PT, INFO_MIN_PT)
        for index, line in enumerate(lines):
            self.set_xy(x, top + index * INFO_LH)
            self.cell(value_w, INFO_LH, line)
        return max(top + len(lines) * INFO_LH, label_bottom)

    # --- body -------------------------------------------------------------------------

    def write_line(self, text: str, style: str = "", size: float = BODY_PT) -> None:
        """One logical line of plain text at the text margin; long lines wrap."""
        self.set_font(FONT, style, size)
        self.set_x(TEXT_X)
        text = clean_line(text)
        self.multi_cell(TEXT_W, BODY_LH, text, new_x="LMARGIN", new_y="NEXT", align="L")

    def blank_line(self, count: float = 1) -> None:
        """DIN 5008 spacing is counted in blank lines of the body font."""
        self.ln(BODY_LH * count)

    def write_markdown(self, text: str, *, keep_together: bool = False) -> None:
        """Render the safe Markdown subset; one blank line between blocks (DIN 5008).

        Widow/orphan control: no paragraph leaves a single line at a page's bottom or top,
        and a heading (a bold line, or a line ending in ":") stays with what follows it.
        keep_together moves the whole text to the next page if it fits there (a closing).
        """
        blocks = [self._layout_block(block) for block in parse(text)]
        if keep_together:
            lines = sum(len(block) for block in blocks) + len(blocks) - 1
            if lines * BODY_LH <= BODY_BOTTOM - CONT_BODY_Y:
                self.ensure_space(lines * BODY_LH)
        for index, block in enumerate(blocks):
            if index:
                self.blank_line()
            following = blocks[index + 1] if index + 1 < len(blocks) else []
            keep = min(2, len(following)) + 1 if _is_heading(block) and following else 0
            self._flow(block, keep_with_next=keep)

    def _layout_block(self, block: Paragraph | BulletList) -> list[_PrintLine]:
        """The printed lines of a block: paragraphs at the margin, bullets with an indent."""
        if isinstance(block, Paragraph):
            return [ln for line in block.lines for ln in self._wrap_runs(line, TEXT_X, TEXT_W)]
        lines: list[_PrintLine] = []
        for item in block.items:
            width = TEXT_W - BULLET_INDENT
            wrapped = [
                ln
                for line in item.lines
                for ln in self._wrap_runs(line, TEXT_X + BULLET_INDENT, width)
            ]
            if wrapped:
                wrapped[0] = _PrintLine(wrapped[0].x, wrapped[0].runs, bullet=True)
            lines.extend(wrapped)
        return lines

    def _wrap_runs(self, line: Line, x: float, width: float) -> list[_PrintLine]:
        """Break styled runs into lines at spaces (a word wider than the line is split)."""
        rows: list[list[tuple[str, str]]] = [[]]
        used = 0.0
        for run in line:
            style = ("B" if run.bold else "") + ("I" if run.italic else "")
            self.set_font(FONT, style, BODY_PT)
            for token in re.findall(r"\S+|\s+", run.text):
                if token.isspace():
                    if rows[-1]:
                        rows[-1].append((" ", style))
                        used += self.get_string_width(" ")
                    continue
                for piece in self._split_word(token, width):
                    needed = self.get_string_width(piece)
                    if rows[-1] and used + needed > width:
                        rows.append([])
                        used = 0.0
                    rows[-1].append((piece, style))
                    used += needed
        return [_PrintLine(x, _merge_runs(row)) for row in rows]

    def _split_word(self, word: str, width: float) -> list[str]:
        """A word as it fits a line; only a word wider than the whole line is cut."""
        pieces: list[str] = []
        while self.get_string_width(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and self.get_string_width(word[:cut]) > width:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        return [*pieces, word]

    def _flow(self, lines: Sequence[_PrintLine], keep_with_next: int = 0) -> None:
        """Print lines at the body line height, breaking pages with widow/orphan control."""
        room = int((BODY_BOTTOM - self.get_y() + 0.001) // BODY_LH)
        full = int((BODY_BOTTOM - CONT_BODY_Y + 0.001) // BODY_LH)
        if keep_with_next and len(lines) + keep_with_next > room:
            room = 0  # a heading never ends a page: it moves on with its paragraph
        index = 0
        for number, count in enumerate(plan_breaks(len(lines), room, full)):
            if number:
                self.add_page()
            for line in lines[index : index + count]:
                self._print_line(line)
            index += count

    def _print_line(self, line: _PrintLine) -> None:
        """One line of styled runs at the current y; then the next line."""
        y, x = self.get_y(), line.x
        if line.bullet:
            self.set_font(FONT, "", BODY_PT)
            self.set_xy(TEXT_X, y)
            self.cell(BULLET_INDENT, BODY_LH, "•")
        for text, style in line.runs:
            self.set_font(FONT, style, BODY_PT)
            width = self.get_string_width(text)
            self.set_xy(x, y)
            self.cell(width, BODY_LH, text)
            x += width
        self.set_xy(TEXT_X, y + BODY_LH)

    def wrap_lines(self, width: float, text: str) -> list[str]:
        """text as multi_cell would wrap it to width in the current font (at least one line)."""
        lines = self.multi_cell(width, BODY_LH, text, dry_run=True, output="LINES")
        return [str(line) for line in lines] if isinstance(lines, list) and lines else [""]

    def ensure_space(self, height: float) -> None:
        """Start a new page unless height mm are left above the body bottom."""
        if self.get_y() + height > BODY_BOTTOM:
            self.add_page()

    def place_png(self, png: bytes, x: float, y: float, width: float) -> None:
        """Place a PNG/JPEG (e.g. a GiroCode) at x, y with the given width in mm."""
        self.image(BytesIO(png), x=x, y=y, w=width)


def pdfa_xmp(title: str, author: str, tool: str, created: datetime, compliance: str) -> str:
    """PDF/A XMP packet body; PDF/A has no Info dictionary in fpdf2, so XMP holds the metadata."""
    part, conformance = compliance.removeprefix("PDF/A-")[0], compliance[-1]
    stamp = created.astimezone(UTC).isoformat(timespec="seconds")
    return "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="KMS">',
            '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
            '    xmlns:dc="http://purl.org/dc/elements/1.1/"',
            '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
            '    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">',
            f'    <rdf:Description rdf:about="" xmp:CreatorTool={quoteattr(tool)}',
            f'      xmp:CreateDate="{stamp}" xmp:ModifyDate="{stamp}" xmp:MetadataDate="{stamp}">',
            f"      <pdfaid:part>{part}</pdfaid:part>",
            f"      <pdfaid:conformance>{conformance}</pdfaid:conformance>",
            f'      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li>',
            "      </rdf:Alt></dc:title>",
            f"      <dc:creator><rdf:Seq><rdf:li>{escape(author)}</rdf:li></rdf:Seq></dc:creator>",
            "    </rdf:Description>",
            "  </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )


def _logo_image(data: bytes) -> Image.Image:
    """Decode PNG/JPEG logo bytes as RGB(A): PDF/A with an sRGB intent forbids CMYK images."""
    from kms.rendering.preview import open_image_bounded

    try:
        image = open_image_bounded(data)
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise RenderError("Das Logo ist kein lesbares PNG- oder JPEG-Bild.") from exc
    except RenderError as exc:  # unreadable or too many pixels: say it is about the logo
        raise RenderError(f"Logo: {exc}") from exc
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def return_parts(company: Company) -> list[str]:
    """Parts of the DIN 5008 return address: company, street, postcode and town (, country)."""
    address = company.address
    parts = [company.display_name, address.street, f"{address.postcode} {address.town}"]
    if address.country.strip().upper() != "DE":
        parts.append(country_name(address.country).upper())
    return [clean_line(p) for p in parts if clean_line(p)]


def footer_columns(company: Company) -> list[list[str]]:
    """Footer columns: company/address/register, contact/tax numbers, bank details."""
    register = " ".join(p for p in (company.register_court, company.register_number) if p)
    first = [
        *return_parts(company),
        _labelled("Geschäftsführung:", company.managing_director),
        register,
    ]
    second = [
        _labelled("Tel.", company.phone),
        _labelled("E-Mail", company.email),
        _labelled("Web", company.website),
        _labelled("Steuernr.", company.tax_number),
        _labelled("USt-IdNr.", company.vat_id),
    ]
    iban = format_iban(company.iban) if company.iban else ""
    third = [company.bank_name, _labelled("IBAN", iban), _labelled("BIC", company.bic)]
    return [[clean_line(t) for t in col if clean_line(t)] for col in (first, second, third)]


def _labelled(label: str, value: str) -> str:
    """ "Label value", or "" when there is no value."""
    return f"{label} {value}" if value.strip() else ""
