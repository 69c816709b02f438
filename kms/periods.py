"""Festgeschriebene Zeiträume (GoBD): which months are locked against changes.

Platform level, so every module can ask `is_locked(session, day)` without importing the
module that locks (the ledger): a payment in the invoice module, a booking in the ledger,
a restore preview. A locked month never opens again.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kms.errors import KmsError
from kms.models import Base, BusinessData
from kms.types import utcnow

MONTHS = (
    "Januar", "Februar", "März", "April", "Mai", "Juni",
    "Juli", "August", "September", "Oktober", "November", "Dezember",
)  # fmt: skip


class PeriodLock(BusinessData, Base):
    """One locked month (first day of the month as key)."""

    __tablename__ = "period_locks"

    month: Mapped[date] = mapped_column(primary_key=True)
    locked_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str] = mapped_column(String(64), default="")
    automatic: Mapped[bool] = mapped_column(default=False)


class PeriodLocked(KmsError):
    """Someone tried to change a record in a locked month."""


def month_label(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def is_locked(session: Session, day: date) -> bool:
    """True when the month of `day` is festgeschrieben."""
    return session.get(PeriodLock, day.replace(day=1)) is not None


def check_open(session: Session, day: date, what: str = "Buchungen") -> None:
    """Raise a German PeriodLocked error if `day` lies in a locked month."""
    if is_locked(session, day):
        raise PeriodLocked(
            f"Der Zeitraum {month_label(day)} ist festgeschrieben (GoBD): {what} mit Datum "
            f"{day:%d.%m.%Y} können nicht mehr erfasst, geändert oder gelöscht werden. "
            "Korrekturen bitte als Gegenbuchung in einem offenen Zeitraum."
        )


def locked_months(session: Session) -> list[date]:
    """First days of all locked months, oldest first."""
    return list(session.scalars(select(PeriodLock.month).order_by(PeriodLock.month)))


def lock_month(session: Session, month: date, *, actor: str = "", automatic: bool = False) -> bool:
    """Lock the month containing `month` (the caller checks permissions and audits).

    Returns False when it was locked already."""
    first = month.replace(day=1)
    if session.get(PeriodLock, first) is not None:
        return False
    session.add(PeriodLock(month=first, locked_by=actor, automatic=automatic))
    session.flush()
    return True
