"""Preiskalkulation: Gemeinkosten posts, the Kalkulationsgrundlagen (one row), Angebote
(offerings) and links from invoice lines to offerings (issued invoices never change; the link
lives in its own table)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import Money, Quantity, utcnow

ZERO = Decimal("0.00")


class OverheadPost(BusinessData, Base):
    """A Gemeinkosten-Posten: Betrag × Faktor a year, or a purchase over its Nutzungsdauer."""

    __tablename__ = "pricing_overheads"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), default="")
    amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    factor: Mapped[int] = mapped_column(default=1)
    useful_life_years: Mapped[int | None] = mapped_column(default=None)
    vat_rate: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class CalculationBasis(BusinessData, Base):
    """The Kalkulationsgrundlagen: one row (id 1), optimistic versioning."""

    __tablename__ = "pricing_basis"

    id: Mapped[int] = mapped_column(primary_key=True)
    net_income: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    provisions: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    working_days: Mapped[int] = mapped_column(default=250)
    vacation_days: Mapped[int] = mapped_column(default=30)
    sick_days: Mapped[int] = mapped_column(default=10)
    holidays: Mapped[int] = mapped_column(default=10)
    hours_per_day: Mapped[Decimal] = mapped_column(Money(), default=Decimal("8.00"))
    billable_percent: Mapped[Decimal] = mapped_column(Money(), default=Decimal("60.00"))
    tax_reserve_percent: Mapped[Decimal] = mapped_column(Money(), default=Decimal("25.00"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Offering(BusinessData, Base):
    """An Angebot ("Workshop, 1 Tag"): costs and hours per unit, units a year, planned price."""

    __tablename__ = "pricing_offerings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    material: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    room: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    fees: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    cost_vat_rate: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    travel_km: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    km_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.30"))
    hours_delivery: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    hours_preparation: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    hours_follow_up: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    hours_travel: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    units_per_year: Mapped[int] = mapped_column(default=0)
    planned_price: Mapped[Decimal | None] = mapped_column(Quantity(), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class InvoiceLineLink(BusinessData, Base):
    """An invoice position counted for an offering (Nachkalkulation); the invoice is untouched."""

    __tablename__ = "pricing_invoice_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_line_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_lines.id", ondelete="CASCADE"), unique=True
    )
    offering_id: Mapped[int] = mapped_column(
        ForeignKey("pricing_offerings.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
