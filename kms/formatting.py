"""German formatting for the UI and documents: 1.234,56 € and 26.11.2026."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal

BERLIN = ZoneInfo("Europe/Berlin")


def format_money(amount: Decimal) -> str:
    """1.234,56 € (German grouping, two decimals, non-breaking space before €)."""
    return format_currency(amount, "EUR", locale="de_DE")


def format_number(value: Decimal, places: int = 2) -> str:
    """1.234,5678 with up to `places` decimals."""
    return format_decimal(value, format=f"#,##0.{'#' * places}", locale="de_DE")


def format_date(value: date) -> str:
    """26.11.2026."""
    return value.strftime("%d.%m.%Y")


def format_datetime(value: datetime) -> str:
    """26.11.2026 14:05 in Berlin time."""
    return value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
