"""Download statistics: what counts (IAB v2.x, one minute at least), de-duplication, bots,
privacy, maintenance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kms import notices
from kms.db import session_scope
from kms.modules.podcasts import stats
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode
from kms.modules.podcasts.stats_models import DownloadDay, DownloadKey, StatSalt

OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
APPLE = "Podcasts/1650.20 CFNetwork/1408.0.4 Darwin/22.5.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
LISTENER = "198.51.100.23"
START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def recorder(db_url: str) -> stats.Recorder:
    """A recorder without its thread: the test flushes (on SQLite and PostgreSQL)."""
    return stats.Recorder(0)


def hit(
    recorder: stats.Recorder,
    at: datetime,
    *,
    client: str = LISTENER,
    agent: str = OVERCAST,
    episode: int = 1,
) -> int:
    """One counted GET at `at`, flushed as the background would at that moment."""
    recorder.record(stats.Hit(episode, at, client, agent))
    return recorder.flush(at)


def totals() -> dict[tuple[int, str], int]:
    with session_scope(write=False) as session:
        rows = session.scalars(select(DownloadDay))
        result: dict[tuple[int, str], int] = {}
        for row in rows:
            result[(row.episode_id, row.app)] = (
                result.get((row.episode_id, row.app), 0) + row.downloads
            )
        return result


def test_only_answered_gets_count_never_head_probes_or_304() -> None:
    assert stats.countable("GET", 200, None)
    assert stats.countable("GET", 206, "bytes=1000-")
    assert stats.countable("GET", 206, "bytes=0-")
    assert not stats.countable("HEAD", 200, None)
    assert not stats.countable("GET", 304, None)
    assert not stats.countable("GET", 416, "bytes=999999999-")
    assert not stats.countable("GET", 404, None)
    assert not stats.countable("GET", 206, "bytes=0-1")
    assert not stats.countable("GET", 206, "bytes=0-0")
    assert not stats.countable("GET", 206, " BYTES = 0 - 1 ")
    assert not stats.record(1, LISTENER, OVERCAST, method="HEAD", status=200, range_header=None)
    assert not stats.record(
        1, LISTENER, OVERCAST, method="GET", status=206, range_header="bytes=0-1"
    )


def test_one_listener_counts_once_per_episode_within_24_hours(recorder: stats.Recorder) -> None:
    assert hit(recorder, START) == 1
    assert hit(recorder, START + timedelta(hours=1)) == 0
    # Over midnight UTC: the new day's salt, but yesterday's digest still recognises the listener.
    assert hit(recorder, START + timedelta(hours=23, minutes=59)) == 0
    assert hit(recorder, START + timedelta(hours=2), episode=2) == 1
    assert hit(recorder, START + timedelta(hours=2), agent=APPLE) == 1
    assert hit(recorder, START + timedelta(hours=2), client="198.51.100.24") == 1
    assert hit(recorder, START + timedelta(hours=24, minutes=1)) == 1
    assert totals() == {(1, "Overcast"): 3, (2, "Overcast"): 1, (1, "Apple Podcasts"): 1}


def test_duplicates_within_one_batch_count_once(recorder: stats.Recorder) -> None:
    for minutes in range(5):
        recorder.record(stats.Hit(7, START + timedelta(minutes=minutes), LISTENER, APPLE))
    assert recorder.flush(START + timedelta(minutes=5)) == 1
    assert totals() == {(7, "Apple Podcasts"): 1}


def test_bots_from_the_opawg_list_never_count(recorder: stats.Recorder) -> None:
    assert stats.classify(GOOGLEBOT) == ("bots", "Googlebot")
    assert stats.classify(OVERCAST) == ("apps", "Overcast")
    assert stats.classify("Erfunden/1.0") == ("", "Unbekannt")
    assert hit(recorder, START, agent=GOOGLEBOT) == 0
    assert hit(recorder, START, agent="curl/8.5.0") == 0
    assert hit(recorder, START, agent="Erfunden/1.0") == 1
    assert totals() == {(1, "Unbekannt"): 1}


def test_an_ipv6_listener_is_one_per_64_network(recorder: stats.Recorder) -> None:
    assert stats.network("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert stats.network("::ffff:198.51.100.23") == LISTENER
    assert hit(recorder, START, client="2001:db8:1:2::1") == 1
    assert hit(recorder, START + timedelta(hours=1), client="2001:db8:1:2:ffff:1:2:3") == 0
    assert hit(recorder, START + timedelta(hours=1), client="2001:db8:1:3::1") == 1


def test_salts_rotate_daily_and_go_with_the_keys_no_address_is_stored(
    recorder: stats.Recorder,
) -> None:
    hit(recorder, START, client="2001:db8:1:2::1")
    hit(recorder, START + timedelta(days=1), client="2001:db8:1:2::1")
    with session_scope(write=False) as session:
        salts = {row.day: row.salt for row in session.scalars(select(StatSalt))}
        assert set(salts) == {START.date(), START.date() + timedelta(days=1)}
        assert len(set(salts.values())) == 2 and all(len(s) == 32 for s in salts.values())
        # The first day's digest is gone with its window; the new one is under the new salt.
        assert len(list(session.scalars(select(DownloadKey)))) == 1
        dump = " ".join(
            str(value)
            for table in ("podcast_stat_salts", "podcast_download_keys", "podcast_download_days")
            for row in session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
            for value in row
        )
    assert "2001:db8" not in dump and "198.51" not in dump and "Overcast/3.0" not in dump
    # Two days on, nothing can be traced back any more: no salt of the past, no digest.
    recorder.flush(START + timedelta(days=3))
    with session_scope(write=False) as session:
        assert [row.day for row in session.scalars(select(StatSalt))] == []
        assert list(session.scalars(select(DownloadKey))) == []
    assert totals() == {(1, "Overcast"): 2}


def test_statistics_stay_buffered_during_maintenance(recorder: stats.Recorder) -> None:
    with session_scope() as session:
        notices.add_notice(
            session,
            text="Umzug des Servers",
            maintenance=True,
            start=START - timedelta(hours=1),
            end=START + timedelta(hours=1),
        )
    assert hit(recorder, START) == 0
    assert hit(recorder, START + timedelta(minutes=5), episode=2) == 0
    assert recorder.buffered() == 2 and totals() == {}
    assert recorder.flush(START + timedelta(hours=2)) == 2
    assert recorder.buffered() == 0
    assert totals() == {(1, "Overcast"): 1, (2, "Overcast"): 1}


def test_first_7_and_30_days_compare_episodes_of_different_ages(
    session: Session, licensed: object
) -> None:
    """Days count from each episode's own pub_at (Berlin): 0–6 and 0–29; totals by app."""
    channel = PodcastChannel(slug="beispielfunk", title="Beispielfunk", published_at=START)
    session.add(channel)
    session.flush()
    old = PodcastEpisode(
        channel_id=channel.id,
        guid="a",
        title="Alt",
        state="published",
        pub_at=datetime(2026, 10, 1, 22, 30, tzinfo=UTC),
    )  # 2 Oct in Berlin
    new = PodcastEpisode(
        channel_id=channel.id,
        guid="b",
        title="Neu",
        state="published",
        pub_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC),
    )
    draft = PodcastEpisode(channel_id=channel.id, guid="c", title="Entwurf")
    session.add_all([old, new, draft])
    session.flush()
    for episode, day, app, n in (
        (old, date(2026, 10, 2), "Overcast", 10),  # day 0
        (old, date(2026, 10, 8), "Apple Podcasts", 5),  # day 6
        (old, date(2026, 10, 9), "Overcast", 3),  # day 7
        (old, date(2026, 10, 31), "Overcast", 2),  # day 29
        (old, date(2026, 11, 1), "Overcast", 1),  # day 30
        (new, date(2026, 11, 20), "Apple Podcasts", 4),
        (new, date(2026, 11, 22), "Unbekannt", 1),
    ):
        session.add(DownloadDay(episode_id=episode.id, day=day, app=app, downloads=n))
    session.flush()
    table = stats.launch_comparison(session, channel.id)
    assert list(table.columns) == list(stats.COMPARISON_COLUMNS)
    assert table.values.tolist() == [
        ["Alt", date(2026, 10, 2), 15, 20, 21],
        ["Neu", date(2026, 11, 20), 5, 5, 5],
    ]
    apps = stats.downloads_by_app(session, channel.id)
    assert apps.values.tolist() == [["Overcast", 16], ["Apple Podcasts", 9], ["Unbekannt", 1]]
    days = stats.downloads_per_day(session, channel.id)
    assert list(days.columns) == ["Tag", "Folge", "App", "Downloads"]
    assert len(days) == 7 and int(days["Downloads"].sum()) == 26


