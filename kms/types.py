"""Column types that keep money exact and times in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator


class ScaledDecimal(TypeDecorator[Decimal]):
    """A Decimal stored as a scaled integer: exact on SQLite, where NUMERIC is a float.

    Money uses scale 2 (integer cents); unit prices and quantities use scale 4 (EN 16931
    allows four decimals). SUM() over such a column is an exact integer sum on both
    databases, and the result processor turns it back into a Decimal.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self._factor = Decimal(10) ** scale
        self._quantum = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("Money must be Decimal, not float")
        dec = Decimal(value)
        if dec != dec.quantize(self._quantum):
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        return int((dec * self._factor).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / self._factor).quantize(self._quantum)


class Money(ScaledDecimal):
    """Amounts in euros with cents (integer cents in the database)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(2)


class Quantity(ScaledDecimal):
    """Quantities and unit prices with up to four decimals (EN 16931)."""

    cache_ok = True

    def __init__(self) -> None:
        super().__init__(4)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, stored as UTC, returned as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# German business dates (invoice, letter, document dates) are local dates in this zone;
# stored times are UTC.
BERLIN = ZoneInfo("Europe/Berlin")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Germany (what an invoice or letter is dated)."""
    return utcnow().astimezone(BERLIN).date()


# --- money helpers: the one place for cents ---------------------------------------------

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Round half-up to exactly two decimal places (EN 16931 amounts, § 14 UStG)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def raw_cents(column: Any) -> Any:
    """A Money column as its stored integer cents (for SQL arithmetic and sums)."""
    from sqlalchemy import type_coerce

    return type_coerce(column, BigInteger())


def from_cents(value: Any) -> Decimal:
    """Integer cents from SQL (or None) as a Decimal euro amount."""
    return (Decimal(int(value or 0)) / 100).quantize(CENT)
