"""Reports as pandas DataFrames, for staff who analyse the numbers themselves.

    from kms.reports import zm, open_items, revenue_by_month

    df = revenue_by_month("sqlite:////srv/kms/data/kms.sqlite3", "2026")
    df = zm(session, "2026-Q1")  # or with an open SQLAlchemy session

Every report a usable module declares (`ModuleSpec.reports`, kms.reporting.ReportSpec) is a
function of this package under its key: `f(source, period=None)`. `source` is a Session or a
database URL; a URL is opened READ-ONLY (SQLite through a `mode=ro` URI, PostgreSQL in
read-only transactions), so an analysis can never change the books. `period` is "2026",
"2026-Q1", "2026-03" or a kms.reporting.Period; reports "as of today" take none. The
columns and their kinds are the spec's (`spec("zm").columns`): money as Decimal quantized to
0.01, dates as datetime.date, counts as int64.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from kms.errors import KmsError
from kms.reporting import Period, ReportSpec

if TYPE_CHECKING:
    import pandas as pd

Source = Session | str


def specs() -> list[ReportSpec]:
    """Every registered report (of every module, usable or not), in registry order."""
    from kms import registry

    return [report for _module, report in registry.reports()]


def spec(key: str) -> ReportSpec:
    """The declaration of one report (German error for an unknown key)."""
    found = next((r for r in specs() if r.key == key), None)
    if found is None:
        known = ", ".join(r.key for r in specs())
        raise KmsError(f"Den Bericht „{key}“ gibt es nicht. Vorhanden: {known}.")
    return found


def readonly_url(url: str) -> URL:
    """The URL a read-only engine connects with (SQLite: a `mode=ro` file URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or database.startswith("file:"):
            raise KmsError(
                "Nur eine SQLite-Datei kann schreibgeschützt geöffnet werden "
                f"(nicht „{database or ':memory:'}“)."
            )
        return URL.create(
            "sqlite+pysqlite", database=f"file:{database}", query={"mode": "ro", "uri": "true"}
        )
    if parsed.get_backend_name() == "postgresql":
        return parsed
    raise KmsError(f"Datenbanktyp „{parsed.get_backend_name()}“ wird nicht unterstützt.")


def readonly_engine(url: str) -> Engine:
    """An engine whose every connection refuses writes."""
    target = readonly_url(url)
    engine = create_engine(target, poolclass=NullPool)
    if target.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_readonly(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA query_only = ON")
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.close()

    else:

        @event.listens_for(engine, "connect")
        def _pg_readonly(dbapi_conn: Any, _record: Any) -> None:
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            cursor = dbapi_conn.cursor()
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.close()
            dbapi_conn.autocommit = autocommit

        @event.listens_for(engine, "begin")
        def _pg_readonly_transaction(conn: Any) -> None:
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


@contextmanager
def readonly_session(url: str) -> Iterator[Session]:
    """A session on `url` that cannot write (closed and its engine disposed afterwards)."""
    engine = readonly_engine(url)
    session = Session(bind=engine)
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        engine.dispose()


@contextmanager
def _session(source: Source) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
    else:
        with readonly_session(source) as session:
            yield session


def run(key: str, source: Source, period: str | Period | int | None = None) -> pd.DataFrame:
    """Report `key` for `period` from `source`, if its module is usable there."""
    from kms import registry

    report = spec(key)
    resolved = report.coerce_period(period)
    with _session(source) as session:
        module = next(m for m, r in registry.reports() if r is report)
        registry.require_usable(session, module)
        return registry.resolve(report.function)(session, resolved)


def note(key: str, source: Source, period: str | Period | int | None = None) -> str | None:
    """The report's German hint for `period`, if it declares one."""
    from kms import registry

    report = spec(key)
    if report.note is None:
        return None
    resolved = report.coerce_period(period)
    with _session(source) as session:
        result: str | None = registry.resolve(report.note)(session, resolved)
        return result


def _function(report: ReportSpec) -> Callable[..., pd.DataFrame]:
    def function(source: Source, period: str | Period | int | None = None) -> pd.DataFrame:
        return run(report.key, source, period)

    columns = "\n".join(f"    {c.name} ({c.kind}): {c.description}" for c in report.columns)
    function.__name__ = function.__qualname__ = report.key
    function.__module__ = __name__
    function.__doc__ = (
        f"{report.title}: {report.description}\n\nPeriod: {report.period}. Columns:\n{columns}"
    )
    return function


def __getattr__(name: str) -> Callable[..., pd.DataFrame]:
    """`from kms.reports import zm`: every registered report key is a function here."""
    report = next((r for r in specs() if r.key == name), None) if not name.startswith("_") else None
    if report is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _function(report)


def __dir__() -> list[str]:
    return sorted([*globals(), *(r.key for r in specs())])
