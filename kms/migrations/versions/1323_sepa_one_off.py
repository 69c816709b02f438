"""SEPA one-off mandates: sepa_mandates.one_off (a single debit, sequence type OOFF)

Revision ID: 1323
Revises: 1319
Create Date: 2026-12-03 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1323"
down_revision: str | Sequence[str] | None = "1319"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sepa_mandates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("one_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("sepa_mandates", schema=None) as batch_op:
        batch_op.alter_column("one_off", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("sepa_mandates", schema=None) as batch_op:
        batch_op.drop_column("one_off")
