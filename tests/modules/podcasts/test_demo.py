"""The Podcasts demo: two channels with episodes and real (silent) MP3s, loaded once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.demo import load_demo_data
from kms.modules.podcasts import media
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode, PodcastMedia


@pytest.mark.usefixtures("licensed")
def test_demo_loads_two_channels_once(sqlite_session: Session) -> None:
    session = sqlite_session
    load_demo_data(session)
    session.commit()
    load_demo_data(session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(PodcastChannel)) == 2
    assert session.scalar(select(func.count()).select_from(PodcastEpisode)) == 5
    durations = set(
        session.scalars(select(PodcastMedia.duration_seconds).where(PodcastMedia.kind == "audio"))
    )
    assert durations == {3, 4, 5, 6}
    # two covers and five tagged MP3s (each has its own title); the untagged uploads are gone
    assert len(media.files(session)) == 2 + 5


def test_no_demo_without_licence(sqlite_session: Session) -> None:
    load_demo_data(sqlite_session)
    assert sqlite_session.scalar(select(func.count()).select_from(PodcastChannel)) == 0
