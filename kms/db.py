"""Engine, sessions and start-up migrations for SQLite (embedded) and PostgreSQL (hosted)."""

from __future__ import annotations

import fcntl
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from kms.config import ROOT, ensure_dirs, get_config

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_migrated: set[str] = set()
_migrate_lock = threading.Lock()

# Advisory lock id for PostgreSQL migrations ("KMS" in ASCII).
_PG_MIGRATION_LOCK = 0x4B4D53


def _sqlite_setup(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writes (pysqlite transaction recipe).

    pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN is
    the one that runs; write sessions ask for IMMEDIATE so two writers queue on the
    busy timeout instead of failing with "database is locked" halfway through.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("kms_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgres_setup(engine: Engine) -> None:
    """No JIT compilation: KMS sends short statements, and PostgreSQL compiles any whose
    estimated cost passes `jit_above_cost`. The Rechnungen list's first page (status
    subqueries over 100,000 invoices) spent 61 of its 62 ms compiling, and 1 ms running."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SET jit = off")
        cur.close()
        dbapi_conn.commit()  # a SET in a transaction that is rolled back would not last


def get_engine(url: str | None = None) -> Engine:
    """Return the process-wide engine for a URL (one per URL, created on first use)."""
    url = url or get_config().database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            ensure_dirs()  # files and secrets live in the data dir with either database
            if url.startswith("sqlite"):
                engine = create_engine(url, connect_args={"timeout": 30})
                _sqlite_setup(engine)
            else:
                engine = create_engine(url, pool_pre_ping=True)
                _postgres_setup(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, restore)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()


def dispose_engine(url: str) -> None:
    """Close and forget the engine of one URL (a restore's temp database)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
        _migrated.discard(url)
    if engine is not None:
        engine.dispose()


_PLAIN = re.compile(r"[A-Za-z0-9_ -]*")


def inline(value: str | int) -> Any:
    """A constant written into the SQL text instead of a bound parameter.

    For statements built once and executed often (the invoice status `CASE`, list pages):
    SQLAlchemy processes every bound parameter again on each execution, and an `IN` over
    a list of values is even rendered anew each time. Only integers and plain codes (letters,
    digits, space, - and _) are accepted, so quoting stays trivial."""
    from sqlalchemy import Integer, String, literal_column

    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"inline() takes a str or an int, not {type(value).__name__}")
    if isinstance(value, int):
        return literal_column(str(value), Integer())
    if not _PLAIN.fullmatch(value):
        raise ValueError(f"inline() takes plain codes only, not {value!r}")
    return literal_column(f"'{value}'", String())


class _KeptStatements:
    """SQLAlchemy's compiled cache for statements built once and kept (in an lru_cache):
    found by the identity of the statement's memoized cache key.

    The engine's own cache hashes that key, a tuple over the whole statement, on every
    execution: about 8 µs for the 1,500 elements of the Rechnungen row query, as long as
    SQLite takes to answer it. A kept statement returns the same key object each time, so
    identity finds it. The key's layout is SQLAlchemy's: should it change, every lookup
    misses and compiles anew (slower, still right; tests/test_db.py notices).
    """

    LIMIT = 64  # statements built per day and query shape; cleared when full

    def __init__(self) -> None:
        self._compiled: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}

    @staticmethod
    def _slot(key: Any) -> tuple[Any, ...] | None:
        if not isinstance(key, tuple) or len(key) < 2:
            return None
        return (id(key[0]), id(key[1]), *key[2:])

    def get(self, key: Any, default: Any = None) -> Any:
        slot = self._slot(key)
        found = self._compiled.get(slot) if slot is not None else None
        if found is not None and found[0] is key[0] and found[1] is key[1]:
            return found[2]
        return default

    def __setitem__(self, key: Any, compiled: Any) -> None:
        slot = self._slot(key)
        if slot is None:
            return
        if len(self._compiled) >= self.LIMIT:
            self._compiled.clear()
        # The dialect and the key stay referenced, so their ids cannot be reused.
        self._compiled[slot] = (key[0], key[1], compiled)

    def __len__(self) -> int:
        return len(self._compiled)


KEPT_STATEMENTS = _KeptStatements()


def execute_kept(session: Session, statement: Any, params: dict[str, Any]) -> Any:
    """Run a Core statement that was built once and is kept (see `_KeptStatements`), as
    `session.execute` would (its autoflush included) but without the ORM session's own
    per-call work; for hot paths such as the search by invoice number."""
    if session.autoflush:
        session.flush()  # a no-op without pending changes
    return session.connection().execute(
        statement, params, execution_options={"compiled_cache": KEPT_STATEMENTS}
    )


def reflect(engine: Engine) -> MetaData:
    """The tables as the database has them (restore copies rows by them).

    SQLAlchemy cannot reflect the expression index ix_invoices_list_order and says so with
    an English warning that reached the console of every `kms backup restore`; the index
    itself is not needed for copying rows, so that one warning is silenced here.
    """
    metadata = MetaData()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
        metadata.reflect(engine)
    return metadata


def session_factory(url: str | None = None, *, write: bool = True) -> sessionmaker[Session]:
    """A sessionmaker bound to the engine; write sessions begin IMMEDIATE on SQLite."""
    engine = get_engine(url)
    bind = engine.execution_options(kms_write=True) if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None, *, write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    ensure_migrated(url)
    session = session_factory(url, write=write)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# The migration scripts; alembic and the fast head check (`script_head`) both read them here.
MIGRATIONS_DIR = ROOT / "kms" / "migrations"


def alembic_config(url: str | None = None) -> Any:
    """Alembic configuration pointing at the committed migrations."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", (url or get_config().database_url).replace("%", "%%"))
    return cfg


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """Serialize migrations across processes: a file lock for SQLite, an advisory lock for PG."""
    if engine.dialect.name == "sqlite":
        lock_path = Path(get_config().data_dir) / ".migrate.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
    else:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()


def upgrade(url: str | None = None) -> None:
    """Apply all migrations up to head, under the cross-process lock.

    A database already at head is recognised without alembic (`at_head`): importing alembic
    and running its environment took most of a second on every start and `kms db upgrade`.
    """
    url = url or get_config().database_url
    engine = get_engine(url)
    if at_head(engine):
        return
    from alembic import command

    with _migration_lock(engine):
        command.upgrade(alembic_config(url), "head")


_REVISION = re.compile(r"^revision\s*(?::[^=\n]*)?=\s*(['\"])([^'\"]+)\1\s*$", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


def script_head() -> str | None:
    """The one head revision of kms/migrations/versions, read from the files' `revision` and
    `down_revision` lines; None when anything is unusual (merges, a second head, another
    format), and then alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(2))
        value = down.group(1)
        if value == "None":
            continue
        quoted = re.fullmatch(r"(['\"])([^'\"]+)\1", value)
        if quoted is None:
            return None
        parents.add(quoted.group(2))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def at_head(engine: Engine) -> bool:
    """Whether the database's alembic_version holds exactly the scripts' head."""
    head = script_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # noqa: BLE001 - no version table yet (a new database): alembic decides
        return False
    return list(versions) == [head]


def ensure_migrated(url: str | None = None) -> None:
    """Migrate once per process and URL (start-up, first session)."""
    url = url or get_config().database_url
    if url in _migrated:
        return
    with _migrate_lock:
        if url in _migrated:
            return
        upgrade(url)
        _migrated.add(url)
