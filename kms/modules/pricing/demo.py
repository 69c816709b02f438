"""Demo Preiskalkulation: the manual's worked example (€45,000 net income, 25 % tax reserve,
€12,000 overheads, 960 billable hours, €75 an hour) and three offers. Safe to run twice.
Loaded only while the add-on is usable (the demo installs a demo licence)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.pricing import service
from kms.modules.pricing.models import CalculationBasis, Offering, OverheadPost

D = Decimal
# Categories named like the ledger's, so the Plan/Ist comparison meets the demo's bookings.
POSTS = (
    ("Büromiete (Beispiel)", "Raumkosten (Miete)", D(600), 12, None, D(0)),
    ("Berufshaftpflicht (Beispiel)", "Versicherungen", D(300), 4, None, D(0)),
    ("Telefon und Internet (Beispiel)", "Telefon/Internet", D("59.50"), 12, None, D(19)),
    ("Laptop (Beispiel)", "Anlagevermögen (Anschaffung, über AfA)", D("1785.00"), 1, 3, D(19)),
    ("Software-Abos (Beispiel)", "Software", D("1547.00"), 1, None, D(19)),
)
OFFERS: tuple[dict[str, Any], ...] = (
    {
        "name": "Workshop, 1 Tag (Beispiel)",
        "material": D("59.50"), "cost_vat_rate": D(19), "travel_km": D(120),
        "km_rate": D("0.30"), "hours_delivery": D(8), "hours_preparation": D(4),
        "hours_follow_up": D(1), "hours_travel": D(2), "units_per_year": 25,
        "planned_price": D(1250),
    },
    {
        "name": "Einzelcoaching, 90 Minuten (Beispiel)",
        "hours_delivery": D("1.5"), "hours_preparation": D("0.5"), "hours_follow_up": D("0.5"),
        "units_per_year": 120, "planned_price": D(180),
    },
    {
        "name": "Online-Kurs, 4 Abende (Beispiel)",
        "fees": D("23.80"), "cost_vat_rate": D(19), "hours_delivery": D(8),
        "hours_preparation": D(6), "hours_follow_up": D(2), "units_per_year": 6,
        "planned_price": D(199),
    },
)  # fmt: skip


def load(session: Session) -> str:
    if session.get(CalculationBasis, 1) is None:
        service.save_basis(
            session, net_income=D(45000), provisions=D(0), working_days=250, vacation_days=30,
            sick_days=10, holidays=10, hours_per_day=D(8), billable_percent=D(60),
            tax_reserve_percent=D(25),
        )  # fmt: skip
    labels = set(session.scalars(select(OverheadPost.label)))
    for label, category, amount, factor, life, vat in POSTS:
        if label not in labels:
            service.save_overhead(
                session, label=label, category=category, amount=amount, factor=factor,
                useful_life_years=life, vat_rate=vat,
            )  # fmt: skip
    names = set(session.scalars(select(Offering.name)))
    for offer in OFFERS:
        if offer["name"] not in names:
            service.save_offering(session, **offer)
    return "Preiskalkulation: Kalkulationsgrundlagen, 5 Gemeinkosten-Posten, 3 Angebote"
