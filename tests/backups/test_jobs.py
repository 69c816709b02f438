"""Backups as kms.jobs jobs: one place says what runs, and a restore's record survives the swap."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from kms import jobs
from kms.backups import worker
from kms.backups.errors import BUSY, BackupError
from kms.backups.service import create_backup, list_backups
from kms.cli import main
from kms.db import session_scope
from kms.jobs import FAILED, FINISHED, RUNNING, Job, get_job_by_token
from kms.modules.contacts.models import Contact
from kms.types import utcnow
from tests.backups.helpers import db_snapshot, make_data, wipe


def start(begin: Any) -> str:
    """Start a backup job as the page does and wait until it has ended."""
    with session_scope() as session:
        token = begin(session)
    jobs.wait_all(120)
    return token


def row(token: str) -> dict[str, Any]:
    with session_scope(write=False) as session:
        job = get_job_by_token(session, token)
        assert job is not None
        return {
            "id": job.id,
            "kind": job.kind,
            "status": job.status,
            "label": job.status_label(),
            "message": job.message,
            "result": dict(job.result or {}),
            "percent": job.percent,
        }


def all_jobs() -> list[tuple[int, str, str]]:
    with session_scope(write=False) as session:
        return [(j.id, j.kind, j.status) for j in session.scalars(sa.select(Job).order_by(Job.id))]


def snapshot() -> dict[str, Any]:
    """db_snapshot() without the backup reminder, which a page's job recomputes at its end."""
    rows = db_snapshot()
    rows["key_values"] = [r for r in rows["key_values"] if r[0] != "banner.system_warnings"]
    return rows


def prepared(path: Any) -> str:
    return start(lambda s: worker.start_prepare(s, path, passphrase=None, temp=False))


@pytest.fixture(autouse=True)
def _clean() -> Any:
    yield
    jobs.wait_all(120)
    worker.discard()


def test_create_runs_as_a_job_with_progress_and_result(db_url: str) -> None:
    """▶ Backup erzeugen is a `jobs` row: finished at 100 % with the archive in its result."""
    make_data()
    token = start(lambda s: worker.start_create(s, passphrase=None, username="erika"))
    job = row(token)
    [backup] = list_backups()
    assert (job["kind"], job["status"], job["label"], job["percent"]) == (
        worker.CREATE,
        FINISHED,
        "fertig",
        100,
    )
    assert job["result"] == {"name": backup.name, "size": backup.size}
    assert job["message"].startswith(f"Backup erzeugt: {backup.name} (")


def test_restore_job_survives_the_swap_and_ends_fertig(db_url: str) -> None:
    """Verify, then restore: afterwards the restored database holds the restore's job row,
    finished, with its result; the verify job (newer than the backup) is gone with the rest."""
    make_data()
    backup = create_backup()
    rows = db_snapshot()
    wipe()
    plan_token = prepared(backup.path)
    verify = row(plan_token)
    assert (verify["status"], verify["kind"]) == (FINISHED, worker.VERIFY)
    assert verify["result"]["source"] == backup.name
    token = start(
        lambda s: worker.start_restore(s, plan_token, confirmation="WIEDERHERSTELLEN", username="")
    )
    job = row(token)
    assert (job["kind"], job["status"], job["label"], job["percent"]) == (
        worker.RESTORE,
        FINISHED,
        "fertig",
        100,
    )
    safety = job["result"]["safety_backup"]
    assert safety in {b.name for b in list_backups()} and safety != backup.name
    assert "ist wiederhergestellt" in job["message"] and safety in job["message"]
    assert all_jobs() == [(job["id"], worker.RESTORE, FINISHED)]
    assert snapshot() == rows  # the data is the backup's (backup jobs are left out)


def test_restored_job_id_taken_by_the_backup_gets_the_next_free_one(db_url: str) -> None:
    """The backup has its own job rows with the ids the running restore has now: the
    restore's row moves to the next free id and the backup's rows stay as they were."""
    with session_scope() as session:
        for n in range(6):
            session.add(Job(kind="serienbrief", status=FINISHED, message=f"alt {n}"))
    backup = create_backup()
    with session_scope() as session:
        session.execute(sa.delete(Job))
    if "postgresql" in db_url:
        with session_scope() as session:
            session.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('jobs', 'id'), 1, false)")
            )
    plan_token = prepared(backup.path)
    token = start(
        lambda s: worker.start_restore(s, plan_token, confirmation="WIEDERHERSTELLEN", username="")
    )
    job = row(token)
    assert job["status"] == FINISHED and job["id"] == 7
    assert all_jobs() == [(n, "serienbrief", FINISHED) for n in range(1, 7)] + [
        (7, worker.RESTORE, FINISHED)
    ]
    with session_scope(write=False) as session:
        assert session.get(Job, 2).message == "alt 1"


