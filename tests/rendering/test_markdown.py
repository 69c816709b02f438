"""The safe Markdown subset: paragraphs, **bold**, *italic*, bullet lists; all else literal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms.rendering.markdown import BulletList, Paragraph, Run, parse, parse_inline

R = Run


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("schlicht", (R("schlicht"),)),
        ("a **fett** b", (R("a "), R("fett", bold=True), R(" b"))),
        ("a *kursiv* b", (R("a "), R("kursiv", italic=True), R(" b"))),
        ("***beides***", (R("beides", bold=True, italic=True),)),
        ("**a *b* c**", (R("a ", True), R("b", True, True), R(" c", True))),
        (
            "*a **b** c*",
            (R("a ", italic=True), R("b", True, True), R(" c", italic=True)),
        ),
        ("Wort**fett**Wort", (R("Wort"), R("fett", bold=True), R("Wort"))),
        # hostile or broken input prints literally
        ("<b>fett</b>", (R("<b>fett</b>"),)),
        ("<script>alert('x')</script>", (R("<script>alert('x')</script>"),)),
        ("**unclosed", (R("**unclosed"),)),
        ("*unclosed", (R("*unclosed"),)),
        ("unopened**", (R("unopened**"),)),
        ("****", (R("****"),)),
        ("** nicht fett **", (R("** nicht fett **"),)),
        ("5 * 3 * 2 = 30", (R("5 * 3 * 2 = 30"),)),
        ("**a *b** c*", (R("a *b", bold=True), R(" c*"))),
        ("*a**b*", (R("a**b", italic=True),)),
        ("__nicht__ _fett_", (R("__nicht__ _fett_"),)),
        ("# Kein Titel", (R("# Kein Titel"),)),
        ("[Link](javascript:alert(1))", (R("[Link](javascript:alert(1))"),)),
        ("`code` &amp; \\*", (R("`code` &amp; \\*"),)),
        ("{nb} --u-- ~~s~~", (R("{nb} --u-- ~~s~~"),)),
    ],
)
def test_inline_runs(text, runs):
    """Emphasis markers pair up only when well-formed; everything else stays literal."""
    assert parse_inline(text) == runs


def test_blank_lines_separate_paragraphs_single_newlines_break_lines():
    """A blank line starts a paragraph; a single newline is kept as a line break."""
    blocks = parse("Zeile 1\nZeile 2\n\n\nAbsatz 2")
    assert blocks == [
        Paragraph(((R("Zeile 1"),), (R("Zeile 2"),))),
        Paragraph(((R("Absatz 2"),),)),
    ]


def test_bullet_lists_with_dash_and_star():
    """Lines starting with "- " or "* " form a bullet list; indented lines continue an item."""
    blocks = parse("Einleitung\n- eins\n* **zwei**\n  weiter\nSchluss")
    assert blocks == [
        Paragraph(((R("Einleitung"),),)),
        BulletList(
            (
                Paragraph(((R("eins"),),)),
                Paragraph(((R("zwei", bold=True),), (R("weiter"),))),
            )
        ),
        Paragraph(((R("Schluss"),),)),
    ]


@pytest.mark.parametrize("text", ["-kein Punkt", "*kein Punkt", "--- Linie", "1. Nummer"])
def test_non_bullets_stay_literal(text):
    """Only "- " and "* " make bullets; other list-like syntax is plain text."""
    assert parse(text) == [Paragraph((parse_inline(text),))]


def test_windows_line_endings_and_tabs():
    """CRLF counts as a newline, tabs become spaces (no tab glyph in the font)."""
    assert parse("a\r\n\r\nb\tc") == [
        Paragraph(((R("a"),),)),
        Paragraph(((R("b    c"),),)),
    ]


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200))
def test_parser_never_fails_and_keeps_visible_text(text):
    """Any input parses; all visible characters except markers survive, in order."""
    blocks = parse(text)
    runs = [
        run
        for block in blocks
        for para in (block.items if isinstance(block, BulletList) else (block,))
        for line in para.lines
        for run in line
    ]

    def visible(s: str) -> str:
        return re.sub(r"[\s*\-\x00-\x1f\x7f-\x9f]", "", s)  # markers, spaces, controls

    assert visible("".join(r.text for r in runs)) == visible(text.replace("\r", "\n"))


def test_control_characters_become_spaces():
    """NUL, escape and other control characters cannot reach the PDF; newlines still count."""
    assert parse("a\x00b\x1b[31mc\nd") == [Paragraph(((R("a b [31mc"),), (R("d"),)))]
