"""jobs: owner process and token (stale detection, a row that survives a restore)

Revision ID: 1302
Revises: 1301
Create Date: 2026-12-02 21:00:00

`owner` names the process that runs a job (host, boot id, pid, a per-process token), so a
job whose process died shows as "abgebrochen" at once instead of after a heartbeat timeout.
`token` is the job's own random key: its handle finds the row by it, also after a restore
copied the row into the restored database.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '1302'
down_revision: str | Sequence[str] | None = '1301'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('owner', sa.String(length=200), nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('token', sa.String(length=32), nullable=False, server_default='')
        )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.alter_column('owner', server_default=None)
        batch_op.alter_column('token', server_default=None)
        batch_op.create_index(batch_op.f('ix_jobs_token'), ['token'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_token'))
        batch_op.drop_column('token')
        batch_op.drop_column('owner')
