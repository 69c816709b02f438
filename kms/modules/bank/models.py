"""Kontoauszüge: imports, imported lines (with the duplicate key), learned rules, CSV mappings.

A statement line is recorded once: its `dedup_key` (hash of own IBAN, booking date, amount,
counterparty IBAN and normalized purpose) together with its `occurrence` (1 for the first
such line in a file, 2 for the second identical one, ...) is unique, so two identical
payments on one day stay two and re-importing an overlapping statement adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import Money, utcnow

# How an imported line was handled.
PAYMENT, RETURN, BOOKING, TRANSIT, PRIVATE, SKIP, DUPLICATE = (
    "zahlung",
    "ruecklastschrift",
    "buchung",
    "geldtransit",
    "privat",
    "ueberspringen",
    "doppelt",
)
HANDLING_LABELS = {
    PAYMENT: "Zahlung zu Rechnung",
    RETURN: "Rücklastschrift",
    BOOKING: "Buchen als Kategorie",
    TRANSIT: "Geldtransit",
    PRIVATE: "Privat",
    SKIP: "Überspringen",
    DUPLICATE: "Bereits importiert",
}


class BankImport(BusinessData, Base):
    """One imported statement file."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), index=True
    )
    # The statement file in Dokumente (Buchungsbeleg).
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), default=None, index=True
    )
    filename: Mapped[str] = mapped_column(String(255), default="")
    format: Mapped[str] = mapped_column(String(40), default="")
    period_from: Mapped[date | None] = mapped_column(default=None)
    period_to: Mapped[date | None] = mapped_column(default=None)
    line_count: Mapped[int] = mapped_column(default=0)
    duplicate_count: Mapped[int] = mapped_column(default=0)
    booked_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BankLine(BusinessData, Base):
    """One recorded statement line and what it became (payment, booking or ignored)."""

    __tablename__ = "bank_lines"
    __table_args__ = (
        UniqueConstraint("dedup_key", "occurrence"),
        Index("ix_bank_lines_account_date", "account_id", "booking_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("bank_imports.id", ondelete="RESTRICT"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"))
    booking_date: Mapped[date] = mapped_column()
    amount: Mapped[Decimal] = mapped_column(Money())
    fee: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    counterparty_iban: Mapped[str] = mapped_column(String(34), default="", index=True)
    counterparty_name: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    end_to_end_id: Mapped[str] = mapped_column(String(100), default="", index=True)
    mandate_reference: Mapped[str] = mapped_column(String(100), default="")
    dedup_key: Mapped[str] = mapped_column(String(64))
    occurrence: Mapped[int] = mapped_column(default=1)
    handling: Mapped[str] = mapped_column(String(20))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_payments.id", ondelete="RESTRICT"), default=None, index=True
    )
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_bookings.id", ondelete="RESTRICT"), default=None, index=True
    )
    # A Rücklastschrift names the line whose payment it returned.
    returns_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("bank_lines.id", ondelete="RESTRICT"), default=None, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BankRule(BusinessData, Base):
    """A learned rule: counterparty IBAN (or a name part) → category, tax key, contact."""

    __tablename__ = "bank_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    iban: Mapped[str] = mapped_column(String(34), default="", index=True)
    name_pattern: Mapped[str] = mapped_column(String(200), default="")
    category_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_categories.id", ondelete="RESTRICT"), index=True
    )
    tax_key: Mapped[str] = mapped_column(String(10), default="")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), default=None, index=True
    )
    counterparty: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CsvMapping(BusinessData, Base):
    """A saved column mapping for the generic CSV profile (CsvMapping.to_json())."""

    __tablename__ = "bank_csv_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    mapping: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
