"""DATEV master data: Berater-/Mandanten-Nr., SKR, WJ-Beginn; Geldkonten and Sachkonten

Revision ID: 1307
Revises: 1306
Create Date: 2026-12-03 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = '1307'
down_revision: str | Sequence[str] | None = "1306"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('datev_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('advisor_number', sa.Integer(), nullable=True),
    sa.Column('client_number', sa.Integer(), nullable=True),
    sa.Column('chart', sa.String(length=2), nullable=False),
    sa.Column('account_length', sa.Integer(), nullable=False),
    sa.Column('fiscal_start_month', sa.Integer(), nullable=False),
    sa.Column('fiscal_start_day', sa.Integer(), nullable=False),
    sa.Column('updated_at', kms.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datev_settings'))
    )
    op.create_table('datev_account_map',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('money_account', sa.String(length=9), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'],
                            name=op.f('fk_datev_account_map_account_id_ledger_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_datev_account_map'))
    )
    op.create_table('datev_category_map',
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('skr03', sa.String(length=9), nullable=False),
    sa.Column('skr04', sa.String(length=9), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['ledger_categories.id'],
                            name=op.f('fk_datev_category_map_category_id_ledger_categories'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('category_id', name=op.f('pk_datev_category_map'))
    )


def downgrade() -> None:
    op.drop_table('datev_category_map')
    op.drop_table('datev_account_map')
    op.drop_table('datev_settings')
