"""⊕ Purge the data of an expired add-on once its retention is over (kms.licensing_purge)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kms import licensing, registry
from kms.backups.archive import backed_up
from kms.backups.service import create_backup
from kms.config import get_config
from kms.db import session_scope
from kms.formatting import count_noun
from kms.licensing_purge import purge_module, purge_scope
from kms.registry import ModuleSpec


def licence_purge(session: Session, now: datetime) -> str:
    """⊕ For every add-on whose purge is due: a retained backup, then the purge of its rows
    and, once that is committed, of its stored files.

    The automatism's own session stays unused: on SQLite its first statement would hold the
    write lock the backup's Dokumente sync needs; the purge commits in a session of its own
    before any file goes.
    """
    with session_scope(write=False) as reading:
        due = [
            spec
            for spec in registry.modules()
            if spec.licensed
            and licensing.state(reading, spec.key, spec.title, now).status == licensing.PURGE_DUE
        ]
    return "; ".join(_purge(spec, now) for spec in due) or "Keine Löschung fällig."


def _purge(spec: ModuleSpec, now: datetime) -> str:
    """One add-on: refuse when a backup would miss some of its files, else back up and purge."""
    with session_scope(write=False) as reading:
        files = purge_scope(reading, spec).files
    outside = [path for path in files if not backed_up(get_config().data_dir, path)]
    if outside:
        return (
            f"„{spec.title}“: Löschung ausgesetzt, kein Backup enthielte "
            f"{count_noun(len(outside), 'Datei', 'Dateien')} außerhalb des "
            f"Datenverzeichnisses (z. B. {outside[0]})"
        )
    backup = create_backup(kind="retained")
    with session_scope() as writing:
        scope = purge_scope(writing, spec)
        purge_module(writing, spec, backup.name, now, files=len(files))
    for path in files:  # only the files the backup was taken with
        path.unlink(missing_ok=True)
    return f"„{spec.title}“: {scope.describe()} gelöscht (Backup {backup.name})"