# --- IAB v2.x minimum content: one minute of audio, ranges of one listener add up ----------

# A 10-minute file of 600,000 bytes behind a 4,000-byte ID3 tag: 59,600 bytes per minute.
SIZE, DURATION, HEADER = 604_000, 600, 4_000
MINUTE = stats.minimum_bytes(SIZE, DURATION, HEADER)


def ranged(
    recorder: stats.Recorder, at: datetime, served: int, *, minimum: int | None = MINUTE
) -> int:
    """One answered range of `served` bytes, flushed at once (each in its own batch)."""
    recorder.record(stats.Hit(3, at, LISTENER, OVERCAST, served=served, minimum=minimum))
    return recorder.flush(at)


def test_one_minute_is_the_file_rate_plus_the_header_or_the_whole_short_file() -> None:
    assert MINUTE == 4_000 + 60_000
    assert stats.minimum_bytes(480_000, 30) == 480_000  # 30 seconds: the whole file
    assert stats.minimum_bytes(1_000, 0) is None  # unknown duration: no minimum
    assert stats.minimum_bytes(1_000_001, 61) == 983_608  # rounded up, never below a minute


def test_small_ranges_of_one_listener_add_up_to_one_download(recorder: stats.Recorder) -> None:
    assert ranged(recorder, START, 30_000) == 0
    assert ranged(recorder, START + timedelta(minutes=1), 20_000) == 0
    assert recorder.partial_listeners() == 1
    assert totals() == {}
    assert ranged(recorder, START + timedelta(minutes=2), 15_000) == 1  # 65,000 ≥ 64,000
    assert recorder.partial_listeners() == 0
    # Counted once: more ranges and a full download within 24 hours change nothing.
    assert ranged(recorder, START + timedelta(minutes=3), 100_000) == 0
    assert ranged(recorder, START + timedelta(hours=5), SIZE, minimum=MINUTE) == 0
    assert totals() == {(3, "Overcast"): 1}


