"""Wiederkehrende Rechnungen: recurring_templates, recurring_runs (UNIQUE per template and
period: each period is invoiced exactly once) and the run log recurring_log

Revision ID: 1316
Revises: 1315
Create Date: 2026-12-03 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1316"
down_revision: str | Sequence[str] | None = "1315"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "recurring_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("interval", sa.String(length=10), nullable=False),
        sa.Column("day_of_month", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("max_count", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("payment_term_days", sa.Integer(), nullable=False),
        sa.Column("intro_text", sa.Text(), nullable=False),
        sa.Column("closing_text", sa.Text(), nullable=False),
        sa.Column("sepa_mandate_id", sa.Integer(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("resumed_on", sa.Date(), nullable=True),
        _stamp("archived_at", nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_recurring_templates_contact_id_contacts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sepa_mandate_id"],
            ["sepa_mandates.id"],
            name=op.f("fk_recurring_templates_sepa_mandate_id_sepa_mandates"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_templates")),
    )
    for column in ("contact_id", "sepa_mandate_id", "archived_at"):
        op.create_index(op.f(f"ix_recurring_templates_{column}"), "recurring_templates", [column])
    op.create_table(
        "recurring_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        _stamp("created_at"),
        _stamp("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["recurring_templates.id"],
            name=op.f("fk_recurring_runs_template_id_recurring_templates"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_recurring_runs_invoice_id_invoices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_runs")),
        sa.UniqueConstraint(
            "template_id", "period_start", name=op.f("uq_recurring_runs_template_id")
        ),
    )
    for column in ("template_id", "invoice_id", "created_at"):
        op.create_index(op.f(f"ix_recurring_runs_{column}"), "recurring_runs", [column])
    op.create_table(
        "recurring_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["recurring_templates.id"],
            name=op.f("fk_recurring_log_template_id_recurring_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_recurring_log_invoice_id_invoices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_log")),
    )
    for column in ("template_id", "created_at"):
        op.create_index(op.f(f"ix_recurring_log_{column}"), "recurring_log", [column])


def downgrade() -> None:
    op.drop_table("recurring_log")
    op.drop_table("recurring_runs")
    op.drop_table("recurring_templates")
