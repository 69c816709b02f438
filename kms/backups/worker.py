"""Background jobs: backups and restores run in a thread of the server process.

A page starts a job and polls its progress (st.fragment(run_every=…)); leaving the page
does not stop it. One job at a time per process; the backup lock (kms.backups.store)
also keeps other processes (the CLI, the scheduler) out.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kms.backups.errors import BUSY, BackupError
from kms.errors import KmsError
from kms.permissions import carry
from kms.types import utcnow

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One background job and what the page shows about it."""

    kind: str
    label: str
    username: str | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = "läuft"  # läuft | fertig | fehler
    phase: str = "Start"
    fraction: float = 0.0
    message: str = ""
    result: Any = None
    seen: bool = False

    @property
    def running(self) -> bool:
        return self.status == "läuft"

    def update(self, phase: str, fraction: float) -> None:
        self.phase, self.fraction = phase, fraction


class Worker:
    """Runs at most one job at a time; remembers the last one for the page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.job: Job | None = None

    def start(
        self,
        kind: str,
        label: str,
        action: Callable[[Callable[[str, float], None]], Any],
        *,
        username: str | None = None,
        on_done: Callable[[Job], None] | None = None,
    ) -> Job:
        """Start `action(progress)` in a thread; refuses while another job runs."""
        with self._lock:
            if self.job is not None and self.job.running:
                raise BackupError(BUSY)
            job = Job(kind=kind, label=label, username=username)
            self.job = job
        # The job acts as the user who started it (its services check that user's role).
        thread = threading.Thread(
            target=carry(self._run), args=(job, action, on_done), name=f"kms-{kind}", daemon=True
        )
        thread.start()
        return job

    def _run(
        self,
        job: Job,
        action: Callable[[Callable[[str, float], None]], Any],
        on_done: Callable[[Job], None] | None,
    ) -> None:
        try:
            job.result = action(job.update)
            job.status, job.fraction = "fertig", 1.0
        except KmsError as exc:
            job.status, job.message = "fehler", exc.message
        except Exception as exc:
            log.exception("background job %s failed", job.kind)
            job.status = "fehler"
            job.message = f"Unerwarteter Fehler: {exc!r}"
            _store_error(job.kind, exc)
        finally:
            job.finished_at = utcnow()
        if on_done is not None:
            try:
                on_done(job)
            except Exception:
                log.exception("follow-up of job %s failed", job.kind)

    def wait(self, timeout: float | None = None) -> Job | None:
        """Block until the current job ends (tests, CLI)."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.job is not None and self.job.running:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return self.job

    def clear(self) -> None:
        """Forget a finished job."""
        with self._lock:
            if self.job is not None and not self.job.running:
                self.job = None


def _store_error(key: str, exc: BaseException) -> None:
    from kms.db import session_scope
    from kms.models import ErrorLog

    try:
        with session_scope() as session:
            session.add(
                ErrorLog(
                    page=f"backup:{key}",
                    error=repr(exc)[:2000],
                    traceback="".join(traceback.format_exception(exc)),
                )
            )
    except Exception:
        log.exception("could not store error log")


WORKER = Worker()