def test_ranges_of_one_batch_add_up_and_other_listeners_do_not_help(
    recorder: stats.Recorder,
) -> None:
    for n, client in enumerate((LISTENER, LISTENER, "198.51.100.99")):
        recorder.record(
            stats.Hit(3, START + timedelta(seconds=n), client, OVERCAST, 30_000, MINUTE)
        )
    assert recorder.flush(START + timedelta(minutes=1)) == 0  # 60,000 and 30,000 < 64,000
    recorder.record(stats.Hit(3, START + timedelta(minutes=2), LISTENER, OVERCAST, 4_000, MINUTE))
    assert recorder.flush(START + timedelta(minutes=2)) == 1
    assert totals() == {(3, "Overcast"): 1}


def test_less_than_a_minute_never_counts_and_the_sum_expires(recorder: stats.Recorder) -> None:
    assert ranged(recorder, START, 63_999) == 0
    # 24 hours later the old bytes no longer count towards the new window.
    assert ranged(recorder, START + timedelta(hours=24, minutes=1), 10_000) == 0
    assert totals() == {}
    recorder.flush(START + timedelta(hours=48, minutes=2))
    assert recorder.partial_listeners() == 0


def test_a_full_get_of_a_30_second_file_counts(recorder: stats.Recorder) -> None:
    whole = stats.minimum_bytes(480_000, 30)
    assert ranged(recorder, START, 480_000, minimum=whole) == 1
    assert ranged(recorder, START + timedelta(minutes=1), 480_000, minimum=whole) == 0
    assert totals() == {(3, "Overcast"): 1}


def test_the_route_passes_the_bytes_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[stats.Hit] = []
    monkeypatch.setattr(stats.RECORDER, "record", seen.append)
    assert stats.record(
        3, LISTENER, OVERCAST, method="GET", status=206, range_header="bytes=0-999",
        served=1_000, minimum=MINUTE, at=START,
    )  # fmt: skip
    assert seen == [stats.Hit(3, START, LISTENER, OVERCAST, 1_000, MINUTE)]
