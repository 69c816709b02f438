"""Automatisms for the scheduler tests; run as a script, it races for the slow one's lease.

`python -m tests.automatism_probe START` waits until the Unix time START, runs SLOW once
(forced, so only the lease can keep a second process out) and prints "ran" or "skipped".
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kms.db import ensure_migrated
from kms.functions import AutomatismSpec, run_automatism

RUN_SECONDS = 1.5


def _slow(_session: Session, _now: datetime) -> str:
    time.sleep(RUN_SECONDS)
    return "langsam erledigt"


SLOW = AutomatismSpec(
    key="probe_slow",
    label="Langsamer Test",
    description="Schläft eine Weile (Test des Leases).",
    interval=timedelta(hours=1),
    run=_slow,
)


def main(start_at: float) -> None:
    ensure_migrated()  # before the start line, so both racers leave it at the same moment
    time.sleep(max(0.0, start_at - time.time()))
    print("ran" if run_automatism(SLOW, force=True) is not None else "skipped")


if __name__ == "__main__":
    main(float(sys.argv[1]))
