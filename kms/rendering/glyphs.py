"""Which characters a PDF can show: the vendored DejaVu fonts plus Debian fallback fonts.

fpdf2 drops a character that no registered font has and only logs it. Documents must never
lose text silently, so every text is checked here: characters outside DejaVu are drawn with
a fallback font (Symbola for emoji and symbols, Droid Sans Fallback for Chinese and
Japanese; both TrueType, embedded as subsets as PDF/A-3 requires), and a character that no
font has is refused with a German message - when a form is saved, and again when rendering.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont

from kms.errors import ValidationError

FONT_DIR = Path(__file__).parent / "fonts"
FONT = "DejaVu"
FONT_STYLES = {"": "", "B": "-Bold", "I": "-Oblique", "BI": "-BoldOblique"}
# Variation selectors only choose emoji or text presentation; PDF text has one presentation.
_VARIATION_SELECTORS = {chr(c) for c in range(0xFE00, 0xFE10)}


@dataclass(frozen=True)
class FallbackFont:
    """A font from a Debian package, used for the characters DejaVu lacks."""

    family: str
    path: Path
    package: str


# Installed by .ci/run and `make setup-system` (Debian packages fonts-symbola and
# fonts-droid-fallback); where a file is missing its characters are refused, never lost.
FALLBACK_FONTS = (
    FallbackFont(
        "Symbola",
        Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"),
        "fonts-symbola",
    ),
    FallbackFont(
        "DroidFallback",
        Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
        "fonts-droid-fallback",
    ),
)


def font_file(style: str) -> Path:
    """The vendored DejaVu Sans file of a style ("", "B", "I", "BI")."""
    return FONT_DIR / f"DejaVuSans{FONT_STYLES[style]}.ttf"


@cache
def _cmap(path: Path) -> frozenset[int]:
    """The code points a TrueType file has glyphs for."""
    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap())


@cache
def _base_cmap() -> frozenset[int]:
    """Code points every DejaVu style has (bold text must not lose what regular text shows)."""
    return frozenset.intersection(*(_cmap(font_file(style)) for style in FONT_STYLES))


@cache
def available_fallbacks() -> tuple[FallbackFont, ...]:
    """The fallback fonts installed on this machine."""
    return tuple(font for font in FALLBACK_FONTS if font.path.is_file())


def strip_selectors(text: str) -> str:
    """Text without emoji variation selectors (U+FE00–U+FE0F)."""
    return "".join(c for c in text if c not in _VARIATION_SELECTORS)


def _needs_glyph(char: str) -> bool:
    """Line breaks, tabs and invisible format characters are never drawn."""
    return unicodedata.category(char) not in ("Cc", "Cf", "Zl", "Zp") and (
        char not in _VARIATION_SELECTORS
    )


def fallbacks_for(text: str) -> tuple[list[FallbackFont], list[str]]:
    """Fallback fonts text needs, and the characters no available font has."""
    base = _base_cmap()
    needed: list[FallbackFont] = []
    missing: list[str] = []
    for char in dict.fromkeys(text):
        if ord(char) in base or not _needs_glyph(char):
            continue
        font = next((f for f in available_fallbacks() if ord(char) in _cmap(f.path)), None)
        if font is None:
            missing.append(char)
        elif font not in needed:
            needed.append(font)
    return needed, missing


def unprintable_message(text: str) -> str | None:
    """A German message naming the characters no PDF font can show, or None if all can."""
    _, missing = fallbacks_for(text)
    if not missing:
        return None
    shown = ", ".join(f"„{c}“ (U+{ord(c):04X})" for c in missing[:5])
    more = f" und {len(missing) - 5} weitere" if len(missing) > 5 else ""
    return (
        f"Diese Zeichen kann KMS nicht in PDF-Dokumente setzen: {shown}{more}. "
        "Bitte entfernen oder durch ein anderes Zeichen ersetzen."
    )


def validate_printable(value: str, *, field: str) -> str:
    """Refuse characters no PDF font can show (they would vanish from the document)."""
    message = unprintable_message(value)
    if message:
        raise ValidationError(field, message)
    return value
