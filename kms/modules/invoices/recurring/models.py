"""Recurring invoice templates, their runs (one per period, UNIQUE) and the run log.

A template keeps its positions in the shape `service.save_draft` takes (texts and decimal
strings, the tax as a TAX_OPTIONS key); every run hands them to `save_draft`, so checks,
line amounts and totals are the invoices module's own. The UNIQUE (template, period_start)
row of RecurringRun is inserted in the same transaction as the invoice: a second process
creating the same period hits the constraint, rolls back and skips ("exactly once").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import utcnow

INTERVALS = {"monthly": "monatlich", "quarterly": "vierteljährlich", "yearly": "jährlich"}
INTERVAL_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
MODE_SEND, MODE_ISSUE, MODE_DRAFT = "send", "issue", "draft"
MODES = {
    MODE_SEND: "ausstellen und per E-Mail senden",
    MODE_ISSUE: "nur ausstellen",
    MODE_DRAFT: "als Entwurf anlegen",
}
LOG_OK, LOG_ERROR = "ok", "fehler"


class RecurringTemplate(BusinessData, Base):
    """A Vorlage: who gets which positions how often, from when, until when."""

    __tablename__ = "recurring_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), index=True
    )
    interval: Mapped[str] = mapped_column(String(10), default="monthly")
    day_of_month: Mapped[int] = mapped_column(default=1)
    start_date: Mapped[date] = mapped_column()
    end_date: Mapped[date | None] = mapped_column(default=None)
    max_count: Mapped[int | None] = mapped_column(default=None)
    mode: Mapped[str] = mapped_column(String(10), default=MODE_ISSUE)
    active: Mapped[bool] = mapped_column(default=True)
    payment_term_days: Mapped[int] = mapped_column(default=14)
    intro_text: Mapped[str] = mapped_column(Text, default="")
    closing_text: Mapped[str] = mapped_column(Text, default="")
    sepa_mandate_id: Mapped[int | None] = mapped_column(
        ForeignKey("sepa_mandates.id", ondelete="RESTRICT"), default=None, index=True
    )
    # [{"description", "quantity", "unit_code", "unit_price", "tax", "discount_kind",
    #   "discount_value", "discount_reason"}] as checked by service._clean_line, decimals as text.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The day of the last resume: periods starting before it without an invoice fell into a
    # pause and are never invoiced (a paused subscription is not billed afterwards).
    resumed_on: Mapped[date | None] = mapped_column(default=None)
    # Set instead of deleting once the template has runs (their invoices point back to it).
    archived_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class RecurringRun(BusinessData, Base):
    """One period of a template that was turned into an invoice (or a draft)."""

    __tablename__ = "recurring_runs"
    __table_args__ = (UniqueConstraint("template_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("recurring_templates.id", ondelete="RESTRICT"), index=True
    )
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    # Issued invoices never vanish; deleting a draft made in "Entwurf" mode only clears the
    # link: the period stays done (the run row is what counts, not the invoice).
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class RecurringLog(BusinessData, Base):
    """The run log: what the automatism created, and what it could not (German message)."""

    __tablename__ = "recurring_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("recurring_templates.id", ondelete="CASCADE"), default=None, index=True
    )
    period_start: Mapped[date | None] = mapped_column(default=None)
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(10), default=LOG_OK)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
