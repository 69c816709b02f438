"""Podcasts: channels (shows), their episodes, the media files both use, and where a show is
listed (Anbieterplattformen). Download statistics belong to the public routes, not here."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import utcnow

# Codes stored in the database, with their German labels for the UI.
SHOW_TYPES = {"episodic": "Episodisch (neueste zuerst)", "serial": "Serie (in Reihenfolge)"}
EPISODE_TYPES = {"full": "Vollständige Folge", "trailer": "Trailer", "bonus": "Bonus"}
EPISODE_STATES = {"draft": "Entwurf", "published": "Veröffentlicht", "unpublished": "Depubliziert"}
MEDIA_KINDS = {
    "audio": "Audio",
    "cover": "Cover",
    "image": "Folgenbild",
    "transcript": "Transkript",
    "chapters": "Kapitelmarken",
}
PLATFORMS = {
    "apple": "Apple Podcasts",
    "spotify": "Spotify",
    "amazon": "Amazon Music / Audible",
    "deezer": "Deezer",
    "youtube": "YouTube Music",
    "podcastindex": "Podcast Index",
    "other": "Sonstige",
}
PLATFORM_STATES = {"submitted": "Eingereicht", "listed": "Gelistet", "rejected": "Abgelehnt"}


class PodcastChannel(BusinessData, Base):
    """A show: its feed metadata, cover, and the identity it keeps once published."""

    __tablename__ = "podcast_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(4000), default="")
    author: Mapped[str] = mapped_column(String(255), default="")
    owner_name: Mapped[str] = mapped_column(String(255), default="")
    owner_email: Mapped[str] = mapped_column(String(254), default="")
    language: Mapped[str] = mapped_column(String(16), default="de")
    category: Mapped[str] = mapped_column(String(100), default="")
    subcategory: Mapped[str] = mapped_column(String(100), default="")
    explicit: Mapped[bool] = mapped_column(default=False)
    show_type: Mapped[str] = mapped_column(String(16), default="episodic")
    copyright: Mapped[str] = mapped_column(String(255), default="")
    website: Mapped[str] = mapped_column(String(500), default="")
    cover_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("podcast_media.id", ondelete="SET NULL", use_alter=True), default=None
    )
    # uuid5 of the feed URL, set at the first publication and never recomputed (moving the
    # show keeps it; podcast:guid identifies the show across hosts).
    podcast_guid: Mapped[str | None] = mapped_column(String(36), default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the show moves to another host: itunes:new-feed-url.
    new_feed_url: Mapped[str | None] = mapped_column(String(500), default=None)
    locked: Mapped[bool] = mapped_column(default=False)
    funding_url: Mapped[str] = mapped_column(String(500), default="")
    funding_text: Mapped[str] = mapped_column(String(128), default="")
    # podcast:txt purpose="applepodcastsverify"
    apple_verify: Mapped[str] = mapped_column(String(128), default="")
    # JSON list of {"name", "role", "href", "img"} (podcast:person).
    persons: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class PodcastMedia(BusinessData, Base):
    """A stored file (audio, cover, transcript, chapters): content-addressed, so its public
    URL changes whenever its content does."""

    __tablename__ = "podcast_media"
    __table_args__ = (UniqueConstraint("channel_id", "storage_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("podcast_channels.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(64))
    ext: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    # "<sha256>.<ext>": safe, never the uploader's file name.
    storage_name: Mapped[str] = mapped_column(String(80), index=True)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    # Audio only: seconds read from the file.
    duration_seconds: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PodcastEpisode(BusinessData, Base):
    """An episode; visible in the feed when published and its pub_at has come."""

    __tablename__ = "podcast_episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("podcast_channels.id", ondelete="RESTRICT"), index=True
    )
    # Assigned at creation, never changed (not even when the audio is replaced).
    guid: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    # Markdown subset; rendered safely for content:encoded.
    notes: Mapped[str] = mapped_column(Text, default="")
    audio_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("podcast_media.id", ondelete="RESTRICT"), default=None
    )
    duration_seconds: Mapped[int | None] = mapped_column(default=None)
    season: Mapped[int | None] = mapped_column(default=None)
    number: Mapped[int | None] = mapped_column(default=None)
    episode_type: Mapped[str] = mapped_column(String(16), default="full")
    explicit: Mapped[bool] = mapped_column(default=False)
    image_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("podcast_media.id", ondelete="SET NULL"), default=None
    )
    transcript_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("podcast_media.id", ondelete="SET NULL"), default=None
    )
    chapters_media_id: Mapped[int | None] = mapped_column(
        ForeignKey("podcast_media.id", ondelete="SET NULL"), default=None
    )
    # draft | published | unpublished (EPISODE_STATES)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    # UTC; the feed shows the episode once state is published and pub_at <= now.
    pub_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class PodcastPlatform(BusinessData, Base):
    """Where the show is submitted or listed (Apple, Spotify, …): an overview for the owner."""

    __tablename__ = "podcast_platforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("podcast_channels.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(500), default="")
    # submitted | listed | rejected (PLATFORM_STATES)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    date: Mapped[dt.date | None] = mapped_column(default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The download statistics' tables (kms.modules.podcasts.stats) register with the same import.
from kms.modules.podcasts import stats_models  # noqa: E402, F401
