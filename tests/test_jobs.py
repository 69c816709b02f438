"""Background jobs: state in the database, started on commit, always ending in a final state."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import jobs
from kms.db import session_scope
from kms.errors import KmsError
from kms.jobs import FAILED, FINISHED, Job, JobHandle


def count_to(job: JobHandle, *, n: int) -> str:
    for i in range(1, n + 1):
        job.progress(i, message=f"{i} von {n}")
    job.result(counted=n)
    return f"{n} gezählt"


def refuse(job: JobHandle) -> str:
    raise KmsError("Die Vorlage gibt es nicht mehr.")


def crash(job: JobHandle) -> str:
    raise RuntimeError("secret detail for the log only")


def ended(job_id: int, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(write=False) as session:
            job = session.get(Job, job_id)
            if job is not None and not job.is_active:
                return job
        time.sleep(0.05)
    raise AssertionError("job did not end")


def test_job_reports_progress_and_result(session: Session) -> None:
    """Progress reaches 100 %, the message and the JSON result are stored."""
    job_id = jobs.start_job(session, "zaehlen", count_to, params={"n": 4}, total=4)
    session.commit()
    job = ended(job_id)
    assert (job.status, job.percent, job.done) == (FINISHED, 100, 4)
    assert job.message == "4 gezählt"
    assert job.result == {"counted": 4}
    assert job.started_at is not None and job.finished_at >= job.started_at


@pytest.mark.parametrize(
    ("work", "message"),
    [(refuse, "Die Vorlage gibt es nicht mehr."), (crash, "Unerwarteter Fehler: RuntimeError")],
)
def test_failing_work_ends_as_failed_with_a_german_message(session: Session, work, message) -> None:
    """Domain errors keep their text; unexpected ones do not leak details to the UI."""
    job_id = jobs.start_job(session, "kaputt", work)
    session.commit()
    job = ended(job_id)
    assert (job.status, job.message) == (FAILED, message)


def test_rolled_back_request_starts_nothing(session: Session) -> None:
    """A job asked for in a transaction that rolls back never runs."""
    ran: list[int] = []
    jobs.start_job(session, "nie", lambda job: ran.append(1) or "x")
    session.rollback()
    session.commit()
    time.sleep(0.3)
    assert ran == []
    assert session.scalar(select(Job.id)) is None


def test_silent_running_job_is_reported_stale() -> None:
    """A job whose process died is no longer shown as running forever."""
    from kms.types import utcnow

    job = Job(kind="x", status=jobs.RUNNING, heartbeat_at=utcnow() - timedelta(minutes=11))
    assert job.is_stale()
    job.heartbeat_at = utcnow()
    assert not job.is_stale()


def test_job_of_a_process_that_is_gone_is_stale_at_once() -> None:
    """Owner gone (a dead pid on this machine, a reboot, or this process not running it):
    "abgebrochen" at once; another machine's job goes by its heartbeat."""
    import os
    import subprocess
    import sys

    from kms.types import utcnow

    me = jobs.process_id()
    host, boot, _pid, _token = me.split("|")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    fresh = utcnow()

    def job(owner: str, key: str = "t") -> Job:
        return Job(kind="x", status=jobs.RUNNING, heartbeat_at=fresh, owner=owner, token=key)

    assert job(f"{host}|{boot}|{dead}|abc").is_stale()
    if boot:
        assert job(f"{host}|anderer-start|{os.getpid()}|abc").is_stale()
    assert job(me, "laeuft-hier-nicht").is_stale()
    assert job(me).status_label() == "abgebrochen"
    assert not job(f"{host}|{boot}|{os.getppid()}|abc").is_stale()  # alive: heartbeat decides
    elsewhere = job("anderer-rechner|b|1|x")
    assert not elsewhere.is_stale() and elsewhere.status_label() == "läuft"
    elsewhere.heartbeat_at = fresh - timedelta(minutes=11)
    assert elsewhere.is_stale()


def test_job_of_this_process_is_not_stale_however_long_it_is_silent(session: Session) -> None:
    """A long step without progress (a large restore's swap) is no reason to call it stale."""
    import threading

    from kms.types import utcnow

    gate = threading.Event()

    def hold(job: JobHandle) -> str:
        gate.wait(30)
        return "durch"

    job_id = jobs.start_job(session, "halten", hold)
    session.commit()
    try:
        with session_scope() as s:
            job = s.get(Job, job_id)
            job.heartbeat_at = utcnow() - timedelta(hours=3)
        with session_scope(write=False) as s:
            job = s.get(Job, job_id)
            assert job.is_active and not job.is_stale()
    finally:
        gate.set()
    assert ended(job_id).message == "durch"


def test_run_here_records_the_job_and_raises_its_error() -> None:
    """The CLI's way: the job row like a background one; the caller still gets the error."""
    job_id = jobs.run_here("zaehlen", count_to, params={"n": 2}, total=2)
    with session_scope(write=False) as s:
        job = s.get(Job, job_id)
        assert (job.status, job.message, job.result) == (FINISHED, "2 gezählt", {"counted": 2})
    with pytest.raises(KmsError):
        jobs.run_here("kaputt", refuse)
    with session_scope(write=False) as s:
        failed = s.scalar(select(Job).where(Job.kind == "kaputt"))
        assert (failed.status, failed.message) == (FAILED, "Die Vorlage gibt es nicht mehr.")
