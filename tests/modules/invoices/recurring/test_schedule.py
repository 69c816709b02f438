"""Date rules: month ends, leap years, quarterly and yearly series, end date and count."""

from __future__ import annotations

from datetime import date

from kms.modules.invoices.recurring import schedule
from kms.modules.invoices.recurring.schedule import Rule


def _starts(rule: Rule, n: int = 20) -> list[date]:
    out = []
    for period in schedule.periods(rule):
        out.append(period.start)
        if len(out) == n:
            break
    return out


def test_31st_over_february_of_a_leap_year() -> None:
    rule = Rule("monthly", 31, date(2028, 1, 31))
    assert _starts(rule, 4) == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),  # back to the 31st: computed from the anchor, not from 29 Feb
        date(2028, 4, 30),
    ]


def test_31st_over_february_of_a_common_year() -> None:
    rule = Rule("monthly", 31, date(2027, 1, 1))
    assert _starts(rule, 3) == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]


def test_leistungszeitraum_runs_to_the_day_before_the_next_date() -> None:
    periods = list(schedule.periods(Rule("monthly", 31, date(2027, 1, 31), max_count=3)))
    assert [(p.start, p.end) for p in periods] == [
        (date(2027, 1, 31), date(2027, 2, 27)),
        (date(2027, 2, 28), date(2027, 3, 30)),
        (date(2027, 3, 31), date(2027, 4, 29)),
    ]
    first = next(schedule.periods(Rule("monthly", 1, date(2027, 2, 1))))
    assert (first.start, first.end) == (date(2027, 2, 1), date(2027, 2, 28))


def test_quarterly_on_the_30th() -> None:
    rule = Rule("quarterly", 30, date(2027, 11, 15))
    assert _starts(rule, 4) == [
        date(2027, 11, 30),
        date(2028, 2, 29),
        date(2028, 5, 30),
        date(2028, 8, 30),
    ]


def test_yearly_on_29_february() -> None:
    rule = Rule("yearly", 29, date(2028, 2, 29))
    assert _starts(rule, 5) == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_start_after_the_day_of_month_begins_next_month() -> None:
    assert _starts(Rule("monthly", 1, date(2027, 3, 10)), 2) == [date(2027, 4, 1), date(2027, 5, 1)]


def test_end_date_and_count_end_the_series() -> None:
    assert _starts(Rule("monthly", 15, date(2027, 1, 1), end_date=date(2027, 3, 15))) == [
        date(2027, 1, 15),
        date(2027, 2, 15),
        date(2027, 3, 15),
    ]
    assert _starts(Rule("monthly", 15, date(2027, 1, 1), end_date=date(2027, 3, 14))) == [
        date(2027, 1, 15),
        date(2027, 2, 15),
    ]
    assert _starts(Rule("quarterly", 1, date(2027, 1, 1), max_count=2)) == [
        date(2027, 1, 1),
        date(2027, 4, 1),
    ]


def test_due_and_upcoming() -> None:
    rule = Rule("monthly", 1, date(2027, 1, 1))
    assert [p.start for p in schedule.due(rule, date(2027, 3, 1))] == [
        date(2027, 1, 1),
        date(2027, 2, 1),
        date(2027, 3, 1),
    ]
    assert schedule.upcoming(rule, date(2027, 3, 1)) == [
        date(2027, 4, 1),
        date(2027, 5, 1),
        date(2027, 6, 1),
    ]
