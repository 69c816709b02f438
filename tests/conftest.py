"""Every test gets its own data dir and database; data tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from kms.config import reset_config
from kms.db import dispose_engines, ensure_migrated, session_factory
from kms.permissions import SYSTEM, acting_as
from tests.smtp_fixtures import (  # noqa: F401 - pytest discovers fixtures by name
    smtp_server,
    smtp_server_auth,
    smtp_server_factory,
    smtp_server_ssl,
    smtp_server_starttls,
    tls_material,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL = os.environ.get("KMS_TEST_POSTGRES_URL")


@pytest.fixture(autouse=True)
def kms_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated data dir with an embedded SQLite database; no scheduler thread."""
    data = tmp_path / "data"
    monkeypatch.setenv("KMS_DATA_DIR", str(data))
    monkeypatch.setenv("KMS_DATABASE_URL", f"sqlite:///{data / 'kms.sqlite3'}")
    monkeypatch.setenv("KMS_SCHEDULER", "0")
    monkeypatch.setattr("kms.auth.BCRYPT_ROUNDS", 4)  # the minimum cost keeps the suite fast
    for var in ("KMS_COOKIE_KEY", "KMS_SECRET_KEY", "KMS_SMTP_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    reset_config()
    dispose_engines()
    yield data
    dispose_engines()
    reset_config()


@pytest.fixture(autouse=True)
def system_actor() -> Iterator[None]:
    """Tests call services directly, as the CLI does: as the system (all rights).

    Page tests run their scripts in Streamlit's own thread, where the logged-in user acts;
    role tests switch actors with kms.permissions.acting_as.
    """
    with acting_as(SYSTEM):
        yield


def _create_schema() -> tuple[str, str]:
    """A brand-new schema on the test server and its URL (fails in CI if unreachable)."""
    if not POSTGRES_URL:
        if IN_CI:
            pytest.fail("KMS_TEST_POSTGRES_URL is not set in CI")
        pytest.skip("PostgreSQL tests need KMS_TEST_POSTGRES_URL (CI sets it)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}")
    finally:
        admin.dispose()
    sep = "&" if "?" in POSTGRES_URL else "?"
    return schema, f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"


def _fresh_postgres(monkeypatch: pytest.MonkeyPatch) -> str:
    """Point KMS at a brand-new schema of its own (tests that move between databases)."""
    schema, url = _create_schema()
    monkeypatch.setenv("KMS_DATABASE_URL", url)
    reset_config()
    return schema


@contextmanager
def database_at(revision: str, database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own ("sqlite": the test's file; "postgres": a new schema) migrated
    up to `revision` only, for tests of the migrations after it."""
    from alembic import command

    from kms.config import get_config
    from kms.db import alembic_config

    schema = _fresh_postgres(monkeypatch) if database == "postgres" else None
    url = get_config().database_url
    command.upgrade(alembic_config(url), revision)
    try:
        yield url
    finally:
        dispose_engines()
        if schema:
            _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL or "")
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _empty_tables(url: str) -> None:
    """Delete every row and restart the ids at 1: far faster than a new schema plus migrations.

    DELETE beats TRUNCATE on tables this small (TRUNCATE swaps files and fsyncs); foreign-key
    triggers are paused for the transaction so the order of the tables does not matter.
    """
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # a leaked transaction fails loudly
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        tables = conn.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'alembic_version'"
            )
        ).all()
        for table in tables:
            conn.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - names from pg_tables
        sequences = conn.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        for sequence in sequences:
            conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One migrated PostgreSQL schema for the whole run; every test leaves it empty."""
    schema, url = _create_schema()
    try:
        ensure_migrated(url)
        dispose_engines()
        yield url
    finally:
        dispose_engines()
        _drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The database URL of this test, once for SQLite and once for PostgreSQL."""
    from kms.config import get_config

    postgres = request.param == "postgres"
    if postgres:
        monkeypatch.setenv("KMS_DATABASE_URL", request.getfixturevalue("postgres_url"))
        reset_config()
    url = get_config().database_url
    ensure_migrated(url)
    yield url
    dispose_engines()
    if postgres:
        _empty_tables(url)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    """A write session on the test's database; the test commits what it needs."""
    s = session_factory(db_url)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def sqlite_session() -> Iterator[Session]:
    """A write session on the embedded SQLite database only (for UI-level tests)."""
    ensure_migrated()
    s = session_factory()()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist, every test that drives Chromium runs on one worker, one at a time.

    A browser test starts a KMS server and a browser of its own; two at once on a two-core
    machine would only slow each other down. The other worker meanwhile runs the rest.
    """
    for item in items:
        if item.get_closest_marker("browser") or "browser" in item.path.name:
            item.add_marker(pytest.mark.xdist_group("browser"))
