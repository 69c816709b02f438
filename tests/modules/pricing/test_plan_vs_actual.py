"""Gemeinkosten: Plan vs. Ist per category once the year has Ausgaben booked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kms.modules.pricing import service
from tests.modules.ledger.conftest import bank, expense, regel  # noqa: F401


@pytest.mark.usefixtures("licensed")
def test_plan_vs_actual_per_category(session: Session, bank) -> None:  # noqa: F811
    assert service.plan_vs_actual(session, 2025) == []  # no Ausgaben booked: no comparison
    service.save_overhead(
        session, label="Büro", category="Raumkosten (Miete)", amount=Decimal(500), factor=12
    )
    service.save_overhead(session, label="Kammerbeitrag", amount=Decimal(120))
    expense(session, bank, date(2025, 1, 3), ("595.00", "raumkosten", "V19"))
    expense(session, bank, date(2025, 2, 3), ("595.00", "raumkosten", "V19"))
    expense(session, bank, date(2025, 6, 1), ("119.00", "buerobedarf", "V19"))
    expense(session, bank, date(2024, 12, 30), ("1190.00", "raumkosten", "V19"))  # other year
    session.commit()
    rows = service.plan_vs_actual(session, 2025)
    assert [(r.category, r.planned, r.actual, r.difference) for r in rows] == [
        # 2 × 595 gross, less 2 × 95 Vorsteuer
        ("Bürobedarf", Decimal("0.00"), Decimal("100.00"), Decimal("100.00")),
        ("ohne Kategorie", Decimal("120.00"), Decimal("0.00"), Decimal("-120.00")),
        ("Raumkosten (Miete)", Decimal("6000.00"), Decimal("1000.00"), Decimal("-5000.00")),
    ]
    assert all(isinstance(r.actual, Decimal) for r in rows)
    assert service.plan_vs_actual(session, 2023) == []
