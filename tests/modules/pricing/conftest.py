"""Preiskalkulation fixtures: a valid licence for the add-on (the way tests/test_licensing.py
installs one: a vendor key pair trusted via KMS_LICENSE_PUBLIC_KEYS)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from kms import licensing
from kms.types import today

from .licence import pricing_token


@pytest.fixture
def licensed(session: Session, monkeypatch: pytest.MonkeyPatch) -> licensing.Licence:
    """The pricing add-on licensed for the next year."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    licence = licensing.install(
        session, pricing_token(session, private, today() + timedelta(days=365))
    )
    session.commit()
    return licence


@pytest.fixture
def licensed_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same licence for page tests (AppTest pages open their own sessions)."""
    from kms.db import session_scope
    from tests import ui_helpers as ui

    ui.create_owner()
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    with session_scope() as session:
        licensing.install(session, pricing_token(session, private, today() + timedelta(days=365)))
