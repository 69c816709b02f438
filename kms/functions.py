"""Funktionen (▶, started by the user) and Automatismen (⊕, run by KMS itself).

Automatisms run from the server process's scheduler thread or from
`python -m kms automatisms run-due`. A lease row per automatism keeps several
processes on one database from running the same job twice at once.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.models import AutomatismState, FunctionRun
from kms.permissions import SYSTEM, Permission, acting_as
from kms.types import utcnow

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
LEASE_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class FunctionSpec:
    """A ▶ function: shown in the sidebar of its page under "Funktionen"."""

    key: str
    label: str
    page: str
    description: str
    # What the acting user needs to see and start it (kms.permissions); shown to all if None.
    permission: Permission | None = None


@dataclass(frozen=True)
class AutomatismSpec:
    """A ⊕ automatism: KMS runs it every `interval`; it returns a short German summary."""

    key: str
    label: str
    description: str
    interval: timedelta
    run: Callable[[Session, datetime], str] = field(compare=False)
    runs_in_maintenance: bool = False

    @property
    def schedule_text(self) -> str:
        """The interval in words, for the help page."""
        minutes = int(self.interval.total_seconds() // 60)
        if minutes % 1440 == 0:
            days = minutes // 1440
            return "täglich" if days == 1 else f"alle {days} Tage"
        if minutes % 60 == 0:
            hours = minutes // 60
            return "stündlich" if hours == 1 else f"alle {hours} Stunden"
        return "jede Minute" if minutes == 1 else f"alle {minutes} Minuten"


def _acquire(spec: AutomatismSpec, now: datetime, owner: str, *, force: bool) -> bool:
    """Take the lease if the automatism is due and nobody else holds it."""
    for _attempt in range(2):
        try:
            with session_scope() as session:
                state = session.scalar(
                    select(AutomatismState).where(AutomatismState.key == spec.key).with_for_update()
                )
                if state is None:
                    state = AutomatismState(key=spec.key)
                    session.add(state)
                    session.flush()
                if state.lease_until and state.lease_until > now:
                    return False
                if not force and state.next_run_at and state.next_run_at > now:
                    return False
                state.lease_owner = owner
                state.lease_until = now + LEASE_TTL
                state.last_started_at = now
                return True
        except IntegrityError:
            continue  # another process created the row first; read it again
    return False


def _release(spec: AutomatismSpec, now: datetime, status: str, message: str) -> None:
    with session_scope() as session:
        state = session.get(AutomatismState, spec.key)
        if state is None:  # pragma: no cover - created by _acquire
            return
        state.lease_owner = None
        state.lease_until = None
        state.last_finished_at = utcnow()
        state.last_status = status
        state.last_message = message[:2000]
        state.next_run_at = now + spec.interval


def run_automatism(
    spec: AutomatismSpec, now: datetime | None = None, *, force: bool = False
) -> str | None:
    """Run one automatism if due (or forced); return its summary, or None if skipped."""
    from kms.notices import is_read_only

    now = now or utcnow()
    if not spec.runs_in_maintenance:
        with session_scope(write=False) as session:
            if is_read_only(session, now):
                # Not marked as run: it catches up once the window is over.
                return None
    # One owner per run, not per process: the scheduler thread and a page of the same
    # server process must not both get the lease.
    owner = f"{PROCESS_ID}:{uuid.uuid4().hex[:8]}"
    if not _acquire(spec, now, owner, force=force):
        return None
    run_id = _log_start(spec.key, "automatism", now, None)
    try:
        # Automatisms are KMS's own work: they act as the system, with every right.
        with acting_as(SYSTEM), session_scope() as session:
            message = spec.run(session, now) or "erledigt"
        status = "ok"
    except Exception as exc:
        log.exception("automatism %s failed", spec.key)
        message = f"Fehler: {exc}"
        status = "fehler"
        _log_traceback(spec.key, exc)
    _release(spec, now, status, message)
    _log_end(run_id, status, message)
    return message


def run_soon(key: str) -> None:
    """Make an automatism due now, so that its next tick re-judges a state that just changed
    (a new backup: the reminder must not keep saying there is none)."""
    with session_scope() as session:
        state = session.get(AutomatismState, key)
        if state is not None and state.next_run_at is not None:
            state.next_run_at = utcnow()


def run_due(now: datetime | None = None) -> dict[str, str]:
    """Run every due automatism once; return {key: summary} of those that ran."""
    from kms.registry import usable_automatisms

    with session_scope(write=False) as session:
        specs = usable_automatisms(session)
    ran: dict[str, str] = {}
    for spec in specs:
        result = run_automatism(spec, now)
        if result is not None:
            ran[spec.key] = result
    return ran


def _log_start(key: str, kind: str, now: datetime, username: str | None) -> int:
    with session_scope() as session:
        run = FunctionRun(key=key, kind=kind, started_at=now, username=username)
        session.add(run)
        session.flush()
        return run.id


def _log_end(run_id: int, status: str, message: str) -> None:
    with session_scope() as session:
        run = session.get(FunctionRun, run_id)
        if run is not None:
            run.finished_at = utcnow()
            run.status = status
            run.message = message[:2000]


def _log_traceback(key: str, exc: BaseException) -> None:
    from kms.models import ErrorLog

    with session_scope() as session:
        session.add(
            ErrorLog(
                page=f"automatism:{key}",
                error=repr(exc),
                traceback="".join(traceback.format_exception(exc)),
            )
        )


def log_function_run(key: str, username: str | None, status: str, message: str) -> None:
    """Record a finished ▶ function run (for the help page's "zuletzt ausgeführt")."""
    run_id = _log_start(key, "function", utcnow(), username)
    _log_end(run_id, status, message)


def last_runs(session: Session) -> dict[str, FunctionRun]:
    """The newest run of every function and automatism, by key."""
    from sqlalchemy import func

    newest = (
        select(FunctionRun.key, func.max(FunctionRun.id).label("id"))
        .group_by(FunctionRun.key)
        .subquery()
    )
    rows = session.scalars(select(FunctionRun).join(newest, FunctionRun.id == newest.c.id))
    return {row.key: row for row in rows}


def states(session: Session) -> dict[str, AutomatismState]:
    """Schedule state of every automatism that has run at least once."""
    return {s.key: s for s in session.scalars(select(AutomatismState))}
