"""articles: Leistungen und Artikel (the price list of the invoices module)

Revision ID: 1313
Revises: 1312
Create Date: 2026-12-03 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1313"
down_revision: str | Sequence[str] | None = "1312"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit_code", sa.String(length=3), nullable=False),
        sa.Column("unit_price", kms.types.Quantity(), nullable=False),
        sa.Column("tax_category", sa.String(length=2), nullable=False),
        sa.Column("tax_rate", kms.types.Money(), nullable=False),
        # No foreign key: the Preiskalkulation add-on (pricing_offerings) is optional.
        sa.Column("offering_id", sa.Integer(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("search_key", sa.String(length=1000), nullable=False),
        sa.Column("created_at", kms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", kms.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("number", name=op.f("uq_articles_number")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_archived"), ["archived"], unique=False)
        batch_op.create_index(batch_op.f("ix_articles_offering_id"), ["offering_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_articles_search_key"), ["search_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_search_key"))
        batch_op.drop_index(batch_op.f("ix_articles_offering_id"))
        batch_op.drop_index(batch_op.f("ix_articles_archived"))
    op.drop_table("articles")
