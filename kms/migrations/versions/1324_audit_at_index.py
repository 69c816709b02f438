"""Index audit_events.at: the licence check reads max(at) on every page rerun

Without it, each licensed add-on's state scanned the whole audit log (about 68 ms per
call for 459,001 events on the large benchmark instance, twice per rerun).

Revision ID: 1324
Revises: 1323
Create Date: 2026-12-03 23:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "1324"
down_revision: str | Sequence[str] | None = "1323"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
