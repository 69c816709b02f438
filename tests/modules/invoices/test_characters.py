"""Emoji and other scripts on invoices: in the issued PDF, or refused in German when saving."""

from __future__ import annotations

import io

import pdfplumber
import pytest
from sqlalchemy import func, select

from kms.errors import ValidationErrors
from kms.modules.invoices import service
from kms.modules.invoices.models import Invoice
from kms.modules.invoices.storage import original_bytes
from tests.modules.invoices.conftest import ISSUE_DAY, line

PRINTABLE = "Logo 🚀 😀 Ωμέγα Привет 中文"


def test_emoji_greek_cyrillic_and_cjk_are_in_the_issued_pdf(session, make_draft, issue) -> None:
    """A position and the intro with such characters are printed, not dropped."""
    draft = make_draft([line(PRINTABLE)], intro_text=f"Danke {PRINTABLE}")
    invoice = issue(draft)
    with pdfplumber.open(io.BytesIO(original_bytes(session, invoice.id, "pdf").content)) as pdf:
        text = pdf.pages[0].extract_text()
    assert f"1 {PRINTABLE}" in text
    assert f"Danke {PRINTABLE}" in text


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"lines": [line("Logo 🫠")]}, "line1.description"),
        ({"intro_text": "Hallo 🫠"}, "intro_text"),
        ({"closing_text": "Gruß 🫠"}, "closing_text"),
        ({"lines": [line(discount_kind="percent", discount_value="5", discount_reason="🫠")]},
         "line1.discount_reason"),
    ],
)  # fmt: skip
def test_character_no_font_has_is_refused_when_saving(session, customer, values, field) -> None:
    """🫠 (U+1FAE0) would vanish from the PDF: the draft is refused naming field and character."""
    values = {"lines": [line()], **values}
    with pytest.raises(ValidationErrors) as caught:
        service.save_draft(session, contact_id=customer.id, as_of=ISSUE_DAY, **values)
    assert "„🫠“ (U+1FAE0)" in caught.value.errors[field], caught.value.errors
    assert session.scalar(select(func.count()).select_from(Invoice)) == 0
