"""Preiskalkulation: hand-computed cases of the pure calculation functions."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from kms.errors import ValidationError
from kms.modules.pricing import calc

BASIS = calc.Basis(
    net_income=Decimal(45000),
    provisions=Decimal(0),
    working_days=260,
    vacation_days=30,
    sick_days=10,
    holidays=20,
    hours_per_day=Decimal(8),
    billable_percent=Decimal(60),
    tax_reserve_percent=Decimal(25),
)
RENT = calc.OverheadPost("Büromiete", Decimal(1000), factor=12)
WORKSHOP = calc.Offering(
    "Workshop, 1 Tag",
    material=Decimal("119.00"),
    cost_vat_rate=Decimal(19),
    travel_km=Decimal(100),
    km_rate=Decimal("0.30"),
    hours_delivery=Decimal(8),
    hours_preparation=Decimal(4),
    hours_follow_up=Decimal(1),
    hours_travel=Decimal(2),
    units_per_year=20,
    planned_price=Decimal(1000),
)


def test_worked_example_of_the_manual() -> None:
    """€45,000 / (1 − 0.25) + €12,000 = €72,000; 200 × 8 h × 60 % = 960 h; €75.00 an hour."""
    overheads = calc.total_overheads([RENT]).value
    assert overheads == Decimal("12000.00")
    assert calc.required_revenue(BASIS, overheads).value == Decimal("72000.00")
    hours = calc.billable_hours(BASIS)
    assert hours.value == Decimal(960)
    assert "200 Tage" in hours.formula
    rate = calc.hourly_rate(BASIS, overheads)
    assert rate.value == Decimal("75.00")
    assert "÷ 960 abrechenbare Stunden" in rate.formula


def test_yearly_costs_by_factor_and_useful_life() -> None:
    assert calc.yearly_cost(
        calc.OverheadPost("Versicherung", Decimal(300), factor=4)
    ).value == Decimal(1200)
    laptop = calc.OverheadPost("Laptop", Decimal(1500), useful_life_years=3)
    assert calc.yearly_cost(laptop).value == Decimal(500)
    assert "3 Jahre" in calc.yearly_cost(laptop).formula
    # A Regelbesteuerer gets the Vorsteuer back, a Kleinunternehmer does not.
    phone = calc.OverheadPost("Telefon", Decimal("59.50"), factor=12, vat_rate=Decimal(19))
    assert calc.yearly_cost(phone).value == Decimal("600.00")
    assert calc.yearly_cost(phone, calc.SMALL).value == Decimal("714.00")


def test_offering_with_planned_price_below_the_fair_price() -> None:
    overheads = Decimal(12000)
    result = calc.offering_result(WORKSHOP, BASIS, overheads, calc.planned_hours([WORKSHOP]))
    assert result.hours_per_unit.value == Decimal(15)
    assert result.direct_costs.value == Decimal("130.00")  # 100 net material + 100 km × 0.30
    assert result.overhead_per_unit.value == Decimal("600.00")  # 12,000 × 15 h / 300 planned h
    assert result.cost_price.value == Decimal("730.00")
    assert result.fair_net.value == Decimal("1255.00")  # 130 + 75 × 15
    assert result.fair_gross.value == Decimal("1493.45")
    assert result.contribution.value == Decimal("870.00")
    assert result.profit_per_unit.value == Decimal("270.00")
    assert result.profit_per_year.value == Decimal("5400.00")
    assert result.effective_wage.value == Decimal("18.00")
    assert result.break_even_costs is not None and result.break_even_income is not None
    assert result.break_even_costs.value == 14  # 12,000 / 870 = 13.8
    assert result.break_even_income.value == 83  # 72,000 / 870 = 82.8
    assert result.verdict.startswith("Knapp")
    assert "Preis − Einzelkosten − Gemeinkostenanteil" in result.effective_wage.formula


def test_fair_price_covers_everything() -> None:
    offer = replace(WORKSHOP, planned_price=None)
    result = calc.offering_result(offer, BASIS, Decimal(12000), Decimal(0))
    assert result.price.value == Decimal("1255.00")
    # Without a plan the overheads are spread over the billable hours: 12,000 × 15 / 960.
    assert result.overhead_per_unit.value == Decimal("187.50")
    assert result.effective_wage.value == Decimal("62.50")  # 60,000 before tax / 960 h
    assert result.verdict.startswith("Lohnt sich:")


def test_no_break_even_when_price_does_not_exceed_direct_costs() -> None:
    offer = replace(WORKSHOP, planned_price=Decimal(130))
    result = calc.offering_result(offer, BASIS, Decimal(12000), Decimal(300))
    assert result.break_even_costs is None and result.break_even_income is None
    assert "kein Break-even" in result.verdict
    assert result.effective_wage.value < 0


def test_kleinunternehmer_calculates_with_gross_costs_and_no_vat_on_price() -> None:
    basis = replace(BASIS, vat_mode=calc.SMALL)
    post = calc.OverheadPost("Büromiete", Decimal(1190), factor=12, vat_rate=Decimal(19))
    overheads = calc.total_overheads([post], calc.SMALL).value
    assert overheads == Decimal("14280.00")
    rate = calc.hourly_rate(basis, overheads)
    assert rate.value == Decimal("77.38")  # 74,280 / 960 = 77.375
    result = calc.offering_result(
        replace(WORKSHOP, planned_price=None), basis, overheads, Decimal(0)
    )
    assert result.direct_costs.value == Decimal("149.00")  # 119 gross + 30 travel
    assert result.fair_net.value == Decimal("1309.70")  # 149 + 77.38 × 15
    assert result.fair_gross.value == Decimal("1309.70")
    assert "§ 19" in result.fair_gross.formula


def test_break_even_case() -> None:
    """A price of €250 with €50 direct costs covers €12,000 overheads after 60 units."""
    offer = calc.Offering(
        "Kurs",
        fees=Decimal(50),
        hours_delivery=Decimal(2),
        units_per_year=60,
        planned_price=Decimal(250),
    )
    result = calc.offering_result(offer, BASIS, Decimal(12000), Decimal(120))
    assert result.break_even_costs is not None
    assert result.break_even_costs.value == 60
    assert result.profit_per_year.value == Decimal("0.00")
    curve = calc.break_even_curve(result, Decimal(12000), 100)
    assert (60, Decimal(15000), Decimal(15000)) in curve


def test_capacity_warns_when_the_plan_needs_more_hours_than_the_year_has() -> None:
    ok = calc.capacity([WORKSHOP], BASIS)
    assert ok.needed.value == Decimal(300) and ok.warning is None
    busy = calc.capacity([replace(WORKSHOP, units_per_year=70)], BASIS)
    assert busy.needed.value == Decimal(1050)
    assert busy.warning is not None and "960" in busy.warning


def test_ranking_by_effective_hourly_wage() -> None:
    cheap = replace(WORKSHOP, name="Günstig", planned_price=Decimal(500))
    dear = replace(WORKSHOP, name="Teuer", planned_price=Decimal(1500))
    hours = calc.planned_hours([cheap, dear])
    ranked = calc.compare(
        [calc.offering_result(o, BASIS, Decimal(12000), hours) for o in (cheap, dear)]
    )
    assert [r.name for r in ranked] == ["Teuer", "Günstig"]


@pytest.mark.parametrize(
    ("basis", "field", "message"),
    [
        (replace(BASIS, billable_percent=Decimal(0)), "billable_percent", "0 abrechenbare Stunden"),
        (replace(BASIS, vacation_days=260), "billable_percent", "0 abrechenbare Stunden"),
        (replace(BASIS, tax_reserve_percent=Decimal(100)), "tax_reserve_percent", "unter 100 %"),
        (replace(BASIS, net_income=Decimal(-1)), "net_income", "nicht negativ"),
        (replace(BASIS, billable_percent=Decimal(101)), "billable_percent", "höchstens 100 %"),
        (replace(BASIS, working_days=400), "working_days", "366 Arbeitstage"),
        (replace(BASIS, hours_per_day=Decimal(25)), "hours_per_day", "24 Stunden"),
        (replace(BASIS, net_income=Decimal("1e15")), "net_income", "zu groß"),
    ],
)
def test_nonsense_basis_gets_german_messages(basis: calc.Basis, field: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        calc.hourly_rate(basis, Decimal(12000))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        (calc.OverheadPost("Miete", Decimal(100), factor=0), "factor", "Faktor muss 12"),
        (calc.OverheadPost("Miete", Decimal(-100)), "amount", "nicht negativ"),
        (calc.OverheadPost(" ", Decimal(100)), "label", "Bezeichnung"),
        (calc.OverheadPost("PC", Decimal(100), useful_life_years=0), "useful_life_years", "1 und"),
        (calc.OverheadPost("PC", Decimal(1), useful_life_years=101), "useful_life_years", "100 J"),
        (calc.OverheadPost("Miete", Decimal("1e12")), "amount", "zu groß"),
        (calc.OverheadPost("Miete", Decimal(1), vat_rate=Decimal(119)), "vat_rate", "100 %"),
    ],
)
def test_nonsense_overheads_get_german_messages(
    post: calc.OverheadPost, field: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        calc.yearly_cost(post)
    assert info.value.field == field


def test_nonsense_offerings_get_german_messages() -> None:
    with pytest.raises(ValidationError, match="nicht negativ"):
        calc.offering_result(replace(WORKSHOP, material=Decimal(-1)), BASIS, Decimal(0), Decimal(0))
    with pytest.raises(ValidationError, match="zu groß"):
        calc.offering_result(
            replace(WORKSHOP, units_per_year=10**10), BASIS, Decimal(0), Decimal(0)
        )
    with pytest.raises(ValidationError, match="höchstens 100 %"):
        calc.validate_offering(replace(WORKSHOP, cost_vat_rate=Decimal(190)))
    with pytest.raises(ValidationError, match="braucht Zeit"):
        calc.offering_result(calc.Offering("Leer"), BASIS, Decimal(0), Decimal(0))
    with pytest.raises(ValidationError, match="Gemeinkosten"):
        calc.required_revenue(BASIS, Decimal(-1))
