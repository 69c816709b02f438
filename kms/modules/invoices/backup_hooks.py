"""Invoice number ranges never go backwards across a backup restore.

A number already sent to a customer must never be issued twice (§14 Abs. 4 Nr. 4 UStG:
unique). After a restore the backups module raises every counter to the larger of its
value before the restore and in the backup.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.backups.hooks import MonotonicCounter
from kms.modules.invoices.models import NumberCounter

_DATE = ":date"


def read_counters(session: Session) -> dict[str, int]:
    """{range:period: last number, range:period:date: ordinal of the last issue date}."""
    values: dict[str, int] = {}
    for row in session.scalars(select(NumberCounter)):
        key = f"{row.range_key}:{row.period}"
        values[key] = row.last_number
        if row.last_issue_date is not None:
            values[key + _DATE] = row.last_issue_date.toordinal()
    return values


def write_counters(session: Session, values: dict[str, int]) -> None:
    """Store merged counters, creating ranges that exist only before the restore."""
    for key, value in values.items():
        if key.endswith(_DATE):
            continue
        range_key, _, period = key.rpartition(":")
        row = session.get(NumberCounter, (range_key, int(period)))
        if row is None:
            row = NumberCounter(range_key=range_key, period=int(period))
            session.add(row)
        row.last_number = value
        if key + _DATE in values:
            row.last_issue_date = date.fromordinal(values[key + _DATE])
    session.flush()


# Declared in the invoices ModuleSpec (backup_counter).
COUNTER = MonotonicCounter("invoices", read=read_counters, write=write_counters)
