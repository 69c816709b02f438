"""Fixtures for Schreiben: a sender in Einstellungen and contacts of every kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms.modules.contacts.models import Contact, ContactRole, Tag
from kms.modules.settings.demo import COMPANY
from kms.modules.settings.service import get_profile, save_profile


@pytest.fixture
def company(session: Session) -> None:
    """The demo company profile (the letterhead) is saved."""
    save_profile(session, version=get_profile(session).version or 0, **COMPANY)
    session.flush()


@pytest.fixture
def make_contact(session: Session) -> Callable[..., Contact]:
    """Add a contact; person by default, with a complete German address unless overridden."""

    def make(*, tags: tuple[str, ...] = (), roles: tuple[str, ...] = (), **values: Any) -> Contact:
        data: dict[str, Any] = {
            "kind": "person",
            "street": "Musterstraße 1",
            "postcode": "12345",
            "city": "Musterstadt",
            "country": "DE",
        }
        data.update(values)
        contact = Contact(**data)
        for name in tags:
            tag = session.query(Tag).filter_by(name=name).one_or_none() or Tag(name=name)
            contact.tags.append(tag)
        contact.roles.extend(ContactRole(role=r) for r in roles)
        session.add(contact)
        session.flush()
        return contact

    return make
