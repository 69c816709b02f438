"""Backup jobs: create, verify (check and stage a restore) and restore run as kms.jobs jobs.

kms.jobs is the one place that says what runs, with progress, result and stale detection;
the Dokumente page polls the job row, the CLI runs the same work in its own thread
(`kms.jobs.run_here`). This module adds what backups need on top of it:

- one backup job at a time (`start` refuses while another one really runs; the backup
  lock in kms.backups.store also keeps other processes out);
- the prepared restore plan: it holds a staged temp database (on PostgreSQL with its URL
  and password), so it never goes into the job row but stays in this process's memory,
  keyed by the verify job's token; the row holds what the page shows (the losses);
- the restore's job row survives the database swap: apply_restore() copies it into the
  restored database just before the swap (JobHandle.carry_to), and the handle finds it
  there by its token, so the final state ("fertig" with the result, or the error) is
  written into the database that is live afterwards.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kms.backups.errors import BUSY, BackupError
from kms.backups.store import ProgressCallback, remove
from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_datetime, format_size
from kms.jobs import JobHandle, get_job, running_jobs, start_job
from kms.types import utcnow

log = logging.getLogger(__name__)

CREATE, VERIFY, RESTORE = "backup_create", "backup_verify", "backup_restore"
KINDS = (CREATE, VERIFY, RESTORE)
LABELS = {CREATE: "Backup erzeugen", VERIFY: "Backup prüfen", RESTORE: "Backup wiederherstellen"}
PLAN_GONE = (
    "Die geprüfte Wiederherstellung gibt es nicht mehr (abgebrochen, ersetzt oder der Server "
    "wurde neu gestartet). Bitte prüfen Sie das Backup erneut."
)

_plans: dict[str, Any] = {}  # verify job token → RestorePlan
_plans_lock = threading.Lock()


def _progress(job: JobHandle, echo: ProgressCallback) -> Callable[[str, float], None]:
    """The services' progress callback: into the job row, and to `echo` (the CLI's stderr)."""

    def report(phase: str, fraction: float) -> None:
        job.step(phase, fraction)
        if echo is not None:
            echo(phase, fraction)

    return report


# --- the work (runs in a job thread, or in the CLI's thread) --------------------------------


def create(
    job: JobHandle,
    *,
    passphrase: str | None = None,
    kind: str = "manual",
    echo: ProgressCallback = None,
) -> str:
    """Backup erzeugen (kind "auto": the daily automatism); the result names the archive."""
    from kms.backups.service import create_backup

    info = create_backup(kind=kind, passphrase=passphrase, progress=_progress(job, echo))
    job.result(name=info.name, size=info.size)
    return f"Backup erzeugt: {info.name} ({format_size(info.size)})."


def verify(
    job: JobHandle, *, path: str, passphrase: str | None = None, echo: ProgressCallback = None
) -> str:
    """Check an archive without staging a restore (CLI `backup verify`)."""
    from kms.backups.service import verify_backup

    manifest = verify_backup(Path(path), passphrase=passphrase, progress=_progress(job, echo))
    created = format_datetime(datetime.fromisoformat(manifest.created_at))
    files = sum(1 for p in manifest.parts if p["path"].startswith("data/"))
    rows = sum(int(t["rows"]) for t in manifest.tables)
    job.result(source=Path(path).name, created_at=manifest.created_at, tables=len(manifest.tables))
    return (
        f"Backup in Ordnung: KMS {manifest.kms_version}, Schema {manifest.schema_revision}, "
        f"erstellt {created}, {len(manifest.tables)} Tabellen mit {rows} Zeilen, {files} Dateien."
    )


def prepare(
    job: JobHandle,
    *,
    path: str,
    passphrase: str | None = None,
    temp: bool = False,
    echo: ProgressCallback = None,
) -> str:
    """Check an archive and stage its restore; the plan waits in memory for the confirmation,
    the job row holds what would be lost."""
    from kms.backups.service import prepare_restore

    try:
        plan = prepare_restore(Path(path), passphrase=passphrase, progress=_progress(job, echo))
    finally:
        if temp:
            remove(Path(path))
    with _plans_lock:
        _plans[job.token] = plan
    job.result(**plan_summary(plan))
    return f"Das Backup vom {format_datetime(plan.created_at)} Uhr ist geprüft und bereit."


def restore(
    job: JobHandle,
    *,
    plan_token: str,
    confirmation: str,
    username: str | None = None,
    echo: ProgressCallback = None,
) -> str:
    """Apply a prepared restore; the job row is carried into the restored database."""
    from kms.backups.service import apply_restore, discard_plan

    plan = take_plan(plan_token)
    if plan is None:
        raise BackupError(PLAN_GONE)
    try:
        result = apply_restore(
            plan,
            confirmation=confirmation,
            username=username,
            progress=_progress(job, echo),
            job=job,
        )
    finally:
        discard_plan(plan)  # done or failed: the staging goes (apply_restore may not have)
    job.result(
        safety_backup=result.safety_backup.name,
        created_at=result.created_at.isoformat(),
        counters_raised=dict(result.counters_raised),
    )
    return (
        f"Das Backup vom {format_datetime(result.created_at)} Uhr ist wiederhergestellt. "
        f"Der vorherige Stand ist gesichert als {result.safety_backup.name}."
    )


def plan_summary(plan: Any) -> dict[str, Any]:
    """What the page shows about a prepared restore (JSON for the job row)."""
    return {
        "source": plan.source.name,
        "created_at": plan.created_at.isoformat(),
        "losses": [
            {
                "label": loss.label,
                "newer": loss.newer_rows,
                "current": loss.current_rows,
                "backup": loss.backup_rows,
            }
            for loss in plan.losses
        ],
        "files_removed": len(plan.files_removed),
    }


# --- prepared plans -------------------------------------------------------------------------


def has_plan(token: str) -> bool:
    with _plans_lock:
        return token in _plans


def take_plan(token: str) -> Any:
    """The prepared RestorePlan of a verify job (removed from the waiting ones), or None."""
    with _plans_lock:
        return _plans.pop(token, None)


def keep_plan(token: str, plan: Any) -> None:
    """Put a prepared plan (back) among the waiting ones under a verify job's token."""
    with _plans_lock:
        _plans[token] = plan


