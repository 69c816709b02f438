"""Two schedulers at once (threads, and separate processes) on one database: every period
of every template is invoiced exactly once, the numbers stay gapless."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from kms.config import ROOT
from kms.modules.invoices.models import Invoice
from kms.modules.invoices.recurring import service as recurring
from kms.modules.invoices.recurring.models import RecurringRun
from kms.permissions import carry

THREADS = 4
DAY = date(2027, 4, 15)  # four monthly periods and two quarterly ones are due


def _numbers(session) -> list[str]:  # type: ignore[no-untyped-def]
    session.expire_all()
    return sorted(session.scalars(select(Invoice.number)))


def _templates(make_template) -> None:  # type: ignore[no-untyped-def]
    make_template(name="Monatlich")
    make_template(name="Quartal", interval="quarterly")


def test_threads_create_each_period_once(session, make_template, db_url) -> None:
    _templates(make_template)
    barrier = threading.Barrier(THREADS)
    created: list[int] = []
    errors: list[BaseException] = []
    now = datetime(2027, 4, 15, 9, tzinfo=UTC)

    def work() -> None:
        try:
            barrier.wait()
            outcome = recurring.create_due(now, url=db_url)
            assert outcome.errors == []
            created.append(len(outcome.created))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=carry(work)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    assert sum(created) == 6
    assert _numbers(session) == [f"RE-2027-{n:04d}" for n in range(1, 7)]
    assert session.scalar(select(func.count()).select_from(RecurringRun)) == 6


def test_two_processes_create_each_period_once(session, make_template, db_url) -> None:
    _templates(make_template)
    session.commit()
    env = os.environ | {"KMS_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    start_at = f"{time.time() + 3:.3f}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.modules.invoices.recurring.probe",
                start_at,
                DAY.isoformat(),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    counts = [out.split() for out, _err in outputs]
    assert sum(int(c[0]) for c in counts) == 6 and all(c[1] == "0" for c in counts), outputs
    assert _numbers(session) == [f"RE-2027-{n:04d}" for n in range(1, 7)]
    periods = session.execute(select(RecurringRun.template_id, RecurringRun.period_start)).all()
    assert len(periods) == len(set(periods)) == 6
