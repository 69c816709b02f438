"""Anlagenverzeichnis: GWG vs. linear AfA with a mid-year purchase, degressive AfA, disposal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.ledger import assets, reports
from kms.modules.ledger.models import Account

from .conftest import expense

D = Decimal


class _Year:
    def __init__(self, year: int) -> None:
        self.start, self.end, self.label = date(year, 1, 1), date(year, 12, 31), str(year)


def euer_kz(session: Session, year: int) -> dict[str, Decimal]:
    frame = reports.euer(session, _Year(year))
    return {r["Kennzahl"]: r["Betrag"] for _, r in frame.iterrows() if r["Kennzahl"]}


def test_gwg_vs_linear_afa_with_a_mid_year_purchase(session: Session, bank: Account) -> None:
    # Laptop 1.785,00 gross = 1.500,00 net + 285,00 VAT, paid 15.04.2025, 3 years linear:
    # 500,00 a year; 2025 from April = 9 months → 375,00; 2026 500,00; 2027 500,00; 2028 125,00.
    purchase = expense(session, bank, date(2025, 4, 15), ("1785.00", "anlagen", "V19"))
    laptop = assets.create_asset(
        session, name="Laptop", acquired_on=date(2025, 4, 15), cost="1500.00",
        useful_life_years=3, booking_id=purchase.id,
    )  # fmt: skip
    assert assets.schedule(laptop) == {
        2025: D("375.00"), 2026: D("500.00"), 2027: D("500.00"), 2028: D("125.00")
    }  # fmt: skip
    # Monitor 499,00 net as GWG (≤ 800 €): written off at once in 2025.
    assets.create_asset(
        session, name="Monitor", acquired_on=date(2025, 6, 2), cost="499.00",
        useful_life_years=3, method="gwg",
    )  # fmt: skip
    e = euer_kz(session, 2025)
    # Not an expense at payment: Kz 130 = 375,00, Kz 132 = 499,00; the Vorsteuer 285,00 (185).
    assert (e["130"], e["132"], e["185"]) == (D("375.00"), D("499.00"), D("285.00"))
    assert e["199"] == D("1159.00")  # 375 + 499 + 285
    assert euer_kz(session, 2026)["130"] == D("500.00")


def test_degressive_afa_and_its_limits(session: Session, bank: Account) -> None:
    # Machine 10.000,00 net, 10 years, bought 10.09.2025: 30 % (3 × 10 %, capped at 30 %),
    # 2025: 10.000 × 30 % × 4/12 = 1.000,00; 2026: 9.000 × 30 % = 2.700,00.
    machine = assets.create_asset(
        session, name="Maschine", acquired_on=date(2025, 9, 10), cost="10000.00",
        useful_life_years=10, method="degressiv",
    )  # fmt: skip
    plan = assets.schedule(machine)
    assert (plan[2025], plan[2026]) == (D("1000.00"), D("2700.00"))
    assert sum(plan.values()) == D("10000.00")
    with pytest.raises(KmsError, match=r"30\.06\.2025 nicht zulässig"):
        assets.create_asset(
            session, name="Alt", acquired_on=date(2025, 6, 30), cost="1000.00",
            useful_life_years=5, method="degressiv",
        )  # fmt: skip
    with pytest.raises(KmsError, match="800,00"):
        assets.create_asset(
            session, name="Zu teuer", acquired_on=date(2025, 6, 30), cost="800.01",
            useful_life_years=5, method="gwg",
        )  # fmt: skip


def test_disposal_books_the_remaining_value(session: Session, bank: Account) -> None:
    # 1.200,00 net, 4 years from 01.01.2025: 300,00 a year. Disposed 30.06.2026:
    # AfA 2026 = 300 × 6/12 = 150,00; Restbuchwert 1.200 − 300 − 150 = 750,00 (Kz 135).
    item = assets.create_asset(
        session, name="Kamera", acquired_on=date(2025, 1, 1), cost="1200.00", useful_life_years=4
    )
    assets.dispose_asset(session, item.id, disposed_on=date(2026, 6, 30))
    e = euer_kz(session, 2026)
    assert (e["130"], e["135"]) == (D("150.00"), D("750.00"))
