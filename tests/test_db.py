"""Data layer: migrations, money exactness, SQLite pragmas, write transactions."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

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


def test_inline_constants_are_written_into_the_sql_and_compare_right(db_url: str) -> None:
    """`inline` writes codes and integers into the statement (no bound parameter to process
    per execution) and they compare like bound values; anything that would need quoting or
    is no str/int is refused."""
    from kms.db import inline

    with get_engine(db_url).connect() as conn:
        statement = select(inline("offen"), inline(-3), inline("a_b c-d"))
        assert statement.compile(conn).params == {}
        assert conn.execute(statement).one() == ("offen", -3, "a_b c-d")
        assert conn.execute(select(inline("offen") == "offen", inline(2) > 1)).one() == (
            True,
            True,
        )
    for bad in ("it's", "a;b", "ü", "x\\"):
        with pytest.raises(ValueError):
            inline(bad)
    for wrong in (True, 1.5, None):
        with pytest.raises(TypeError):
            inline(wrong)  # type: ignore[arg-type]


def test_a_kept_statement_is_compiled_once_and_sees_pending_rows(db_url: str) -> None:
    """`execute_kept` finds a statement built once by identity (one compile, however often
    it runs), autoflushes like `Session.execute`, and a statement built anew with the same
    SQL gets an entry of its own instead of another statement's compiled form."""
    from sqlalchemy import bindparam

    from kms.db import KEPT_STATEMENTS, execute_kept
    from kms.models import User

    users = User.__table__.c

    def build() -> Any:
        return select(users.display_name).where(users.username == bindparam("name"))

    kept = build()
    with session_scope(db_url) as session:
        session.add(User(username="kept-1", display_name="Erika Mustermann", password_hash="x"))
        before = len(KEPT_STATEMENTS)
        first = execute_kept(session, kept, {"name": "kept-1"})
        assert first.all() == [("Erika Mustermann",)]  # pending, flushed first
        compiled = first.context.compiled
        for _ in range(3):
            again = execute_kept(session, kept, {"name": "kept-1"})
            assert again.context.compiled is compiled
            assert again.all() == [("Erika Mustermann",)]
        assert execute_kept(session, kept, {"name": "nobody"}).all() == []
        assert len(KEPT_STATEMENTS) == before + 1
        rebuilt = execute_kept(session, build(), {"name": "kept-1"})
        assert rebuilt.context.compiled is not compiled
        assert rebuilt.all() == [("Erika Mustermann",)]
        session.rollback()


def test_kept_statements_forget_all_when_full() -> None:
    """The cache of kept statements never grows past its limit, and a slot whose dialect or
    key object is another one is a miss."""
    from kms.db import _KeptStatements

    cache = _KeptStatements()
    dialect, other = object(), object()
    keys = [(dialect, (n,), (), False, False) for n in range(cache.LIMIT)]
    for n, key in enumerate(keys):
        cache[key] = n
    assert len(cache) == cache.LIMIT and cache.get(keys[-1]) == cache.LIMIT - 1
    assert cache.get((other, keys[0][1], (), False, False)) is None
    assert cache.get((dialect, (0,), (), False, False)) is None  # equal, not the same key
    cache[(dialect, ("one more",), (), False, False)] = "x"
    assert len(cache) == 1 and cache.get(keys[0]) is None
