"""The row encoding of archive format 2 (kms.backups.rows)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kms.backups import rows


@pytest.mark.parametrize(
    "values",
    [
        [1, "Erika Mustermann", None, True, False, 0, -7],
        ['Zeile\nzwei "zitiert" \\ € ü 🧾', "\u2028\u0000\t"],
        [1.5, -0.0, 1e300, 12345678901234567890, float("inf")],
        [{"b": [1, None, {"c": "ä"}], "a": {}}, [], [[]]],
    ],
)
def test_row_encoding_is_json_dumps_compact(values: list[Any]) -> None:
    """The reused C encoder writes exactly what json.dumps writes, one line per row."""
    expected = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    assert rows._ENCODE(values) == expected
    assert "\n" not in rows._ENCODE(values)
    assert json.loads(rows._ENCODE(values)) == json.loads(expected)


def test_values_json_cannot_hold_are_refused() -> None:
    """Like json.dumps: an object without a JSON form raises TypeError, nothing is written."""
    with pytest.raises(TypeError):
        rows._ENCODE([object()])


def test_unreadable_row_line_is_a_german_backup_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A part whose line is not JSON stops reading with a BackupError, not a ValueError."""
    import gzip

    from kms.backups.errors import BackupError

    part = tmp_path / "contacts"
    part.write_bytes(gzip.compress(b'[1,"a"]\n[2,"b"\n'))
    with pytest.raises(BackupError, match="unlesbar"):
        list(rows.read_rows(part))


def test_parts_are_read_in_batches_row_for_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Rows of both formats (arrays and objects) come back in order, across batches."""
    import gzip

    part = tmp_path / "t"
    lines = [json.dumps([i, f"z{i}" + "x" * 60]) for i in range(30_000)] + [json.dumps({"id": 1})]
    part.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    got = list(rows.read_rows(part))
    assert [r[0] for r in got[:-1]] == list(range(30_000))  # 2 MB: more than one batch
    assert got[-1] == {"id": 1}


def _probe_table(meta: Any, dialect: str) -> Any:
    """Every storage type the database's JSON function writes for the backup, plus tricky
    values (PostgreSQL also writes Base64 and exact decimals in SQL)."""
    import sqlalchemy as sa

    from kms.types import Money, UTCDateTime

    sql_only = [sa.Column("blob", sa.LargeBinary), sa.Column("exact", sa.Numeric(20, 6))]
    return sa.Table(
        "probe_sql_json",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("flag", sa.Boolean),
        sa.Column("big", sa.BigInteger),
        sa.Column("money", Money()),
        sa.Column("text", sa.String),
        sa.Column("farbe", sa.Enum("rot", "grün", name="farbe")),
        sa.Column("data", sa.JSON),
        sa.Column("day", sa.Date),
        sa.Column("clock", sa.Time),
        sa.Column("naive", sa.DateTime),
        sa.Column("at", UTCDateTime()),
        *(sql_only if dialect == "postgresql" else []),
    )


def _probe_rows(dialect: str) -> list[dict[str, Any]]:
    from datetime import UTC, date, datetime, time
    from decimal import Decimal

    tricky = 'Zeile\nzwei "zitiert" \\ € ü 🧾\u2028\t'
    if dialect != "postgresql":  # PostgreSQL's text holds no NUL character
        tricky += "\u0000"
    probe = [
        {
            "id": 1,
            "flag": True,
            "big": 2**62,
            "money": Decimal("-1234567.89"),
            "text": tricky,
            "farbe": "grün",
            "data": {"b": [1, None, {"c": "ä", "f": 1.5}], "a": {}, "s": tricky},
            "day": date(2026, 2, 28),
            "clock": time(23, 59, 59, 1),
            "naive": datetime(2026, 3, 29, 2, 30),
            "at": datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=UTC),
        },
        {
            "id": 2,
            "flag": False,
            "big": -1,
            "money": Decimal("0.00"),
            "text": "",
            "farbe": "rot",
            "data": [],
            "day": date(1, 1, 1),
            "clock": time(0, 0),
            "naive": datetime(2026, 1, 1, 0, 0, 0, 5),
            "at": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"id": 3, **dict.fromkeys(("flag", "big", "money", "text", "farbe", "day")), "data": None}
        | {"clock": None, "naive": None, "at": None},
    ]
    if dialect == "postgresql":
        probe[0] |= {"blob": bytes(range(256)) * 3, "exact": Decimal("-12345678901234.500000")}
        probe[1] |= {"blob": b"", "exact": Decimal("0.000001")}
        probe[2] |= {"blob": None, "exact": None}
    return probe


def test_the_database_writes_each_row_with_the_values_python_writes(
    session: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's json_array() and PostgreSQL's json_build_array() (through COPY) build the
    backup lines, no Python per value. They parse to the same values as the Python encoder's
    lines, and restore to exactly the rows stored. On PostgreSQL a json value keeps the
    text it was written with, line breaks included: such a row still makes one line."""
    import sqlalchemy as sa

    from kms.db import get_engine

    engine = get_engine()
    dialect = engine.dialect.name
    meta = sa.MetaData()
    probe = _probe_table(meta, dialect)
    meta.create_all(engine)
    try:
        stored = _probe_rows(dialect)
        with engine.begin() as conn:
            conn.execute(probe.insert(), stored)
            if dialect == "postgresql":  # not through SQLAlchemy, which writes one line
                conn.execute(
                    sa.text("UPDATE probe_sql_json SET data = CAST(:d AS json) WHERE id = 2"),
                    {"d": '[\n  {"a":\r\n 1, "z": "x\\ny"}\n]'},
                )
                stored[1]["data"] = [{"a": 1, "z": "x\ny"}]

        used_sql = []
        original = rows._sql_blocks

        def spy(conn: Any, table: Any) -> Any:
            blocks = original(conn, table)
            used_sql.append(blocks is not None)
            return blocks

        monkeypatch.setattr(rows, "_sql_blocks", spy)
        with engine.connect() as conn:
            in_sql = rows.dump_table(conn, probe, tmp_path / "sql")
        monkeypatch.setattr(rows, "_sql_blocks", lambda conn, table: None)
        with engine.connect() as conn:
            in_python = rows.dump_table(conn, probe, tmp_path / "python")
        assert used_sql == [True]
        assert in_sql == in_python and in_sql.rows == 3

        from datetime import datetime, time

        # The one spelling difference: SQLite keeps ".000000", isoformat() leaves it out.
        times = {"naive": datetime.fromisoformat, "at": datetime.fromisoformat}
        times["clock"] = time.fromisoformat

        def values(part: str) -> list[list[Any]]:
            return [
                [
                    times[n](v) if n in times and v else (type(v), v)
                    for n, v in zip(in_sql.columns, r, strict=True)
                ]
                for r in rows.read_rows(tmp_path / part)
            ]

        assert values("sql") == values("python")
        assert _reload(engine, probe, tmp_path / "sql", in_sql.columns) == stored
    finally:
        meta.drop_all(engine)


