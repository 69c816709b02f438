"""Payment returns (Rücklastschrift): invoice_payments.returns_payment_id

Revision ID: 1308
Revises: 1307
Create Date: 2026-12-03 06:15:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = '1308'
down_revision: str | Sequence[str] | None = "1307"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@contextmanager
def _payments_table() -> Iterator[BatchOperations]:
    """Batch mode (SQLite copies the table); its reflection of the invoices table it refers
    to warns about the expression index ix_invoices_list_order, which it need not copy."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('invoice_payments', schema=None) as batch_op:
            yield batch_op


def upgrade() -> None:
    with _payments_table() as batch_op:
        batch_op.add_column(sa.Column('returns_payment_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_invoice_payments_returns_payment_id'), ['returns_payment_id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_invoice_payments_returns_payment_id_invoice_payments'),
            'invoice_payments', ['returns_payment_id'], ['id'], ondelete='RESTRICT'
        )


def downgrade() -> None:
    with _payments_table() as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_invoice_payments_returns_payment_id_invoice_payments'),
            type_='foreignkey',
        )
        batch_op.drop_constraint(
            batch_op.f('uq_invoice_payments_returns_payment_id'), type_='unique'
        )
        batch_op.drop_column('returns_payment_id')
