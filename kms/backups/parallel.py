"""The restore's load on two cores (SQLite).

Most of a large restore's load is Python's: parsing the JSON rows and binding their values.
SQLite's own inserts are a small part (docs/performance.md, seventh round). So while this
process loads tables into the restored database, a second process (`python -m
kms.backups.parallel`) loads others into a file of its own, the same tables without their
indexes. Whichever process is free takes the largest table left. Then SQLite copies the
second file's tables over, one `INSERT … SELECT *` each into the still empty table; with
foreign keys off and no index yet, SQLite moves the records as they are (its transfer
optimisation) instead of inserting them one by one. The foreign keys are then checked for
every row at once (`PRAGMA foreign_key_check`), and the indexes are built, unique ones
refusing duplicates, before the one transaction commits. If anything fails, nothing of it
is kept; the second file goes with the plan's work dir.

Small backups, one core and PostgreSQL (which loads with COPY) take the one-process path,
which checks every foreign key as its rows go in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import kms
from kms.backups.errors import DAMAGED, BackupError
from kms.backups.rows import DeferredIndexes, build_indexes, indexes_deferred, load_tables

# Below this many bytes of compressed table parts, starting a process costs more than it saves.
SPLIT_MIN_BYTES = 16 << 20
SIDE = "kms_side"  # the schema name the second file is attached under
COMMAND = [sys.executable, "-m", "kms.backups.parallel"]

Progress = Callable[[int], None] | None


def load_database(
    conn: Connection,
    metadata: sa.MetaData,
    parts: dict[str, Path],
    *,
    columns: dict[str, list[str]],
    objects: bool,
    progress: Progress,
    work: Path,
) -> dict[str, int]:
    """Every table's rows into the empty restored database, in one transaction; on SQLite
    with a large backup and two cores, a second process takes some of the tables."""
    sizes = {name: path.stat().st_size for name, path in parts.items()}
    split = conn.dialect.name == "sqlite" and _cores() >= 2
    if split and sum(sizes.values()) >= SPLIT_MIN_BYTES:
        raw: Any = conn.connection.dbapi_connection
        checked = raw.execute("PRAGMA foreign_keys").fetchone()[0]
        # Only outside a transaction does this take effect; inside one, stay on one process.
        raw.execute("PRAGMA foreign_keys = OFF")
        if raw.execute("PRAGMA foreign_keys").fetchone()[0] == 0:
            try:
                return _load_split(conn, metadata, parts, sizes, columns, objects, progress, work)
            finally:
                raw.execute(f"PRAGMA foreign_keys = {int(checked)}")
    with conn.begin(), indexes_deferred(conn):
        return load_tables(
            conn, metadata, parts, columns=columns, objects=objects, progress=progress
        )


def _load_split(
    conn: Connection,
    metadata: sa.MetaData,
    parts: dict[str, Path],
    sizes: dict[str, int],
    columns: dict[str, list[str]],
    objects: bool,
    progress: Progress,
    work: Path,
) -> dict[str, int]:
    """The two-process load; foreign keys are off and are checked before the commit."""
    raw: Any = conn.connection.dbapi_connection
    with _side_load(conn, parts, sizes, columns, objects, work) as side:

        def advance(n: int) -> None:
            if progress:
                progress(n)
            side.report(progress)

        with conn.begin(), indexes_deferred(conn) as indexes:
            assert indexes is not None  # noqa: S101 - SQLite
            side.start(indexes)
            counts = load_tables(
                conn,
                metadata,
                parts,
                columns=columns,
                objects=objects,
                progress=advance,
                pick=side.pick,
                loaded=indexes.build,
                merge=lambda: side.merge(indexes, progress),
            )
            check_references(raw)
        return counts


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_references(raw: sqlite3.Connection) -> None:
    """Every foreign key of the restored database, checked at once; the first row that
    refers to nothing is reported."""
    bad = raw.execute("PRAGMA main.foreign_key_check").fetchone()
    if bad is not None:
        table, rowid, parent, _fk = bad
        raise BackupError(
            DAMAGED + f" (Tabelle {table}, Zeile {rowid}: verweist auf einen Eintrag in "
            f"{parent}, den es im Backup nicht gibt)"
        )


class _Side:
    """The second process, seen from this one: whichever process is free takes the largest
    table left (`pick` here, `assign` for the other). A reader thread answers those
    requests and collects its progress, which `report` passes on from this thread."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        path: Path,
        sizes: dict[str, int],
        conn: Connection,
        spec: dict[str, Any],
    ) -> None:
        self.proc, self.path, self.conn, self.spec = proc, path, conn, spec
        self.left = sorted(sizes, key=lambda n: (-sizes[n], n))
        self.theirs: list[str] = []
        self.lock = threading.Lock()
        self.rows = 0  # the second process's rows not yet passed to progress
        self.counts: dict[str, int] | None = None
        self.error: dict[str, str] | None = None
        self.attached = False
        self.reader = threading.Thread(target=self._read, name="kms-restore-side", daemon=True)

    def start(self, indexes: DeferredIndexes) -> None:
        """Send it its work: the tables' parts, their indexes (it builds those of its tables
        in its file, and they come over with the rows) and its first table, the largest."""
        self.spec["indexes"] = {table: indexes.of(table) for table in self.left}
        self.spec["first"] = self.assign()
        assert self.proc.stdin is not None  # noqa: S101 - Popen(stdin=PIPE)
        try:
            self.proc.stdin.write(json.dumps(self.spec).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:  # it ended at once; report() raises why
            pass
        self.reader.start()

    def pick(self) -> str | None:
        """The next table for this process (None: none left)."""
        with self.lock:
            return self.left.pop(0) if self.left else None

    def assign(self) -> str | None:
        with self.lock:
            if not self.left:
                return None
            name = self.left.pop(0)
            self.theirs.append(name)
            return name

    def _read(self) -> None:
        assert self.proc.stdout is not None and self.proc.stdin is not None  # noqa: S101 - PIPEs
        for line in self.proc.stdout:
            message = json.loads(line)
            if "next" in message:
                answer = json.dumps({"table": self.assign()}).encode() + b"\n"
                try:
                    self.proc.stdin.write(answer)
                    self.proc.stdin.flush()
                except OSError:  # it ended; wait() reports why
                    return
            elif "rows" in message:
                with self.lock:
                    self.rows += int(message["rows"])
            elif "counts" in message:
                self.counts = message["counts"]
            else:
                self.error = message

    def report(self, progress: Progress) -> None:
        """Pass on its progress; if it failed, raise that now rather than after the load."""
        self._drain(progress)
        if self.error is not None or (self.counts is None and not self.reader.is_alive()):
            self.wait(None)

    def _drain(self, progress: Progress) -> None:
        with self.lock:
            rows, self.rows = self.rows, 0
        if rows and progress:
            progress(rows)

    def wait(self, progress: Progress) -> dict[str, int]:
        """Wait for the second process; raise what it ran into."""
        while self.reader.is_alive():
            self.reader.join(0.2)
            self._drain(progress)
        self._drain(progress)
        code = self.proc.wait()
        if self.error is not None:
            if "integrity" in self.error:
                raise sa.exc.IntegrityError(
                    "(second load process)", None, sqlite3.IntegrityError(self.error["integrity"])
                )
            raise BackupError(self.error["backup"])
        if code != 0 or self.counts is None:
            log_file = self.path.with_suffix(".log")
            tail = log_file.read_text(errors="replace")[-4000:] if log_file.exists() else ""
            raise RuntimeError(f"restore side load ended with exit code {code}: {tail}")
        return self.counts

    def merge(self, indexes: DeferredIndexes, progress: Progress) -> dict[str, int]:
        """Copy the second file's tables into the restored database's empty ones, with the
        indexes it built: created on the empty table first, they are copied, not built."""
        counts = self.wait(progress)
        raw: Any = self.conn.connection.dbapi_connection
        quote = self.conn.dialect.identifier_preparer.quote
        raw.execute(f"ATTACH DATABASE ? AS {SIDE}", (str(self.path),))
        self.attached = True
        for table in self.theirs:
            name = quote(table)
            indexes.build(table)
            # No column list and SELECT *: the form SQLite can copy record by record.
            copied = raw.execute(f"INSERT INTO main.{name} SELECT * FROM {SIDE}.{name}").rowcount  # noqa: S608 - quoted identifiers
            if copied != counts.get(table):
                raise BackupError(
                    DAMAGED + f" (Tabelle {table}: {copied} statt {counts.get(table)} Zeilen)"
                )
        return counts


@contextmanager
def _side_load(
    conn: Connection,
    parts: dict[str, Path],
    sizes: dict[str, int],
    columns: dict[str, list[str]],
    objects: bool,
    work: Path,
) -> Iterator[_Side]:
    """Start the second process (its work follows in `_Side.start`) on an empty copy of the
    tables (the same CREATE TABLE, no indexes yet); whatever happens, it is stopped and its
    file detached when the block ends."""
    raw: Any = conn.connection.dbapi_connection
    path = work / "restore-side.sqlite3"
    with closing(sqlite3.connect(path)) as empty:
        for (sql,) in raw.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%'"
        ).fetchall():
            empty.execute(sql)
        empty.commit()
    spec = {
        "db": str(path),
        "parts": {name: str(p) for name, p in parts.items()},
        "columns": columns,
        "objects": objects,
    }
    # The package is found where this process found it, whatever the working directory.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(kms.__file__).resolve().parents[1]), env.get("PYTHONPATH")) if p
    )
    with open(path.with_suffix(".log"), "wb") as errors:
        proc = subprocess.Popen(  # noqa: S603 - our own module, arguments from this process
            COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=env,
        )
    side: _Side | None = None
    try:
        side = _Side(proc, path, sizes, conn, spec)
        yield side
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if side is not None and side.reader.is_alive():
            side.reader.join()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        if side is not None and side.attached:
            raw.execute(f"DETACH DATABASE {SIDE}")


