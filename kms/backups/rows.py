"""Typed, portable rows: every table as JSON Lines that SQLite and PostgreSQL both accept.

Archive format 2 writes each row as a JSON array in the order of the columns the manifest
lists for its table (format 1 wrote one JSON object per row; load_tables reads both), gzip
in batches through zlib-ng's fast level 2 (kms.backups.gz): a backup spends its time on
the rows, not on compressing them. The database builds the lines of most tables itself:
SQLite's json_array() in C, PostgreSQL's json_build_array() streamed by COPY.
Values are written in their storage form, so a backup does not depend on the Python
types a model uses today: scaled integers (Money, Quantity) stay integers, NUMERIC is
exact decimal text, times are ISO 8601 in UTC, binary data is Base64. Restoring reads the
column types of the target database (reflected at the backup's schema revision) and turns
each value back, so the same file restores into either database.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.ddl import sort_tables_and_constraints
from sqlalchemy.sql.schema import Table
from sqlalchemy.sql.sqltypes import TypeEngine
from sqlalchemy.types import TypeDecorator

from kms.backups import gz
from kms.backups.errors import DAMAGED, BackupError

Codec = Callable[[Any], Any]
BATCH = 5000


def _row_encoder() -> Callable[[list[Any]], str]:
    """Compact JSON of one row. json.dumps builds its C encoder anew for every call (half
    the time of a row); this builds it once, checked against json's own output."""
    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython has it
        return plain.encode
    try:  # (markers, default, encoder, indent, key_sep, item_sep, sort_keys, skipkeys, allow_nan)
        fast = make(
            None, plain.default, json.encoder.encode_basestring, None, ":", ",", False, False, True
        )
    except TypeError:  # pragma: no cover - another signature
        return plain.encode

    def encode(values: list[Any]) -> str:
        return "".join(fast(values, 0))

    sample: list[Any] = [1, -2.5, 'ä\n"\\ €', None, True, {"k": [1, None]}, []]
    try:
        same = encode(sample) == plain.encode(sample)
    except TypeError:  # pragma: no cover - another signature
        same = False
    return encode if same else plain.encode


_ENCODE = _row_encoder()
# Storage types whose Python value is already its JSON value (in both directions).
_PLAIN = (sa.Boolean, sa.Integer, sa.String, sa.Enum, sa.JSON)


