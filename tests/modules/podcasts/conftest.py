"""Podcasts fixtures: a valid licence for the add-on (as tests/modules/pricing does)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from kms import licensing
from kms.types import today


def podcasts_token(session: Session, private: str) -> str:
    return licensing.issue(
        private,
        module="podcasts",
        licensee="Erika Mustermann",
        instance=licensing.instance_id(session),
        valid_until=today() + timedelta(days=365),
    )


@pytest.fixture
def licensed(session: Session, monkeypatch: pytest.MonkeyPatch) -> licensing.Licence:
    """The podcasts add-on licensed for the next year."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    licence = licensing.install(session, podcasts_token(session, private))
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
        licensing.install(session, podcasts_token(session, private))
