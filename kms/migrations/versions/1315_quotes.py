"""Angebote an Kunden: quotes, their positions (the columns of invoice lines), and the
invoices made from them (quote_invoices)

Revision ID: 1315
Revises: 1314
Create Date: 2026-12-03 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1315"
down_revision: str | Sequence[str] | None = "1314"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("intro_text", sa.Text(), nullable=False),
        sa.Column("closing_text", sa.Text(), nullable=False),
        sa.Column("net_total", kms.types.Money(), nullable=False),
        sa.Column("tax_total", kms.types.Money(), nullable=False),
        sa.Column("gross_total", kms.types.Money(), nullable=False),
        sa.Column("quote_date", sa.Date(), nullable=True),
        _stamp("sent_at", nullable=True),
        sa.Column("sent_by", sa.String(length=64), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("rejected_on", sa.Date(), nullable=True),
        sa.Column("search_key", sa.String(length=1000), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_quotes_contact_id_contacts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("number", name=op.f("uq_quotes_number")),
    )
    for column in ("contact_id", "status", "valid_until", "search_key", "created_at"):
        op.create_index(op.f(f"ix_quotes_{column}"), "quotes", [column])
    op.create_table(
        "quote_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", kms.types.Quantity(), nullable=False),
        sa.Column("unit_code", sa.String(length=3), nullable=False),
        sa.Column("unit_price", kms.types.Quantity(), nullable=False),
        sa.Column("tax_category", sa.String(length=2), nullable=False),
        sa.Column("tax_rate", kms.types.Money(), nullable=False),
        sa.Column("discount_kind", sa.String(length=10), nullable=False),
        sa.Column("discount_value", kms.types.Money(), nullable=True),
        sa.Column("discount_reason", sa.String(length=200), nullable=False),
        sa.Column("net", kms.types.Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_quote_lines_quote_id_quotes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote_lines")),
    )
    op.create_index(op.f("ix_quote_lines_quote_id"), "quote_lines", ["quote_id"])
    op.create_table(
        "quote_invoices",
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("quote_id", sa.Integer(), nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_quote_invoices_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"],
            ["quotes.id"],
            name=op.f("fk_quote_invoices_quote_id_quotes"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_quote_invoices")),
    )
    op.create_index(op.f("ix_quote_invoices_quote_id"), "quote_invoices", ["quote_id"])


def downgrade() -> None:
    op.drop_table("quote_invoices")
    op.drop_table("quote_lines")
    op.drop_table("quotes")
