"""bank: statement imports, imported lines with the duplicate key, learned rules, CSV mappings

Revision ID: 1305
Revises: 1304
Create Date: 2026-12-03 05:30:00

A statement line is unique by (dedup_key, occurrence): identical payments on one day stay
apart by their occurrence number, and a re-imported line finds its key already taken.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types


revision: str = '1305'
down_revision: str | Sequence[str] | None = '1304'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('bank_csv_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mapping', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', kms.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_csv_mappings')),
    sa.UniqueConstraint('name', name=op.f('uq_bank_csv_mappings_name'))
    )
    op.create_table('bank_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('iban', sa.String(length=34), nullable=False),
    sa.Column('name_pattern', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('tax_key', sa.String(length=10), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('counterparty', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', kms.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['ledger_categories.id'], name=op.f('fk_bank_rules_category_id_ledger_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_bank_rules_contact_id_contacts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_rules'))
    )
    with op.batch_alter_table('bank_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_rules_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_rules_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_rules_iban'), ['iban'], unique=False)

    op.create_table('bank_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=40), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=True),
    sa.Column('period_to', sa.Date(), nullable=True),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('duplicate_count', sa.Integer(), nullable=False),
    sa.Column('booked_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', kms.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_bank_imports_account_id_ledger_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_bank_imports_document_id_documents'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_imports'))
    )
    with op.batch_alter_table('bank_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_imports_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_imports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_imports_document_id'), ['document_id'], unique=False)

    op.create_table('bank_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('amount', kms.types.Money(), nullable=False),
    sa.Column('fee', kms.types.Money(), nullable=False),
    sa.Column('counterparty_iban', sa.String(length=34), nullable=False),
    sa.Column('counterparty_name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('end_to_end_id', sa.String(length=100), nullable=False),
    sa.Column('mandate_reference', sa.String(length=100), nullable=False),
    sa.Column('dedup_key', sa.String(length=64), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('handling', sa.String(length=20), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('returns_line_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kms.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_bank_lines_account_id_ledger_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['booking_id'], ['ledger_bookings.id'], name=op.f('fk_bank_lines_booking_id_ledger_bookings'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['import_id'], ['bank_imports.id'], name=op.f('fk_bank_lines_import_id_bank_imports'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['payment_id'], ['invoice_payments.id'], name=op.f('fk_bank_lines_payment_id_invoice_payments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['returns_line_id'], ['bank_lines.id'], name=op.f('fk_bank_lines_returns_line_id_bank_lines'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_lines')),
    sa.UniqueConstraint('dedup_key', 'occurrence', name=op.f('uq_bank_lines_dedup_key')),
    sa.UniqueConstraint('returns_line_id', name=op.f('uq_bank_lines_returns_line_id'))
    )
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.create_index('ix_bank_lines_account_date', ['account_id', 'booking_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_counterparty_iban'), ['counterparty_iban'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_end_to_end_id'), ['end_to_end_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_lines_payment_id'), ['payment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bank_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_lines_payment_id'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_import_id'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_end_to_end_id'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_counterparty_iban'))
        batch_op.drop_index(batch_op.f('ix_bank_lines_booking_id'))
        batch_op.drop_index('ix_bank_lines_account_date')

    op.drop_table('bank_lines')
    with op.batch_alter_table('bank_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_imports_document_id'))
        batch_op.drop_index(batch_op.f('ix_bank_imports_created_at'))
        batch_op.drop_index(batch_op.f('ix_bank_imports_account_id'))

    op.drop_table('bank_imports')
    with op.batch_alter_table('bank_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_rules_iban'))
        batch_op.drop_index(batch_op.f('ix_bank_rules_contact_id'))
        batch_op.drop_index(batch_op.f('ix_bank_rules_category_id'))

    op.drop_table('bank_rules')
    op.drop_table('bank_csv_mappings')
