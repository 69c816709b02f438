"""DIN 5008 Form B geometry of rendered letters, measured back from the PDF with pdfplumber."""

from __future__ import annotations

import pytest

from tests.rendering.conftest import MM, lines_mm, mm, open_pdf, render

EPS = 0.01  # rounding of right-aligned text
RECIPIENT = ["Frau", "Erika Mustermann", "Musterstraße 1", "12345 Musterstadt"]


def _first_page_lines(data: bytes) -> list[dict]:
    with open_pdf(data) as pdf:
        return lines_mm(pdf.pages[0])


def _recipient_words(data: bytes) -> list[dict]:
    """Words left of the information block and inside the address zone's height."""
    with open_pdf(data) as pdf:
        words = pdf.pages[0].extract_words()
    return [w for w in words if mm(w["x0"]) < 120 and 62 <= mm(w["top"]) < 92]


def test_recipient_lines_lie_inside_the_address_zone(one_page_pdf):
    """Recipient lines lie inside x 20–105 mm and the 27.3 mm zone, y 62.7–90 mm."""
    words = _recipient_words(one_page_pdf)
    assert " ".join(w["text"] for w in words) == " ".join(RECIPIENT)
    for word in words:
        assert 20 <= mm(word["x0"]) and mm(word["x1"]) <= 105
        assert 62.7 <= mm(word["top"]) and mm(word["bottom"]) <= 90


def test_six_recipient_lines_still_fit_the_zone(make_letter):
    """Six address lines (the DIN 5008 maximum) end above y 90 mm."""
    six = (
        "Firma",
        "Beispiel AG",
        "Abteilung Einkauf",
        "z. Hd. Frau Muster",
        "Weg 2",
        "12345 Ort",
    )
    words = _recipient_words(render(make_letter(recipient=six)))
    assert words[0]["text"] == "Firma" and 62.7 <= mm(words[0]["top"])
    assert words[-1]["text"] == "Ort" and mm(words[-1]["bottom"]) <= 90


def test_return_line_lies_inside_the_return_zone(one_page_pdf):
    """The return-address line lies inside y 45–62.7 mm and inside the window width."""
    line = next(x for x in _first_page_lines(one_page_pdf) if "Beispielweg 7 ·" in x["text"])
    assert 45 <= line["top"] and line["bottom"] <= 62.7
    assert 20 <= line["x0"]
    chars = [c for c in line["chars"] if mm(c["x0"]) < 120]
    assert mm(chars[-1]["x1"]) <= 105
    assert round(chars[0]["size"]) == 7


def test_notes_sit_between_return_line_and_recipient(make_letter):
    """A note such as "Einschreiben" is in the 17.7 mm zone, below the return line."""
    lines = _first_page_lines(render(make_letter(notes=("Einschreiben",))))
    ret = next(x for x in lines if "Beispielweg 7 ·" in x["text"])
    note = next(x for x in lines if x["text"].startswith("Einschreiben"))
    assert 45 <= ret["top"] < note["top"] and note["bottom"] <= 62.7


def test_information_block_starts_at_125_mm_around_50_mm(one_page_pdf):
    """The information block starts at x ≥ 125 mm, first row around y 50 mm."""
    with open_pdf(one_page_pdf) as pdf:
        words = pdf.pages[0].extract_words()
    labels = [w for w in words if w["text"] in ("Ihr", "Kundennummer", "Datum")]
    first = min(labels, key=lambda w: w["top"])
    assert first["text"] == "Ihr"
    assert 49 <= mm(first["top"]) <= 52
    assert all(mm(w["x0"]) >= 125 - EPS for w in labels)
    assert all(mm(w["x1"]) <= 190 + EPS for w in words if mm(w["x0"]) >= 125)


def test_information_block_ends_with_the_date(one_page_pdf):
    """The date row "Datum 26.11.2026" is in the information block."""
    lines = _first_page_lines(one_page_pdf)
    assert any(x["text"].endswith("Datum 26.11.2026") for x in lines)


@pytest.mark.parametrize("page_index", [0, 1])
def test_body_text_starts_at_25_mm_and_respects_right_margin(two_page_pdf, page_index):
    """Body text starts at x 25 mm and never exceeds the page width minus 20 mm."""
    with open_pdf(two_page_pdf) as pdf:
        lines = lines_mm(pdf.pages[page_index])
    body = [x for x in lines if x["text"].startswith("Für die Gestaltung")]
    assert body
    assert all(abs(x["x0"] - 25) < 0.1 for x in body)
    assert all(x["x1"] <= 190 + EPS for x in lines)


def test_fold_and_punch_marks(one_page_pdf):
    """Fold marks at 105 and 210 mm and the punch mark at 148.5 mm, short lines at the edge."""
    with open_pdf(one_page_pdf) as pdf:
        marks = [ln for ln in pdf.pages[0].lines if mm(ln["x1"]) < 20]
    assert sorted(round(mm(m["top"]), 1) for m in marks) == [105.0, 148.5, 210.0]
    assert all(mm(m["x0"]) < 5 and mm(m["x1"] - m["x0"]) <= 10 for m in marks)


