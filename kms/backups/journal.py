"""The restore journal: a killed restore is rolled back or completed at the next start.

apply_restore() swaps the stored files (renames) and then the database (one transaction).
In-process failures undo the file swap at once; a process that is killed cannot. So the
restore keeps a journal, data/backups/restore-journal.json, written and fsynced before
anything changes and updated after each step, and removed when the restore is done.

The journal's step alone cannot say whether the database was swapped (the process may die
between the swap's commit and the journal update). So the restored database carries the
journal's id (key RESTORE_ID_KEY) from the moment it is built, and the live database says
which side of the swap it is on; the key is removed only after the journal has recorded
the swap.

recover() runs at start-up (the backups module's on_start, which kms.registry.start runs
for the server, whose scheduler runs the automatisms, and for every CLI command) and when
Dokumente lists backups:
- database not swapped yet: files are moved back, the read-only switch goes off; the
  instance is as it was before the restore;
- database swapped: the restore is completed (counters merged with the values the journal
  kept from before, backup documents synced, old files removed, read-only off).
Both are written to the audit log. Until recovery has finished the instance stays
read-only: both databases carry the read-only switch throughout the swap.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

from kms.backups.errors import BackupError
from kms.backups.store import JOURNAL_NAME, backups_dir, exclusive, remove
from kms.config import get_config

log = logging.getLogger(__name__)

RESTORE_ID_KEY = "backups.restore_id"
# Tests kill a restore at a step boundary: KMS_TEST_RESTORE_CRASH_AT=<step>.
CRASH_ENV = "KMS_TEST_RESTORE_CRASH_AT"
STEPS = ("begun", "safety", "files_out", "files", "swapped", "database", "finishing")
# Steps the journal reaches only after the database swap has committed.
AFTER_SWAP = ("database", "finishing")


def journal_path() -> Path:
    return get_config().data_dir / "backups" / JOURNAL_NAME


def pending() -> bool:
    """True while a restore's journal exists (running, or killed and not yet recovered)."""
    return journal_path().exists()


