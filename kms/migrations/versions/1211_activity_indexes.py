"""indexes on created_at/updated_at for the backup freshness watch

Revision ID: 1211
Revises: 1113
Create Date: 2026-12-02 16:40:00

`business_days` asks "was anything saved on these days?" over every business table; on a
large instance each question was a full scan (SQLite also read through the PDFs stored
before `invoice_files.created_at`). An index per time stamp makes each one a range seek.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '1211'
down_revision: str | Sequence[str] | None = '1113'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ('contacts', 'created_at'),
    ('contacts', 'updated_at'),
    ('invoices', 'created_at'),
    ('invoices', 'updated_at'),
    ('invoice_files', 'created_at'),
    ('invoice_payments', 'created_at'),
    ('invoice_reminders', 'created_at'),
    ('documents', 'updated_at'),
    ('document_blobs', 'created_at'),
    ('letters', 'created_at'),
    ('letters', 'updated_at'),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(f'ix_{table}_{column}', table_name=table)
