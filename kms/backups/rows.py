"""Typed, portable rows: every table as JSON Lines that SQLite and PostgreSQL both accept.

Values are written in their storage form, so a backup does not depend on the Python
types a model uses today: scaled integers (Money, Quantity) stay integers, NUMERIC is
exact decimal text, times are ISO 8601 in UTC, binary data is Base64. Restoring reads the
column types of the target database (reflected at the backup's schema revision) and turns
each value back, so the same file restores into either database.
"""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
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

from kms.backups.errors import BackupError

Codec = Callable[[Any], Any]
BATCH = 1000


def storage_type(coltype: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type the database really stores (a TypeDecorator's impl)."""
    while isinstance(coltype, TypeDecorator):
        coltype = coltype.impl_instance
    return coltype


def _iso_utc(value: datetime) -> str:
    # Naive values come from SQLite, where KMS stores UTC without an offset.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


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


def dump_table(
    conn: Connection,
    table: Table,
    target: Path,
    *,
    skip: Callable[[dict[str, Any]], bool] | None = None,
) -> TableDump:
    """Write every row of `table` (in primary-key order) as gzip'd JSON Lines."""
    columns = [c.name for c in table.columns]
    codecs = [_with_none(encoder(c.type)) for c in table.columns]
    stmt = sa.select(*[sa.type_coerce(c, storage_type(c.type)).label(c.name) for c in table.c])
    stmt = stmt.order_by(*(table.primary_key.columns or table.columns))
    count = 0
    # mtime=0: the same rows give the same bytes (and the same SHA-256).
    with gzip.GzipFile(target, "wb", compresslevel=6, mtime=0) as out:
        result = conn.execution_options(yield_per=BATCH).execute(stmt)
        for row in result:
            record = {
                name: codec(value) for name, codec, value in zip(columns, codecs, row, strict=True)
            }
            if skip is not None and skip(record):
                continue
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode())
            out.write(b"\n")
            count += 1
    return TableDump(table.name, columns, count)


def read_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a table part, one dict per line."""
    with gzip.open(path, "rb") as fh:
        for line in fh:
            yield json.loads(line)


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


def load_tables(
    conn: Connection,
    metadata: sa.MetaData,
    parts: dict[str, Path],
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Insert every table's rows into the (empty) reflected `metadata`, in FK order.

    Self-referencing and cyclic foreign keys are inserted as NULL first and set once all
    rows exist, so foreign keys stay enforced throughout on both databases.
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
    for table, _fks in ordered:
        if table is None or table.name not in parts:
            continue
        deferred = self_referencing(table, cyclic)
        pk = [c.name for c in table.primary_key.columns]
        decoders = {c.name: _with_none(decoder(c.type, dialect)) for c in table.columns}
        later: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        count = 0
        for record in read_rows(parts[table.name]):
            extra = set(record) - set(decoders)
            if extra:
                raise BackupError(
                    f"Tabelle {table.name}: Spalten {', '.join(sorted(extra))} gibt es im "
                    "Schema dieser Backup-Version nicht."
                )
            row = {k: decoders[k](v) for k, v in record.items()}
            late = {k: row.pop(k) for k in deferred if row.get(k) is not None}
            if late:
                row.update(dict.fromkeys(late))
                later.append({**{f"pk_{k}": row[k] for k in pk}, **late})
            batch.append(row)
            count += 1
            if len(batch) >= BATCH:
                conn.execute(table.insert(), batch)
                batch.clear()
                if progress:
                    progress(BATCH)
        if batch:
            conn.execute(table.insert(), batch)
            if progress:
                progress(len(batch))
        if later:
            fixups.append((table, pk, later))
        counts[table.name] = count
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