def test_postgres_writes_times_in_utc_whatever_the_session_zone(
    postgres_url: str, tmp_path: Any
) -> None:
    """The snapshot's own TimeZone does not reach the backup: times are written in UTC, and
    the zone is the session's again afterwards."""
    import sqlalchemy as sa

    from kms.types import UTCDateTime

    engine = sa.create_engine(postgres_url)
    meta = sa.MetaData()
    probe = sa.Table(
        "probe_zone",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime()),
    )
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO probe_zone VALUES (1, '2026-03-29 00:30:00+00')"))
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SET LOCAL TimeZone = 'Europe/Berlin'"))
            rows.dump_table(conn, probe, tmp_path / "part")
            assert conn.execute(sa.text("SHOW TimeZone")).scalar() == "Europe/Berlin"
        assert list(rows.read_rows(tmp_path / "part")) == [[1, "2026-03-29T00:30:00+00:00"]]
    finally:
        meta.drop_all(engine)
        engine.dispose()


def _reload(engine: Any, table: Any, part: Any, columns: list[str]) -> list[dict[str, Any]]:
    """Empty the table, load the part into its reflected schema (as a restore does) and
    read the rows back in id order."""
    import sqlalchemy as sa

    target = sa.MetaData()
    target.reflect(engine, only=[table.name])
    with engine.begin() as conn:
        conn.execute(table.delete())
        rows.load_tables(conn, target, {table.name: part}, columns={table.name: columns})
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(sa.select(table).order_by(table.c.id))]


def test_tables_with_binary_or_decimal_columns_still_go_through_python(sqlite_session: Any) -> None:
    """json_array() has no Base64 and prints REAL with 15 digits: such tables keep the encoder."""
    import sqlalchemy as sa

    from kms.db import get_engine

    meta = sa.MetaData()
    blob = sa.Table(
        "p_blob",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("b", sa.LargeBinary),
    )
    num = sa.Table(
        "p_num",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n", sa.Numeric(20, 6)),
    )
    real = sa.Table(
        "p_real", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("f", sa.Float)
    )
    with get_engine().connect() as conn:
        assert [rows._sqlite_lines(conn, t) for t in (blob, num, real)] == [None, None, None]