def crash_point(step: str) -> None:
    """Die at `step` when a test asks for it (simulates a killed process, no cleanup)."""
    if os.environ.get(CRASH_ENV) == step:
        os._exit(86)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(entry: dict[str, Any]) -> None:
    """Replace the journal atomically and durably."""
    target = backups_dir() / JOURNAL_NAME
    tmp = target.with_name(target.name + ".part")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(entry, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def begin(**details: Any) -> dict[str, Any]:
    """Start a journal (before anything changes); returns the entry to update."""
    entry = {"id": uuid.uuid4().hex, "step": "begun", **details}
    write(entry)
    return entry


def step(entry: dict[str, Any], name: str, **details: Any) -> None:
    """Record that `name` is reached (and durable), then let a test kill the process here."""
    entry.update(details, step=name)
    write(entry)
    crash_point(name)


def finish() -> None:
    """The restore is complete (or recovered): no journal any more."""
    remove(journal_path())
    _fsync_dir(backups_dir())


def read() -> dict[str, Any] | None:
    """The pending journal, or None (an unreadable journal is kept and reported)."""
    try:
        raw = journal_path().read_text("utf-8")
    except FileNotFoundError:
        return None
    try:
        entry = json.loads(raw)
    except ValueError as exc:
        raise BackupError(
            f"Das Protokoll einer unterbrochenen Wiederherstellung ({journal_path()}) ist "
            "unlesbar. KMS bleibt schreibgeschützt; bitte wenden Sie sich an den Support."
        ) from exc
    if not isinstance(entry, dict) or "id" not in entry:
        raise BackupError(f"Das Protokoll {journal_path()} ist unvollständig.")
    return entry


def move_files_back(entry: dict[str, Any]) -> None:
    """Undo a (partial) file swap: restored entries back to the staging, old ones home.

    _swap_files moves every old entry out before it moves any restored one in, so an entry
    in the data dir that the staging no longer has was moved in by the restore.
    """
    data_dir = Path(entry["data_dir"])
    staged = Path(entry["staged"])
    old = Path(entry["work"]) / "old"
    for name in entry.get("incoming", []):
        if (data_dir / name).exists() and not (staged / name).exists():
            staged.mkdir(parents=True, exist_ok=True)
            os.rename(data_dir / name, staged / name)
    if old.is_dir():
        for item in sorted(old.iterdir()):
            target = data_dir / item.name
            if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
                target.rmdir()  # an empty folder that start-up created (e.g. files/)
            if target.exists():
                raise BackupError(
                    f"Beim Zurücknehmen einer unterbrochenen Wiederherstellung ist „{target}“ "
                    f"schon vorhanden; die alte Fassung liegt in {item}. KMS bleibt "
                    "schreibgeschützt; bitte wenden Sie sich an den Support."
                )
            os.rename(item, target)


def recover() -> str | None:
    """Roll back or complete a restore that was killed; None if there is nothing to do
    (no journal, or a restore is running right now and holds the lock)."""
    if not pending():
        return None
    try:
        with exclusive():
            entry = read()
            if entry is None:
                return None
            return _recover_locked(entry)
    except BackupError as exc:
        from kms.backups.errors import BUSY

        if exc.message == BUSY:
            return None
        raise


def _database_swapped(entry: dict[str, Any]) -> bool:
    from kms.db import session_scope
    from kms.models import KeyValue

    with session_scope(write=False) as session:
        row = session.get(KeyValue, RESTORE_ID_KEY)
        return row is not None and row.value == entry["id"]


def _recover_locked(entry: dict[str, Any]) -> str:
    from kms.backups import hooks
    from kms.backups.documents import sync_backup_documents
    from kms.backups.restore import drop_temp_schema, log_restore, set_read_only
    from kms.db import session_scope
    from kms.models import KeyValue
    from kms.notices import SKIP_GUARD

    # The marker is removed only after the journal says "database", so one of them knows.
    swapped = entry.get("step") in AFTER_SWAP or _database_swapped(entry)
    if swapped:
        outcome = "abgeschlossen"
        message = (
            f"Unterbrochene Wiederherstellung von {entry.get('source')} beim Start "
            "abgeschlossen (Datenbank und Dateien des Backups)."
        )
    else:
        outcome = "zurückgerollt"
        move_files_back(entry)
        message = (
            f"Unterbrochene Wiederherstellung von {entry.get('source')} beim Start "
            "zurückgenommen; der Stand davor ist unverändert."
        )
    with session_scope() as session:
        session.info[SKIP_GUARD] = True
        raised = hooks.merge_counters(session, entry.get("counters") or {}) if swapped else {}
        row = session.get(KeyValue, RESTORE_ID_KEY)
        if row is not None:
            session.delete(row)
        session.flush()
        sync_backup_documents(session)
    drop_temp_schema(entry.get("temp_schema"))
    remove(Path(entry["work"]))
    set_read_only(False)
    log_restore(
        entry.get("user"),
        "ok" if swapped else "fehler",
        message,
        audit={
            "source": entry.get("source"),
            "outcome": outcome,
            "step": entry.get("step"),
            "counters_raised": raised,
        },
        event="backup.restore_recovered",
    )
    finish()
    log.warning(message)
    return message


def recover_locked() -> str | None:
    """recover() for a caller that holds the backup lock (a new backup finishes an
    interrupted restore first, so it never saves half of one)."""
    entry = read()
    return None if entry is None else _recover_locked(entry)


INTERRUPTED = (
    "Eine frühere Wiederherstellung wurde unterbrochen und ist noch nicht abgeschlossen. "
    "KMS holt das beim nächsten Start nach; bitte starten Sie KMS neu und versuchen Sie es "
    "dann erneut."
)


def recover_quietly() -> None:
    """Start-up: recover if needed; a failure is logged and KMS stays read-only."""
    try:
        recover()
    except Exception:
        log.exception("could not recover an interrupted restore; KMS stays read-only")
