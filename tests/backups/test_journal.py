"""A restore killed at any step is rolled back or completed at the next start, never mixed.

Each case runs a real restore in a child process that dies (os._exit, no cleanup, no
undo) at one step boundary, starts KMS again in a fresh process (the CLI, which runs the
start-up recovery before its command), and compares the whole instance, every
table row and every file hash, with the state before and the state of the backup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kms.backups import journal
from kms.backups.service import create_backup
from kms.backups.store import RESTORE_PREFIX, backups_dir
from kms.config import ROOT
from kms.db import dispose_engines, session_scope
from kms.models import FunctionRun, KeyValue
from kms.notices import RESTORE_KEY
from kms.registry import start
from tests.backups.helpers import (
    archives_on_disk,
    audit_problems,
    backup_documents,
    db_snapshot,
    file_snapshot,
    make_data,
    wipe,
)

RESTORE = """
import sys
from pathlib import Path
from kms.backups.service import apply_restore, prepare_restore
from kms.permissions import SYSTEM, acting_as
with acting_as(SYSTEM):  # as `python -m kms backup restore` does
    plan = prepare_restore(Path(sys.argv[1]))
    apply_restore(plan, confirmation="WIEDERHERSTELLEN", username="erika")
"""
# Steps before the database swap roll back; from the swap on, the restore is completed.
ROLLED_BACK = ("begun", "safety", "files_out", "files")
COMPLETED = ("swapped", "database", "finishing")


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    dispose_engines()  # the child must not wait for this process's connections
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def raw_value(url: str, key: str) -> Any:
    """A key_values entry read without KMS (whose first session would already recover)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.execute(
                sa.text("SELECT value FROM key_values WHERE key = :k"), {"k": key}
            ).scalar()
    finally:
        engine.dispose()
    return json.loads(raw) if isinstance(raw, str) else raw


def schema_exists(url: str, schema: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return bool(
                conn.execute(
                    sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                    {"s": schema},
                ).scalar()
            )
    finally:
        engine.dispose()


def test_every_step_is_named_in_the_code() -> None:
    """The test covers every crash point the restore has (a new step needs a case here)."""
    source = "".join(
        (ROOT / "kms" / "backups" / name).read_text() for name in ("restore.py", "journal.py")
    )
    named = {s for s in journal.STEPS if f'"{s}"' in source.replace(" ", "")}
    assert set(ROLLED_BACK + COMPLETED) == set(journal.STEPS) == named


@pytest.mark.parametrize("step", ROLLED_BACK + COMPLETED)
def test_killed_restore_is_recovered_to_the_old_or_the_new_state(db_url: str, step: str) -> None:
    make_data()
    new_rows, new_files = db_snapshot(), file_snapshot()
    backup = create_backup()
    wipe()
    old_rows, old_files = db_snapshot(), file_snapshot()
    assert (old_rows, old_files) != (new_rows, new_files)

    killed = run(["-c", RESTORE, str(backup.path)], **{journal.CRASH_ENV: step})
    assert killed.returncode == 86, killed.stderr

    # Killed: the journal is there, and KMS is read-only until recovery has run.
    entry = json.loads(journal.journal_path().read_text())
    assert entry["step"] == {"files_out": "safety", "swapped": "files"}.get(step, step)
    assert raw_value(db_url, RESTORE_KEY) is True

    started = run(["-m", "kms", "audit", "verify"])
    assert started.returncode == 0, started.stderr

    dispose_engines()
    assert not journal.journal_path().exists()
    assert not [p for p in backups_dir().iterdir() if p.name.startswith(RESTORE_PREFIX)]
    if entry.get("temp_schema"):
        assert not schema_exists(db_url, entry["temp_schema"])
    state = (db_snapshot(), file_snapshot())
    expected = (old_rows, old_files) if step in ROLLED_BACK else (new_rows, new_files)
    assert state == expected  # never a mix: every row and every file of one side
    assert audit_problems() == []
    with session_scope(write=False) as s:
        assert s.get(KeyValue, RESTORE_KEY) is None
        assert s.get(KeyValue, journal.RESTORE_ID_KEY) is None
        [event] = s.execute(
            sa.text("SELECT payload FROM audit_events WHERE action = 'backup.restore_recovered'")
        ).all()
        logged = s.scalars(
            sa.select(FunctionRun.message).where(FunctionRun.key == "backup_restore")
        ).all()
    outcome = "zurückgerollt" if step in ROLLED_BACK else "abgeschlossen"
    assert json.loads(event[0])["outcome"] == outcome
    assert any("Unterbrochene Wiederherstellung" in m for m in logged)
    # The backup documents match the disk, the safety backup of the killed restore included.
    assert backup_documents() == archives_on_disk()
    assert any("-safety" in name for name, _sha, _size in archives_on_disk()) == (step != "begun")


def test_recovery_waits_while_the_restore_still_runs(db_url: str) -> None:
    """A journal whose restore holds the lock (running, not killed) is left alone."""
    from kms.backups.store import exclusive

    journal.write({"id": "x", "step": "files", "work": str(backups_dir() / ".kms-restore-x")})
    with exclusive():
        assert journal.recover() is None
    assert journal.journal_path().exists()


def test_unreadable_journal_keeps_kms_read_only(db_url: str) -> None:
    """A damaged journal is not guessed at: recovery refuses in German, start-up logs it,
    and KMS stays read-only with the journal kept for the support."""
    from kms.backups.errors import BackupError
    from kms.backups.restore import set_read_only
    from kms.notices import is_read_only

    set_read_only(True)
    (backups_dir() / journal.JOURNAL_NAME).write_text("{kaputt")
    with pytest.raises(BackupError, match="unlesbar"):
        journal.recover()
    dispose_engines()
    start()  # a process start: recovery fails quietly (logged), nothing else happens
    with session_scope(write=False) as s:
        assert is_read_only(s)
    assert journal.journal_path().exists()


def test_journal_is_gone_after_a_normal_restore(db_url: str) -> None:
    """A restore that finishes leaves no journal and no marker behind."""
    from kms.backups.service import apply_restore, prepare_restore

    make_data()
    backup = create_backup()
    apply_restore(prepare_restore(backup.path), confirmation="WIEDERHERSTELLEN")
    assert not journal.pending()
    with session_scope(write=False) as s:
        assert s.get(KeyValue, journal.RESTORE_ID_KEY) is None
    assert Path(backups_dir()).is_dir()


def test_new_backup_or_restore_never_builds_on_a_killed_restore(db_url: str) -> None:
    """With a killed restore pending (and the process that would recover it still up), a
    new backup finishes the recovery first; a new restore is refused in German."""
    from kms.backups.errors import BackupError
    from kms.backups.service import apply_restore, prepare_restore

    make_data()
    new_rows, new_files = db_snapshot(), file_snapshot()
    backup = create_backup()
    plan = prepare_restore(backup.path)
    killed = run(["-c", RESTORE, str(backup.path)], **{journal.CRASH_ENV: "swapped"})
    assert killed.returncode == 86, killed.stderr
    with pytest.raises(BackupError, match="unterbrochen"):
        apply_restore(plan, confirmation="WIEDERHERSTELLEN")
    assert journal.pending()
    assert not plan.work.exists()

    create_backup()  # recovers (completes) first, then backs up the whole new state
    assert not journal.pending()
    dispose_engines()
    assert (db_snapshot(), file_snapshot()) == (new_rows, new_files)
