"""The Podcast-Statistik page through Streamlit's AppTest."""

from __future__ import annotations

from datetime import UTC, date, datetime

from kms.db import session_scope
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode
from kms.modules.podcasts.stats_models import DownloadDay
from tests import ui_helpers as ui


def test_statistics_page_shows_chart_apps_and_the_first_days(licensed_app: None) -> None:
    with session_scope() as session:
        channel = PodcastChannel(slug="beispielfunk", title="Beispielfunk")
        session.add(channel)
        session.flush()
        episode = PodcastEpisode(
            channel_id=channel.id,
            guid="g1",
            title="Folge eins",
            state="published",
            pub_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
        )
        session.add(episode)
        session.flush()
        session.add(
            DownloadDay(episode_id=episode.id, day=date(2026, 11, 2), app="Overcast", downloads=12)
        )
    at = ui.open_page("podcast-statistik").run()
    assert not at.exception and not at.error
    assert ui.widget(at.selectbox, "Kanal").value == channel.id
    assert [s.value for s in at.subheader] == [
        "Downloads pro Tag",
        "Nach App",
        "Die ersten 7 und 30 Tage je Folge",
    ]
    apps, launch = at.dataframe
    assert apps.value.values.tolist() == [["Overcast", 12]]
    assert launch.value.values.tolist() == [["Folge eins", "02.11.2026", 12, 12, 12]]


def test_statistics_page_without_channels_says_so(licensed_app: None) -> None:
    at = ui.open_page("podcast-statistik").run()
    assert not at.exception
    assert "Noch kein Podcast-Kanal angelegt." in ui.values(at.info)
