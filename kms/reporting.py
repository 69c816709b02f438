"""Reports: what a module declares (ReportSpec) and the periods they cover.

Platform layer: no Streamlit, no module imports. A module lists its reports in
`ModuleSpec.reports`; `kms.reports` (the staff API), the Berichte page and `python -m kms
report` find them there. A report function has the signature
`f(session: Session, period: Period | None) -> pandas.DataFrame` and returns exactly the
declared columns, in order, with these values:

- text: `str` (object or pandas' string dtype); date: `datetime.date`; int: int64;
- money: `decimal.Decimal` quantized to 0.01 (object dtype), never float;
- percent: `decimal.Decimal` in percentage points (19.00 means 19 %).

A totals row, where it makes sense, is the last row with "Summe" in the first text column.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from kms.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

ColumnKind = Literal["text", "money", "date", "int", "percent"]
PeriodKind = Literal["year", "period", "none"]

MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)
# Years a report may cover: wide enough for archives, narrow enough to catch typos.
FIRST_YEAR, LAST_YEAR = 1990, 2199
TOTAL = "Summe"

_PATTERN = re.compile(r"^(\d{4})(?:-(?:(0?[1-9]|1[0-2])|[Qq]([1-4])))?$")


@dataclass(frozen=True)
class Period:
    """A reporting period: a calendar year, quarter or month (both ends inclusive)."""

    start: date
    end: date
    label: str  # German, e.g. "1. Quartal 2026", "März 2026", "2026"

    @classmethod
    def parse(cls, text: str) -> Period:
        """ "2026" (year), "2026-Q1" (quarter) or "2026-03" (month); else a German error."""
        cleaned = str(text).strip()
        match = _PATTERN.match(cleaned)
        if not match:
            raise ValidationError(
                "period",
                f"Zeitraum „{cleaned}“ nicht erkannt. Erwartet wird ein Jahr (2026), "
                "ein Quartal (2026-Q1) oder ein Monat (2026-03).",
            )
        year = int(match.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValidationError(
                "period",
                f"Das Jahr {year} liegt außerhalb von {FIRST_YEAR} bis {LAST_YEAR}.",
            )
        if match.group(2):
            return cls.month(year, int(match.group(2)))
        if match.group(3):
            return cls.quarter(year, int(match.group(3)))
        return cls.year(year)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), str(year))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        first = 3 * quarter - 2
        last = first + 2
        end = date(year, last, calendar.monthrange(year, last)[1])
        return cls(date(year, first, 1), end, f"{quarter}. Quartal {year}")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        end = date(year, month, calendar.monthrange(year, month)[1])
        return cls(date(year, month, 1), end, f"{MONTHS[month - 1]} {year}")

    @property
    def kind(self) -> Literal["year", "quarter", "month"]:
        if self.start.month == 1 and self.end.month == 12:
            return "year"
        return "month" if self.start.month == self.end.month else "quarter"

    @property
    def code(self) -> str:
        """The text `parse` reads back: "2026", "2026-Q1", "2026-03"."""
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month + 2) // 3}"
        return f"{self.start.year}-{self.start.month:02d}"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Column:
    """One column of a report: its German header (shown and exported) and its kind."""

    name: str
    kind: ColumnKind
    description: str = ""


@dataclass(frozen=True)
class ReportSpec:
    """One report a module offers (Berichte page, `kms.reports`, `python -m kms report`)."""

    key: str  # "euer", "zm", "open_items": also the kms.reports function name
    title: str  # German, e.g. "EÜR"
    function: str  # dotted path to f(session, period: Period | None) -> pd.DataFrame
    columns: tuple[Column, ...]
    period: PeriodKind  # year: "2026"; period: month, quarter or year; none: as of today
    description: str = ""  # German, one sentence
    chart: str | None = None  # a money column, charted by the first text/date column
    note: str | None = None  # dotted path to note(session, period) -> str | None (German)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def coerce_period(self, period: str | Period | int | None) -> Period | None:
        """The period this report runs for, checked against `self.period` (German errors)."""
        if self.period == "none":
            return None
        if period is None:
            wanted = "ein Jahr" if self.period == "year" else "einen Zeitraum"
            raise ValidationError("period", f"Der Bericht „{self.title}“ braucht {wanted}.")
        result = period if isinstance(period, Period) else Period.parse(str(period))
        if self.period == "year" and result.kind != "year":
            raise ValidationError(
                "period",
                f"Der Bericht „{self.title}“ gilt für ein ganzes Jahr, nicht für {result.label}.",
            )
        return result


def require_period(period: Period | None) -> Period:
    """The period a report function needs (German error when a caller passed none)."""
    if period is None:
        raise ValidationError("period", "Für diesen Bericht fehlt der Zeitraum.")
    return period


def spec_problems(spec: ReportSpec) -> list[str]:
    """Mistakes in a declaration that registry.check() reports (besides the dotted paths)."""
    problems = []
    where = f"report {spec.key!r}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", spec.key):
        problems.append(f"{where}: key must be a lower-case Python name")
    names = [c.name for c in spec.columns]
    if not names:
        problems.append(f"{where}: declares no columns")
    problems += [
        f"{where}: duplicate column {n!r}" for n in sorted(set(names)) if names.count(n) > 1
    ]
    problems += [
        f"{where}: column {c.name!r} has unknown kind {c.kind!r}"
        for c in spec.columns
        if c.kind not in ("text", "money", "date", "int", "percent")
    ]
    if spec.period not in ("year", "period", "none"):
        problems.append(f"{where}: unknown period {spec.period!r}")
    if spec.chart is not None:
        chart = next((c for c in spec.columns if c.name == spec.chart), None)
        if chart is None or chart.kind != "money":
            problems.append(f"{where}: chart {spec.chart!r} is not a money column")
        if chart_axis(spec) is None:
            problems.append(f"{where}: chart needs a text or date column for its axis")
    return problems


def chart_axis(spec: ReportSpec) -> Column | None:
    """The column a chart runs along: the first text or date column."""
    return next((c for c in spec.columns if c.kind in ("text", "date")), None)


# --- frames ------------------------------------------------------------------------------


def frame(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    """A DataFrame with exactly these columns and the dtypes of the conventions above.

    Money and percent values are quantized to 0.01 (Decimal, object dtype); int columns become
    int64 even when there are no rows."""
    import pandas as pd

    from kms.types import cents

    data: dict[str, list[Any]] = {c.name: [] for c in columns}
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} values for {len(columns)} columns")
        for column, value in zip(columns, row, strict=True):
            if column.kind in ("money", "percent"):
                if isinstance(value, float):
                    raise TypeError(f"{column.name}: float instead of Decimal")
                value = cents(Decimal(value or 0))
            elif column.kind == "int":
                value = int(value or 0)
            elif column.kind == "text":
                value = "" if value is None else str(value)
            data[column.name].append(value)
    result = pd.DataFrame(
        {
            c.name: pd.Series(
                data[c.name], dtype="int64" if c.kind == "int" else object, name=c.name
            )
            for c in columns
        },
        columns=[c.name for c in columns],
    )
    return result


def frame_problems(spec: ReportSpec, df: pd.DataFrame) -> list[str]:
    """Where a report's DataFrame breaks the conventions (tests assert an empty list)."""
    import pandas as pd

    problems = []
    names = [c.name for c in spec.columns]
    if list(df.columns) != names:
        return [f"columns {list(df.columns)} instead of {names}"]
    for column in spec.columns:
        series = df[column.name]
        if column.kind == "int":
            if str(series.dtype) != "int64":
                problems.append(f"{column.name}: dtype {series.dtype} instead of int64")
            continue
        # Text may also use pandas' string dtype ("str" in pandas 3); the rest are objects.
        text_dtype = column.kind == "text" and isinstance(series.dtype, pd.StringDtype)
        if series.dtype != object and not text_dtype:
            problems.append(f"{column.name}: dtype {series.dtype} instead of object")
        for value in series:
            if column.kind in ("money", "percent"):
                ok = isinstance(value, Decimal) and value.as_tuple().exponent == -2
            elif column.kind == "date":
                ok = isinstance(value, date) or value is None
            else:
                ok = isinstance(value, str)
            if not ok:
                problems.append(f"{column.name}: {value!r} is not a valid {column.kind} value")
                break
    return problems
