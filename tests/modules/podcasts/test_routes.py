"""The public podcast routes against the real server: headers, ranges, 304, what stays private."""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kms.db import session_scope
from kms.modules.podcasts.models import PodcastEpisode, PodcastMedia
from kms.modules.podcasts.stats_models import DownloadDay
from kms.types import utcnow
from tests.modules.podcasts.hosting_support import (
    OVERCAST,
    file_bytes,
    licence,
    media_path,
    publish,
    request,
    today,
    vendor_keys,
)
from tests.test_web import server

SLUG = "muster-podcast"


def licensed_server_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    private, public = vendor_keys(monkeypatch)
    licence(private, today() - timedelta(days=10), today() + timedelta(days=300))
    return {"KMS_LICENSE_PUBLIC_KEYS": public}


def test_media_headers_ranges_and_conditional_requests(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    show = publish()
    env = licensed_server_env(monkeypatch)
    audio = file_bytes(show.names["live"])
    path = media_path(SLUG, show.names["live"])
    with server(kms_env, **env, KMS_PODCAST_STATS_INTERVAL="3600") as url:
        status, head, body = request(url, path, "HEAD")
        assert (status, body) == (200, b"")
        assert head["content-type"] == "audio/x-m4a"  # the row's type, not a guess from .m4a
        assert head["content-length"] == str(len(audio))
        assert head["accept-ranges"] == "bytes"
        assert "public" in head["cache-control"] and "access-control-allow-origin" not in head
        etag, modified = head["etag"], head["last-modified"]
        assert path.endswith(".m4a")

        status, headers, body = request(url, path)
        assert status == 200 and body == audio and headers["etag"] == etag

        status, headers, body = request(url, path, headers={"Range": "bytes=1000-1999"})
        assert status == 206 and body == audio[1000:2000]
        assert headers["content-range"] == f"bytes 1000-1999/{len(audio)}"
        assert headers["content-length"] == "1000" and headers["content-type"] == "audio/x-m4a"
        status, headers, body = request(url, path, headers={"Range": "bytes=-500"})
        assert status == 206 and body == audio[-500:]
        status, headers, _ = request(url, path, headers={"Range": f"bytes={len(audio)}-"})
        assert status == 416 and headers["content-range"] == f"bytes */{len(audio)}"

        # If-Range: the current ETag or date keeps the range, anything else gets it all.
        for validator in (etag, modified):
            status, _, body = request(
                url, path, headers={"Range": "bytes=0-99", "If-Range": validator}
            )
            assert (status, body) == (206, audio[:100])
        for stale in ('"0000"', "Wed, 21 Oct 2015 07:28:00 GMT", f"W/{etag}"):
            status, _, body = request(url, path, headers={"Range": "bytes=0-99", "If-Range": stale})
            assert (status, len(body)) == (200, len(audio))

        # Conditional GET: ETag first, else the date.
        assert request(url, path, headers={"If-None-Match": etag})[0] == 304
        assert request(url, path, headers={"If-None-Match": f'"x", W/{etag}'})[0] == 304
        assert (
            request(url, path, headers={"If-None-Match": '"x"', "If-Modified-Since": modified})[0]
            == 200
        )
        status, headers, body = request(url, path, headers={"If-Modified-Since": modified})
        assert (status, body) == (304, b"") and headers["etag"] == etag
        earlier = format_datetime(utcnow() - timedelta(days=400), usegmt=True)
        assert request(url, path, headers={"If-Modified-Since": earlier})[0] == 200

        for role, mime, cors in (
            ("transcript", "text/vtt", True),
            ("chapters", "application/json+chapters", True),
            ("image", "image/jpeg", False),
            ("cover", "image/jpeg", False),
        ):
            status, headers, body = request(url, media_path(SLUG, show.names[role]))
            assert status == 200 and body == file_bytes(show.names[role]), role
            assert headers["content-type"] == mime, role
            assert (headers.get("access-control-allow-origin") == "*") is cors, role


def test_nothing_private_is_reachable(kms_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    show = publish()
    env = licensed_server_env(monkeypatch)
    live = show.names["live"]
    with server(kms_env, **env, KMS_PODCAST_STATS_INTERVAL="3600") as url:

        def status_of(path: str) -> int:
            return request(url, path)[0]

        assert status_of(media_path(SLUG, live)) == 200
        # Dot segments and NUL: Streamlit's path-security middleware refuses some (400) first.
        for path in (
            media_path(SLUG, "../../kms.sqlite3"),
            media_path(SLUG, "..%2F..%2Fkms.sqlite3"),
            media_path(SLUG, "%2e%2e%2f%2e%2e%2fkms.sqlite3"),
            media_path(SLUG, "..%5C..%5Ckms.sqlite3"),
            media_path(SLUG, live + "%00"),
            f"/pub/podcasts/..%2F{SLUG}/media/{live}",
        ):
            status, _headers, body = request(url, path)
            assert status in (400, 404) and b"SQLite" not in body, path
        for path in (
            media_path(SLUG, "tmp%2Fx.part"),
            media_path(SLUG, live.upper()),
            media_path(SLUG, live.replace(".m4a", ".mp3")),
            media_path(SLUG, "0" * 64 + ".m4a"),
            f"/pub/podcasts/{SLUG}/media/",
            f"/pub/podcasts/{SLUG}/media/{live}/x",
            media_path("unbekannt", live),
            media_path(SLUG, show.names["draft"]),
            media_path(SLUG, show.names["scheduled"]),
            media_path(SLUG, show.names["foreign"]),  # another channel's file under this slug
            media_path("anderer-podcast", live),
            media_path("entwurf", show.names["draft_channel"]),
        ):
            assert status_of(path) == 404, path
        assert status_of(media_path("anderer-podcast", show.names["foreign"])) == 200
        assert status_of(media_path(SLUG, show.names["gone"])) == 410
        assert request(url, media_path(SLUG, show.names["gone"]), "HEAD")[0] == 410
        # A scheduled episode's audio is public from its pub_at on, decided per request.
        with session_scope() as session:
            session.execute(
                update(PodcastEpisode)
                .where(PodcastEpisode.id == show.episodes["scheduled"])
                .values(pub_at=utcnow() - timedelta(seconds=1))
            )
        assert status_of(media_path(SLUG, show.names["scheduled"])) == 200


def test_downloads_are_counted_once_and_written_on_shutdown(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    show = publish()
    env = licensed_server_env(monkeypatch)
    path = media_path(SLUG, show.names["live"])
    agent = {"User-Agent": OVERCAST}
    with server(kms_env, **env, KMS_PODCAST_STATS_INTERVAL="3600") as url:
        etag = request(url, path, "HEAD", agent)[1]["etag"]
        assert request(url, path, headers=agent | {"Range": "bytes=0-1"})[0] == 206  # probe
        assert request(url, path, headers=agent | {"If-None-Match": etag})[0] == 304
        assert request(url, path, headers=agent | {"Range": "bytes=99999999-"})[0] == 416
        assert request(url, path, headers={"User-Agent": "Googlebot/2.1"})[0] == 200
        assert request(url, media_path(SLUG, show.names["transcript"]), headers=agent)[0] == 200
        with session_scope(write=False) as session:
            assert list(session.scalars(select(DownloadDay))) == []  # only buffered so far
        assert request(url, path, headers=agent | {"Range": "bytes=0-"})[0] == 206
        assert request(url, path, headers=agent)[0] == 200  # the same listener again
        other = agent | {"User-Agent": "Podcasts/1650.20 CFNetwork/1408.0.4 Darwin/22.5.0"}
        assert request(url, path, headers=other | {"Range": "bytes=1000-"})[0] == 206
    # The server stopped: the buffer was written on the way out.
    with session_scope(write=False) as session:
        rows = {(r.episode_id, r.app): r.downloads for r in session.scalars(select(DownloadDay))}
    assert rows == {
        (show.episodes["live"], "Overcast"): 1,
        (show.episodes["live"], "Apple Podcasts"): 1,
    }


def test_after_the_retention_of_an_expired_licence_everything_is_gone(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    show = publish()
    private, public = vendor_keys(monkeypatch)
    # Expired, data still kept: feeds and media stay online.
    licence(private, today() - timedelta(days=100), today() - timedelta(days=10))
    with server(kms_env, KMS_LICENSE_PUBLIC_KEYS=public) as url:
        assert request(url, media_path(SLUG, show.names["live"]))[0] == 200
    licence(private, today() - timedelta(days=400), today() - timedelta(days=300))
    with server(kms_env, KMS_LICENSE_PUBLIC_KEYS=public) as url:
        assert request(url, media_path(SLUG, show.names["live"]))[0] == 410
        assert request(url, f"/pub/podcasts/{SLUG}/feed.xml")[0] == 410


def test_feed_is_cached_until_its_next_scheduled_episode(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kms.modules.podcasts import service
    from tests.modules.podcasts import helpers

    env = licensed_server_env(monkeypatch)
    with session_scope() as session:
        cid = helpers.channel(session, slug="beispielfunk")
        service.publish_episode(session, helpers.episode(session, cid, title="Erste Folge"))
        service.publish_channel(session, cid)
        scheduled = helpers.episode(session, cid, title="Geplante Folge")
        helpers.channel(session, slug="noch-privat")
    feed = "/pub/podcasts/beispielfunk/feed.xml"
    with server(kms_env, **env, KMS_PODCAST_FEED_TTL="3600") as url:
        due = utcnow() + timedelta(seconds=4)  # once the server is up: its start takes a while
        with session_scope() as session:
            service.publish_episode(session, scheduled, pub_at=due)
        status, headers, body = request(url, feed)
        assert status == 200 and headers["content-type"] == "application/rss+xml; charset=utf-8"
        assert b"Erste Folge" in body and b"Geplante Folge" not in body
        etag, modified = headers["etag"], headers["last-modified"]
        assert "public" in headers["cache-control"]
        status, headers, head = request(url, feed, "HEAD")
        assert (status, head, headers["etag"]) == (200, b"", etag)
        assert request(url, feed, headers={"If-None-Match": etag})[:1] == (304,)
        assert request(url, feed, headers={"If-Modified-Since": modified})[0] == 304
        assert request(url, feed, headers={"If-None-Match": '"alt"'})[0] == 200
        # An edit shows at once: the cache compares one cheap fingerprint of the data.
        with session_scope() as session:
            service.save_channel(session, channel_id=cid, title="Beispielfunk neu")
        status, headers, body = request(url, feed, headers={"If-None-Match": etag})
        assert status == 200 and b"Beispielfunk neu" in body
        etag = headers["etag"]
        assert request(url, feed, headers={"If-None-Match": etag})[0] == 304
        assert request(url, "/pub/podcasts/noch-privat/feed.xml")[0] == 404
        assert request(url, "/pub/podcasts/gibt-es-nicht/feed.xml")[0] == 404
        # Wait for the scheduled time itself (a known instant, not a guess at the server's pace).
        time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.05)
        status, headers, body = request(url, feed, headers={"If-None-Match": etag})
        assert status == 200 and b"Geplante Folge" in body
        assert headers["etag"] != etag


def test_during_maintenance_feed_and_media_stay_online_and_counts_wait(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kms import notices
    from kms.models import Notice

    show = publish()
    env = licensed_server_env(monkeypatch)
    with session_scope() as session:
        notices.add_notice(
            session,
            text="Wartung",
            maintenance=True,
            start=utcnow() - timedelta(minutes=5),
            end=utcnow() + timedelta(hours=1),
        )
    path = media_path(SLUG, show.names["live"])
    with server(kms_env, **env, KMS_PODCAST_STATS_INTERVAL="0.1") as url:
        assert request(url, path, headers={"User-Agent": OVERCAST})[0] == 200
        assert request(url, path, "HEAD")[0] == 200
        # Flushes run every 0.1 s; a second's worth of them writes nothing while read-only.
        time.sleep(1)
        with session_scope(write=False) as session:
            assert list(session.scalars(select(DownloadDay))) == []
        with session_scope() as session:  # the window ends: the buffered download is written
            session.execute(update(Notice).values(ends_at=utcnow()))
        deadline = time.monotonic() + 15
        while not downloads() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert downloads() == {(show.episodes["live"], "Overcast"): 1}


def downloads() -> dict[tuple[int, str], int]:
    with session_scope(write=False) as session:
        return {(r.episode_id, r.app): r.downloads for r in session.scalars(select(DownloadDay))}


def test_listeners_behind_a_trusted_proxy_count_by_their_forwarded_address(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    show = publish()
    env = licensed_server_env(monkeypatch)
    path = media_path(SLUG, show.names["live"])
    with server(kms_env, **env, KMS_TRUSTED_PROXIES="127.0.0.1") as url:
        for client in ("198.51.100.7", "198.51.100.8", "198.51.100.7"):
            forwarded = {"User-Agent": OVERCAST, "X-Forwarded-For": client}
            assert request(url, path, headers=forwarded)[0] == 200
    assert downloads() == {(show.episodes["live"], "Overcast"): 2}
    # Not trusted: a forged header changes nothing, everyone is the loopback address.
    with server(kms_env, **env) as url:
        for client in ("203.0.113.1", "203.0.113.2"):
            forwarded = {"User-Agent": "Podcasts/1650.20 CFNetwork", "X-Forwarded-For": client}
            assert request(url, path, headers=forwarded)[0] == 200
    assert downloads()[(show.episodes["live"], "Apple Podcasts")] == 1


def test_ranges_count_once_they_add_up_to_one_minute(
    kms_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IAB v2.x: 300,004 bytes of 300 seconds are 60,001 bytes a minute."""
    show = publish()
    with session_scope() as session:
        session.execute(
            update(PodcastMedia)
            .where(PodcastMedia.storage_name == show.names["live"])
            .values(duration_seconds=300)
        )
    env = licensed_server_env(monkeypatch)
    path = media_path(SLUG, show.names["live"])
    agent = {"User-Agent": OVERCAST}
    apple = {"User-Agent": "Podcasts/1650.20 CFNetwork/1408.0.4 Darwin/22.5.0"}
    with server(kms_env, **env, KMS_PODCAST_STATS_INTERVAL="3600") as url:
        for first, last in ((0, 19_999), (20_000, 39_999), (40_000, 60_000)):
            assert request(url, path, headers=agent | {"Range": f"bytes={first}-{last}"})[0] == 206
        assert request(url, path, headers=apple | {"Range": "bytes=0-59998"})[0] == 206
    with session_scope(write=False) as session:
        rows = {(r.episode_id, r.app): r.downloads for r in session.scalars(select(DownloadDay))}
    assert rows == {(show.episodes["live"], "Overcast"): 1}
