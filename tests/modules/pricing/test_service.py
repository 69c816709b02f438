"""Preiskalkulation services: saved plan, German refusals, licence lock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import licensing
from kms.errors import ConflictError, ValidationError
from kms.modules.pricing import service
from kms.modules.pricing.models import CalculationBasis, Offering, OverheadPost
from kms.modules.settings import taxation

from .licence import pricing_token

BASIS = {
    "net_income": Decimal(45000),
    "provisions": Decimal(0),
    "working_days": 260,
    "vacation_days": 30,
    "sick_days": 10,
    "holidays": 20,
    "hours_per_day": Decimal(8),
    "billable_percent": Decimal(60),
    "tax_reserve_percent": Decimal(25),
}


def _worked_example(session: Session) -> None:
    service.save_basis(session, **BASIS)
    service.save_overhead(session, label="Büromiete", amount=Decimal(800), factor=12)
    service.save_overhead(
        session, label="Laptop", amount=Decimal(7200), useful_life_years=3, category="Technik"
    )
    session.commit()


@pytest.mark.usefixtures("licensed")
def test_saved_plan_reproduces_the_worked_example(session: Session) -> None:
    _worked_example(session)
    plan = service.plan(session)
    assert plan.overheads.value == Decimal(12000)  # 9,600 rent + 7,200 / 3
    assert plan.required_revenue.value == Decimal("72000.00")
    assert plan.billable_hours.value == Decimal(960)
    assert plan.hourly_rate.value == Decimal("75.00")
    assert plan.vat_mode == "regel"


@pytest.mark.usefixtures("licensed")
def test_offerings_ranked_and_capacity_and_what_if(session: Session) -> None:
    _worked_example(session)
    common = {"hours_delivery": Decimal(8), "hours_preparation": Decimal(2)}
    service.save_offering(
        session, name="Workshop", units_per_year=50, planned_price=Decimal(900), **common
    )
    low = service.save_offering(
        session, name="Kurs", units_per_year=60, planned_price=Decimal(400), **common
    )
    session.commit()
    plan = service.plan(session)
    assert [row.name for row, _ in plan.offerings] == ["Workshop", "Kurs"]
    assert plan.capacity.needed.value == Decimal(1100)
    assert plan.capacity.warning is not None
    cheap = service.what_if(session, low.id, price=Decimal(100), units=10)
    assert cheap.price.value == Decimal("100.00")
    assert cheap.profit_per_year.formula.endswith("10 Einheiten im Jahr")


@pytest.mark.usefixtures("licensed")
def test_kleinunternehmer_from_besteuerung(session: Session) -> None:
    taxation.set_regime(session, valid_from=date(2020, 1, 1), kind="klein")
    _worked_example(session)
    service.save_overhead(
        session, label="Telefon", amount=Decimal("119.00"), factor=1, vat_rate=Decimal(19)
    )
    plan = service.plan(session)
    assert plan.vat_mode == "klein"
    assert plan.overheads.value == Decimal("12119.00")  # gross: no Vorsteuer to deduct


@pytest.mark.usefixtures("licensed")
def test_nonsense_is_refused_with_german_messages_and_nothing_saved(session: Session) -> None:
    with pytest.raises(ValidationError, match="Faktor"):
        service.save_overhead(session, label="Miete", amount=Decimal(1), factor=0)
    with pytest.raises(ValidationError, match="nicht negativ"):
        service.save_overhead(session, label="Miete", amount=Decimal(-1))
    with pytest.raises(ValidationError, match="unter 100 %"):
        service.save_basis(session, **{**BASIS, "tax_reserve_percent": Decimal(100)})
    with pytest.raises(ValidationError, match="0 abrechenbare Stunden"):
        service.save_basis(session, **{**BASIS, "billable_percent": Decimal(0)})
    with pytest.raises(ValidationError, match="nicht negativ"):
        service.save_offering(session, name="X", material=Decimal(-5), hours_delivery=Decimal(1))
    session.commit()
    for model in (OverheadPost, CalculationBasis, Offering):
        assert session.scalar(select(func.count()).select_from(model)) == 0


@pytest.mark.usefixtures("licensed")
def test_stale_versions_and_duplicate_names_are_refused(session: Session) -> None:
    post = service.save_overhead(session, label="Miete", amount=Decimal(500), factor=12)
    session.commit()
    with pytest.raises(ConflictError):
        service.save_overhead(
            session, label="Miete", amount=Decimal(600), post_id=post.id, version=post.version + 1
        )
    service.save_offering(session, name="Kurs", hours_delivery=Decimal(2))
    with pytest.raises(ValidationError, match="schon"):
        service.save_offering(session, name="Kurs ", hours_delivery=Decimal(3))


def test_services_refuse_without_a_licence(session: Session) -> None:
    """A locked add-on's services refuse whatever calls them; data stays untouched."""
    calls = [
        lambda: service.plan(session),
        lambda: service.get_basis(session),
        lambda: service.save_overhead(session, label="Miete", amount=Decimal(1)),
        lambda: service.save_basis(session, **BASIS),
        lambda: service.save_offering(session, name="Kurs", hours_delivery=Decimal(1)),
        lambda: service.overheads_from_bookings(session, 2025),
    ]
    for call in calls:
        with pytest.raises(licensing.ModuleLocked, match="Preiskalkulation"):
            call()


def test_expired_licence_locks_again(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    licensing.install(session, pricing_token(session, private, date(2020, 1, 1), date(2019, 1, 1)))
    with pytest.raises(licensing.ModuleLocked):
        service.plan(session)
