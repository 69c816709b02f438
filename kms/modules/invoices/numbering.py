"""Gapless invoice numbers: one counter row per range and year, taken inside the issuing
transaction.

The counter is read with SELECT … FOR UPDATE (PostgreSQL) or inside the BEGIN IMMEDIATE
write transaction (SQLite), incremented, and committed together with the issued invoice.
If anything fails before the commit, both roll back: a number is never lost (no gap) and
never handed out twice (the lock, plus the unique constraint on invoices.number).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.formatting import format_date
from kms.modules.invoices.config import (
    RANGE_QUOTE,
    check_number_format,
    format_number,
    get_settings,
)
from kms.modules.invoices.models import NumberCounter

# How the date-order error names the document of a range: (its date, the last one numbered).
# Invoices and Stornorechnungen are Rechnungen; quotes have an Angebotsdatum.
_DATED = {RANGE_QUOTE: ("Das Angebotsdatum", "des zuletzt abgeschlossenen Angebots")}
_INVOICE_DATED = ("Das Rechnungsdatum", "der zuletzt ausgestellten Rechnung")


def _locked_counter(session: Session, range_key: str, period: int) -> NumberCounter:
    """The counter row, locked for this transaction; created on first use."""
    stmt = (
        select(NumberCounter)
        .where(NumberCounter.range_key == range_key, NumberCounter.period == period)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter = session.scalar(stmt)
    if counter is not None:
        return counter
    try:
        with session.begin_nested():
            session.add(NumberCounter(range_key=range_key, period=period, last_number=0))
    except IntegrityError:
        pass  # a concurrent transaction created it first; lock theirs below
    counter = session.scalar(stmt)
    if counter is None:  # pragma: no cover - the row exists after the insert above
        raise KmsError("Der Nummernkreis konnte nicht angelegt werden.")
    return counter


def last_issue_date(session: Session, range_key: str, year: int) -> date | None:
    """Date of the newest document (invoice or quote) in the range (for the date check)."""
    return session.scalar(
        select(NumberCounter.last_issue_date)
        .where(NumberCounter.range_key == range_key)
        .order_by(NumberCounter.last_issue_date.desc().nulls_last())
        .limit(1)
    )


def take_number(session: Session, range_key: str, issue_date: date) -> str:
    """The next number of a range for an invoice (or quote) dated `issue_date` (call inside
    the issuing transaction; the caller commits or rolls back)."""
    fmt, yearly = get_settings(session).number_format(range_key)
    check_number_format(fmt, yearly=yearly)
    period = issue_date.year if yearly else 0
    counter = _locked_counter(session, range_key, period)
    # § 14 UStG numbers must be unique; ours also ascend with the date: an invoice may not be
    # dated before the last one of its range (checked over all years of the range).
    latest = last_issue_date(session, range_key, issue_date.year)
    if latest is not None and issue_date < latest:
        date_name, last_one = _DATED.get(range_key, _INVOICE_DATED)
        raise KmsError(
            f"{date_name} {format_date(issue_date)} liegt vor dem Datum {last_one} dieses "
            f"Nummernkreises ({format_date(latest)})."
        )
    counter.last_number += 1
    counter.last_issue_date = issue_date
    session.flush()
    return format_number(fmt, issue_date.year, counter.last_number)
