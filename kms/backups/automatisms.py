"""⊕ Automatisms: the backup freshness warning and the optional daily backup."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kms.backups.errors import BUSY, BackupError
from kms.backups.policy import WARNING_KEY, freshness_warning, get_settings, plan_prune, prune
from kms.backups.store import list_backups
from kms.db import session_scope
from kms.notices import set_system_warning


def watch(session: Session, now: datetime) -> str:
    """Warn in the banner when the newest backup is too old; clear the warning otherwise."""
    text = freshness_warning(session, now)
    set_system_warning(session, WARNING_KEY, text)
    return text or "Backups sind aktuell."


def daily(session: Session, now: datetime) -> str:
    """Once a day (if switched on): a backup, then "Alte Backups löschen" by the settings.

    The automatism's own session stays unused until the end: on SQLite its first
    statement would take the write lock for as long as the backup runs.
    """
    from kms.backups import worker
    from kms.jobs import get_job, run_here, running_jobs

    skipped = "Übersprungen: Es läuft gerade eine andere Sicherung."
    with session_scope(write=False) as reading:
        settings = get_settings(reading)
        busy = bool(running_jobs(reading, worker.KINDS))
    if not settings.auto_daily:
        return "Automatisches Backup ist ausgeschaltet."
    backups = list_backups()
    if backups and now - backups[0].created_at < timedelta(hours=23):
        return "Heute gibt es schon ein Backup."
    if busy:
        return skipped
    try:
        # A job like ▶ Backup erzeugen: the Dokumente page shows its progress.
        job_id = run_here(worker.CREATE, worker.create, params={"kind": "auto"}, total=1000)
    except BackupError as exc:
        if exc.message == BUSY:
            return skipped
        raise
    with session_scope(write=False) as reading:
        name = get_job(reading, job_id).result["name"]
    deleted = prune(plan_prune(list_backups(), settings, now))
    set_system_warning(session, WARNING_KEY, None)
    return f"Backup {name} erzeugt; {deleted} alte Backups gelöscht."
