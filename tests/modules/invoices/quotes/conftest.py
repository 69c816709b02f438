"""Fixtures: quote drafts for the demo seller's business customer (see the invoices'
conftest for the seller, the customers and `line`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.quotes.models import Quote
from tests.modules.invoices.conftest import ISSUE_DAY, line


@pytest.fixture
def make_quote(session: Session, customer: Contact) -> Callable[..., Quote]:
    """Save a quote draft (as of ISSUE_DAY unless given) and commit it."""

    def make(lines: list[dict[str, Any]] | None = None, **values: Any) -> Quote:
        values.setdefault("contact_id", customer.id)
        as_of = values.pop("as_of", ISSUE_DAY)
        quote = quotes.save_quote(
            session, lines=[line()] if lines is None else lines, as_of=as_of, **values
        )
        session.commit()
        return quote

    return make


@pytest.fixture
def send(session: Session) -> Callable[..., Quote]:
    """▶ Angebot abschließen on `day` (ISSUE_DAY unless given), committed."""

    def run(quote: Quote, day: date = ISSUE_DAY) -> Quote:
        sent = quotes.finalize_quote(session, quote.id, actor="test", day=day)
        session.commit()
        return sent

    return run
