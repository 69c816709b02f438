"""Date rules of recurring invoices: monthly, quarterly or yearly on a day of the month.

The n-th date is the anchor month (the start date's) plus n intervals, on `day_of_month`,
clamped to the month's last day: the 31st is the 30th in April and the 28th (29th in a
leap year) in February; a yearly template on 29 February runs on 28 February in other
years and on the 29th again in the next leap year (each date is computed from the anchor,
never from the previous, already clamped date). Dates before the start date are skipped;
the end date and the count (number of invoices) end the series.

The Leistungszeitraum (BT-73/74) of a run is the interval it opens: from its date up to the
day before the next date (billing in advance, as with rent or subscriptions).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from kms.modules.invoices.recurring.models import INTERVAL_MONTHS


@dataclass(frozen=True)
class Rule:
    interval: str
    day_of_month: int
    start_date: date
    end_date: date | None = None
    max_count: int | None = None


@dataclass(frozen=True)
class Period:
    """One run: its scheduled date (= start of the Leistungszeitraum) and the period's end."""

    start: date
    end: date


def on_day(year: int, month: int, day: int) -> date:
    """`day` of that month, or the month's last day if it is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _nth(rule: Rule, n: int) -> date:
    months = rule.start_date.month - 1 + n * INTERVAL_MONTHS[rule.interval]
    return on_day(rule.start_date.year + months // 12, months % 12 + 1, rule.day_of_month)


def periods(rule: Rule) -> Iterator[Period]:
    """Every run of the rule in order (endless without end date and count)."""
    n = 0
    count = 0
    current = _nth(rule, 0)
    while current < rule.start_date:
        n += 1
        current = _nth(rule, n)
    while True:
        if rule.end_date is not None and current > rule.end_date:
            return
        if rule.max_count is not None and count >= rule.max_count:
            return
        following = _nth(rule, n + 1)
        yield Period(current, following - timedelta(days=1))
        count += 1
        n += 1
        current = following


def due(rule: Rule, day: date) -> list[Period]:
    """The runs whose date is `day` or earlier (what the automatism must have created)."""
    out = []
    for period in periods(rule):
        if period.start > day:
            break
        out.append(period)
    return out


def upcoming(rule: Rule, after: date, count: int = 3) -> list[date]:
    """The next `count` run dates later than `after` (the page's preview)."""
    out: list[date] = []
    for period in periods(rule):
        if period.start > after:
            out.append(period.start)
            if len(out) == count:
                break
    return out
