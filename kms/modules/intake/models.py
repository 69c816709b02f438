"""Rechnungseingang: one row per received invoice file, pointing at its archived original.

The original bytes live unchanged in Dokumente (type Buchungsbeleg); this row holds what
lists and duplicate checks need. The detail view reads the original again, so nothing of
the invoice is copied here that could drift from the legal original.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import Money, utcnow

NEW, BOOKED, DISCARDED = "neu", "gebucht", "verworfen"
STATUSES = {NEW: "neu", BOOKED: "gebucht", DISCARDED: "verworfen"}
VALID, INVALID, UNCHECKED = "gueltig", "fehlerhaft", "ungeprueft"
VALIDATION_LABELS = {VALID: "gültig", INVALID: "fehlerhaft", UNCHECKED: "nicht geprüft"}
SOURCES = {"upload": "Hochgeladen", "cli": "Kommandozeile", "imap": "E-Mail-Postfach"}


class ReceivedInvoice(BusinessData, Base):
    """A received invoice or receipt (E-Rechnung or sonstige Rechnung / Beleg)."""

    __tablename__ = "intake_invoices"
    __table_args__ = (Index("ix_intake_invoices_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), index=True
    )
    # SHA-256 of the received bytes: the same file twice is one record.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(10), default="upload")
    kind: Mapped[str] = mapped_column(String(12), default="sonstige")  # erechnung | sonstige
    container: Mapped[str] = mapped_column(String(6), default="")  # xml | pdf | image
    syntax: Mapped[str] = mapped_column(String(5), default="")  # CII | UBL
    profile: Mapped[str] = mapped_column(String(200), default="")  # BT-24 as received
    profile_label: Mapped[str] = mapped_column(String(60), default="")
    type_code: Mapped[str] = mapped_column(String(3), default="")
    seller_name: Mapped[str] = mapped_column(String(200), default="")
    seller_vat_id: Mapped[str] = mapped_column(String(40), default="")
    seller_iban: Mapped[str] = mapped_column(String(34), default="")
    invoice_number: Mapped[str] = mapped_column(String(100), default="")
    issue_date: Mapped[date | None] = mapped_column(default=None)
    due_date: Mapped[date | None] = mapped_column(default=None)
    currency: Mapped[str] = mapped_column(String(3), default="")
    net: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    tax: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    gross: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    due: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    validation: Mapped[str] = mapped_column(String(12), default=UNCHECKED)
    # [{"rule", "message", "layer", "location", "severity"}] as German text.
    findings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(10), default=NEW)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_bookings.id", ondelete="RESTRICT"), unique=True, default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), default=None, index=True
    )
    # Same seller + invoice number is one invoice: by USt-IdNr. and by folded name.
    dup_vat_key: Mapped[str | None] = mapped_column(String(150), unique=True, default=None)
    dup_name_key: Mapped[str | None] = mapped_column(String(310), unique=True, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    received_by: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def validation_label(self) -> str:
        return VALIDATION_LABELS.get(self.validation, self.validation)
