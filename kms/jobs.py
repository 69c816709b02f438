"""Background jobs: long work (mail merge, backups) in a process-level thread pool.

The job's state lives in the database (one `jobs` row), so a page only polls that row
(`st.fragment(run_every=…)`) and leaving the page does not stop the work. The thread belongs
to the server process, not to a browser session. This is the one place that says what
runs: the mail merge, the Kanzleipaket (kms.modules.ledger.kanzlei), and backup create /
verify / restore (kms.backups.worker, also when the CLI runs them in its own thread with
`run_here`).

A job whose process died is shown as "abgebrochen", not as "läuft" forever (`Job.is_stale`):
each row names its owner process (host, boot, pid and a per-process token) and carries a
random token of its own. The owning process knows its live jobs exactly; for another
process on the same machine a dead pid or a reboot is enough; otherwise a heartbeat older
than STALE_AFTER decides. The job's handle finds its row by the token, so a restore that
swaps the whole database under a running job can carry the row across (`carry_to`).

Usage::

    job_id = start_job(session, "serienbrief", work, params={"template_id": 3}, total=n)
    # the work starts when `session` commits

    def work(job: JobHandle, *, template_id: int) -> str:
        for i, item in enumerate(items, 1):
            ...
            job.progress(i, message=f"{i} von {n}")
        return "12 Briefe erzeugt"   # the final message; job.result(...) stores data
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, String, Text, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kms.db import dispose_engine, session_scope
from kms.errors import KmsError, NotFoundError
from kms.models import Base
from kms.permissions import carry
from kms.types import utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"
STATUS_LABELS = {QUEUED: "wartet", RUNNING: "läuft", FINISHED: "fertig", FAILED: "fehlgeschlagen"}
STALE_LABEL = "abgebrochen"
STALE_MESSAGE = (
    "Abgebrochen: Der Auftrag lief in einem Programm, das nicht mehr läuft (Server neu "
    "gestartet?). Bitte starten Sie ihn erneut."
)
# A job of another process that has not reported for this long belongs to a process that is
# gone (the owner's liveness cannot be asked directly, e.g. on another machine).
STALE_AFTER = timedelta(minutes=10)
MAX_WORKERS = 2
# step(): at most one progress write per this many seconds (a phase change always writes).
STEP_INTERVAL = 0.5


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


_PROCESS_TOKEN = uuid.uuid4().hex[:12]
_process: tuple[int, str] | None = None


def process_id() -> str:
    """This process as a job owner: "host|boot|pid|token" (a fork gets a new token)."""
    global _process, _PROCESS_TOKEN
    pid = os.getpid()
    if _process is None or _process[0] != pid:
        if _process is not None:
            _PROCESS_TOKEN = uuid.uuid4().hex[:12]
        _process = (pid, f"{socket.gethostname()}|{_boot_id()}|{pid}|{_PROCESS_TOKEN}")
    return _process[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(owner: str, token: str) -> bool | None:
    """Whether the owner still runs this job: True, False, or None (unknown, ask the heartbeat)."""
    if not owner:
        return None
    if owner == process_id():
        return token in _alive
    try:
        host, boot, pid, _tok = owner.split("|")
    except ValueError:
        return None
    me_host, me_boot, _me_pid, _me_tok = process_id().split("|")
    if host != me_host:
        return None
    if boot and me_boot and boot != me_boot:
        return False  # the machine restarted since
    if not pid.isdigit() or not _pid_alive(int(pid)):
        return False
    return None  # a live pid may have been reused: the heartbeat decides


class Job(Base):
    """One background job: progress, final message and a small JSON result."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[Any] = mapped_column(JSON, default=dict)
    username: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The process that runs the job ("host|boot|pid|token", process_id()) and the job's own
    # random token: its handle finds the row by it, also after a restore carried it over.
    owner: Mapped[str] = mapped_column(String(200), default="")
    token: Mapped[str] = mapped_column(String(32), default="", index=True)

    @property
    def percent(self) -> int:
        """Progress in whole percent; 100 once finished."""
        if self.status == FINISHED:
            return 100
        if self.total <= 0:
            return 0
        return min(100, self.done * 100 // self.total)

    @property
    def is_active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    def is_stale(self, now: datetime | None = None) -> bool:
        """Still marked active, but the process that ran it is gone ("abgebrochen").

        The owning process answers exactly (is the job in its pool?); a dead pid or a reboot
        on this machine is enough; otherwise no heartbeat for STALE_AFTER.
        """
        if not self.is_active:
            return False
        alive = _owner_alive(self.owner, self.token)
        if alive is not None:
            return not alive
        return (now or utcnow()) - self.heartbeat_at > STALE_AFTER

    def status_label(self, now: datetime | None = None) -> str:
        """German status for the UI: wartet, läuft, fertig, fehlgeschlagen or abgebrochen."""
        if self.is_stale(now):
            return STALE_LABEL
        return STATUS_LABELS.get(self.status, self.status)


class JobHandle:
    """What the work function gets: report progress and store a result."""

    def __init__(self, job_id: int, token: str = "") -> None:
        self.job_id = job_id
        self.token = token
        self._last_step: tuple[str, float] | None = None

    def _row(self, session: Session) -> Job:
        """This job's row, found by its token (a restore may have given it another id)."""
        if not self.token:
            return _get(session, self.job_id)
        job = session.scalar(select(Job).where(Job.token == self.token))
        if job is None:
            raise NotFoundError("Diesen Hintergrundauftrag gibt es nicht (mehr).")
        self.job_id = job.id
        return job

    def progress(self, done: int, *, total: int | None = None, message: str | None = None) -> None:
        """Record progress in its own short transaction (the page polls it)."""
        with session_scope() as session:
            job = self._row(session)
            job.done = done
            if total is not None:
                job.total = total
            if message is not None:
                job.message = message
            job.heartbeat_at = utcnow()

    def step(self, phase: str, fraction: float) -> None:
        """Progress as a phase text and a fraction 0…1 (the backup services' callback).

        Writes at most every STEP_INTERVAL seconds, at once when the phase changes or ends.
        """
        now = time.monotonic()
        last = self._last_step
        if last is not None and last[0] == phase and fraction < 1 and now - last[1] < STEP_INTERVAL:
            return
        self._last_step = (phase, now)
        self.progress(int(max(0.0, min(1.0, fraction)) * 1000), total=1000, message=phase)

    def result(self, **data: Any) -> None:
        """Merge JSON-ready data into the job's result."""
        with session_scope() as session:
            job = self._row(session)
            job.result = {**(job.result or {}), **data}

    def carry_to(self, url: str) -> None:
        """Copy this job's row into the database at `url`, which is about to replace the live
        one (a restore): the job then goes on reporting into the new database.

        The row keeps its id unless the other database uses it (then it gets the next free
        one); the token is the same, so the handle finds it either way.
        """
        from kms.notices import SKIP_GUARD

        with session_scope(write=False) as session:
            live = self._row(session)
            values = {c.key: getattr(live, c.key) for c in Job.__table__.columns}
        values["heartbeat_at"] = utcnow()
        with session_scope(url) as other:
            other.info[SKIP_GUARD] = True
            for stale in other.scalars(select(Job).where(Job.token == self.token)):
                other.delete(stale)
            other.flush()
            if other.get(Job, values["id"]) is not None:
                values["id"] = (other.scalar(select(func.max(Job.id))) or 0) + 1
            other.add(Job(**values))
        dispose_engine(url)


Work = Callable[..., str | None]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_futures: dict[int, Future[None]] = {}
# Tokens of the jobs this process has queued or is running (Job.is_stale asks it).
_alive: set[str] = set()


def _executor() -> ThreadPoolExecutor:
    """The process-level pool, created on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="kms-job")
        return _pool


def start_job(
    session: Session,
    kind: str,
    work: Work,
    *,
    params: Mapping[str, Any] | None = None,
    total: int = 0,
    username: str = "",
) -> int:
    """Add a queued job row; once `session` commits, run `work(handle, **params)` in the pool.

    Starting on commit means the worker always finds its row, a rolled-back request starts
    nothing, and on SQLite the worker never waits for the caller's write lock. `params`
    should be plain values (ids, strings): the work runs in another thread with its own
    sessions, so ORM objects must not cross over.
    """
    job = _new_job(kind, total=total, username=username)
    session.add(job)
    session.flush()
    job_id, token = job.id, job.token
    arguments = dict(params or {})

    def submit(_session: Session) -> None:
        event.remove(session, "after_rollback", forget)
        _alive.add(token)
        _futures[job_id] = _executor().submit(carry(run_job), job_id, work, **arguments)

    def forget(_session: Session) -> None:
        event.remove(session, "after_commit", submit)

    event.listen(session, "after_commit", submit, once=True)
    event.listen(session, "after_rollback", forget, once=True)
    return job_id


def _new_job(kind: str, *, total: int = 0, username: str = "") -> Job:
    job = Job(
        kind=kind,
        total=total,
        username=username,
        message="Wartet auf den Start …",
        owner=process_id(),
        token=uuid.uuid4().hex,
    )
    job.result = {}
    return job


def run_job(job_id: int, work: Work, **kwargs: Any) -> None:
    """Run a job in the calling thread: running, then finished or failed with a German message."""
    _run(job_id, work, kwargs, reraise=False)


def run_here(
    kind: str,
    work: Work,
    *,
    params: Mapping[str, Any] | None = None,
    total: int = 0,
    username: str = "",
) -> int:
    """Record and run a job in the calling thread now (the CLI): the job shows in the UI
    like a background one. A failure is recorded, then raised to the caller. Returns the
    job's id in the database that is live afterwards (a restore may have renumbered it)."""
    with session_scope() as session:
        job = _new_job(kind, total=total, username=username)
        session.add(job)
        session.flush()
        job_id = job.id
    return _run(job_id, work, dict(params or {}), reraise=True).job_id


def _run(job_id: int, work: Work, kwargs: dict[str, Any], *, reraise: bool) -> JobHandle:
    with session_scope() as session:
        job = _get(session, job_id)
        job.token = job.token or uuid.uuid4().hex
        job.status, job.started_at, job.heartbeat_at = RUNNING, utcnow(), utcnow()
        job.owner = process_id()
        handle = JobHandle(job_id, job.token)
    _alive.add(handle.token)
    try:
        message = work(handle, **kwargs)
    except KmsError as exc:
        _finish(handle, FAILED, exc.message)
        if reraise:
            raise
    except Exception as exc:  # a job must end in a state, never hang as running
        log.exception("job %s failed", job_id)
        _finish(handle, FAILED, f"Unerwarteter Fehler: {type(exc).__name__}")
        if reraise:
            raise
    else:
        _finish(handle, FINISHED, message or "Fertig.")
    finally:
        _alive.discard(handle.token)
        _futures.pop(job_id, None)
    return handle


def _finish(handle: JobHandle, status: str, message: str) -> None:
    try:
        with session_scope() as session:
            job = handle._row(session)
            job.status, job.message = status, message[:4000]
            job.finished_at = job.heartbeat_at = utcnow()
            if status == FINISHED:
                job.done = max(job.done, job.total)
    except Exception:  # the row is gone (e.g. a restore swapped the database meanwhile)
        log.exception("could not record the end of job %s", handle.job_id)


def _get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError("Diesen Hintergrundauftrag gibt es nicht (mehr).")
    return job


def get_job(session: Session, job_id: int) -> Job:
    """A job by id, or a German error."""
    return _get(session, job_id)


def get_job_by_token(session: Session, token: str) -> Job | None:
    """A job by its token (stable across a restore that carried it), or None."""
    return session.scalar(select(Job).where(Job.token == token)) if token else None


def recent_jobs(session: Session, kind: str | tuple[str, ...], limit: int = 10) -> list[Job]:
    """The newest jobs of a kind or of several kinds (for a page's "last runs" list)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    stmt = select(Job).where(Job.kind.in_(kinds)).order_by(Job.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def running_jobs(session: Session, kinds: tuple[str, ...]) -> list[Job]:
    """Jobs of these kinds that really run (active and not stale), newest first."""
    stmt = select(Job).where(Job.kind.in_(kinds), Job.status.in_((QUEUED, RUNNING)))
    return [j for j in session.scalars(stmt.order_by(Job.id.desc())) if not j.is_stale()]


def wait(job_id: int, timeout: float | None = None) -> None:
    """Block until a job started in this process has ended (CLI and tests)."""
    future = _futures.get(job_id)
    if future is not None:
        future.result(timeout=timeout)


def wait_all(timeout: float | None = None) -> None:
    """Block until every job started in this process has ended (CLI and tests)."""
    for future in list(_futures.values()):
        future.result(timeout=timeout)


__all__ = [
    "FAILED",
    "FINISHED",
    "QUEUED",
    "RUNNING",
    "STALE_LABEL",
    "STALE_MESSAGE",
    "STATUS_LABELS",
    "Job",
    "JobHandle",
    "get_job",
    "get_job_by_token",
    "process_id",
    "recent_jobs",
    "run_here",
    "run_job",
    "running_jobs",
    "start_job",
    "wait",
    "wait_all",
]
