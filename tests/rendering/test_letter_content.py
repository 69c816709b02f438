"""What a rendered letter says: text layer, plain-text safety, metadata, errors."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pikepdf
import pytest

from kms.rendering.letter import RenderError, render_letter
from tests.rendering.conftest import open_pdf, render


def _text(data: bytes) -> str:
    with open_pdf(data) as pdf:
        return "\n".join(page.extract_text() for page in pdf.pages)


def test_umlauts_sharp_s_and_euro_survive_the_text_layer(make_letter):
    """Umlauts, ß and € come back unchanged from the PDF text layer."""
    letter = make_letter(body="Größe: 1.234,56 € – Äpfel, Öl, Übermaß, straße, ÄÖÜäöüß")
    text = _text(render(letter))
    assert "Größe: 1.234,56 € – Äpfel, Öl, Übermaß, straße, ÄÖÜäöüß" in text
    assert "Musterstraße 1" in text


def test_user_markup_prints_literally(make_letter):
    """HTML, fpdf2 markdown markers and the {nb} alias in user text print as typed."""
    body = "<b>fett</b> <script>alert(1)</script> --unterstrichen-- ~~durch~~ {nb} **offen"
    letter = make_letter(body=body, subject="Betreff <i>x</i> {nb}", recipient=("<b>Frau</b>",))
    text = _text(render(letter))
    assert body in text
    assert "Betreff <i>x</i> {nb}" in text
    assert "<b>Frau</b>" in text


def test_bold_and_italic_runs_use_the_bold_and_oblique_fonts(make_letter):
    """**fett** is set in DejaVu Bold, *kursiv* in DejaVu Oblique."""
    with open_pdf(render(make_letter(body="normal **fett** *kursiv*"))) as pdf:
        words = pdf.pages[0].extract_words(extra_attrs=["fontname"])
    fonts = {w["text"]: w["fontname"] for w in words}
    assert fonts["normal"].endswith("DejaVuSansBook")
    assert fonts["fett"].endswith("DejaVuSansBold")
    assert fonts["kursiv"].endswith("DejaVuSansOblique")


def test_closing_signature_and_attachments(make_letter):
    """Closing formula, signature name and "Anlagen" with each attachment follow the body."""
    text = _text(render(make_letter(attachments=("Angebot", "Preisliste"))))
    closing = text.index("Mit freundlichen Grüßen")
    assert (
        closing < text.index("Jörg Beispiel", closing) < text.index("Anlagen\nAngebot\nPreisliste")
    )


def test_single_attachment_is_called_anlage(make_letter):
    """One attachment is announced as "Anlage" (singular)."""
    text = _text(render(make_letter(attachments=("Angebot",))))
    assert "Anlage\nAngebot" in text


def test_metadata_title_author_and_creation_date(make_letter):
    """The PDF/A-3B XMP metadata carries title, author and the given creation date."""
    data = render_letter(make_letter(), created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    with pikepdf.open(io.BytesIO(data)) as pdf, pdf.open_metadata() as meta:
        assert meta.pdfa_status == "3B"
        assert meta["dc:title"] == "Überarbeitete Entwürfe für Ihren Jahresbericht"
        assert meta["dc:creator"] == ["Grafikbüro Beispiel GmbH"]
        assert meta["xmp:CreateDate"] == "2026-01-02T03:04:05+00:00"
        assert meta["xmp:ModifyDate"] == meta["xmp:CreateDate"]


def test_identical_input_gives_identical_bytes(make_letter):
    """With a fixed created_at the output is byte-for-byte reproducible."""
    when = datetime(2026, 11, 26, 12, 0)
    assert render_letter(make_letter(3), created_at=when) == render_letter(
        make_letter(3), created_at=when
    )


def test_fonts_are_embedded(one_page_pdf):
    """Every font in the PDF is embedded (a PDF/A prerequisite)."""
    with pikepdf.open(io.BytesIO(one_page_pdf)) as pdf:
        fonts = [f for page in pdf.pages for f in page.Resources.Font.values()]
        for font in fonts:
            descriptor = font.DescendantFonts[0].FontDescriptor
            assert "/FontFile2" in descriptor


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subject": "  "}, "Der Betreff darf nicht leer sein."),
        ({"body": "\n \n"}, "Der Brieftext darf nicht leer sein."),
        ({"recipient": tuple(f"Zeile {i}" for i in range(7))}, "höchstens 6"),
        ({"recipient": ("X" * 60,)}, "zu breit"),
        ({"recipient": ()}, "Die Empfängeranschrift ist leer."),
        ({"notes": ("a", "b", "c", "d")}, "Höchstens 3 Vermerke"),
        (
            {"info": tuple((f"L{i}", "v") for i in range(20))},
            "Informationsblock ist zu lang",
        ),
    ],
)
def test_invalid_letters_are_refused_in_german(make_letter, changes, message):
    """Empty subject/body and impossible addresses raise RenderError with a German message."""
    with pytest.raises(RenderError, match=message):
        render(make_letter(**changes))


def test_unreadable_logo_is_refused(make_letter, company):
    """A logo that is no image gives a German RenderError."""
    import dataclasses

    sender = dataclasses.replace(company, logo=b"kein Bild")
    with pytest.raises(RenderError, match="Logo"):
        render(make_letter(sender=sender))


def test_control_characters_in_one_line_fields_are_neutralised(make_letter):
    """A newline in the subject cannot break the layout; it prints as a space."""
    text = _text(render(make_letter(subject="Teil 1\nTeil 2\x00")))
    assert "Teil 1 Teil 2" in text
