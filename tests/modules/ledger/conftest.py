"""Ledger fixtures: a regularly taxed owner (Soll, quarterly), a bank account, a Kasse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms.modules.ledger import service
from kms.modules.ledger.models import Account
from kms.modules.settings import taxation
from tests.modules.invoices.conftest import (  # noqa: F401 - fixtures for invoice payments
    customer,
    issue,
    make_draft,
    seller,
)

IBAN = "DE89370400440532013000"


@pytest.fixture
def regel(session: Session) -> None:
    """Regelbesteuerung, Soll, quarterly, from 2024."""
    taxation.set_regime(session, valid_from=date(2024, 1, 1), kind="regel", filing_period="quartal")
    session.commit()


@pytest.fixture
def bank(session: Session, regel: None) -> Account:
    account = service.save_account(
        session, name="Girokonto", kind="bank", iban=IBAN, is_default=True
    )
    session.commit()
    return account


@pytest.fixture
def cash(session: Session, regel: None) -> Account:
    account = service.save_account(
        session,
        name="Kasse",
        kind="kasse",
        opening_balance=Decimal("50.00"),
        opening_date=date(2025, 1, 1),
    )
    session.commit()
    return account


def cat(session: Session, key: str) -> int:
    return service.category_by_key(session, key).id


def expense(
    session: Session, account: Account, day: date, *lines: tuple[str, str, str], **kw: Any
) -> Any:
    """An Ausgabe with lines (amount, category key, tax key)."""
    return service.create_booking(
        session,
        booking_date=day,
        account_id=account.id,
        kind="ausgabe",
        lines=[service.LineInput(a, cat(session, c), t) for a, c, t in lines],
        **kw,
    )


def income(
    session: Session, account: Account, day: date, *lines: tuple[str, str, str], **kw: Any
) -> Any:
    return service.create_booking(
        session,
        booking_date=day,
        account_id=account.id,
        kind="einnahme",
        lines=[service.LineInput(a, cat(session, c), t) for a, c, t in lines],
        **kw,
    )


def transit(session: Session, source: Account, target: Account, day: date, amount: str) -> Any:
    """A Geldtransit of `amount` from one own account to another."""
    return service.create_booking(
        session,
        booking_date=day,
        account_id=source.id,
        kind="geldtransit",
        transfer_account_id=target.id,
        lines=[service.LineInput(amount)],
    )
