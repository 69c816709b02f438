"""Emoji and other scripts in letters: in the saved PDF, or refused in German at save time."""

from __future__ import annotations

import io
from datetime import date

import pdfplumber
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.errors import ValidationErrors
from kms.modules.contacts.service import create_person
from kms.modules.letters import service
from kms.modules.letters.models import Letter

pytestmark = pytest.mark.usefixtures("company")

PRINTABLE = "Grüße 🚀 😀 Ωμέγα Привет 中文"


def _values(contact_id: int, **changes) -> dict:
    return {
        "contact_id": contact_id,
        "subject": "Ihr Auftrag",
        "letter_date": date(2026, 11, 26),
        "salutation": "Sehr geehrte Frau Muster,",
        "body": "vielen Dank.",
    } | changes


def test_emoji_greek_cyrillic_and_cjk_are_in_the_saved_letter(session: Session, make_contact):
    """Subject, body and the recipient's name with such characters all appear in the PDF."""
    contact = make_contact(salutation="frau", first_name="Ἀλεξάνδρα", last_name="Муstermann")
    letter = service.create_letter(
        session, **_values(contact.id, subject=f"Auftrag {PRINTABLE}", body=PRINTABLE)
    )
    with pdfplumber.open(io.BytesIO(letter.draft_pdf)) as pdf:
        text = pdf.pages[0].extract_text()
    assert text.count(PRINTABLE) == 2
    assert "Frau Ἀλεξάνδρα Муstermann" in text


@pytest.mark.parametrize("field", ["subject", "body", "salutation", "signature"])
def test_character_no_font_has_is_refused_when_saving(session: Session, make_contact, field):
    """🫠 (U+1FAE0) cannot be printed: the field gets a German message and nothing is saved."""
    contact = make_contact(last_name="Muster")
    with pytest.raises(ValidationErrors) as caught:
        service.create_letter(session, **_values(contact.id, **{field: "Hallo 🫠"}))
    assert "„🫠“ (U+1FAE0)" in caught.value.errors[field]
    assert "nicht in PDF-Dokumente setzen" in caught.value.errors[field]
    assert session.scalar(select(func.count()).select_from(Letter)) == 0


def test_contact_name_no_font_has_is_refused_when_saving_the_contact(session: Session):
    """Names go into letters and invoices, so the contact form refuses such a character."""
    with pytest.raises(ValidationErrors) as caught:
        create_person(session, first_name="Kim", last_name="한", street="Weg 1", city="Ort")
    assert "U+D55C" in caught.value.errors["last_name"]
