"""Fixtures: a controlled clock and a template factory on the invoices test seller."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.invoices.recurring import service as recurring
from kms.modules.invoices.recurring.models import RecurringTemplate
from kms.types import BERLIN
from tests.modules.invoices.conftest import line


class Clock:
    """kms.types.utcnow (and so today()) answers this time until moved."""

    def __init__(self) -> None:
        self.now = datetime(2027, 1, 1, 9, tzinfo=UTC)

    def set(self, day: date, hour: int = 10) -> datetime:
        self.now = datetime.combine(day, time(hour), tzinfo=BERLIN).astimezone(UTC)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr("kms.types.utcnow", lambda: c.now)
    return c


@pytest.fixture
def make_template(
    session: Session, customer: Contact, clock: Clock
) -> Callable[..., RecurringTemplate]:
    """Save a template (monthly on the 1st from 1 Jan 2027, issue only) and commit it."""

    def make(**values: Any) -> RecurringTemplate:
        values.setdefault("name", "Wartungsvertrag")
        values.setdefault("contact_id", customer.id)
        values.setdefault("interval", "monthly")
        values.setdefault("day_of_month", 1)
        values.setdefault("start_date", date(2027, 1, 1))
        values.setdefault("mode", "issue")
        values.setdefault("payment_term_days", 14)
        values.setdefault("lines", [line("Wartung", "1", "250.00", unit="C62")])
        template = recurring.save_template(session, **values)
        session.commit()
        return template

    return make
