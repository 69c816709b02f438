"""Automatismen: due-ness, the lease across threads and processes, failures, maintenance."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.config import ROOT
from kms.functions import (
    AutomatismSpec,
    last_runs,
    log_function_run,
    run_automatism,
    run_due,
    states,
)
from kms.models import AutomatismState, ErrorLog, FunctionRun, KeyValue
from kms.notices import add_notice
from kms.scheduler import Scheduler
from kms.types import utcnow
from tests.automatism_probe import SLOW


def _count_up(session: Session, _now: datetime) -> str:
    row = session.get(KeyValue, "probe.count")
    if row is None:
        row = KeyValue(key="probe.count", value=0)
        session.add(row)
    row.value = row.value + 1
    return f"gezählt: {row.value}"


def _count_in_window(session: Session, _now: datetime) -> str:
    row = session.get(KeyValue, "probe.window_count")
    if row is None:
        row = KeyValue(key="probe.window_count", value=0)
        session.add(row)
    row.value = row.value + 1
    return f"im Fenster gezählt: {row.value}"


def _explode(session: Session, _now: datetime) -> str:
    session.add(KeyValue(key="probe.half_done", value=True))
    session.flush()
    raise RuntimeError("Festplatte voll")


COUNT = AutomatismSpec("probe_count", "Zählen", "Zählt hoch.", timedelta(hours=1), _count_up)
FAIL = AutomatismSpec("probe_fail", "Scheitern", "Scheitert.", timedelta(hours=1), _explode)
IN_MAINTENANCE = AutomatismSpec(
    "probe_maintenance",
    "Zählen im Wartungsfenster",
    "Zählt hoch, auch während der Wartung.",
    timedelta(minutes=15),
    _count_in_window,
    runs_in_maintenance=True,
)


def _runs(session: Session, key: str) -> list[FunctionRun]:
    """The logged runs of `key`; ends the read so the automatisms' own sessions can write."""
    session.expire_all()
    runs = list(session.scalars(select(FunctionRun).where(FunctionRun.key == key)))
    session.commit()
    return runs


def test_an_automatism_runs_when_due_and_not_before_its_interval(session: Session) -> None:
    """It runs once, is skipped until its interval has passed, then runs again."""
    t0 = utcnow()
    assert run_automatism(COUNT, t0) == "gezählt: 1"
    assert run_automatism(COUNT, t0 + timedelta(minutes=59)) is None
    assert run_automatism(COUNT, t0 + timedelta(hours=1)) == "gezählt: 2"
    runs = _runs(session, "probe_count")
    assert [(r.kind, r.status, r.message) for r in runs] == [
        ("automatism", "ok", "gezählt: 1"),
        ("automatism", "ok", "gezählt: 2"),
    ]
    assert all(r.finished_at is not None for r in runs)
    state = states(session)["probe_count"]
    assert state.next_run_at == t0 + timedelta(hours=2)
    assert (state.lease_owner, state.lease_until, state.last_status) == (None, None, "ok")


