"""Bank import fixtures: the demo seller (Regelbesteuerung from 2025), a Girokonto with a
test IBAN, a second own account, and helpers to build statements without a parser."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms.modules.bank.statement import Statement, StatementLine
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import Account
from tests.modules.invoices.conftest import (  # noqa: F401 - fixtures
    ISSUE_DAY,
    customer,
    issue,
    line,
    make_draft,
    seller,
)

OWN_IBAN = "DE02120300000000202051"
OTHER_IBAN = "DE02100500000054540402"  # the Tagesgeld, another own account
PAYER_IBAN = "DE89370400440532013000"


@pytest.fixture
def giro(session: Session, seller: None) -> Account:  # noqa: F811
    account = ledger.save_account(session, name="Girokonto", kind="bank", iban=OWN_IBAN)
    session.commit()
    return account


@pytest.fixture
def tagesgeld(session: Session, giro: Account) -> Account:
    account = ledger.save_account(session, name="Tagesgeld", kind="bank", iban=OTHER_IBAN)
    session.commit()
    return account


def entry(day: date, amount: str, purpose: str = "", **values: Any) -> StatementLine:
    return StatementLine(booking_date=day, amount=Decimal(amount), purpose=purpose, **values)


def statement(*lines: StatementLine, iban: str = OWN_IBAN) -> Statement:
    return Statement(
        "camt.053",
        iban,
        tuple(replace_no(ln, i) for i, ln in enumerate(lines, start=1)),
        period_from=min(ln.booking_date for ln in lines) if lines else None,
        period_to=max(ln.booking_date for ln in lines) if lines else None,
    )


def replace_no(ln: StatementLine, no: int) -> StatementLine:
    from dataclasses import replace

    return ln if ln.line_no else replace(ln, line_no=no)


FILE = b'<?xml version="1.0" encoding="UTF-8"?><Document><BkToCstmrStmt/></Document>'