def discard(token: str | None = None) -> None:
    """Throw away one waiting restore plan (or all: a new job replaces a waiting restore)."""
    from kms.backups.service import discard_plan

    with _plans_lock:
        tokens = list(_plans) if token is None else [token]
        plans = [_plans.pop(t) for t in tokens if t in _plans]
    for plan in plans:
        discard_plan(plan)


# --- starting from the page -----------------------------------------------------------------


def start(
    session: Session,
    kind: str,
    work: Callable[..., str],
    *,
    params: dict[str, Any],
    username: str = "",
    keep: str | None = None,
) -> str:
    """Start a backup job once `session` commits; returns its token (stable across a restore).

    Refuses while another backup job really runs (a stale one does not count). A waiting
    restore plan other than `keep` is thrown away.
    """
    if running_jobs(session, KINDS):
        raise BackupError(BUSY)
    with _plans_lock:
        waiting = [t for t in _plans if t != keep]
    for token in waiting:
        discard(token)
    job_id = start_job(
        session, kind, _page_work(kind, work), params=params, total=1000, username=username
    )
    return get_job(session, job_id).token


def start_create(session: Session, *, passphrase: str | None, username: str = "") -> str:
    return start(session, CREATE, create, params={"passphrase": passphrase}, username=username)


def start_prepare(
    session: Session, path: Path, *, passphrase: str | None, temp: bool, username: str = ""
) -> str:
    params = {"path": str(path), "passphrase": passphrase, "temp": temp}
    try:
        return start(session, VERIFY, prepare, params=params, username=username)
    except BaseException:
        if temp:
            remove(path)
        raise


def start_restore(session: Session, plan_token: str, *, confirmation: str, username: str) -> str:
    if not has_plan(plan_token):
        raise BackupError(PLAN_GONE)
    params = {"plan_token": plan_token, "confirmation": confirmation, "username": username}
    return start(session, RESTORE, restore, params=params, username=username, keep=plan_token)


def _page_work(kind: str, work: Callable[..., str]) -> Callable[..., str]:
    """A page's job: unexpected errors also go to the error log; after a backup or restore
    the banner's backup reminder is recomputed at once."""

    def run(job: JobHandle, **params: Any) -> str:
        try:
            return work(job, **params)
        except KmsError:
            raise
        except Exception as exc:
            _store_error(kind, exc)
            raise
        finally:
            if kind in (CREATE, RESTORE):
                _refresh_warning()

    return run


def _refresh_warning() -> None:
    from kms.backups.automatisms import watch

    try:
        with session_scope() as session:
            watch(session, utcnow())
    except Exception:
        log.exception("could not refresh the backup reminder")


def _store_error(key: str, exc: BaseException) -> None:
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
