"""Legal footer and information block: tax numbers as entered, addresses never broken."""

from __future__ import annotations

import dataclasses

import pytest

from kms.rendering.din5008 import RenderError
from tests.rendering.conftest import mm, open_pdf, render

LONG_EMAIL = "rechnungen@grafikbuero-beispielstadt.example.org"


def _words(data: bytes) -> list[str]:
    with open_pdf(data) as pdf:
        return [w["text"] for page in pdf.pages for w in page.extract_words()]


def test_tax_number_is_printed_as_entered(make_letter, company):
    """ "143/456/78901" appears with its slashes in the footer."""
    sender = dataclasses.replace(company, tax_number="143/456/78901")
    assert "143/456/78901" in _words(render(make_letter(sender=sender)))


def test_long_email_address_is_never_broken(make_letter, company):
    """An e-mail address too wide for its column stays one word in footer and info block."""
    sender = dataclasses.replace(company, email=LONG_EMAIL)
    data = render(make_letter(sender=sender))
    with open_pdf(data) as pdf:
        words = pdf.pages[0].extract_words()
    whole = [w for w in words if w["text"] == LONG_EMAIL]
    assert len(whole) == 2  # information block (E-Mail) and footer
    assert all(mm(w["x1"]) <= 190 for w in whole)
    assert not [w for w in words if w["text"] != LONG_EMAIL and w["text"] in LONG_EMAIL]


def test_address_too_long_even_in_the_smallest_font_is_refused(make_letter, company):
    """Rather than cut an e-mail address in two, rendering refuses it in German."""
    sender = dataclasses.replace(company, email="a" * 90 + "@example.org")
    with pytest.raises(RenderError, match="ist zu lang für den Platz im Briefbogen"):
        render(make_letter(sender=sender))
