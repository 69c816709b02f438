"""Download statistics of the Podcasts add-on (IAB Podcast Measurement v2.x, privacy by design).

No raw IP address is ever stored: a download is recognised again within 24 hours only through
an HMAC of (IP network, user agent, episode) keyed with a random salt that rotates daily and
is deleted together with the keys once the window is over. What stays are counts per episode,
day and app.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kms.models import Base, BusinessData
from kms.types import utcnow


class StatSalt(Base):
    """The random HMAC key of one UTC day; deleted once no key hashed with it can still count."""

    __tablename__ = "podcast_stat_salts"

    day: Mapped[date] = mapped_column(primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DownloadKey(Base):
    """A counted download's HMAC for the 24-hour de-duplication; deleted after 24 hours."""

    __tablename__ = "podcast_download_keys"
    __table_args__ = (Index("ix_podcast_download_keys_digest", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


class DownloadDay(BusinessData, Base):
    """Counted downloads of one episode on one day (Europe/Berlin) through one app."""

    __tablename__ = "podcast_download_days"
    __table_args__ = (
        UniqueConstraint("episode_id", "day", "app", name="uq_podcast_download_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(index=True)
    day: Mapped[date] = mapped_column(index=True)
    # The OPAWG app name, a library or browser name, or "Unbekannt".
    app: Mapped[str] = mapped_column(String(100))
    downloads: Mapped[int] = mapped_column(default=0)
