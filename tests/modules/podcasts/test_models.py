"""The podcast tables: a channel with media, an episode and a platform entry round-trip, and
the cover reference survives the circular foreign key."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.podcasts.models import (
    PodcastChannel,
    PodcastEpisode,
    PodcastMedia,
    PodcastPlatform,
)


def test_channel_episode_media_platform_round_trip(session: Session) -> None:
    channel = PodcastChannel(slug="beispiel", title="Beispielfunk")
    session.add(channel)
    session.flush()
    cover = PodcastMedia(
        channel_id=channel.id,
        kind="cover",
        mime="image/png",
        ext="png",
        size=10,
        sha256="a" * 64,
        storage_name="a" * 64 + ".png",
    )
    session.add(cover)
    session.flush()
    channel.cover_media_id = cover.id
    session.add(PodcastEpisode(channel_id=channel.id, guid="g-1", title="Folge 1"))
    session.add(PodcastPlatform(channel_id=channel.id, platform="apple", date=date(2026, 12, 1)))
    session.commit()

    loaded = session.scalars(select(PodcastChannel)).one()
    assert loaded.cover_media_id == cover.id
    assert loaded.podcast_guid is None and loaded.persons == "[]"
    episode = session.scalars(select(PodcastEpisode)).one()
    assert (episode.state, episode.episode_type, episode.explicit) == ("draft", "full", False)
    assert session.scalars(select(PodcastPlatform)).one().date == date(2026, 12, 1)
