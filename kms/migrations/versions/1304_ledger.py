"""ledger: accounts, categories, bookings with lines, ledger settings, locked periods

Revision ID: 1304
Revises: 1303
Create Date: 2026-12-02 20:50:00

Income bookings for invoice payments that already exist are created by the ledger's
idempotent sync (kms.modules.ledger.sync.sync_payments), which runs at start-up and as an
automatism; the unique payment_id makes a second run a no-op.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = '1304'
down_revision: str | Sequence[str] | None = "1303"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.Money(), nullable=nullable)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('period_locks',
    sa.Column('month', sa.Date(), nullable=False),
    _ts('locked_at'),
    sa.Column('locked_by', sa.String(length=64), nullable=False),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_period_locks'))
    )
    op.create_table('ledger_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('bic', sa.String(length=11), nullable=False),
    _money('opening_balance'),
    sa.Column('opening_date', sa.Date(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    _ts('created_at'),
    _ts('updated_at'),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('name', name=op.f('uq_ledger_accounts_name'))
    )
    op.create_table('ledger_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('euer_field', sa.String(length=40), nullable=False),
    sa.Column('special', sa.String(length=20), nullable=False),
    sa.Column('default_tax_key', sa.String(length=10), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    _ts('created_at'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_categories')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_categories_key')),
    sa.UniqueConstraint('name', name=op.f('uq_ledger_categories_name'))
    )
    op.create_table('ledger_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('permanent_extension', sa.Boolean(), nullable=False),
    _money('special_prepayment'),
    _ts('created_at'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_settings')),
    sa.UniqueConstraint('valid_from', name=op.f('uq_ledger_settings_valid_from'))
    )
    op.create_table('ledger_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('transfer_account_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('counterparty', sa.String(length=200), nullable=False),
    sa.Column('receipt_number', sa.String(length=60), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('refund_invoice_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('tax_period', sa.String(length=7), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    _money('total'),
    sa.Column('search_key', sa.String(length=1000), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    _ts('created_at'),
    _ts('updated_at'),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_bookings_account_id_ledger_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['transfer_account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_bookings_transfer_account_id_ledger_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_ledger_bookings_contact_id_contacts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_ledger_bookings_document_id_documents'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payment_id'], ['invoice_payments.id'], name=op.f('fk_ledger_bookings_payment_id_invoice_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['refund_invoice_id'], ['invoices.id'], name=op.f('fk_ledger_bookings_refund_invoice_id_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_bookings.id'], name=op.f('fk_ledger_bookings_reverses_id_ledger_bookings'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_bookings')),
    sa.UniqueConstraint('payment_id', name=op.f('uq_ledger_bookings_payment_id')),
    sa.UniqueConstraint('refund_invoice_id', name=op.f('uq_ledger_bookings_refund_invoice_id'))
    )
    with op.batch_alter_table('ledger_bookings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_bookings_account_date', ['account_id', 'booking_date'], unique=False)
        batch_op.create_index('ix_ledger_bookings_kind_date', ['kind', 'booking_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_bookings_booking_date'), ['booking_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_bookings_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_bookings_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_bookings_search_key'), ['search_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_bookings_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_bookings_updated_at'), ['updated_at'], unique=False)

    op.create_table('ledger_booking_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    _money('amount'),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tax_key', sa.String(length=10), nullable=False),
    _money('net'),
    _money('tax'),
    _money('deductible'),
    _money('paid_tax'),
    _money('nondeductible'),
    sa.ForeignKeyConstraint(['booking_id'], ['ledger_bookings.id'], name=op.f('fk_ledger_booking_lines_booking_id_ledger_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['ledger_categories.id'], name=op.f('fk_ledger_booking_lines_category_id_ledger_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_booking_lines'))
    )
    with op.batch_alter_table('ledger_booking_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_booking_lines_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_booking_lines_category_id'), ['category_id'], unique=False)


    op.create_table('ledger_assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('acquired_on', sa.Date(), nullable=False),
    _money('cost'),
    sa.Column('useful_life_years', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('euer_field', sa.String(length=40), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('disposed_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    _ts('created_at'),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['ledger_bookings.id'], name=op.f('fk_ledger_assets_booking_id_ledger_bookings'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_assets'))
    )
    with op.batch_alter_table('ledger_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_assets_acquired_on'), ['acquired_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_assets_booking_id'), ['booking_id'], unique=False)


def downgrade() -> None:
    op.drop_table('ledger_assets')
    op.drop_table('ledger_booking_lines')
    op.drop_table('ledger_bookings')
    op.drop_table('ledger_settings')
    op.drop_table('ledger_categories')
    op.drop_table('ledger_accounts')
    op.drop_table('period_locks')
