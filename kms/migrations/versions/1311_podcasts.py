"""podcasts: channels, episodes, media and Anbieterplattformen

Revision ID: 1311
Revises: 1310
Create Date: 2026-12-03 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kms.types

revision: str = "1311"
down_revision: str | Sequence[str] | None = "1310"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _stamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, kms.types.UTCDateTime(timezone=True), nullable=nullable)


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False)


def _media_fk(table: str, column: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["podcast_media.id"],
        name=op.f(f"fk_{table}_{column}_podcast_media"),
        ondelete=ondelete,
    )


def _channel_fk(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["channel_id"],
        ["podcast_channels.id"],
        name=op.f(f"fk_{table}_channel_id_podcast_channels"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "podcast_channels",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("slug", 64),
        _text("title", 255),
        _text("description", 4000),
        _text("author", 255),
        _text("owner_name", 255),
        _text("owner_email", 254),
        _text("language", 16),
        _text("category", 100),
        _text("subcategory", 100),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        _text("show_type", 16),
        _text("copyright", 255),
        _text("website", 500),
        sa.Column("cover_media_id", sa.Integer(), nullable=True),
        sa.Column("podcast_guid", sa.String(length=36), nullable=True),
        _stamp("published_at", nullable=True),
        sa.Column("new_feed_url", sa.String(length=500), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        _text("funding_url", 500),
        _text("funding_text", 128),
        _text("apple_verify", 128),
        sa.Column("persons", sa.Text(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_podcast_channels")),
        sa.UniqueConstraint("slug", name=op.f("uq_podcast_channels_slug")),
    )
    op.create_table(
        "podcast_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        _text("kind", 16),
        _text("mime", 64),
        _text("ext", 8),
        sa.Column("size", sa.Integer(), nullable=False),
        _text("sha256", 64),
        _text("storage_name", 80),
        _text("original_name", 255),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        _stamp("created_at"),
        _channel_fk("podcast_media", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_podcast_media")),
        sa.UniqueConstraint("channel_id", "storage_name", name=op.f("uq_podcast_media_channel_id")),
    )
    with op.batch_alter_table("podcast_media", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_podcast_media_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_podcast_media_storage_name"), ["storage_name"], unique=False
        )
    with op.batch_alter_table("podcast_channels", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_podcast_channels_cover_media_id_podcast_media"),
            "podcast_media",
            ["cover_media_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "podcast_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        _text("guid", 64),
        _text("title", 255),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("audio_media_id", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("season", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        _text("episode_type", 16),
        sa.Column("explicit", sa.Boolean(), nullable=False),
        sa.Column("image_media_id", sa.Integer(), nullable=True),
        sa.Column("transcript_media_id", sa.Integer(), nullable=True),
        sa.Column("chapters_media_id", sa.Integer(), nullable=True),
        _text("state", 16),
        _stamp("pub_at", nullable=True),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        _channel_fk("podcast_episodes", "RESTRICT"),
        _media_fk("podcast_episodes", "audio_media_id", "RESTRICT"),
        _media_fk("podcast_episodes", "image_media_id", "SET NULL"),
        _media_fk("podcast_episodes", "transcript_media_id", "SET NULL"),
        _media_fk("podcast_episodes", "chapters_media_id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_podcast_episodes")),
        sa.UniqueConstraint("guid", name=op.f("uq_podcast_episodes_guid")),
    )
    with op.batch_alter_table("podcast_episodes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_podcast_episodes_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_podcast_episodes_pub_at"), ["pub_at"], unique=False)
    op.create_table(
        "podcast_platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        _text("platform", 16),
        _text("url", 500),
        _text("status", 16),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        _stamp("created_at"),
        _stamp("updated_at"),
        _channel_fk("podcast_platforms", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_podcast_platforms")),
    )
    with op.batch_alter_table("podcast_platforms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_podcast_platforms_channel_id"), ["channel_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("podcast_platforms")
    op.drop_table("podcast_episodes")
    with op.batch_alter_table("podcast_channels", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_podcast_channels_cover_media_id_podcast_media"), type_="foreignkey"
        )
    op.drop_table("podcast_media")
    op.drop_table("podcast_channels")
