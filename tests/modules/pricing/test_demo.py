"""The Preiskalkulation demo: loads with a licence, twice without doubling; skipped without."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.demo import load_demo_data
from kms.modules.ledger.models import Category
from kms.modules.pricing import service
from kms.modules.pricing.models import Offering, OverheadPost


@pytest.mark.usefixtures("licensed")
def test_demo_loads_three_offers_once(sqlite_session: Session) -> None:
    session = sqlite_session
    load_demo_data(session)
    session.commit()
    load_demo_data(session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Offering)) == 3
    assert session.scalar(select(func.count()).select_from(OverheadPost)) == 5
    plan = service.plan(session)
    assert plan.billable_hours.value == Decimal(960)
    # 600 × 12 + 300 × 4 + 50 × 12 + 1,500 / 3 + 1,300 (net of Vorsteuer) = 10,800
    assert plan.overheads.value == Decimal("10800.00")
    assert plan.capacity.warning is None
    # the posts' categories are the ledger's, so Plan and Ist meet in one row each
    ledger = set(session.scalars(select(Category.name)))
    assert {row.category for row, _ in plan.posts} <= ledger
    verdicts = {row.name: r.verdict.split(":")[0] for row, r in plan.offerings}
    assert sorted(verdicts.values()) == ["Knapp", "Lohnt sich", "Lohnt sich nicht"]


def test_no_demo_without_licence(sqlite_session: Session) -> None:
    load_demo_data(sqlite_session)
    assert sqlite_session.scalar(select(func.count()).select_from(Offering)) == 0
