"""Payment returns (Rücklastschrift): invoice_payments.returns_payment_id

Revision ID: 1308
Revises: 1307
Create Date: 2026-12-03 06:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1308'
down_revision: str | Sequence[str] | None = "1307"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoice_payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returns_payment_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_invoice_payments_returns_payment_id'), ['returns_payment_id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_invoice_payments_returns_payment_id_invoice_payments'),
            'invoice_payments', ['returns_payment_id'], ['id'], ondelete='RESTRICT'
        )


def downgrade() -> None:
    with op.batch_alter_table('invoice_payments', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_invoice_payments_returns_payment_id_invoice_payments'),
            type_='foreignkey',
        )
        batch_op.drop_constraint(
            batch_op.f('uq_invoice_payments_returns_payment_id'), type_='unique'
        )
        batch_op.drop_column('returns_payment_id')
