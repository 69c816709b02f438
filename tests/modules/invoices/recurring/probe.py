"""A second scheduler for the concurrency test: `python -m tests.modules.invoices.recurring.probe
START DAY` waits until the Unix time START, then creates the due recurring invoices of DAY
(ISO date) as the automatism would, bypassing the lease so only the run rows keep it honest,
and prints how many it created."""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime
from datetime import time as clock_time

from kms.db import ensure_migrated
from kms.modules.invoices.recurring.service import create_due
from kms.permissions import SYSTEM, acting_as


def main(start_at: float, day: str) -> None:
    ensure_migrated()
    now = datetime.combine(date.fromisoformat(day), clock_time(9), tzinfo=UTC)
    time.sleep(max(0.0, start_at - time.time()))
    with acting_as(SYSTEM):
        outcome = create_due(now)
    print(f"{len(outcome.created)} {len(outcome.errors)}")


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2])
