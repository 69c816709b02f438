"""Anlagenverzeichnis: GWG vs. linear AfA with a mid-year purchase, degressive AfA, disposal."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kms import periods
from kms.errors import KmsError
from kms.modules.ledger import afa_table, assets, report_specs, reports
from kms.modules.ledger.models import Account, Asset
from kms.reporting import Period, frame_problems

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


# --- ported from the parallel `assets` branch: hand-computed schedules ---------------------


def _asset(cost: str, acquired: date, years: int, method: str = "linear", **kw: Any) -> Asset:
    """An unsaved asset: schedule() and book_value() are pure."""
    return Asset(
        name="x", cost=D(cost), acquired_on=acquired, useful_life_years=years, method=method,
        euer_field=kw.pop("euer_field", "afa_beweglich"), disposed_on=kw.pop("disposed_on", None),
    )  # fmt: skip


def test_linear_laptop_month_of_acquisition_counts_in_full() -> None:
    # 1.499,00 net bought 15.05.2026, 3 years = 36 months: 1499 × 12/36 = 499.666… → 499.67
    # a year; 2026 May–Dec = 8 months (May counts in full, § 7 Abs. 1 Satz 4 EStG):
    # 1499 × 8/36 = 333.111… → 333.11; 2027 and 2028 499.67 each;
    # 2029 Jan–Apr, the remainder: 1499 − 333.11 − 2 × 499.67 = 166.55.
    laptop = _asset("1499.00", date(2026, 5, 15), 3)
    assert assets.schedule(laptop) == {
        2026: D("333.11"), 2027: D("499.67"), 2028: D("499.67"), 2029: D("166.55")
    }  # fmt: skip
    # Book values: 1499 − 333.11 = 1165.89; − 499.67 = 666.22; − 499.67 = 166.55; 0.
    assert [assets.book_value(laptop, y) for y in (2026, 2027, 2028, 2029)] == [
        D("1165.89"), D("666.22"), D("166.55"), D("0.00")
    ]  # fmt: skip


def test_the_first_year_is_rounded_once() -> None:
    # 1.499,00 bought 10.07.2026, 3 years: 2026 Jul–Dec = 1499 × 6/36 = 249.8333… → 249.83.
    # (Rounding the annual 499.67 first and then × 6/12 = 249.835 → 249.84 would round twice.)
    # 2027, 2028: 499.67 each; 2029 Jan–Jun the remainder 1499 − 249.83 − 999.34 = 249.83.
    plan = assets.schedule(_asset("1499.00", date(2026, 7, 10), 3))
    assert plan == {
        2026: D("249.83"), 2027: D("499.67"), 2028: D("499.67"), 2029: D("249.83")
    }  # fmt: skip
    # Disposal 28.02.2027: Jan–Feb = 1499 × 2/36 = 83.277… → 83.28; Restbuchwert
    # 1499 − 249.83 − 83.28 = 1165.89.
    sold = _asset("1499.00", date(2026, 7, 10), 3, disposed_on=date(2027, 2, 28))
    assert assets.schedule(sold) == {2026: D("249.83"), 2027: D("83.28")}
    assert assets.book_value(sold, 2027) == D("1165.89")


def test_gwg_650_is_written_off_at_once() -> None:
    # 650,00 ≤ 800,00: all of it in 2026, not 2/60 of it.
    assert assets.schedule(_asset("650.00", date(2026, 11, 3), 5, "gwg")) == {2026: D("650.00")}
    assert assets.suggest_method(D("800.00")) == "gwg"
    assert assets.suggest_method(D("800.01")) == "linear"


def test_degressive_30_percent_switches_to_linear_when_that_is_higher() -> None:
    # 10.000,00 bought 10.09.2025, 5 years (60 months, Sep 2025 – Aug 2030): 3 × 20 % = 60 %,
    # capped at 30 %.
    # 2025 Sep–Dec: 10000 × 30 % × 4/12 = 1000.00 (linear 10000 × 4/60 = 666.67); 56 months left
    # 2026: 9000 × 30 % = 2700.00 (linear 9000 × 12/56 = 1928.57); 44 left
    # 2027: 6300 × 30 % = 1890.00 (linear 6300 × 12/44 = 1718.18); 32 left
    # 2028: 4410 × 30 % = 1323.00 < linear 4410 × 12/32 = 1653.75 → switch; 20 left
    # 2029: 2756.25 × 12/20 = 1653.75; 2030 Jan–Aug the remainder 1102.50.
    # Sum 1000 + 2700 + 1890 + 1653.75 + 1653.75 + 1102.50 = 10000.00.
    plan = assets.schedule(_asset("10000.00", date(2025, 9, 10), 5, "degressiv"))
    assert plan == {
        2025: D("1000.00"), 2026: D("2700.00"), 2027: D("1890.00"),
        2028: D("1653.75"), 2029: D("1653.75"), 2030: D("1102.50"),
    }  # fmt: skip
    assert assets.method_text(_asset("1.00", date(2025, 9, 10), 5, "degressiv")) == (
        "degressiv 30 %, 5 Jahre"
    )


def test_degressive_of_the_corona_window_is_25_percent() -> None:
    # Bought 15.03.2021, 10 years: 2.5 × 10 % = 25 % (cap 25 %).
    # 2021 Mar–Dec 10 months: 10000 × 25 % × 10/12 = 2083.33 (linear 10000 × 10/120 = 833.33);
    # 2022: 7916.67 × 25 % = 1979.1675 → 1979.17.
    plan = assets.schedule(_asset("10000.00", date(2021, 3, 15), 10, "degressiv"))
    assert (plan[2021], plan[2022]) == (D("2083.33"), D("1979.17"))
    assert sum(plan.values()) == D("10000.00")


def test_the_degressive_windows_per_law() -> None:
    rate = afa_table.degressive_rate
    assert rate(date(2025, 7, 1), 5) == D("0.30")  # 3 × 20 % = 60 %, cap 30 %
    assert rate(date(2027, 12, 31), 20) == D("0.15")  # 3 × 5 %
    assert rate(date(2024, 6, 1), 10) == D("0.20")  # 2 × 10 %, cap 20 %
    assert rate(date(2024, 6, 1), 20) == D("0.10")  # 2 × 5 %
    assert rate(date(2021, 6, 1), 20) == D("0.125")  # 2.5 × 5 %
    for outside in (date(2019, 12, 31), date(2023, 6, 1), date(2024, 3, 31), date(2025, 6, 30)):
        assert rate(outside, 5) is None
    assert rate(date(2028, 1, 1), 5) is None
    assert afa_table.GWG_LIMIT == D("800.00")


def test_afa_table_suggestions_name_their_years() -> None:
    assert afa_table.suggestion("computer").years == 1  # type: ignore[union-attr]
    assert afa_table.suggestion("software").field == "afa_immateriell"  # type: ignore[union-attr]
    assert afa_table.suggestion("bueromoebel").years == 13  # type: ignore[union-attr]
    assert afa_table.suggestion("pkw").years == 6  # type: ignore[union-attr]
    assert afa_table.suggestion("mobiltelefon").years == 5  # type: ignore[union-attr]
    assert afa_table.choices()["pkw"] == "Personenkraftwagen (6 Jahre)"
    assert afa_table.choices()["computer"].endswith("(1 Jahr)")
    assert afa_table.suggestion("raumschiff") is None


def test_disposal_mid_life_of_the_laptop() -> None:
    # Sold 20.03.2028: AfA Jan–Mar 2028 = 1499 × 3/36 = 124.916… → 124.92;
    # Restbuchwert 1499 − 333.11 − 499.67 − 124.92 = 541.30 (Kz 135 of 2028).
    laptop = _asset("1499.00", date(2026, 5, 15), 3, disposed_on=date(2028, 3, 20))
    assert assets.schedule(laptop) == {2026: D("333.11"), 2027: D("499.67"), 2028: D("124.92")}
    figures = assets.year_figures(laptop, 2028)
    assert figures == assets.YearFigures(
        opening=D("666.22"), addition=D("0.00"), afa=D("124.92"),
        disposal=D("541.30"), closing=D("0.00"),
    )  # fmt: skip
    assert assets.year_figures(laptop, 2029) is None
    assert assets.year_figures(laptop, 2025) is None


@pytest.mark.parametrize("method", ["linear", "degressiv"])
def test_afa_and_disposal_add_up_to_the_cost_exactly(method: str) -> None:
    """Whatever the cost, month, life and disposal: AfA plus Restbuchwert equal the cost to
    the cent, and no year is negative."""
    costs = ["0.01", "1.00", "999.99", "1234.57", "33333.33"]
    for cost, month, years, disposed in itertools.product(
        costs, (1, 7, 12), (1, 3, 7, 13), (None, date(2028, 2, 29))
    ):
        item = _asset(cost, date(2026, month, 28), years, method, disposed_on=disposed)
        plan = assets.schedule(item)
        last = max(plan)
        rest = assets.book_value(item, last) if disposed else D("0.00")
        assert sum(plan.values()) + rest == D(cost), (cost, month, years, disposed)
        assert all(v >= 0 for v in plan.values())


# --- services: locks, the purchase booking, the Anlage AVEÜR ------------------------------


def test_locked_months_freeze_what_moves_the_afa(session: Session, bank: Account) -> None:
    """Once December 2026 is festgeschrieben, an asset bought in May 2026 can neither be added
    nor disposed of in 2026 nor deleted: its AfA 2026 is in the locked year."""
    laptop = assets.create_asset(
        session, name="Laptop", acquired_on=date(2026, 5, 15), cost="1499.00", useful_life_years=3
    )
    periods.lock_month(session, date(2026, 12, 1))
    with pytest.raises(periods.PeriodLocked, match="Dezember 2026 ist festgeschrieben"):
        assets.create_asset(
            session, name="Drucker", acquired_on=date(2026, 5, 15), cost="300.00",
            useful_life_years=3,
        )  # fmt: skip
    with pytest.raises(periods.PeriodLocked):
        assets.dispose_asset(session, laptop.id, disposed_on=date(2026, 8, 1))
    with pytest.raises(periods.PeriodLocked):
        assets.delete_asset(session, laptop.id)
    # After the lock all is open: a disposal in February 2027 is fine.
    assets.dispose_asset(session, laptop.id, disposed_on=date(2027, 2, 1))
    assert laptop.disposed_on == date(2027, 2, 1)
    with pytest.raises(KmsError, match="bereits ausgeschieden"):
        assets.dispose_asset(session, laptop.id, disposed_on=date(2027, 3, 1))
    item = assets.create_asset(
        session, name="Stuhl", acquired_on=date(2027, 1, 4), cost="200.00", useful_life_years=13,
        method="gwg",
    )  # fmt: skip
    assets.delete_asset(session, item.id)
    assert [a.name for a in assets.list_assets(session)] == ["Laptop"]


def test_a_linked_purchase_booking_must_capitalise_the_asset(
    session: Session, bank: Account
) -> None:
    """Linking an asset to a booking whose line is an ordinary expense would count the
    purchase twice (expense and AfA): refused; a line of "Anlagevermögen" is accepted."""
    ordinary = expense(session, bank, date(2026, 5, 15), ("1783.81", "buerobedarf", "V19"))
    with pytest.raises(KmsError, match="doppelt"):
        assets.create_asset(
            session, name="Laptop", acquired_on=date(2026, 5, 15), cost="1499.00",
            useful_life_years=3, booking_id=ordinary.id,
        )  # fmt: skip
    right = expense(session, bank, date(2026, 5, 15), ("1783.81", "anlagen", "V19"))
    laptop = assets.create_asset(
        session, name="Laptop", acquired_on=date(2026, 5, 15), cost="1499.00",
        useful_life_years=3, booking_id=right.id,
    )  # fmt: skip
    assert laptop.booking_id == right.id


def test_anlage_avuer_rows_sums_and_the_euer(session: Session, bank: Account) -> None:
    """2026: laptop (above), GWG monitor 650,00, software 1.200,00 bought 01.07.2026 over
    1 year (immaterial: Jul–Dec 6/12 → 600,00), a desk sold in 2026.

    Desk: 1.300,00 bought 01.01.2020, 13 years: 100,00 a year, 2020–2025 = 600,00;
    2026 Jan–Mar: 100 × 3/12 = 25,00; Restbuchwert 1300 − 625 = 675,00.
    Summe: Anschaffungskosten 1499 + 650 + 1200 + 1300 = 4.649,00; Buchwert Anfang 700,00;
    Zugänge 1499 + 650 + 1200 = 3.349,00; AfA 25 + 333.11 + 600 + 650 = 1.608,11;
    Abgänge 675,00; Buchwert Ende 1165.89 + 600 = 1.765,89 (= 700 + 3349 − 1608.11 − 675).
    EÜR 2026: Kz 130 = 25 + 333.11 = 358,11; Kz 131 = 600,00; Kz 132 = 650,00; Kz 135 = 675,00.
    """
    new = assets.create_asset
    new(session, name="Laptop", acquired_on=date(2026, 5, 15), cost="1499.00", useful_life_years=3)
    new(session, name="Monitor", acquired_on=date(2026, 11, 3), cost="650.00",
        useful_life_years=3, method="gwg")  # fmt: skip
    new(session, name="Buchhaltungssoftware", acquired_on=date(2026, 7, 1), cost="1200.00",
        useful_life_years=1, euer_field="afa_immateriell")  # fmt: skip
    desk = new(session, name="Schreibtisch", acquired_on=date(2020, 1, 1), cost="1300.00",
               useful_life_years=13)  # fmt: skip
    assets.dispose_asset(session, desk.id, disposed_on=date(2026, 3, 15))
    spec = next(r for r in report_specs.REPORTS if r.key == "anlage_avuer")
    frame = reports.anlage_avuer(session, Period.year(2026))
    assert frame_problems(spec, frame) == []
    money = ["Anschaffungskosten", "Buchwert Anfang", "Zugänge", "AfA", "Abgänge", "Buchwert Ende"]
    got = {r["Bezeichnung"]: [r[c] for c in money] for _, r in frame.iterrows()}
    assert list(got) == ["Schreibtisch", "Laptop", "Buchhaltungssoftware", "Monitor", "Summe"]
    assert got["Schreibtisch"] == [D(x) for x in ("1300", "700", "0", "25", "675", "0")]
    assert got["Laptop"] == [D(x) for x in ("1499", "0", "1499", "333.11", "0", "1165.89")]
    assert got["Buchhaltungssoftware"] == [D(x) for x in ("1200", "0", "1200", "600", "0", "600")]
    assert got["Monitor"] == [D(x) for x in ("650", "0", "650", "650", "0", "0")]
    assert got["Summe"] == [D(x) for x in ("4649", "700", "3349", "1608.11", "675", "1765.89")]
    assert frame.iloc[1]["Anschaffung"] == date(2026, 5, 15)
    assert frame.iloc[1]["Methode"] == "linear, 3 Jahre"
    e = euer_kz(session, 2026)
    assert (e["130"], e["131"], e["132"], e["135"]) == (
        D("358.11"), D("600.00"), D("650.00"), D("675.00")
    )  # fmt: skip
    # The report's AfA and Abgänge are the EÜR's Kz 130–132 and 135.
    assert got["Summe"][3] == e["130"] + e["131"] + e["132"]
    assert got["Summe"][4] == e["135"]
    # 2027: the desk is gone; 2019: nothing yet.
    names_2027 = list(reports.anlage_avuer(session, Period.year(2027))["Bezeichnung"])
    assert names_2027 == ["Laptop", "Buchhaltungssoftware", "Monitor", "Summe"]
    assert list(reports.anlage_avuer(session, Period.year(2019))["Bezeichnung"]) == ["Summe"]
