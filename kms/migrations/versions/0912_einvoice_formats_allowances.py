"""e-invoice format per customer and invoice, document level allowances and charges

Revision ID: 0912
Revises: 0601
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types


revision: str = '0912'
down_revision: str | Sequence[str] | None = '0601'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invoice_allowances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('charge', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('reason_code', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', kms.types.Money(), nullable=False),
    sa.Column('tax_category', sa.String(length=2), nullable=False),
    sa.Column('tax_rate', kms.types.Money(), nullable=False),
    sa.Column('amount', kms.types.Money(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_invoice_allowances_invoice_id_invoices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_allowances'))
    )
    with op.batch_alter_table('invoice_allowances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_allowances_invoice_id'), ['invoice_id'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('einvoice_format', sa.String(length=20), nullable=False, server_default='facturx'))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('einvoice_format', server_default=None)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('einvoice_format', sa.String(length=20), nullable=False, server_default='facturx'))
    # The old per-invoice "zusätzlich XRechnung" flag meant XRechnung in CII syntax.
    op.execute(sa.text("UPDATE invoices SET einvoice_format = 'xrechnung_cii' WHERE xrechnung"))
    # A customer who received XRechnung before keeps receiving it.
    op.execute(sa.text(
        "UPDATE contacts SET einvoice_format = 'xrechnung_cii' WHERE id IN "
        "(SELECT contact_id FROM invoices WHERE xrechnung)"
    ))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('einvoice_format', server_default=None)
        batch_op.drop_column('xrechnung')


def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('xrechnung', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text("UPDATE invoices SET xrechnung = (einvoice_format <> 'facturx')"))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('xrechnung', server_default=None)
        batch_op.drop_column('einvoice_format')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('einvoice_format')
    with op.batch_alter_table('invoice_allowances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_allowances_invoice_id'))
    op.drop_table('invoice_allowances')
