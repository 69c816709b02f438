"""kms.formatting: the one place for German money, dates and IBANs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kms.formatting import (
    count_noun,
    format_date,
    format_iban,
    format_money,
    format_size,
    format_unit_price,
)

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.56", "1.234,56"),
        ("0", "0,00"),
        ("0.005", "0,01"),  # commercial rounding, half up
        ("2.345", "2,35"),
        ("1000000", "1.000.000,00"),
        ("-12.5", "-12,50"),
    ],
)
def test_format_money(amount, text):
    """Decimal euro amounts print as "1.234,56 €" with a no-break space before €."""
    assert format_money(Decimal(amount)) == f"{text}{NBSP}€"


def test_format_money_equals_babels_german_currency_format():
    """The fast path gives exactly babel's de_DE EUR format, for amounts of every size and
    sign, with half-up rounding of fractions of a cent."""
    import random

    from babel.numbers import format_currency

    rng = random.Random(12)
    amounts = [Decimal(v) for v in ("0", "-0.00", "-0.004", "0.005", "-0.005", "1E+3")]
    for digits in range(1, 16):
        for _ in range(40):
            cents = rng.randrange(10**digits) * rng.choice((1, -1))
            amounts.append(Decimal(cents).scaleb(-2))
            amounts.append(Decimal(cents).scaleb(-3))
    for amount in amounts:
        rounded = amount.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        assert format_money(amount) == format_currency(rounded, "EUR", locale="de_DE"), amount


def test_format_money_refuses_float():
    """Floats are refused: money is Decimal everywhere."""
    with pytest.raises(TypeError):
        format_money(12.5)


def test_format_date():
    """Dates print as DD.MM.YYYY."""
    assert format_date(date(2026, 11, 26)) == "26.11.2026"
    assert format_date(date(2026, 1, 2)) == "02.01.2026"


def test_format_iban():
    """IBANs print in groups of four."""
    assert format_iban("de02120300000000202051") == "DE02 1203 0000 0000 2020 51"


@pytest.mark.parametrize(
    ("price", "text"),
    [
        ("24.9", "24,90"),
        ("85", "85,00"),
        ("19.99", "19,99"),
        ("0.1234", "0,1234"),
        ("1234.567", "1.234,567"),
        ("1234.5000", "1.234,50"),
    ],
)
def test_format_unit_price(price, text):
    """Unit prices show two to four decimals: "24,90", never "24,9"; sub-cent prices stay exact."""
    assert format_unit_price(Decimal(price)) == text


def test_format_unit_price_refuses_float():
    with pytest.raises(TypeError):
        format_unit_price(24.9)


def test_count_noun_agrees_with_the_number():
    assert [count_noun(n, "Rechnung", "Rechnungen") for n in (0, 1, 2)] == [
        "0 Rechnungen",
        "1 Rechnung",
        "2 Rechnungen",
    ]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (12, "12 Byte"),
        (1_536, "1,5 kB"),
        (10_800_000, "10,8 MB"),
        (10_800_000 * 1024 // 1000, "11,1 MB"),
        (2_000_000_000, "2,0 GB"),
    ],
)
def test_one_size_unit_everywhere(size: int, text: str) -> None:
    """Sizes use decimal units (1 MB = 1.000.000 bytes) with a German comma."""
    assert format_size(size) == text


def test_documents_backups_and_cli_share_the_size_helper() -> None:
    """No module formats sizes itself: one helper, so one backup shows one size everywhere."""
    import re

    from kms.config import ROOT

    own = []
    for path in (ROOT / "kms").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "formatting.py" and re.search(r"def \w*size\w*\(.*int\) -> str", text):
            own.append(str(path.relative_to(ROOT)))
        if re.search(r"/ 1024\b|1024 \* 1024", text) and path.name != "storage.py":
            own.append(f"{path.relative_to(ROOT)} (1024)")
    assert own == []
