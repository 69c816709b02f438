"""Combined printing: every letter starts on an odd page of the combined PDF."""

from __future__ import annotations

import io

import pdfplumber
import pytest

from kms.rendering.letter import RenderError, render_letters_combined
from tests.rendering.conftest import render

# Paragraph counts that give letters of 1, 2 and 3 pages.
PARAGRAPHS = {1: 1, 2: 12, 3: 26}


@pytest.fixture(scope="module")
def letters() -> dict[int, bytes]:
    """Letters of 1, 2 and 3 pages, each with its page count as the subject."""
    import dataclasses

    from kms.rendering.demo import demo_letter

    made = {}
    for pages, paragraphs in PARAGRAPHS.items():
        letter = dataclasses.replace(demo_letter(paragraphs), subject=f"Brief mit {pages} Seiten")
        made[pages] = render(letter)
    return made


def _page_count(data: bytes) -> int:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def _starts(data: bytes) -> list[tuple[int, str]]:
    """(1-based page, subject) for each page that begins a letter (it has the address)."""
    starts = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            text = page.extract_text() or ""
            if "Musterstraße 1" in text:
                subject = next(line for line in text.splitlines() if line.startswith("Brief mit"))
                starts.append((number, subject))
    return starts


def test_fixture_letters_have_1_2_3_pages(letters):
    """The fixtures really have 1, 2 and 3 pages."""
    assert {pages: _page_count(data) for pages, data in letters.items()} == {
        1: 1,
        2: 2,
        3: 3,
    }


@pytest.mark.parametrize(
    ("order", "total", "starts"),
    [
        ((1, 2, 3), 1 + 1 + 2 + 3, [1, 3, 5]),
        ((3, 1, 2), 3 + 1 + 1 + 1 + 2, [1, 5, 7]),
        ((2, 2), 4, [1, 3]),
        ((1, 1, 1), 5, [1, 3, 5]),
    ],
)
def test_every_letter_starts_on_an_odd_page(letters, order, total, starts):
    """A blank page follows each odd-length letter except the last; starts are odd."""
    combined = render_letters_combined([letters[pages] for pages in order])
    assert _page_count(combined) == total
    expected = [
        (start, f"Brief mit {pages} Seiten") for start, pages in zip(starts, order, strict=True)
    ]
    assert _starts(combined) == expected


def test_blank_pages_are_a4_and_empty(letters):
    """Inserted back sides are empty A4 pages."""
    combined = render_letters_combined([letters[1], letters[1]])
    with pdfplumber.open(io.BytesIO(combined)) as pdf:
        blank = pdf.pages[1]
        assert (round(blank.width), round(blank.height)) == (595, 842)
        assert not blank.extract_text() and not blank.chars


def test_combining_nothing_is_refused():
    """An empty list gives a German RenderError."""
    with pytest.raises(RenderError, match="keine Briefe"):
        render_letters_combined([])


def test_combined_output_is_reproducible(letters):
    """The same letters combine to the same bytes."""
    assert render_letters_combined([letters[1], letters[2]]) == render_letters_combined(
        [letters[1], letters[2]]
    )
