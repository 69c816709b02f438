"""Shared fixtures: fictitious sender and letters, and helpers to read PDFs back in mm."""

from __future__ import annotations

import dataclasses
import io
import itertools
from collections.abc import Callable

import pdfplumber
import pytest

from kms.rendering.demo import DEMO_CREATED_AT, demo_company, demo_letter
from kms.rendering.letter import LetterData, render_letter

MM = 72 / 25.4  # pdfplumber works in points, origin top-left


def mm(points: float) -> float:
    """Points to millimetres."""
    return points / MM


def render(letter: LetterData) -> bytes:
    """Render with a fixed creation date."""
    return render_letter(letter, created_at=DEMO_CREATED_AT)


def open_pdf(data: bytes) -> pdfplumber.PDF:
    """Open PDF bytes with pdfplumber."""
    return pdfplumber.open(io.BytesIO(data))


def lines_mm(page: pdfplumber.page.Page) -> list[dict]:
    """Text lines of a page with x0/x1/top/bottom in mm."""
    return [
        {**line, **{k: mm(line[k]) for k in ("x0", "x1", "top", "bottom")}}
        for line in page.extract_text_lines()
    ]


@pytest.fixture
def company():
    """The demo sender."""
    return demo_company()


@pytest.fixture
def make_letter() -> Callable[..., LetterData]:
    """Build a demo letter with some fields replaced."""

    def build(paragraphs: int = 1, **changes) -> LetterData:
        return dataclasses.replace(demo_letter(paragraphs), **changes)

    return build


@pytest.fixture(scope="session")
def two_page_pdf() -> bytes:
    """The demo two-page letter."""
    return render(demo_letter(12))


@pytest.fixture(scope="session")
def one_page_pdf() -> bytes:
    """A short one-page letter."""
    return render(demo_letter(1))


def overlapping_words(data: bytes, tolerance: float = 0.3) -> list[tuple[int, str, str]]:
    """Pairs of words whose boxes overlap by more than tolerance points, per page."""
    found: list[tuple[int, str, str]] = []
    with open_pdf(data) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
            for a, b in itertools.combinations(words, 2):
                dx = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
                dy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
                if dx > tolerance and dy > tolerance:
                    found.append((number, a["text"], b["text"]))
    return found