def storage_type(coltype: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type the database really stores (a TypeDecorator's impl)."""
    while isinstance(coltype, TypeDecorator):
        coltype = coltype.impl_instance
    return coltype


def _iso_utc(value: datetime) -> str:
    # Naive values come from SQLite, where KMS stores UTC without an offset.
    if value.tzinfo is None:
        return value.isoformat() + "+00:00"
    return value.astimezone(UTC).isoformat()


def encoder(coltype: TypeEngine[Any]) -> Codec:
    """How a column's stored value becomes JSON."""
    t = storage_type(coltype)
    if isinstance(t, sa.Boolean):
        return bool
    if isinstance(t, sa.Integer):
        return int
    if isinstance(t, sa.Float):
        return float
    if isinstance(t, sa.Numeric):
        return lambda v: str(Decimal(v))
    if isinstance(t, sa.DateTime):
        return _iso_utc if t.timezone else lambda v: v.isoformat()
    if isinstance(t, sa.Date | sa.Time):
        return lambda v: v.isoformat()
    if isinstance(t, sa.LargeBinary):
        return lambda v: base64.b64encode(bytes(v)).decode("ascii")
    if isinstance(t, sa.Uuid):
        return str
    if isinstance(t, sa.JSON | sa.String | sa.Enum):
        return lambda v: v
    raise TypeError(f"no backup encoding for column type {coltype!r}")


def decoder(coltype: TypeEngine[Any], dialect: str) -> Codec:
    """How a JSON value becomes what the target column accepts."""
    t = storage_type(coltype)
    if isinstance(t, sa.Boolean):
        return bool
    if isinstance(t, sa.Integer):
        return int
    if isinstance(t, sa.Float):
        return float
    if isinstance(t, sa.Numeric):
        return Decimal
    if isinstance(t, sa.DateTime):
        keep_zone = dialect != "sqlite" and t.timezone

        def to_datetime(v: str) -> datetime:
            parsed = datetime.fromisoformat(v)
            if parsed.tzinfo is None:
                return parsed
            utc = parsed.astimezone(UTC)
            return utc if keep_zone else utc.replace(tzinfo=None)

        return to_datetime
    if isinstance(t, sa.Date):
        return date.fromisoformat
    if isinstance(t, sa.Time):
        return time.fromisoformat
    if isinstance(t, sa.LargeBinary):
        return base64.b64decode
    if isinstance(t, sa.Uuid):
        return uuid.UUID
    return lambda v: v


def _with_none(codec: Codec) -> Codec:
    return lambda v: None if v is None else codec(v)


@dataclass(frozen=True)
class TableDump:
    """One table's part of the archive."""

    table: str
    columns: list[str]
    rows: int


def _converting(table: Table, codec: Callable[[TypeEngine[Any]], Codec]) -> list[tuple[int, Codec]]:
    """(position, codec) of the columns whose values need converting (not plain JSON)."""
    return [
        (i, codec(c.type))
        for i, c in enumerate(table.columns)
        if not isinstance(storage_type(c.type), _PLAIN)
    ]


def _raw_batches(
    conn: Connection, stmt: sa.Select[Any], table: Table
) -> tuple[Iterator[Sequence[Any]], list[tuple[int, Codec]]] | None:
    """SQLite: the driver's own cursor on the snapshot's connection (same transaction),
    and the result processors SQLAlchemy would apply, per column that has one. Skips
    building a Row object per row. None elsewhere (PostgreSQL streams through SQLAlchemy's
    server-side cursor)."""
    if conn.dialect.name != "sqlite":
        return None
    dialect = conn.dialect
    processors: list[tuple[int, Codec]] = []
    for i, column in enumerate(table.columns):
        impl = storage_type(column.type).dialect_impl(dialect)
        process = impl.result_processor(dialect, None)
        if process is not None:
            processors.append((i, process))
    return _driver_batches(conn, stmt.compile(dialect=dialect).string), processors


def _driver_batches(conn: Connection, sql: str) -> Iterator[Sequence[Any]]:
    """The rows of `sql` in batches, through the driver's cursor on the connection's own
    transaction (the snapshot); the cursor is closed when the batches end or are dropped."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(BATCH):
            yield rows
    finally:
        cursor.close()


def _sqlite_json(column: sa.Column[Any], name: str) -> str | None:
    """SQLite: SQL for the column's JSON value inside json_array(), the same value the
    Python encoder gives (times may keep a ".000000" that isoformat() leaves out; both
    parse to the same time). None: Python must convert this column."""
    t = storage_type(column.type)
    if isinstance(t, sa.Boolean):
        truth = f"WHEN {name} THEN json('true') ELSE json('false')"
        return f"CASE WHEN {name} IS NULL THEN NULL {truth} END"
    if isinstance(t, sa.Integer | sa.String | sa.Enum | sa.Date | sa.Time):
        return name
    if isinstance(t, sa.JSON):
        return f"json({name})"
    if isinstance(t, sa.DateTime):  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'; NULL stays NULL
        return (
            f"replace({name}, ' ', 'T') || '+00:00'" if t.timezone else f"replace({name}, ' ', 'T')"
        )
    return None  # Float, Numeric, LargeBinary, Uuid


def _sqlite_lines(conn: Connection, table: Table) -> Iterator[list[str]] | None:
    """SQLite: each row already as its JSON line, built by SQLite's json_array() in C
    instead of converting and encoding each value in Python. None where a column needs
    Python."""
    if conn.dialect.name != "sqlite":
        return None
    sql = _lines_select(conn, table, _sqlite_json, "json_array")
    if sql is None:
        return None
    return ([line for (line,) in rows] for rows in _driver_batches(conn, sql))


def _lines_select(
    conn: Connection,
    table: Table,
    json_of: Callable[[sa.Column[Any], str], str | None],
    function: str,
) -> str | None:
    """SELECT function(every column's JSON value in SQL) in primary-key order; None where
    `json_of` has no SQL for a column."""
    quote = conn.dialect.identifier_preparer.quote
    values = [json_of(c, quote(c.name)) for c in table.columns]
    exprs = [v for v in values if v is not None]
    if len(exprs) != len(values):
        return None
    order = ", ".join(quote(c.name) for c in (table.primary_key.columns or table.columns))
    return f"SELECT {function}({', '.join(exprs)}) FROM {quote(table.name)} ORDER BY {order}"  # noqa: S608 - quoted model identifiers


def _postgres_json(column: sa.Column[Any], name: str) -> str | None:
    """PostgreSQL: SQL for the column's value inside json_build_array(), the same JSON value
    the Python encoder gives (with the snapshot's TimeZone set to UTC, timestamptz prints as
    ISO 8601 with "+00:00"). None: Python must convert this column."""
    t = storage_type(column.type)
    if isinstance(t, sa.Float):
        return None  # NaN and Infinity: PostgreSQL writes strings, Python bare words
    if isinstance(t, sa.Numeric):
        return f"{name}::text"  # exact decimal text, as str(Decimal) writes it
    if isinstance(t, sa.LargeBinary):  # Base64 without the line breaks encode() adds
        return f"translate(encode({name}, 'base64'), E'\\n', '')"
    if isinstance(t, sa.Boolean | sa.Integer | sa.String | sa.Enum | sa.JSON | sa.Uuid):
        return name
    if isinstance(t, sa.Date | sa.Time | sa.DateTime):
        return name
    return None


# COPY's CSV format with a quote and a delimiter that JSON text never holds raw: each line
# arrives exactly as json_build_array() wrote it. Only a row with a raw line break (the
# original text of a json value keeps its whitespace) arrives quoted.
_RAW_QUOTE = 1
_COPY_RAW = "(FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"


def _postgres_blocks(conn: Connection, table: Table) -> Iterator[tuple[bytes, int]] | None:
    """PostgreSQL with psycopg: each row as its JSON line, built by the server and streamed
    by COPY TO STDOUT on the snapshot's own transaction (no Python object per value, and the
    server's process builds the lines while this one compresses them). Blocks of lines with
    their row counts. None where a column needs Python."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        return None
    select = _lines_select(conn, table, _postgres_json, "json_build_array")
    if select is None:
        return None
    return _copy_blocks(conn, f"COPY ({select}) TO STDOUT WITH {_COPY_RAW}")


def _copy_blocks(conn: Connection, sql: str) -> Iterator[tuple[bytes, int]]:
    """The lines of a COPY … TO STDOUT in blocks of BATCH, with times printed in UTC."""
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        # Transaction-local: a failure rolls it back with the snapshot.
        zone = cursor.execute("SELECT current_setting('TimeZone')").fetchone()[0]
        cursor.execute("SELECT set_config('TimeZone', 'UTC', true)")
        with cursor.copy(sql) as copy:
            lines: list[Any] = []
            for line in copy:
                if line[0] == _RAW_QUOTE:  # quoted for its raw line break: re-encoded
                    text = bytes(line[1:-2]).replace(b"\x01\x01", b"\x01").decode()
                    line = (_ENCODE(json.loads(text)) + "\n").encode()
                lines.append(line)
                if len(lines) >= BATCH:
                    yield b"".join(lines), len(lines)
                    lines = []
            if lines:
                yield b"".join(lines), len(lines)
        cursor.execute("SELECT set_config('TimeZone', %s, true)", (zone,))


def _sql_blocks(conn: Connection, table: Table) -> Iterator[tuple[bytes, int]] | None:
    """The table's JSON lines built by the database itself (SQLite or PostgreSQL), in
    blocks with their row counts; None where that cannot be done."""
    lines = _sqlite_lines(conn, table)
    if lines is None:
        return _postgres_blocks(conn, table)
    return ((("\n".join(batch) + "\n").encode(), len(batch)) for batch in lines)


def _dump_in_sql(conn: Connection, table: Table, target: Path) -> TableDump | None:
    """dump_table() with the lines from _sql_blocks; None where that cannot be done."""
    try:
        blocks = _sql_blocks(conn, table)
        if blocks is None:
            return None
        count = 0
        with open(target, "wb") as out:
            deflate = gz.deflater()
            for block, rows in blocks:
                count += rows
                out.write(deflate.compress(block))
            out.write(deflate.flush())
    except sqlite3.DatabaseError:
        # SQLite's json() refuses what Python's JSON accepts (NaN, Infinity in a JSON
        # column): this table goes through Python instead, its file written anew.
        return None
    return TableDump(table.name, [c.name for c in table.columns], count)


def dump_table(
    conn: Connection,
    table: Table,
    target: Path,
    *,
    skip: Callable[[dict[str, Any]], bool] | None = None,
) -> TableDump:
    """Write every row of `table` (in primary-key order) as gzip'd JSON Lines of arrays."""
    columns = [c.name for c in table.columns]
    if skip is None:
        done = _dump_in_sql(conn, table, target)
        if done is not None:
            return done
    convert = _converting(table, encoder)
    stmt = sa.select(*[sa.type_coerce(c, storage_type(c.type)).label(c.name) for c in table.c])
    stmt = stmt.order_by(*(table.primary_key.columns or table.columns))
    raw = _raw_batches(conn, stmt, table)
    if raw is None:
        batches: Iterator[Sequence[Any]] = (
            conn.execution_options(yield_per=BATCH).execute(stmt).partitions()
        )
        processors: list[tuple[int, Codec]] = []
    else:
        batches, processors = raw
    count = 0
    deflate = gz.deflater()
    with open(target, "wb") as out:
        for chunk in batches:
            lines = []
            for row in chunk:
                values = list(row)
                for i, process in processors:
                    values[i] = process(values[i])
                for i, codec in convert:
                    value = values[i]
                    if value is not None:
                        values[i] = codec(value)
                if skip is not None and skip(dict(zip(columns, values, strict=True))):
                    continue
                lines.append(_ENCODE(values))
            if lines:
                lines.append("")
                out.write(deflate.compress("\n".join(lines).encode()))
                count += len(lines) - 1
        out.write(deflate.flush())
    return TableDump(table.name, columns, count)


def read_rows(path: Path) -> Iterator[Any]:
    """The rows of a table part, one JSON value per line (an array, or an object in format 1)."""
    rest = b""
    try:
        with open(path, "rb") as fh:
            for data in gz.inflated(fh.read):
                block = rest + data
                end = block.rfind(b"\n")
                rest = block[end + 1 :]
                if end >= 0:
                    yield from _parse_lines(block[:end])
        if rest.strip():  # a last line without its newline
            yield from _parse_lines(rest)
    except (ValueError, EOFError, gz.error) as exc:
        raise BackupError(f"Eine Tabelle im Backup ist unlesbar ({path.name}).") from exc


def _parse_lines(block: bytes) -> list[Any]:
    """One parse per block of lines instead of one per line (JSON escapes every newline
    inside a value, so each raw newline ends a row)."""
    return json.loads(b"[" + block.replace(b"\n", b",") + b"]")  # type: ignore[no-any-return]


def self_referencing(table: Table, order_fks: Iterable[sa.ForeignKeyConstraint]) -> set[str]:
    """Columns whose foreign keys must be filled after all rows exist (self/cyclic refs)."""
    deferred = {
        col.name
        for fk in table.foreign_key_constraints
        if fk.referred_table is table
        for col in fk.columns
    }
    for fk in order_fks:
        if fk.table is table:
            deferred.update(col.name for col in fk.columns)
    return deferred


def _unknown_columns(table: Table, names: Iterable[str]) -> BackupError | None:
    extra = set(names) - set(table.c.keys())
    if not extra:
        return None
    return BackupError(
        f"Tabelle {table.name}: Spalten {', '.join(sorted(extra))} gibt es im "
        "Schema dieser Backup-Version nicht."
    )


def _array_rows(
    table: Table, names: list[str], path: Path, dialect: str, direct: dict[int, Codec]
) -> Iterator[list[Any]]:
    """Format 2: the rows of a part, converting only the columns that need it (those in
    `direct` straight to their stored form)."""
    problem = _unknown_columns(table, names)
    if problem is not None:
        raise problem
    convert = [
        (i, direct.get(i) or decoder(table.c[name].type, dialect))
        for i, name in enumerate(names)
        if not isinstance(storage_type(table.c[name].type), _PLAIN)
    ]
    width = len(names)
    for values in read_rows(path):
        if not isinstance(values, list) or len(values) != width:
            raise BackupError(
                f"Tabelle {table.name}: eine Zeile passt nicht zu den Spalten des "
                "Inhaltsverzeichnisses."
            )
        for i, codec in convert:
            value = values[i]
            if value is not None:
                values[i] = codec(value)
        yield values


def _object_rows(
    table: Table, names: list[str], path: Path, dialect: str, direct: dict[int, Codec]
) -> Iterator[list[Any]]:
    """Format 1: one JSON object per row (every column, in the manifest's order)."""
    decoders = {c.name: _with_none(decoder(c.type, dialect)) for c in table.columns}
    decoders.update({names[i]: _with_none(codec) for i, codec in direct.items()})
    for record in read_rows(path):
        if not isinstance(record, dict):
            raise BackupError(f"Tabelle {table.name}: eine Zeile ist unlesbar.")
        problem = _unknown_columns(table, [*record, *names])
        if problem is not None:
            raise problem
        yield [decoders[k](record[k]) if k in record else None for k in names]


def _sqlite_datetime(value: str) -> str:
    """A backup's ISO time straight to SQLite's stored form (SQLAlchemy's DATETIME format,
    UTC without offset): one parse that still refuses a wrong value, no datetime in between."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.isoformat(" ", "microseconds")[:26]


def _direct(column: sa.Column[Any], dialect: Any) -> Codec | None:
    """A codec from the JSON value to what the driver stores, where one replaces decoder()
    plus SQLAlchemy's bind processor; checked against those two on sample values."""
    t = storage_type(column.type)
    if dialect.name != "sqlite" or not isinstance(t, sa.DateTime):
        return None
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    slow = decoder(column.type, dialect.name)
    samples = (
        "2026-03-29T01:59:59.123456+00:00",
        "2026-03-29T03:00:00+02:00",
        "0999-12-31T23:59:59",
    )
    if process is None or any(_sqlite_datetime(v) != process(slow(v)) for v in samples):
        return None
    return _sqlite_datetime


class _Inserter:
    """Inserts batches of rows (lists in `names` order) into one table.

    SQLAlchemy's own bind processors are applied per column (the same stored values as an
    insert through SQLAlchemy), but SQLAlchemy does not build and process a dict per row:
    on SQLite one INSERT per table takes the row lists through the driver's executemany;
    on PostgreSQL with psycopg they go in with COPY FROM STDIN. Any other driver gets
    conn.execute() with dicts. `direct` holds the columns whose values the reader turns
    into their stored form itself (_direct); they need no bind processor.
    """

    def __init__(self, conn: Connection, table: Table, names: list[str]) -> None:
        self.conn, self.names = conn, names
        self.insert = table.insert()
        dialect = conn.dialect
        quote = dialect.identifier_preparer.quote
        cols = ", ".join(quote(n) for n in names)
        self.sql: str | None = None
        self.copy: str | None = None
        self.direct: dict[int, Codec] = {}
        if dialect.name == "sqlite" and dialect.paramstyle == "qmark":
            # Written out rather than compiled: a compiled INSERT lists the columns in the
            # table's order, which after migrations that added columns is not the
            # manifest's, and such tables used to fall back to a dict per row.
            marks = ", ".join("?" * len(names))
            self.sql = f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({marks})"  # noqa: S608 - quoted identifiers
            for i, name in enumerate(names):
                codec = _direct(table.c[name], dialect)
                if codec is not None:
                    self.direct[i] = codec
        elif dialect.name == "postgresql" and dialect.driver == "psycopg":
            self.copy = f"COPY {quote(table.name)} ({cols}) FROM STDIN"
        self.processors: list[tuple[int, Codec]] = []
        for i, name in enumerate(names):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None and i not in self.direct:
                self.processors.append((i, process))

    def __call__(self, batch: list[list[Any]]) -> None:
        if self.sql is None and self.copy is None:
            self.conn.execute(self.insert, [dict(zip(self.names, v, strict=True)) for v in batch])
            return
        for values in batch:
            for i, process in self.processors:  # None too: JSON turns it into 'null' as before
                values[i] = process(values[i])
        raw: Any = self.conn.connection.dbapi_connection
        if self.sql is not None:
            # The driver itself, on the connection's open transaction: it takes the lists
            # as they are (SQLAlchemy's exec_driver_sql wants each row copied into a tuple).
            try:
                raw.executemany(self.sql, batch)
            except sqlite3.IntegrityError as exc:
                raise sa.exc.IntegrityError(self.sql, None, exc) from exc
            return
        with raw.cursor() as cursor, cursor.copy(self.copy) as copy:
            for values in batch:
                copy.write_row(values)


class DeferredIndexes:
    """The SQLite indexes indexes_deferred dropped, by table, until they are built again."""

    def __init__(self, raw: Any, indexes: list[tuple[str, str, str]]) -> None:
        self.raw = raw
        self.left: dict[str, list[tuple[str, str]]] = {}
        for name, table, sql in indexes:
            self.left.setdefault(table, []).append((name, sql))

    def of(self, table: str) -> list[tuple[str, str]]:
        """A table's indexes not built yet: (name, CREATE INDEX …)."""
        return list(self.left.get(table, []))

    def build(self, table: str) -> None:
        """Build one table's indexes now (for instance right after its rows went in)."""
        build_indexes(self.raw, self.left.pop(table, []))

    def build_all(self) -> None:
        for table in list(self.left):
            self.build(table)


def build_indexes(raw: Any, indexes: Iterable[tuple[str, str]]) -> None:
    """CREATE INDEX from its exact SQL; a unique index that meets duplicates is damage."""
    for name, sql in indexes:
        try:
            raw.execute(sql)
        except sqlite3.IntegrityError as exc:
            raise BackupError(
                DAMAGED + f" (doppelte Werte für den eindeutigen Index {name})"
            ) from exc


@contextmanager
def indexes_deferred(conn: Connection) -> Iterator[DeferredIndexes | None]:
    """SQLite: the tables' own indexes are dropped while rows are loaded into empty tables,
    then built again from their exact SQL, each in one sorted pass instead of one b-tree
    insert per row (2-4 s less CPU for the large instance's restore, docs/performance.md,
    sixth round); those the block did not build itself (DeferredIndexes.build) are built
    when it ends. A unique index refuses duplicate rows when it is built, as it would on
    insert. The constraints' indexes (primary keys, UNIQUE in CREATE TABLE) stay.
    PostgreSQL: _postgres_deferred (None)."""
    if conn.dialect.name == "postgresql":
        with _postgres_deferred(conn):
            yield None
        return
    if conn.dialect.name != "sqlite":
        yield None
        return
    raw: Any = conn.connection.dbapi_connection
    quote = conn.dialect.identifier_preparer.quote
    indexes = raw.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ).fetchall()
    for name, _table, _sql in indexes:
        raw.execute(f"DROP INDEX {quote(name)}")
    deferred = DeferredIndexes(raw, indexes)
    yield deferred
    deferred.build_all()


# The restore's schema (the connection's current one): its foreign keys, and its indexes
# other than those of primary keys and unique constraints.
_PG_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace
ORDER BY 1, 2"""
_PG_INDEXES = """
SELECT x.relname, pg_get_indexdef(i.indexrelid), i.indisunique
FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = current_schema()::regnamespace AND NOT EXISTS (
  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY 1"""


@contextmanager
def _postgres_deferred(conn: Connection) -> Iterator[None]:
    """PostgreSQL, in the restore's own new schema: its foreign keys and indexes (not those
    of primary keys and unique constraints) are dropped while the rows are loaded, in the
    same transaction, then made again from their exact definitions: each index in one
    sorted pass instead of one insert per row, each foreign key checked by one join
    instead of a trigger query per row (docs/performance.md, tenth round). A row that
    refers to nothing, or duplicates in a unique index, are damage, named in German."""
    quote = conn.dialect.identifier_preparer.quote
    keys = conn.execute(sa.text(_PG_FOREIGN_KEYS)).all()
    indexes = conn.execute(sa.text(_PG_INDEXES)).all()
    for table, name, _definition in keys:
        conn.execute(sa.text(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}"))
    for name, _definition, _unique in indexes:
        conn.execute(sa.text(f"DROP INDEX {quote(name)}"))
    yield
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    for name, definition, unique in indexes:
        try:
            conn.execute(sa.text(definition))
        except sa.exc.IntegrityError as exc:
            if not unique:
                raise
            raise BackupError(
                DAMAGED + f" (doppelte Werte für den eindeutigen Index {name})"
            ) from exc
    for table, name, definition in keys:
        try:
            conn.execute(sa.text(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"))
        except sa.exc.IntegrityError as exc:
            raise BackupError(
                DAMAGED + f" (Tabelle {table}: verweist auf einen Eintrag, "
                "den es im Backup nicht gibt)"
            ) from exc


def load_tables(
    conn: Connection,
    metadata: sa.MetaData,
    parts: dict[str, Path],
    *,
    columns: dict[str, list[str]],
    objects: bool = False,
    progress: Callable[[int], None] | None = None,
    pick: Callable[[], str | None] | None = None,
    loaded: Callable[[str], None] | None = None,
    merge: Callable[[], dict[str, int]] | None = None,
) -> dict[str, int]:
    """Insert every table's rows into the (empty) reflected `metadata`, in FK order.

    `columns`: each table's column names as the manifest lists them. Each line of a part
    is a JSON array in that order (format 2), or with `objects` a JSON object (format 1).
    Self-referencing and cyclic foreign keys are inserted as NULL first and set once all
    rows exist, so foreign keys stay enforced throughout on both databases. With `pick`,
    the tables come from it in its order (None: no more), so foreign keys must be off and
    checked afterwards; the others are loaded elsewhere (kms.backups.parallel), and
    `merge` adds their rows once these are in, before those keys are set, and returns
    their counts. `loaded(name)` is called once a table's rows are in.
    """
    unknown = sorted(set(parts) - set(metadata.tables))
    if unknown:
        raise BackupError(
            "Das Backup enthält Tabellen, die es in diesem Datenbankschema nicht gibt: "
            + ", ".join(unknown)
        )
    ordered = sort_tables_and_constraints(metadata.tables.values())
    cyclic = [fk for table, fks in ordered if table is None for fk in fks]
    dialect = conn.dialect.name
    counts: dict[str, int] = {}
    fixups: list[tuple[Table, list[str], list[dict[str, Any]]]] = []
    tables: Iterable[Table]
    if pick is None:
        tables = [t for t, _fks in ordered if t is not None and t.name in parts]
    else:
        tables = (metadata.tables[name] for name in iter(pick, None))
    for table in tables:
        names = list(columns.get(table.name) or [c.name for c in table.columns])
        insert = _Inserter(conn, table, names)
        read = _object_rows if objects else _array_rows
        records = read(table, names, parts[table.name], dialect, insert.direct)
        deferred = [(i, n) for i, n in enumerate(names) if n in self_referencing(table, cyclic)]
        pk = [c.name for c in table.primary_key.columns]
        pk_at = [(names.index(k), k) for k in pk if k in names]
        later: list[dict[str, Any]] = []
        batch: list[list[Any]] = []
        count = 0
        for values in records:
            if deferred:
                late = {n: values[i] for i, n in deferred if values[i] is not None}
                if late:
                    for i, _n in deferred:
                        values[i] = None
                    later.append({**{f"pk_{k}": values[i] for i, k in pk_at}, **late})
            batch.append(values)
            count += 1
            if len(batch) >= BATCH:
                insert(batch)
                batch = []
                if progress:
                    progress(BATCH)
        if batch:
            insert(batch)
            if progress:
                progress(len(batch))
        if later:
            fixups.append((table, pk, later))
        counts[table.name] = count
        if loaded is not None:
            loaded(table.name)
    if merge is not None:
        counts.update(merge())
    for table, pk, updates in fixups:
        cols = sorted({k for u in updates for k in u if not k.startswith("pk_")})
        for col in cols:
            stmt = (
                table.update()
                .where(*[table.c[k] == sa.bindparam(f"pk_{k}") for k in pk])
                .values({col: sa.bindparam(f"v_{col}")})
            )
            rows = [
                {**{f"pk_{k}": u[f"pk_{k}"] for k in pk}, f"v_{col}": u[col]}
                for u in updates
                if col in u
            ]
            for i in range(0, len(rows), BATCH):
                conn.execute(stmt, rows[i : i + BATCH])
    return counts
