"""Dunning: free reminder, §288 BGB interest and lump sum only from default, DIN 5008 letter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pypdfium2
import pytest
import zxingcpp

from kms.audit import history
from kms.errors import KmsError
from kms.modules.invoices import dunning
from kms.modules.invoices.config import save_settings
from kms.modules.invoices.storage import original_bytes
from tests.modules.invoices.conftest import line


@pytest.fixture
def b2b(session, make_draft, issue):
    """1.190,00 € to a business, due 16.03.2026."""
    return issue(make_draft([line("Projekt", "10", "100.00")]))


def _text_and_codes(pdf: bytes) -> tuple[str, list[str]]:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        text = "".join(p.get_textpage().get_text_range() for p in doc)
        codes = [r.text for p in doc for r in zxingcpp.read_barcodes(p.render(scale=4).to_pil())]
    finally:
        doc.close()
    return text, codes


def test_reminder_is_free_and_carries_a_girocode(session, b2b) -> None:
    """Level 0 charges nothing; the letter shows the open amount, a deadline and a GiroCode."""
    day = b2b.due_date + timedelta(days=5)
    reminder = dunning.create_reminder(session, b2b.id, letter_date=day, actor="erika")
    assert (reminder.level, reminder.interest, reminder.lump_sum) == (0, 0, 0)
    assert reminder.total == Decimal("1190.00")
    assert reminder.new_due_date == day + timedelta(days=10)
    text, codes = _text_and_codes(original_bytes(session, b2b.id, "pdf", reminder.id).content)
    assert "Zahlungserinnerung zur Rechnung RE-2026-0001" in text
    assert "kostenfrei" in text
    assert codes and codes[0].split("\n")[7] == "EUR1190"
    assert history(session, "invoice", b2b.id)[-1].action == "reminded"


def test_no_charges_before_default(session, b2b) -> None:
    """A first Mahnung 10 days after the due date: not yet in default, no interest, no fee."""
    charges = dunning.compute_charges(session, b2b, 1, b2b.due_date + timedelta(days=10))
    assert (charges.interest, charges.lump_sum, charges.default_since) == (0, 0, None)
    assert "erst ab Verzugsbeginn" in " ".join(charges.explanation)


def test_b2b_interest_is_base_rate_plus_nine_with_lump_sum(session, b2b) -> None:
    """From day 31 after the due date: (1,27 + 9) % p. a. per day, plus 40 € once."""
    letter_day = b2b.due_date + timedelta(days=30 + 20)  # 20 days in default
    charges = dunning.compute_charges(session, b2b, 1, letter_day)
    assert charges.default_since == b2b.due_date + timedelta(days=31)
    assert charges.interest_rate == Decimal("10.27")
    # 1190 × 10.27 % × 20 / 365 = 6.6968… → 6.70
    assert (charges.interest_days, charges.interest) == (20, Decimal("6.70"))
    assert charges.lump_sum == Decimal("40.00")
    assert charges.total == Decimal("1236.70")


def test_consumer_gets_plus_five_and_no_lump_sum(session, make_draft, issue, consumer) -> None:
    """B2C: base rate + 5 points, no 40 € lump sum; the invoice printed the § 286 note."""
    inv = issue(make_draft([line("Beratung", "1", "100.00")], contact_id=consumer.id))
    pdf = original_bytes(session, inv.id, "pdf").content
    assert "§ 286 Abs. 3 BGB" in _text_and_codes(pdf)[0]
    charges = dunning.compute_charges(session, inv, 2, inv.due_date + timedelta(days=30 + 73))
    assert charges.interest_rate == Decimal("6.27")
    assert charges.interest == Decimal("1.49")  # 119 × 6.27 % × 73 / 365 = 1.4922…
    assert charges.lump_sum == 0


def test_earlier_deadline_starts_default(session, b2b) -> None:
    """After an unanswered reminder, default starts the day after its deadline."""
    first = dunning.create_reminder(session, b2b.id, letter_date=b2b.due_date + timedelta(days=3))
    second = dunning.create_reminder(
        session, b2b.id, letter_date=first.new_due_date + timedelta(days=5)
    )
    assert second.level == 1
    assert second.interest > 0 and second.lump_sum == Decimal("40.00")
    assert "Verzug seit" in second.explanation


def test_levels_and_base_rate_are_configurable(session, b2b) -> None:
    """The base rate is a setting; levels cannot repeat; not before the due date."""
    with pytest.raises(KmsError, match="noch nicht fällig"):
        dunning.create_reminder(session, b2b.id, letter_date=b2b.due_date)
    save_settings(session, base_rate="2,00")
    charges = dunning.compute_charges(session, b2b, 1, b2b.due_date + timedelta(days=40))
    assert charges.interest_rate == Decimal("11.00")
    dunning.create_reminder(session, b2b.id, level=1, letter_date=b2b.due_date + timedelta(days=2))
    with pytest.raises(KmsError, match="schon erstellt"):
        dunning.create_reminder(
            session, b2b.id, level=0, letter_date=b2b.due_date + timedelta(days=30)
        )
