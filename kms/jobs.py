"""Background jobs: long work (mail merge, backups) in a process-level thread pool.

The job's state lives in the database (one `jobs` row), so a page only polls that row
(`st.fragment(run_every=…)`) and leaving the page does not stop the work. The thread belongs
to the server process, not to a browser session. A job whose process died stops sending
heartbeats; `Job.is_stale` lets the UI say so instead of showing "läuft" forever.

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
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kms.db import session_scope
from kms.errors import KmsError, NotFoundError
from kms.models import Base
from kms.permissions import carry
from kms.types import utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"
STATUS_LABELS = {QUEUED: "wartet", RUNNING: "läuft", FINISHED: "fertig", FAILED: "fehlgeschlagen"}
# A running job that has not reported for this long belongs to a process that is gone.
STALE_AFTER = timedelta(minutes=10)
MAX_WORKERS = 2


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
        """Still marked active, but nobody has reported progress for STALE_AFTER."""
        return self.is_active and (now or utcnow()) - self.heartbeat_at > STALE_AFTER


class JobHandle:
    """What the work function gets: report progress and store a result."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id

    def progress(self, done: int, *, total: int | None = None, message: str | None = None) -> None:
        """Record progress in its own short transaction (the page polls it)."""
        with session_scope() as session:
            job = _get(session, self.job_id)
            job.done = done
            if total is not None:
                job.total = total
            if message is not None:
                job.message = message
            job.heartbeat_at = utcnow()

    def result(self, **data: Any) -> None:
        """Merge JSON-ready data into the job's result."""
        with session_scope() as session:
            job = _get(session, self.job_id)
            job.result = {**(job.result or {}), **data}


Work = Callable[..., str | None]

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_futures: dict[int, Future[None]] = {}


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
    job = Job(kind=kind, total=total, username=username, message="Wartet auf den Start …")
    job.result = {}
    session.add(job)
    session.flush()
    job_id = job.id
    arguments = dict(params or {})

    def submit(_session: Session) -> None:
        event.remove(session, "after_rollback", forget)
        _futures[job_id] = _executor().submit(carry(run_job), job_id, work, **arguments)

    def forget(_session: Session) -> None:
        event.remove(session, "after_commit", submit)

    event.listen(session, "after_commit", submit, once=True)
    event.listen(session, "after_rollback", forget, once=True)
    return job_id


def run_job(job_id: int, work: Work, **kwargs: Any) -> None:
    """Run a job in the calling thread: running, then finished or failed with a German message."""
    with session_scope() as session:
        job = _get(session, job_id)
        job.status, job.started_at, job.heartbeat_at = RUNNING, utcnow(), utcnow()
    try:
        message = work(JobHandle(job_id), **kwargs)
    except KmsError as exc:
        _finish(job_id, FAILED, exc.message)
    except Exception as exc:  # a job must end in a state, never hang as running
        log.exception("job %s failed", job_id)
        _finish(job_id, FAILED, f"Unerwarteter Fehler: {type(exc).__name__}")
    else:
        _finish(job_id, FINISHED, message or "Fertig.")
    finally:
        _futures.pop(job_id, None)


def _finish(job_id: int, status: str, message: str) -> None:
    with session_scope() as session:
        job = _get(session, job_id)
        job.status, job.message = status, message[:4000]
        job.finished_at = job.heartbeat_at = utcnow()
        if status == FINISHED:
            job.done = max(job.done, job.total)


def _get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError("Diesen Hintergrundauftrag gibt es nicht (mehr).")
    return job


def get_job(session: Session, job_id: int) -> Job:
    """A job by id, or a German error."""
    return _get(session, job_id)


def recent_jobs(session: Session, kind: str, limit: int = 10) -> list[Job]:
    """The newest jobs of a kind (for a page's "last runs" list)."""
    stmt = select(Job).where(Job.kind == kind).order_by(Job.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def wait(job_id: int, timeout: float | None = None) -> None:
    """Block until a job started in this process has ended (CLI and tests)."""
    future = _futures.get(job_id)
    if future is not None:
        future.result(timeout=timeout)


__all__ = [
    "FAILED",
    "FINISHED",
    "QUEUED",
    "RUNNING",
    "STATUS_LABELS",
    "Job",
    "JobHandle",
    "get_job",
    "recent_jobs",
    "run_job",
    "start_job",
    "wait",
]