def test_failed_swap_shows_the_error_in_the_unchanged_database(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database step fails: nothing is replaced, and the job row says why."""
    make_data()
    backup = create_backup()
    wipe()
    before = snapshot()

    def broken(_plan: Any) -> None:
        raise BackupError("Die Platte ist voll.")

    monkeypatch.setattr("kms.backups.restore._swap_database", broken)
    plan_token = prepared(backup.path)
    token = start(
        lambda s: worker.start_restore(s, plan_token, confirmation="WIEDERHERSTELLEN", username="")
    )
    job = row(token)
    assert (job["status"], job["label"], job["message"]) == (
        FAILED,
        "fehlgeschlagen",
        "Die Platte ist voll.",
    )
    assert snapshot() == before


def test_failure_after_the_swap_is_written_into_the_restored_database(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step after the swap fails: the job row (carried over) shows the error, not "läuft"."""
    make_data()
    backup = create_backup()
    wipe()

    def broken(_session: Any, _before: Any) -> dict[str, int]:
        raise BackupError("Die Zähler lassen sich nicht abgleichen.")

    monkeypatch.setattr("kms.backups.hooks.merge_counters", broken)
    plan_token = prepared(backup.path)
    token = start(
        lambda s: worker.start_restore(s, plan_token, confirmation="WIEDERHERSTELLEN", username="")
    )
    job = row(token)
    assert (job["status"], job["message"]) == (FAILED, "Die Zähler lassen sich nicht abgleichen.")
    with session_scope(write=False) as session:  # this is the restored database
        assert session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 2


def test_a_backup_leaves_its_own_running_job_out(db_url: str) -> None:
    """Restored, the backup's job would only show as abgebrochen: it is not in the archive."""
    token = start(lambda s: worker.start_create(s, passphrase=None))
    [backup] = list_backups()
    created = row(token)["id"]
    plan_token = prepared(backup.path)
    restored = start(
        lambda s: worker.start_restore(s, plan_token, confirmation="WIEDERHERSTELLEN", username="")
    )
    assert [j for j in all_jobs() if j[1] == worker.CREATE] == []
    assert row(restored)["id"] > created


def test_plan_gone_and_busy_are_refused_in_german(db_url: str) -> None:
    """A restore without a waiting plan, and a second job while one runs, are refused; a
    job whose process died does not block."""
    with session_scope() as session, pytest.raises(BackupError) as gone:
        worker.start_restore(session, "unbekannt", confirmation="WIEDERHERSTELLEN", username="")
    assert gone.value.message == worker.PLAN_GONE
    gate = threading.Event()

    def hold(_job: Any) -> str:
        gate.wait(30)
        return "gehalten"

    with session_scope() as session:
        jobs.start_job(session, worker.CREATE, hold)
    try:
        with session_scope() as session, pytest.raises(BackupError) as busy:
            worker.start_create(session, passphrase=None)
        assert busy.value.message == BUSY
    finally:
        gate.set()
        jobs.wait_all(30)
    # A job of this process that it does not run (any more) is stale ("abgebrochen").
    with session_scope() as session:
        session.add(Job(kind=worker.CREATE, status=RUNNING, owner=jobs.process_id(), token="tot"))
    start(lambda s: worker.start_create(s, passphrase=None))
    assert len(list_backups()) == 1


def test_cli_runs_are_recorded_as_jobs(db_url: str) -> None:
    """python -m kms backup create / verify: the same job rows as from the page."""
    assert main(["backup", "create"]) == 0
    path = list_backups()[0].path
    assert main(["backup", "verify", str(path)]) == 0
    assert all_jobs() == [(1, worker.CREATE, FINISHED), (2, worker.VERIFY, FINISHED)]


def test_cli_verify_failure_is_recorded(db_url: str, tmp_path: Any) -> None:
    """A refused archive: the CLI says so (exit 1) and the job row shows the error."""
    broken = tmp_path / "kaputt.tar"
    broken.write_bytes(b"kein Archiv")
    assert main(["backup", "verify", str(broken)]) == 1
    with session_scope(write=False) as session:
        [job] = session.scalars(sa.select(Job))
        assert (job.kind, job.status) == (worker.VERIFY, FAILED)
        assert job.message and job.finished_at is not None and job.finished_at <= utcnow()


def test_daily_backup_is_a_job_and_waits_for_a_running_one(db_url: str) -> None:
    """⊕ Tägliches Backup runs as a backup job too; while another one runs it skips."""
    from datetime import UTC, datetime

    from kms.backups.automatisms import daily

    gate = threading.Event()

    def hold(_job: Any) -> str:
        gate.wait(30)
        return "gehalten"

    with session_scope() as session:
        jobs.start_job(session, worker.RESTORE, hold)
    try:
        with session_scope() as session:
            assert daily(session, datetime.now(UTC)).startswith("Übersprungen")
    finally:
        gate.set()
        jobs.wait_all(30)
    assert list_backups() == []
    with session_scope() as session:
        message = daily(session, datetime.now(UTC))
    [backup] = list_backups()
    assert message.startswith(f"Backup {backup.name} erzeugt")
    assert [(k, s) for _i, k, s in all_jobs()] == [
        (worker.RESTORE, FINISHED),
        (worker.CREATE, FINISHED),
    ]
    assert backup.kind == "auto"
