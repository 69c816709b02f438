"""⊕ Purge the data of an expired add-on once its retention is over (kms.licensing_purge)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kms import licensing, registry
from kms.backups.service import create_backup
from kms.db import session_scope
from kms.licensing_purge import purge_module


def licence_purge(session: Session, now: datetime) -> str:
    """⊕ For every add-on whose purge is due: a retained backup, then the purge.

    The automatism's own session stays unused until the backup exists: on SQLite its first
    statement would hold the write lock the backup's Dokumente sync needs.
    """
    with session_scope(write=False) as reading:
        due = [
            spec
            for spec in registry.modules()
            if spec.licensed
            and licensing.state(reading, spec.key, spec.title, now).status == licensing.PURGE_DUE
        ]
    done = []
    for spec in due:
        backup = create_backup(kind="retained")
        rows = purge_module(session, spec, backup.name, now)
        done.append(f"„{spec.title}“: {rows} Datensätze gelöscht (Backup {backup.name})")
    return "; ".join(done) or "Keine Löschung fällig."
