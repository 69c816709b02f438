"""A letter written through the service, read back from its PDF (pdfplumber, millimetres)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from kms.modules.letters import service
from kms.rendering.preview import page_png
from tests.rendering.conftest import mm, open_pdf

pytestmark = pytest.mark.usefixtures("company")

# DIN 5008 Form B, measured from the top-left corner (the contract).
ZONE_X0, ZONE_X1 = 20.0, 105.0
RECIPIENT_TOP, ZONE_BOTTOM = 62.7, 90.0


def test_foreign_organisation_with_contact_person_sits_in_the_address_zone(
    session: Session, make_contact
) -> None:
    """Organisation, "Frau Dr. Anna Beispiel", street, town, then ÖSTERREICH, all in the window."""
    org = make_contact(
        kind="organisation",
        name="Beispiel Handels",
        legal_form="GmbH",
        street="Testgasse 12",
        postcode="1010",
        city="Wien",
        country="AT",
    )
    anna = make_contact(
        salutation="frau",
        title="Dr.",
        first_name="Anna",
        last_name="Beispiel",
        street="",
        postcode="",
        city="",
        organisation_id=org.id,
    )
    session.refresh(anna)
    letter = service.create_letter(
        session,
        contact_id=anna.id,
        subject="Ihre Bestellung bei {absender_firma}",
        letter_date=date(2026, 11, 26),
        salutation=service.suggest_salutation(anna),
        closing=service.suggest_closing(anna),
        body="vielen Dank für Ihre Bestellung. Die Lieferung erfolgt **nächste Woche**.",
    )
    expected = [
        "Beispiel Handels GmbH",
        "Frau Dr. Anna Beispiel",
        "Testgasse 12",
        "1010 Wien",
        "ÖSTERREICH",
    ]
    with open_pdf(letter.draft_pdf) as pdf:
        page = pdf.pages[0]
        words = [
            {**w, **{k: mm(w[k]) for k in ("x0", "x1", "top", "bottom")}}
            for w in page.extract_words()
        ]
        text = page.extract_text()
    # Everything left of the information block (x < 120 mm) between return line and subject.
    recipient = [w for w in words if w["x0"] < 120 and 62 <= w["top"] < 95]
    rows: dict[float, list[str]] = {}
    for word in recipient:
        rows.setdefault(round(word["top"], 1), []).append(word["text"])
        assert ZONE_X0 <= word["x0"] and word["x1"] <= ZONE_X1
        assert RECIPIENT_TOP <= word["top"] and word["bottom"] <= ZONE_BOTTOM
    assert [" ".join(row) for _top, row in sorted(rows.items())] == expected
    assert "Sehr geehrte Frau Dr. Beispiel," in text
    assert "Ihre Bestellung bei Musterfirma Erika Mustermann" in text
    assert "{" not in text


def test_preview_png_shows_an_a4_page(session: Session, make_contact) -> None:
    """The preview image is a PNG with the A4 aspect ratio."""
    from io import BytesIO

    from PIL import Image

    contact = make_contact(first_name="Kim", last_name="Muster")
    pdf = service.preview_pdf(
        session, contact_id=contact.id, subject="Test", letter_date=date(2026, 11, 26), body="x"
    )
    image = Image.open(BytesIO(page_png(pdf, 0, dpi=50)))
    assert image.format == "PNG"
    assert image.height / image.width == pytest.approx(297 / 210, rel=0.01)
