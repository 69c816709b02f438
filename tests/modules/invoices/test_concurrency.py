"""Numbering under concurrency: threads issuing at once get unique, gapless numbers."""

from __future__ import annotations

import threading

from sqlalchemy import select

from kms.modules.invoices import issuing
from kms.modules.invoices.models import Invoice, NumberCounter
from kms.permissions import carry
from tests.modules.invoices.conftest import ISSUE_DAY

THREADS = 6


def test_parallel_issuing_never_duplicates_or_skips(session, make_draft, db_url) -> None:
    """Six sessions issue six drafts at the same moment: numbers 1–6, each exactly once."""
    drafts = [make_draft().id for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(draft_id: int) -> None:
        try:
            barrier.wait()
            issuing.issue_invoice(draft_id, actor="t", issue_date=ISSUE_DAY, url=db_url)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=carry(work), args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    session.expire_all()
    numbers = sorted(session.scalars(select(Invoice.number).where(Invoice.number.is_not(None))))
    assert numbers == [f"RE-2026-{n:04d}" for n in range(1, THREADS + 1)]
    counter = session.scalar(select(NumberCounter))
    assert (counter.range_key, counter.period, counter.last_number) == ("rechnung", 2026, THREADS)


def test_same_draft_issued_twice_at_once_gets_one_number(session, make_draft, db_url) -> None:
    """Two sessions racing on one draft: one wins, the other is refused, no number lost."""
    draft_id = make_draft().id
    session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def work() -> None:
        barrier.wait()
        try:
            outcomes.append(
                issuing.issue_invoice(draft_id, issue_date=ISSUE_DAY, url=db_url).number
            )
        except Exception as exc:  # noqa: BLE001 - the loser's German message is asserted
            outcomes.append(getattr(exc, "message", repr(exc)))

    threads = [threading.Thread(target=carry(work)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes)[0] == "RE-2026-0001"
    assert "abgeschlossen" in sorted(outcomes)[1] or "geändert" in sorted(outcomes)[1]
    session.expire_all()
    assert session.scalar(select(NumberCounter.last_number)) == 1
