"""Characters outside DejaVu: drawn with an embedded fallback font, or refused - never lost."""

from __future__ import annotations

import dataclasses
import io

import pikepdf
import pytest

from kms.rendering.din5008 import RenderError
from kms.rendering.glyphs import FALLBACK_FONTS, available_fallbacks, unprintable_message
from tests.rendering.conftest import open_pdf, render

# Emoji, Greek, Cyrillic, Chinese, Japanese: all printable with the fallback fonts.
PRINTABLE = "Danke 🚀 😀 👍 Ωμέγα Привет 中文 日本語 ❤"
# U+1FAE0 (Unicode 14 emoji) and Hangul are in none of the fonts.
UNPRINTABLE = ("🫠", "한")


def test_fallback_fonts_are_installed():
    """The Debian font packages named in .ci/run and `make setup-system` are present."""
    missing = [font.package for font in FALLBACK_FONTS if font not in available_fallbacks()]
    assert missing == [], f"apt-get install {' '.join(missing)}"


def test_emoji_and_other_scripts_are_in_the_letter_text(make_letter):
    """Subject and body with emoji, Greek, Cyrillic and CJK come back from the PDF's text."""
    data = render(make_letter(subject=f"Betreff {PRINTABLE}", body=f"**{PRINTABLE}**"))
    with open_pdf(data) as pdf:
        text = pdf.pages[0].extract_text()
    assert text.count(PRINTABLE) == 2


def test_fallback_fonts_are_embedded_subsets(make_letter):
    """PDF/A-3 needs every font embedded: the fallback fonts are embedded like DejaVu."""
    data = render(make_letter(body=PRINTABLE))
    with pikepdf.open(io.BytesIO(data)) as pdf:
        fonts = {
            str(font.BaseFont).split("+")[-1]: font
            for page in pdf.pages
            for font in page.Resources.Font.values()
        }
    assert {"Symbola", "DroidSansFallback"} <= set(fonts)
    for font in fonts.values():
        descriptor = font.DescendantFonts[0].FontDescriptor
        assert "/FontFile2" in descriptor


@pytest.mark.parametrize("char", UNPRINTABLE)
def test_character_without_any_font_is_refused_in_german(make_letter, char):
    """A character no font has stops rendering with a German message naming it."""
    with pytest.raises(RenderError, match=f"„{char}“ \\(U\\+{ord(char):04X}\\)"):
        render(make_letter(body=f"Hallo {char}"))
    assert "nicht in PDF-Dokumente setzen" in (unprintable_message(char) or "")


def test_unprintable_sender_name_is_refused_too(make_letter, company):
    """Letterhead and footer text are checked like the body."""
    sender = dataclasses.replace(company, name="Grafikbüro 🫠")
    with pytest.raises(RenderError, match="U\\+1FAE0"):
        render(make_letter(sender=sender))


def test_emoji_variation_selector_is_dropped_not_refused(make_letter):
    """ "❤️" (heart + U+FE0F) prints as the heart; the selector has no glyph of its own."""
    with open_pdf(render(make_letter(body="Gruß ❤\ufe0f"))) as pdf:
        assert "Gruß ❤" in pdf.pages[0].extract_text()