def _load_side(spec: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> dict[str, int]:
    """In the second process: ask for a table, load it into the file, ask again. Foreign
    keys are not checked here; they are once the rows are in the restored database."""
    from kms.db import reflect

    engine = sa.create_engine(f"sqlite:///{spec['db']}", poolclass=sa.pool.NullPool)
    counts: dict[str, int] = {}
    try:
        metadata = reflect(engine)
        with engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("PRAGMA journal_mode = OFF")  # a throwaway file: no rollback needed
            raw.execute("PRAGMA synchronous = OFF")
            raw.execute("PRAGMA cache_size = -131072")
            with conn.begin():
                name = spec["first"]
                while name is not None:
                    counts.update(
                        load_tables(
                            conn,
                            metadata,
                            {name: Path(spec["parts"][name])},
                            columns=spec["columns"],
                            objects=spec["objects"],
                            progress=lambda n: report({"rows": n}),
                        )
                    )
                    build_indexes(raw, spec["indexes"].get(name, []))
                    report({"next": True})
                    line = sys.stdin.buffer.readline()
                    name = json.loads(line)["table"] if line else None
        return counts
    finally:
        engine.dispose()


def main() -> int:
    spec = json.loads(sys.stdin.buffer.readline())

    def report(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    try:
        counts = _load_side(spec, report)
    except BackupError as exc:
        report({"backup": str(exc)})
        return 1
    except sa.exc.IntegrityError as exc:
        report({"integrity": str(exc.orig)})
        return 1
    report({"counts": counts})
    return 0


if __name__ == "__main__":
    sys.exit(main())
