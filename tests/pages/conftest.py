"""Fixtures for page tests: an owner login, demo data, and fast logins."""

from __future__ import annotations

import bcrypt
import pytest

from tests.ui_helpers import create_owner


@pytest.fixture(autouse=True)
def fast_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap bcrypt rounds: page tests log in many times."""
    gensalt = bcrypt.gensalt
    monkeypatch.setattr(bcrypt, "gensalt", lambda rounds=4, prefix=b"2b": gensalt(4, prefix))


@pytest.fixture
def owner(request: pytest.FixtureRequest) -> str:
    """The owner login "erika" in the test's database (SQLite, or each db_url the test uses)."""
    if "db_url" in request.fixturenames:
        request.getfixturevalue("db_url")  # point KMS at that database first
    return create_owner()


@pytest.fixture
def demo(request: pytest.FixtureRequest) -> None:
    """The fictitious demo data (persons, company profile, …), onboarding done; no demo
    login (`kms demo` refuses an instance with a real owner)."""
    from kms.db import ensure_migrated, session_scope
    from kms.demo import load_demo_data

    if "db_url" in request.fixturenames:
        request.getfixturevalue("db_url")
    ensure_migrated()
    with session_scope() as session:
        load_demo_data(session)
