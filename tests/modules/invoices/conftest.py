"""Fixtures: the demo seller (Kleinunternehmer until 2024, then Regelbesteuerung) and
fictitious customers; helpers to write and issue drafts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_person, search_key
from kms.modules.invoices import issuing, service
from kms.modules.invoices.models import Invoice
from kms.modules.settings import demo as settings_demo

LEITWEG_ID = "04011000-12345-03"
ISSUE_DAY = date(2026, 3, 2)


def organisation(session: Session, name: str, **values: Any) -> Contact:
    """An organisation contact with a German address unless given otherwise."""
    fields = {
        "street": "Beispielweg 2",
        "postcode": "54321",
        "city": "Beispielhausen",
        "country": "DE",
        "email": "einkauf@example.org",
        **values,
    }
    contact = Contact(kind="organisation", name=name, **fields)
    contact.search_key = search_key(name, contact.city)
    session.add(contact)
    session.flush()
    return contact


def line(
    description: str = "Webdesign",
    quantity: str = "3",
    price: str = "100.00",
    tax: str = "S19",
    unit: str = "HUR",
    **extra: Any,
) -> dict[str, Any]:
    """One position as the page sends it."""
    return {
        "description": description,
        "quantity": quantity,
        "unit_code": unit,
        "unit_price": price,
        "tax": tax,
        **extra,
    }


@pytest.fixture
def seller(session: Session) -> None:
    """Company profile and Besteuerung of the demo (committed)."""
    settings_demo.load(session)
    session.commit()


@pytest.fixture
def customer(session: Session, seller: None) -> Contact:
    """A German business customer with VAT id."""
    contact = organisation(session, "Musterfirma GmbH", vat_id="DE136695976")
    session.commit()
    return contact


@pytest.fixture
def consumer(session: Session, seller: None) -> Contact:
    """A private customer (B2C)."""
    person = create_person(
        session,
        first_name="Max",
        last_name="Mustermann",
        street="Beispielweg 7",
        postcode="10115",
        city="Berlin",
        email="max@example.org",
    )
    session.commit()
    return person


@pytest.fixture
def make_draft(session: Session, customer: Contact) -> Callable[..., Invoice]:
    """Save a draft (as of ISSUE_DAY unless given) and commit it."""

    def make(lines: list[dict[str, Any]] | None = None, **values: Any) -> Invoice:
        values.setdefault("contact_id", customer.id)
        values.setdefault("service_date", date(2026, 2, 27))
        values.setdefault("payment_term_days", 14)
        as_of = values.pop("as_of", ISSUE_DAY)
        draft = service.save_draft(session, lines=lines or [line()], as_of=as_of, **values)
        session.commit()
        return draft

    return make


@pytest.fixture
def issue(session: Session, db_url: str) -> Callable[..., Invoice]:
    """Issue a draft through both steps (prepare, then the short numbering transaction)."""

    def run(draft: Invoice, day: date = ISSUE_DAY) -> Invoice:
        draft_id = draft.id  # read before the commit: an expired draft would reload (and lock)
        session.commit()  # end the test's own (SQLite: write-locking) transaction first
        invoice = issuing.issue_invoice(draft_id, actor="test", issue_date=day, url=db_url)
        session.expire_all()
        return session.get(Invoice, invoice.id)

    return run


def money(value: str) -> Decimal:
    return Decimal(value)