def test_page_numbers_on_every_page_of_a_long_letter(make_letter):
    """Every page of a multi-page letter says "Seite N von M"."""
    with open_pdf(render(make_letter(paragraphs=30))) as pdf:
        total = len(pdf.pages)
        texts = [page.extract_text() for page in pdf.pages]
    assert total >= 3
    for number, text in enumerate(texts, start=1):
        assert f"Seite {number} von {total}" in text


def test_single_page_letter_has_no_page_number(one_page_pdf):
    """A one-page letter carries no "Seite 1 von 1"."""
    with open_pdf(one_page_pdf) as pdf:
        assert len(pdf.pages) == 1
        assert "Seite 1 von" not in pdf.pages[0].extract_text()


def test_continuation_header_on_page_two(two_page_pdf):
    """Page 2 starts with sender, subject and date instead of the address field."""
    with open_pdf(two_page_pdf) as pdf:
        lines = lines_mm(pdf.pages[1])
    top = [x["text"] for x in lines if x["top"] < 25]
    assert top == [
        "Grafikbüro Beispiel GmbH 26.11.2026",
        "Überarbeitete Entwürfe für Ihren Jahresbericht",
    ]
    assert "Musterstraße" not in " ".join(x["text"] for x in lines)
    body = [x for x in lines if x["top"] >= 25]
    assert body[0]["top"] >= 28


def test_footer_on_every_page(two_page_pdf):
    """The legal footer (register, tax and bank details) is printed on every page."""
    with open_pdf(two_page_pdf) as pdf:
        for page in pdf.pages:
            footer = [x["text"] for x in lines_mm(page) if x["top"] >= 270]
            text = " ".join(footer)
            assert "Amtsgericht Beispielstadt HRB 12345" in text
            assert "IBAN DE02 1203 0000 0000 2020 51" in text
            assert "USt-IdNr. DE123456789" in text
            assert all(x["bottom"] <= 297 - 5 for x in lines_mm(page))


def test_body_stays_above_the_footer(make_letter):
    """No body text runs into the page-number line or the footer."""
    with open_pdf(render(make_letter(paragraphs=30))) as pdf:
        for page in pdf.pages:
            body = [x for x in lines_mm(page) if x["text"].startswith(("Für", "Änderungen"))]
            assert all(x["bottom"] <= 263 for x in body)


def test_logo_is_right_aligned_in_the_letterhead(make_letter, company):
    """A logo is scaled into the 45 mm letterhead zone and ends at the right text margin."""
    import dataclasses
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (400, 100), (20, 80, 160)).save(buffer, format="PNG")
    sender = dataclasses.replace(company, logo=buffer.getvalue())
    with open_pdf(render(make_letter(sender=sender))) as pdf:
        (image,) = pdf.pages[0].images
    assert abs(mm(image["x1"]) - 190) < 0.1
    assert mm(image["top"]) >= 5 and mm(image["bottom"]) <= 45
    assert abs((image["x1"] - image["x0"]) / (image["bottom"] - image["top"]) - 4) < 0.01


def test_long_company_name_splits_the_return_address_inside_the_zone(make_letter, company):
    """A return address too wide for one line takes two lines, still inside y 45–62.7 mm."""
    import dataclasses

    sender = dataclasses.replace(company, name="Grafikbüro und Werbeagentur Beispiel & Partner")
    letter = make_letter(sender=sender, notes=("Einschreiben Einwurf", "Persönlich", "Eilt"))
    with open_pdf(render(letter)) as pdf:
        zone = pdf.pages[0].crop((0, 40 * MM, 120 * MM, 62.5 * MM), strict=False)
        words = zone.extract_words()
        text = zone.extract_text()
    assert text.splitlines() == [
        "Grafikbüro und Werbeagentur Beispiel & Partner GmbH",
        "Beispielweg 7 · 54321 Beispielstadt",
        "Einschreiben Einwurf",
        "Persönlich",
        "Eilt",
    ]
    assert all(45 <= mm(w["top"]) and mm(w["bottom"]) <= 62.7 for w in words)


def test_foreign_sender_country_in_return_line_and_footer(make_letter, company):
    """A sender abroad prints its country in capitals in the return line and the footer."""
    import dataclasses

    from kms.rendering.models import PostalAddress

    sender = dataclasses.replace(company, address=PostalAddress("Ring 1", "1010", "Wien", "AT"))
    with open_pdf(render(make_letter(sender=sender))) as pdf:
        text = pdf.pages[0].extract_text()
    assert "Grafikbüro Beispiel GmbH · Ring 1 · 1010 Wien · ÖSTERREICH" in text
    assert "\nÖSTERREICH" in text or " ÖSTERREICH " in text
