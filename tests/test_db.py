"""Data layer: migrations, money exactness, SQLite pragmas, write transactions."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select, text

from kms.db import get_engine, session_scope
from kms.models import Base
from kms.registry import import_models
from kms.types import Money, Quantity


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    """The committed migrations create exactly the tables and columns the models declare."""
    import_models()
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


AMOUNTS = [Decimal("0.10"), Decimal("0.20"), Decimal("1234.56"), Decimal("-0.01")] * 250


def test_money_sums_are_exact_on_both_databases(db_url: str) -> None:
    """A thousand amounts that float arithmetic gets wrong sum to the cent in SQL."""
    meta = MetaData()
    table = Table(
        "money_probe",
        meta,
        Column("id", Integer, primary_key=True),
        Column("amount", Money()),
        Column("price", Quantity()),
    )
    engine = get_engine(db_url)
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(table), [{"amount": a, "price": Decimal("0.3333")} for a in AMOUNTS]
            )
            total, prices = conn.execute(
                select(func.sum(table.c.amount), func.sum(table.c.price))
            ).one()
        assert total == Decimal("308712.50")
        assert isinstance(total, Decimal)
        assert prices == Decimal("333.3000")
    finally:
        meta.drop_all(engine)


def test_money_refuses_float_and_excess_places() -> None:
    """Floats and sub-cent amounts never reach the database silently."""
    money = Money()
    with pytest.raises(TypeError):
        money.process_bind_param(0.1, None)
    with pytest.raises(ValueError, match="decimal places"):
        money.process_bind_param(Decimal("1.005"), None)
    assert money.process_bind_param(Decimal("-12.30"), None) == -1230
    assert money.process_result_value(-1230, None) == Decimal("-12.30")


def test_sqlite_runs_with_wal_and_foreign_keys() -> None:
    """The embedded database uses WAL and enforces foreign keys."""
    with session_scope() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_postgres_connections_never_jit_compile(postgres_url: str) -> None:
    """Every pooled PostgreSQL connection has JIT off, also after a rolled-back transaction
    and on a connection opened later (the setting is committed when it connects)."""
    engine = get_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
        conn.rollback()
        assert conn.execute(text("SHOW jit")).scalar() == "off"
    with engine.connect() as first, engine.connect() as second:
        assert {c.execute(text("SHOW jit")).scalar() for c in (first, second)} == {"off"}


def test_concurrent_sqlite_writers_queue_instead_of_failing() -> None:
    """Two threads doing read-then-write transactions both succeed (BEGIN IMMEDIATE)."""
    from kms.models import KeyValue

    with session_scope() as session:
        session.add(KeyValue(key="counter", value=0))
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(20):
                with session_scope() as session:
                    row = session.get(KeyValue, "counter")
                    row.value = row.value + 1
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope() as session:
        assert session.get(KeyValue, "counter").value == 40


def test_key_values_are_read_and_written_through_one_helper(db_url: str) -> None:
    """get_value gives the default for a missing or null key; set_value creates, then
    replaces; only kms.models touches KeyValue rows by hand for settings."""
    from kms.models import get_value, set_value

    with session_scope() as session:
        assert get_value(session, "test.key", {"x": 1}) == {"x": 1}
        set_value(session, "test.key", {"a": 1})
    with session_scope() as session:
        assert get_value(session, "test.key") == {"a": 1}
        set_value(session, "test.key", None)
    with session_scope(write=False) as session:
        assert get_value(session, "test.key", "leer") == "leer"
    root = Path(__file__).parents[1] / "kms"
    hand_written = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "session.add(KeyValue(" in path.read_text(encoding="utf-8")
    ]
    # auth.py inserts its one-owner key on purpose: the second concurrent insert must fail.
    assert sorted(hand_written) == ["auth.py", "models.py"]


def test_script_head_agrees_with_alembic_and_a_database_at_head_skips_alembic(
    db_url: str,
) -> None:
    """The head read from the migration files is alembic's own head; a migrated database is
    recognised as at head, one revision behind is not."""
    from alembic.script import ScriptDirectory

    from kms.db import alembic_config, at_head, script_head, upgrade

    scripts = ScriptDirectory.from_config(alembic_config(db_url))
    head = scripts.get_current_head()
    assert head is not None and script_head() == head
    engine = get_engine(db_url)
    upgrade(db_url)
    assert at_head(engine)
    behind = scripts.get_revision(head).down_revision
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": behind})
    assert not at_head(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert at_head(engine)


def test_upgrade_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    """`kms db upgrade` and every start on a migrated database skip alembic's import."""
    import os
    import subprocess
    import sys

    from kms.config import ROOT

    env = {**os.environ, "KMS_DATA_DIR": str(tmp_path / "data")}
    env.pop("KMS_DATABASE_URL", None)
    code = "import sys; from kms.db import upgrade; upgrade(); print('alembic' in sys.modules)"
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # the first run migrates, the second finds it at head


def test_reflecting_the_schema_for_a_restore_prints_no_warning(db_url: str) -> None:
    """The invoice list's expression index cannot be reflected; restore's reflection skips
    it without an English warning on the console, and still sees every table."""
    import warnings

    from kms.db import reflect

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metadata = reflect(get_engine(db_url))
    assert {"invoices", "ledger_bookings", "alembic_version"} <= set(metadata.tables)
