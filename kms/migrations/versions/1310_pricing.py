"""pricing: Preiskalkulation (Gemeinkosten, Kalkulationsgrundlagen, Angebote, invoice links)

Revision ID: 1310
Revises: 1308
Create Date: 2026-12-03 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1310"
down_revision: str | Sequence[str] | None = "1308"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.Money(), nullable=nullable)


def _stamp(name: str) -> sa.Column:
    return sa.Column(name, kms.types.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "pricing_overheads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        _money("amount"),
        sa.Column("factor", sa.Integer(), nullable=False),
        sa.Column("useful_life_years", sa.Integer(), nullable=True),
        _money("vat_rate"),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricing_overheads")),
    )
    op.create_table(
        "pricing_basis",
        sa.Column("id", sa.Integer(), nullable=False),
        _money("net_income"),
        _money("provisions"),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("vacation_days", sa.Integer(), nullable=False),
        sa.Column("sick_days", sa.Integer(), nullable=False),
        sa.Column("holidays", sa.Integer(), nullable=False),
        _money("hours_per_day"),
        _money("billable_percent"),
        _money("tax_reserve_percent"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricing_basis")),
    )
    op.create_table(
        "pricing_offerings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        _money("material"),
        _money("room"),
        _money("fees"),
        _money("cost_vat_rate"),
        _money("travel_km"),
        _money("km_rate"),
        _money("hours_delivery"),
        _money("hours_preparation"),
        _money("hours_follow_up"),
        _money("hours_travel"),
        sa.Column("units_per_year", sa.Integer(), nullable=False),
        sa.Column("planned_price", kms.types.Quantity(), nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricing_offerings")),
        sa.UniqueConstraint("name", name=op.f("uq_pricing_offerings_name")),
    )
    op.create_table(
        "pricing_invoice_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_line_id", sa.Integer(), nullable=False),
        sa.Column("offering_id", sa.Integer(), nullable=False),
        _stamp("created_at"),
        sa.ForeignKeyConstraint(
            ["invoice_line_id"],
            ["invoice_lines.id"],
            name=op.f("fk_pricing_invoice_links_invoice_line_id_invoice_lines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offering_id"],
            ["pricing_offerings.id"],
            name=op.f("fk_pricing_invoice_links_offering_id_pricing_offerings"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricing_invoice_links")),
        sa.UniqueConstraint(
            "invoice_line_id", name=op.f("uq_pricing_invoice_links_invoice_line_id")
        ),
    )
    with op.batch_alter_table("pricing_invoice_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pricing_invoice_links_offering_id"), ["offering_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pricing_invoice_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pricing_invoice_links_offering_id"))
    op.drop_table("pricing_invoice_links")
    op.drop_table("pricing_offerings")
    op.drop_table("pricing_basis")
    op.drop_table("pricing_overheads")
