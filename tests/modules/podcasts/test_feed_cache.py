"""The feed cache in-process: one build per channel at a time, nothing kept for unknown slugs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from kms.modules.podcasts import routes
from kms.modules.podcasts.feed import FeedResult

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_concurrent_requests_share_one_build_and_expire_at_the_next_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[datetime] = []

    def build(slug: str, now: datetime) -> FeedResult:
        if slug != "beispielfunk":
            raise routes.NotPublished()
        builds.append(now)
        time.sleep(0.2)  # a slow build: the other requests arrive meanwhile
        return FeedResult(b"<rss/>", NOW - timedelta(days=1), NOW + timedelta(seconds=30))

    monkeypatch.setattr(routes, "_build", build)
    routes.invalidate()
    results: list[routes._Feed] = []
    threads = [
        threading.Thread(target=lambda: results.append(routes.cached_feed("beispielfunk", NOW)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and len({r.etag for r in results}) == 1
    assert results[0].expires == NOW + timedelta(seconds=30)  # the next scheduled episode
    routes.cached_feed("beispielfunk", NOW + timedelta(seconds=29))
    assert len(builds) == 1
    routes.cached_feed("beispielfunk", NOW + timedelta(seconds=30))
    assert len(builds) == 2
    for n in range(50):
        with pytest.raises(routes.NotPublished):
            routes.cached_feed(f"erfunden-{n}", NOW)
    assert set(routes._building) == {"beispielfunk"}
    routes.invalidate()