def test_rows_go_to_the_right_columns_when_the_table_lists_them_in_another_order(
    sqlite_session: Any,
) -> None:
    """After migrations added columns, a table's column order differs from the manifest's.
    Such a table still takes its rows through one INSERT and executemany (no dict per row),
    and every value lands in the column of its name."""
    import sqlalchemy as sa

    from kms.db import get_engine

    engine = get_engine()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE p_order (id INTEGER PRIMARY KEY, b TEXT, a TEXT)")
    target = sa.MetaData()
    target.reflect(engine, only=["p_order"])
    table = target.tables["p_order"]
    with engine.begin() as conn:
        insert = rows._Inserter(conn, table, ["id", "a", "b"])
        assert insert.sql is not None
        insert([[1, "für a", "für b"], [2, None, "nur b"]])
    with engine.connect() as conn:
        got = conn.exec_driver_sql("SELECT id, a, b FROM p_order ORDER BY id").all()
    assert [tuple(r) for r in got] == [(1, "für a", "für b"), (2, None, "nur b")]
    # The driver's own error arrives as SQLAlchemy's, as an insert through it would raise.
    with pytest.raises(sa.exc.IntegrityError, match="UNIQUE"), engine.begin() as conn:
        rows._Inserter(conn, table, ["id", "a", "b"])([[3, "neu", None], [1, "doppelt", None]])
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM p_order").scalar() == 2


@pytest.mark.parametrize("at", [1, 7_001])  # in the first row, and after a batch was written
def test_json_sqlite_refuses_falls_back_to_python_and_restores(
    sqlite_session: Any, tmp_path: Any, at: int
) -> None:
    """Python's JSON writes Infinity for a float that SQLite's json() calls malformed: that
    table's part is written anew through Python, and every row restores."""
    import sqlalchemy as sa

    from kms.db import get_engine

    meta = sa.MetaData()
    probe = sa.Table(
        "p_json", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("data", sa.JSON)
    )
    engine = get_engine()
    meta.create_all(engine)
    values = [{"id": i, "data": {"n": i}} for i in range(1, 7_500)]
    values[at - 1]["data"] = {"n": float("inf"), "s": "unendlich"}
    with engine.begin() as conn:
        conn.execute(probe.insert(), values)
    with engine.connect() as conn:
        assert rows._dump_in_sql(conn, probe, tmp_path / "try") is None
        dump = rows.dump_table(conn, probe, tmp_path / "part")
    assert dump.rows == len(values)
    assert _reload(engine, probe, tmp_path / "part", dump.columns) == values


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-29T01:59:59.123456+00:00",
        "2026-03-29T03:00:00+02:00",
        "2026-10-25T02:30:00.5-01:30",
        "2026-01-01T00:00:00",
        "2026-01-01 00:00:00.000000",
        "0001-01-01T00:00:00",
    ],
)
def test_times_are_stored_as_sqlalchemy_would_store_them(sqlite_session: Any, value: str) -> None:
    """On SQLite a backup's time goes straight to the stored text (no datetime in between):
    the same text an insert through SQLAlchemy stores, for naive and UTC columns alike."""
    import sqlalchemy as sa

    from kms.db import get_engine
    from kms.types import UTCDateTime

    meta = sa.MetaData()
    sa.Table(
        "p_time",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("naive", sa.DateTime),
        sa.Column("at", UTCDateTime()),
    )
    engine = get_engine()
    meta.create_all(engine)
    target = sa.MetaData()
    target.reflect(engine, only=["p_time"])
    decode = rows.decoder(sa.DateTime(), "sqlite")
    with engine.begin() as conn:
        insert = rows._Inserter(conn, target.tables["p_time"], ["id", "naive", "at"])
        assert sorted(insert.direct) == [1, 2] and not insert.processors
        insert([[1, insert.direct[1](value), insert.direct[2](value)]])
        reflected = target.tables["p_time"]  # a restore inserts into the reflected schema
        conn.execute(reflected.insert(), [{"id": 2, "naive": decode(value), "at": decode(value)}])
        stored = conn.exec_driver_sql("SELECT naive, at FROM p_time ORDER BY id").all()
    assert stored[0] == stored[1]
    with pytest.raises(ValueError):
        insert.direct[1]("2026-13-01T00:00:00")