def test_a_failing_automatism_is_logged_and_does_not_stop_the_others(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is recorded as "fehler" with an ErrorLog row; the next one still runs."""
    monkeypatch.setattr("kms.registry.usable_automatisms", lambda _session: [FAIL, COUNT])
    ran = run_due()
    assert ran == {"probe_fail": "Fehler: Festplatte voll", "probe_count": "gezählt: 1"}
    [run] = _runs(session, "probe_fail")
    assert (run.status, run.message) == ("fehler", "Fehler: Festplatte voll")
    assert states(session)["probe_fail"].last_status == "fehler"
    error = session.scalar(select(ErrorLog).where(ErrorLog.page == "automatism:probe_fail"))
    assert error is not None and "RuntimeError: Festplatte voll" in error.traceback
    # Its half-done work was rolled back, and it waits for its interval like any other.
    assert session.get(KeyValue, "probe.half_done") is None
    session.commit()
    assert run_due() == {}


def _foundation_and_probes(monkeypatch: pytest.MonkeyPatch) -> list[AutomatismSpec]:
    """The registered maintenance switch and §19 watch plus the probes; nothing slower.

    The real registry also holds the documents sweeper, the backups and more; those are
    tested in their modules. Here run_due sees a controlled set and never takes a backup.
    """
    from kms.registry import automatisms

    registered = {a.key: a for a in automatisms()}
    assert {"maintenance_switch", "kleinunternehmer_watch"} <= set(registered)
    probes = [
        registered["maintenance_switch"],
        registered["kleinunternehmer_watch"],
        COUNT,
        IN_MAINTENANCE,
    ]
    monkeypatch.setattr("kms.registry.usable_automatisms", lambda _session: probes)
    return probes


def test_the_registered_automatisms_run_when_due(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_due runs every registered automatism once, then each again only when it is due."""
    probes = _foundation_and_probes(monkeypatch)
    keys = {a.key for a in probes}
    now = utcnow()
    ran = run_due(now)
    assert set(ran) == keys
    assert ran["maintenance_switch"] == "Kein Wartungsfenster aktiv."
    assert ran["kleinunternehmer_watch"] == "Keine Kleinunternehmerregelung aktiv."
    assert ran["probe_count"] == "gezählt: 1"
    assert run_due(now + timedelta(seconds=30)) == {}
    assert set(run_due(now + timedelta(minutes=1))) == {"maintenance_switch"}
    assert set(run_due(now + timedelta(minutes=15))) == {"maintenance_switch", "probe_maintenance"}
    assert run_due(now + timedelta(hours=1)) == {
        "maintenance_switch": "Kein Wartungsfenster aktiv.",
        "probe_count": "gezählt: 2",
        "probe_maintenance": "im Fenster gezählt: 3",
    }
    assert set(last_runs(session)) == keys
    assert [r.message for r in _runs(session, "kleinunternehmer_watch")] == [
        "Keine Kleinunternehmerregelung aktiv."
    ]


def test_maintenance_skips_automatisms_which_catch_up_afterwards(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the maintenance switch runs in a window; the others run right after it ends."""
    from kms.registry import automatisms

    # In the real registry the §19 watch waits for the window's end like any writing job.
    assert not {a.key: a for a in automatisms()}["kleinunternehmer_watch"].runs_in_maintenance
    _foundation_and_probes(monkeypatch)
    start = utcnow() + timedelta(days=1)
    end = start + timedelta(hours=1)
    add_notice(session, text="Update", maintenance=True, start=start, end=end)
    session.commit()
    assert run_due(start + timedelta(minutes=10)) == {
        "maintenance_switch": "Wartungsfenster begonnen: KMS ist schreibgeschützt.",
        "probe_maintenance": "im Fenster gezählt: 1",
    }
    assert run_due(start + timedelta(minutes=20)) == {"maintenance_switch": "Wartungsmodus aktiv."}
    assert _runs(session, "kleinunternehmer_watch") == []
    assert _runs(session, "probe_count") == []
    after = run_due(start + timedelta(hours=1, minutes=1))
    assert after == {
        "maintenance_switch": "Wartungsfenster beendet: KMS ist wieder beschreibbar.",
        "kleinunternehmer_watch": "Keine Kleinunternehmerregelung aktiv.",
        "probe_count": "gezählt: 1",
        "probe_maintenance": "im Fenster gezählt: 2",
    }
    assert session.get(KeyValue, "maintenance.active").value is False


def test_a_live_lease_keeps_even_a_forced_run_out(session: Session) -> None:
    """While another process holds the lease nobody runs the job; an expired lease is taken."""
    now = utcnow()
    session.add(
        AutomatismState(key="probe_count", lease_owner="elsewhere", lease_until=now + timedelta(1))
    )
    session.commit()
    assert run_automatism(COUNT, now, force=True) is None
    assert _runs(session, "probe_count") == []
    assert run_automatism(COUNT, now + timedelta(days=2)) == "gezählt: 1"


def _race_in_threads(count: int = 2) -> list[str | None]:
    """Start `count` threads that force-run the slow automatism at the same moment."""
    results: list[str | None] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        results.append(run_automatism(SLOW, force=True))

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_the_lease_keeps_two_threads_from_running_a_job_at_once(session: Session) -> None:
    """Two threads of one process racing for the same job: exactly one runs it."""
    results = _race_in_threads()
    assert len(results) == 2
    assert results.count("langsam erledigt") == 1 and results.count(None) == 1
    assert len(_runs(session, "probe_slow")) == 1


def test_the_lease_keeps_two_processes_from_running_a_job_at_once(
    session: Session, db_url: str
) -> None:
    """Two OS processes on one database racing for the same job: exactly one runs it."""
    env = os.environ | {"KMS_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    start_at = f"{time.time() + 2:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.automatism_probe", start_at],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sorted(out.strip() for out, _err in outputs) == ["ran", "skipped"]
    [run] = _runs(session, "probe_slow")
    assert run.status == "ok"
    # The winner ran for the whole RUN_SECONDS while the loser was refused.
    assert run.finished_at - run.started_at >= timedelta(seconds=1)


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (timedelta(minutes=1), "jede Minute"),
        (timedelta(minutes=15), "alle 15 Minuten"),
        (timedelta(hours=1), "stündlich"),
        (timedelta(hours=6), "alle 6 Stunden"),
        (timedelta(days=1), "täglich"),
        (timedelta(days=7), "alle 7 Tage"),
    ],
)
def test_schedule_is_described_in_german(interval: timedelta, text: str) -> None:
    """The help page names each automatism's interval in words."""
    assert AutomatismSpec("k", "l", "d", interval, _count_up).schedule_text == text


def test_function_runs_are_logged_and_the_newest_wins(session: Session) -> None:
    """last_runs shows the newest run of each function."""
    log_function_run("backup", "erika", "fehler", "Platte voll")
    log_function_run("backup", "erika", "ok", "Backup erzeugt")
    newest = last_runs(session)["backup"]
    assert (newest.kind, newest.status, newest.message, newest.username) == (
        "function",
        "ok",
        "Backup erzeugt",
        "erika",
    )
    assert session.scalar(select(func.count(FunctionRun.id))) == 2


def test_scheduler_thread_keeps_running_after_a_failing_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tick that raises is logged; the thread goes on and stops when asked."""
    ticks: list[int] = []

    def tick() -> dict[str, str]:
        ticks.append(1)
        if len(ticks) == 1:
            raise RuntimeError("Datenbank weg")
        return {"probe": "ok"}

    monkeypatch.setattr("kms.scheduler.run_due", tick)
    scheduler = Scheduler(interval=0.01)
    scheduler.start()
    deadline = time.monotonic() + 10
    while len(ticks) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop()
    assert len(ticks) >= 3
    assert not scheduler._thread.is_alive()
