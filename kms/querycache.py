"""Aggregates over big tables, computed once and reused while those tables are unchanged.

The Übersicht and the Rechnungen list sum over every invoice and payment on each rerun
(100,000 invoices: about 300 ms of CPU on SQLite). `cached()` keeps such a result in the
process and reuses it as long as the **fingerprint** of the tables it read is the same: per
table its row count, its highest id and, where the table has one, its newest `updated_at`.

Why that is a correct invalidation:

- an insert raises the count (and the highest id); a delete lowers the count; an update sets
  `updated_at` (ORM and Core updates alike, `onupdate=utcnow`), which becomes the newest;
- the fingerprint is read from the database in the caller's own transaction, so writes by
  other processes (the CLI, a second server) count as well, and a restored backup shows
  its own fingerprint;
- the database URL is part of the key, so two instances never share an entry;
- a result is only stored from a session that has not written anything yet in its
  transaction (a flush, or an INSERT/UPDATE/DELETE statement through the session): an
  uncommitted state that is rolled back could otherwise come back later with the same
  fingerprint but different contents.

Tables without `updated_at` must be insert-only (invoice payments are), otherwise they do
not belong in a fingerprint. Callers put everything else the result depends on (the day for
the overdue status, the filters) into `key`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import FromClause, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

T = TypeVar("T")

MAX_ENTRIES = 256
_WROTE = "kms_querycache_wrote"

_lock = threading.Lock()
_entries: OrderedDict[Hashable, Any] = OrderedDict()
_stats = {"hits": 0, "misses": 0}


@event.listens_for(Session, "after_flush")
def _mark_written(session: Session, _ctx: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _mark_statement(state: ORMExecuteState) -> None:
    """Bulk and Core INSERT/UPDATE/DELETE through the session skip the flush: mark them too."""
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_WROTE, None)


def fingerprint(session: Session, *tables: FromClause) -> tuple[Any, ...]:
    """Row count, highest id and newest `updated_at` of each table, in one statement."""
    parts = []
    for table in tables:
        parts.append(select(func.count()).select_from(table).scalar_subquery())
        parts.append(select(func.max(table.c.id)).scalar_subquery())
        if "updated_at" in table.c:
            parts.append(select(func.max(table.c.updated_at)).scalar_subquery())
    row = session.execute(select(*parts)).one()
    return (session.get_bind().engine.url.render_as_string(hide_password=True), *row)


def cached(
    session: Session, key: Hashable, tables: tuple[FromClause, ...], compute: Callable[[], T]
) -> T:
    """`compute()`'s result for `key`, reused while `tables` are unchanged (see module doc).

    Results are shared between sessions and threads: return immutable values only.
    """
    writing = bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))
    if writing:
        return compute()
    full_key = (key, fingerprint(session, *tables))
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            _stats["hits"] += 1
            return _entries[full_key]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _stats["misses"] += 1
        _entries[full_key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every entry (tests)."""
    with _lock:
        _entries.clear()
        _stats.update(hits=0, misses=0)


def stats() -> dict[str, int]:
    """Hits and misses since the last `clear()` (tests, benchmarks)."""
    with _lock:
        return dict(_stats)