def test_indexes_are_built_after_the_rows_and_still_refuse_duplicates(sqlite_session: Any) -> None:
    """indexes_deferred drops a table's own indexes for the load and builds them again from
    their SQL; a unique index then refuses duplicate rows, and the rollback keeps it."""
    from kms.backups.errors import BackupError
    from kms.db import get_engine

    engine = get_engine()
    index_sql = [
        "CREATE UNIQUE INDEX ix_p_idx_code ON p_idx (code)",
        "CREATE INDEX ix_p_idx_lower ON p_idx (lower(name)) WHERE name IS NOT NULL",
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE p_idx (id INTEGER PRIMARY KEY, code TEXT, name TEXT)")
        for sql in index_sql:
            conn.exec_driver_sql(sql)

    def indexes(conn: Any) -> list[str]:
        found = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'p_idx' "
            "AND sql IS NOT NULL ORDER BY name"
        )
        return [sql for (sql,) in found]

    with engine.begin() as conn, rows.indexes_deferred(conn):
        assert indexes(conn) == []
        conn.exec_driver_sql("INSERT INTO p_idx VALUES (1, 'A', 'Erika'), (2, 'B', NULL)")
    with engine.connect() as conn:
        assert indexes(conn) == index_sql
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT id FROM p_idx WHERE code = 'A'")
        assert "ix_p_idx_code" in " ".join(str(r[-1]) for r in plan)
    with (
        pytest.raises(BackupError, match="eindeutigen Index ix_p_idx_code"),
        engine.begin() as conn,
    ):
        conn.exec_driver_sql("DELETE FROM p_idx")
        with rows.indexes_deferred(conn):
            conn.exec_driver_sql("INSERT INTO p_idx VALUES (3, 'C', 'x'), (4, 'C', 'y')")
    with engine.connect() as conn:
        assert indexes(conn) == index_sql
        assert conn.exec_driver_sql("SELECT count(*) FROM p_idx").scalar() == 2


@pytest.mark.parametrize("fault", [None, "doppelt", "verwaist"])
def test_postgres_makes_keys_and_indexes_again_after_the_rows(
    postgres_url: str, fault: str | None
) -> None:
    """In the restore's schema, foreign keys and indexes are dropped while the rows go in
    (a child before its parent is fine meanwhile) and made again from their definitions
    afterwards. A duplicate in a unique index or a row that refers to nothing is damage."""
    import sqlalchemy as sa

    from kms.backups.errors import BackupError
    from tests.conftest import _create_schema, _drop_schema

    schema, url = _create_schema()
    engine = sa.create_engine(url)
    definitions = """
        SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()
        UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace = current_schema()::regnamespace ORDER BY 1"""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE parent (id int PRIMARY KEY)")
            conn.exec_driver_sql(
                "CREATE TABLE child (id int PRIMARY KEY, code text,"
                " parent_id int CONSTRAINT fk_parent REFERENCES parent (id))"
            )
            conn.exec_driver_sql("CREATE UNIQUE INDEX ux_child_code ON child (code)")
            conn.exec_driver_sql("CREATE INDEX ix_child_parent ON child (parent_id)")
            before = conn.exec_driver_sql(definitions).scalars().all()
        children = [(1, "a", 1), (2, "b", 2)]
        if fault == "doppelt":
            children.append((3, "a", 1))
        if fault == "verwaist":
            children.append((3, "c", 7))
        with engine.connect() as conn:
            trying = conn.begin()
            try:
                with rows.indexes_deferred(conn):
                    meanwhile = conn.exec_driver_sql(definitions).scalars().all()
                    conn.exec_driver_sql(
                        "INSERT INTO child VALUES " + ", ".join(map(str, children))  # noqa: S608
                    )
                    conn.exec_driver_sql("INSERT INTO parent VALUES (1), (2)")
                trying.commit()
            except BackupError as exc:
                trying.rollback()
                assert fault is not None
                expected = "eindeutigen Index ux_child_code" if fault == "doppelt" else "child"
                assert "beschädigt" in str(exc) and expected in str(exc)
            else:
                assert fault is None
            after = conn.exec_driver_sql(definitions).scalars().all()
        assert len(meanwhile) == 4 and all("PRIMARY KEY" in d or "_pkey" in d for d in meanwhile)
        assert after == before and len(before) == 7
    finally:
        engine.dispose()
        _drop_schema(schema)
