"""Letter bodies flow over pages like typeset text: widow/orphan control, headings kept."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from kms.rendering.din5008 import plan_breaks
from tests.rendering.conftest import open_pdf, render

TAG = re.compile(r"\b([ph]\d\d)\b")


def _paragraph(tag: str, words: int = 45) -> str:
    """A paragraph of about three lines whose every word names it, e.g. "p07 p07 …"."""
    return " ".join([tag] * words)


def _lines_per_page(data: bytes) -> list[Counter]:
    """For each page, how many text lines each tagged paragraph has there."""
    with open_pdf(data) as pdf:
        pages = []
        for page in pdf.pages:
            tags = Counter()
            for line in page.extract_text_lines():
                found = set(TAG.findall(line["text"]))
                tags.update(found)
            pages.append(tags)
    return pages


@pytest.mark.parametrize("shift", range(6))
def test_no_single_line_of_a_paragraph_at_a_page_bottom_or_top(make_letter, shift):
    """Whatever paragraph crosses a page break leaves at least two lines on each side."""
    body = ["Kurz."] * shift + [_paragraph(f"p{n:02d}") for n in range(14)]
    pages = _lines_per_page(render(make_letter(body="\n\n".join(body))))
    assert len(pages) >= 2
    for tag in {tag for page in pages for tag in page}:
        parts = [page[tag] for page in pages if page[tag]]
        assert len(parts) == 1 or min(parts) >= 2, (tag, parts)


@pytest.mark.parametrize("shift", range(6))
def test_heading_stays_with_its_paragraph(make_letter, shift):
    """A bold heading line never ends a page: it is on the page where its text begins."""
    body = ["Kurz."] * shift
    for n in range(10):
        body += [f"**Abschnitt h{n:02d}**", _paragraph(f"h{n:02d}", 30)]
    data = render(make_letter(body="\n\n".join(body)))
    with open_pdf(data) as pdf:
        texts = [page.extract_text_lines() for page in pdf.pages]
    for number, lines in enumerate(texts):
        for index, line in enumerate(lines):
            if line["text"].startswith("Abschnitt h"):
                tag = line["text"].split()[-1]
                assert index + 1 < len(lines) and tag in lines[index + 1]["text"], (number, tag)


def test_bullet_items_wrap_with_a_hanging_indent(make_letter):
    """A long bullet item continues under its text, not under the bullet."""
    body = "- " + " ".join(["Punkt"] * 40)
    with open_pdf(render(make_letter(body=body))) as pdf:
        lines = [ln for ln in pdf.pages[0].extract_text_lines() if "Punkt" in ln["text"]]
    assert len(lines) >= 2
    assert lines[0]["text"].startswith("•")
    assert abs(lines[1]["x0"] - lines[0]["chars"][1]["x0"]) < 6  # under the text


@pytest.mark.parametrize(
    ("count", "room", "chunks"),
    [
        (3, 5, [3]),  # fits
        (5, 4, [3, 2]),  # one line alone on the next page would be a widow
        (3, 1, [0, 3]),  # one line alone at the bottom would be an orphan
        (2, 1, [0, 2]),
        (1, 0, [0, 1]),
        (100, 10, [10, 40, 40, 10]),  # longer than a page: flows on, full pages between
        (91, 10, [10, 40, 39, 2]),
    ],
)
def test_plan_breaks_keeps_two_lines_on_each_side(count, room, chunks):
    """Lines per page for a block: never a single line of it at a page's bottom or top."""
    assert plan_breaks(count, room, 40) == chunks
