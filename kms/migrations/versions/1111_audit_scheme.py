"""audit chain scheme: 1 = plain SHA-256 (before), 2 = HMAC-SHA256 with the instance's key

Revision ID: 1111
Revises: 0912
Create Date: 2026-12-02 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1111"
down_revision: str | Sequence[str] | None = "0912"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing entries keep their plain hashes (scheme 1) and are verified as such; every
    # new entry is keyed (kms.audit.SCHEME_HMAC) and chains on from the old head.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scheme", sa.SmallInteger(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("scheme")
