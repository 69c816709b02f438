"""Company master data and the dated taxation regime."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import utcnow


class CompanyProfile(BusinessData, Base):
    """The seller: everything invoices and letters print about the business (one row)."""

    __tablename__ = "company_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200), default="")
    legal_form: Mapped[str] = mapped_column(String(60), default="")
    representative: Mapped[str] = mapped_column(String(200), default="")
    register_court: Mapped[str] = mapped_column(String(100), default="")
    register_number: Mapped[str] = mapped_column(String(40), default="")
    street: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(2), default="DE")
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    tax_number: Mapped[str] = mapped_column(String(30), default="")
    vat_id: Mapped[str] = mapped_column(String(20), default="")
    bank_name: Mapped[str] = mapped_column(String(100), default="")
    iban: Mapped[str] = mapped_column(String(34), default="")
    bic: Mapped[str] = mapped_column(String(11), default="")
    # Gläubiger-Identifikationsnummer (SEPA creditor id) for direct debits; "" = none.
    creditor_id: Mapped[str] = mapped_column(String(35), default="")
    payment_term_days: Mapped[int] = mapped_column(default=14)
    business_start: Mapped[date | None] = mapped_column(default=None)
    logo_file: Mapped[str] = mapped_column(String(200), default="")
    logo_mime: Mapped[str] = mapped_column(String(40), default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class TaxRegime(BusinessData, Base):
    """Besteuerung valid from a date: Regelbesteuerung or Kleinunternehmer (§19 UStG)."""

    __tablename__ = "tax_regimes"

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # "regel" | "klein"
    # Regelbesteuerung only: Ist-Versteuerung (§20 UStG) or Soll, and the filing period.
    cash_basis: Mapped[bool] = mapped_column(default=False)
    filing_period: Mapped[str] = mapped_column(String(10), default="quartal")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
