"""podcast_stats: download statistics of the Podcasts add-on (salts, 24-hour keys, daily counts)

Revision ID: 1312
Revises: 1311
Create Date: 2026-12-03 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1312"
down_revision: str | Sequence[str] | None = "1311"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "podcast_stat_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", kms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_podcast_stat_salts")),
    )
    op.create_table(
        "podcast_download_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("at", kms.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_podcast_download_keys")),
    )
    op.create_index("ix_podcast_download_keys_digest", "podcast_download_keys", ["digest"])
    op.create_index(op.f("ix_podcast_download_keys_at"), "podcast_download_keys", ["at"])
    op.create_table(
        "podcast_download_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("app", sa.String(length=100), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_podcast_download_days")),
        sa.UniqueConstraint("episode_id", "day", "app", name="uq_podcast_download_days"),
    )
    op.create_index(
        op.f("ix_podcast_download_days_episode_id"), "podcast_download_days", ["episode_id"]
    )
    op.create_index(op.f("ix_podcast_download_days_day"), "podcast_download_days", ["day"])


def downgrade() -> None:
    op.drop_table("podcast_download_days")
    op.drop_table("podcast_download_keys")
    op.drop_table("podcast_stat_salts")
