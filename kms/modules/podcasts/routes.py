"""Public hosting of the Podcasts add-on: the RSS feed and the media files of a channel.

    /pub/podcasts/<slug>/feed.xml                 application/rss+xml, ETag/Last-Modified/304
    /pub/podcasts/<slug>/media/<storage_name>     audio, images, transcripts, chapters

Both stay online while the licence is expired, until the add-on's data is purged (the
registry's guard answers 410 then). Nothing private is reachable: a name is only looked up in
the channel's own published media, so path tricks, unknown names, drafts, episodes not yet due
and other channels' files are all 404; a depublished episode's files are 410.

Starlette's FileResponse already does Range (206 + Content-Range), several ranges, 416 with
`Content-Range: bytes */size`, If-Range (strong ETag or the exact Last-Modified date; anything
else gets the full 200), HEAD with Content-Length and Accept-Ranges. What it lacks is added
here: the exact Content-Type of the media row, an ETag from the file's SHA-256, conditional
GET (If-None-Match / If-Modified-Since → 304), caching and CORS headers, and the download
statistics (kms.modules.podcasts.stats; the response only appends to a buffer).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from kms.db import session_scope
from kms.modules.podcasts import stats
from kms.modules.podcasts.media import find_public, id3_header_size
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode
from kms.modules.podcasts.service import is_visible
from kms.modules.podcasts.urls import FEED_ROUTE, MEDIA_ROUTE, PREFIX
from kms.types import utcnow

RSS = "application/rss+xml; charset=utf-8"
# Chapters and transcripts are fetched by web players on other origins.
CORS_KINDS = frozenset({"chapters", "transcript"})
# A feed is rebuilt at least this often (a changed public base URL shows within the TTL),
# always at its next scheduled episode, and at once after an edit (see `fingerprint`).
FEED_TTL = timedelta(seconds=int(os.environ.get("KMS_PODCAST_FEED_TTL", "60")))
MEDIA_MAX_AGE = 3600
NOT_FOUND = "Nicht gefunden."
GONE = "Diese Folge ist nicht mehr veröffentlicht."


class NotPublished(Exception):
    """The name is not (or no longer) public: 404, or 410 when `gone`."""

    def __init__(self, gone: bool = False) -> None:
        super().__init__(GONE if gone else NOT_FOUND)
        self.gone = gone


@dataclass(frozen=True)
class PublicFile:
    """A file the channel publishes now, with what its response needs."""

    path: Path
    mime: str
    size: int
    sha256: str
    kind: str
    modified: datetime
    # The episode whose audio this is (counted in the statistics); None for anything else.
    counts_for: int | None
    # The bytes a listener must be served before the download counts (stats.minimum_bytes).
    minimum: int | None = None


# --- conditional requests ----------------------------------------------------------------


def http_date(moment: datetime) -> str:
    """RFC 9110 IMF-fixdate."""
    return format_datetime(moment.replace(microsecond=0), usegmt=True)


def _etag_listed(header: str, etag: str) -> bool:
    """If-None-Match's weak comparison: `*` or any listed tag equal to ours, W/ ignored."""
    tags = [t.strip() for t in header.split(",")]
    ours = etag.removeprefix("W/")
    return "*" in tags or any(t.removeprefix("W/") == ours for t in tags)


def not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """RFC 9110 § 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_listed(if_none_match, etag)
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False
    if moment.tzinfo is None:
        return False
    return modified.replace(microsecond=0) <= moment


def _not_modified(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers=headers)


# --- the feed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Feed:
    body: bytes
    etag: str
    last_modified: datetime
    expires: datetime
    # What the data looked like when it was built (see `fingerprint`).
    stamp: tuple[Any, ...] = ()


_feeds: dict[str, _Feed] = {}
_building: dict[str, threading.Lock] = {}  # per published slug: one build at a time
_feeds_lock = threading.Lock()


def invalidate(slug: str | None = None) -> None:
    """Forget the cached feed of a channel (all with None): the next request rebuilds it."""
    with _feeds_lock:
        if slug is None:
            _feeds.clear()
        else:
            _feeds.pop(slug, None)


def fingerprint(slug: str) -> tuple[Any, ...]:
    """One cheap query that changes whenever an edit changes the feed: the channel's last
    update and publication, its episodes' newest update and their number. A cached feed
    whose stamp differs is rebuilt at once (an edit in KMS shows on the next request)."""
    count = (
        select(func.count(PodcastEpisode.id))
        .where(PodcastEpisode.channel_id == PodcastChannel.id)
        .scalar_subquery()
    )
    newest = (
        select(func.max(PodcastEpisode.updated_at))
        .where(PodcastEpisode.channel_id == PodcastChannel.id)
        .scalar_subquery()
    )
    with session_scope(write=False) as session:
        row = session.execute(
            select(
                PodcastChannel.id,
                PodcastChannel.updated_at,
                PodcastChannel.published_at,
                newest,
                count,
            ).where(PodcastChannel.slug == slug)
        ).first()
    return tuple(row) if row is not None else ()


def cached_feed(slug: str, now: datetime) -> _Feed:
    """The channel's feed from the cache, built when missing, edited (`fingerprint`) or
    expired (at the feed's next scheduled episode, at the latest after FEED_TTL). One build
    per channel at a time: the requests that arrive meanwhile wait for it instead of building
    the same feed again. Raises NotPublished."""
    stamp = fingerprint(slug)
    with _feeds_lock:
        entry = _feeds.get(slug)
        building = _building.setdefault(slug, threading.Lock())
    if entry is not None and now < entry.expires and entry.stamp == stamp:
        return entry
    with building:
        with _feeds_lock:
            entry = _feeds.get(slug)
        if entry is not None and now < entry.expires and entry.stamp == stamp:
            return entry
        try:
            result = _build(slug, now)
        except NotPublished:
            with _feeds_lock:  # unknown slugs leave nothing behind
                _building.pop(slug, None)
            raise
        body = result.xml.encode("utf-8") if isinstance(result.xml, str) else result.xml
        expires = now + FEED_TTL
        if result.next_change is not None:
            expires = min(expires, result.next_change)
        entry = _Feed(
            body=body,
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            last_modified=result.last_modified or now,
            expires=expires,
            stamp=stamp,
        )
        with _feeds_lock:
            _feeds[slug] = entry
        return entry


def _build(slug: str, now: datetime) -> Any:
    """kms.modules.podcasts.feed.build_feed (xml, last_modified, next_change) for the slug;
    an unknown or unpublished channel is NotPublished."""
    from kms.errors import KmsError
    from kms.modules.podcasts.feed import build_feed

    with session_scope(write=False) as session:
        try:
            result = build_feed(session, slug, now)
        except KmsError as exc:
            raise NotPublished() from exc
    if result is None:
        raise NotPublished()
    return result


def feed(request: Request) -> Response:
    """GET/HEAD the channel's RSS feed; 304 when the reader's copy is current."""
    now = utcnow()
    try:
        entry = cached_feed(request.path_params["slug"], now)
    except NotPublished as exc:
        return PlainTextResponse(str(exc), status_code=410 if exc.gone else 404)
    max_age = max(0, min(int(FEED_TTL.total_seconds()), int((entry.expires - now).total_seconds())))
    headers = {
        "ETag": entry.etag,
        "Last-Modified": http_date(entry.last_modified),
        "Cache-Control": f"public, max-age={max_age}",
    }
    if not_modified(request, entry.etag, entry.last_modified):
        return _not_modified(headers)
    return Response(entry.body, headers=headers | {"Content-Type": RSS})


# --- media -------------------------------------------------------------------------------


EPISODE_MEDIA = ("audio_media_id", "image_media_id", "transcript_media_id", "chapters_media_id")


def public_file(slug: str, name: str, now: datetime) -> PublicFile:
    """The file `name` of channel `slug` if it is public at `now`; raises NotPublished.

    Public: the cover of a published channel, and the files of its episodes that are
    published with pub_at <= now. A file only depublished episodes use is gone (410).
    media.find_public accepts content-addressed names only (no path, no dot-dot).
    """
    with session_scope(write=False) as session:
        found = find_public(session, slug, name)
        if found is None:
            raise NotPublished()
        media, path = found
        channel = session.get(PodcastChannel, media.channel_id)
        counts_for = None
        if channel is None or channel.cover_media_id != media.id:
            users = session.scalars(
                select(PodcastEpisode)
                .where(
                    PodcastEpisode.channel_id == media.channel_id,
                    or_(*(getattr(PodcastEpisode, c) == media.id for c in EPISODE_MEDIA)),
                )
                .order_by(PodcastEpisode.id)
            ).all()
            live = [e for e in users if is_visible(e, now)]
            if not live:
                raise NotPublished(gone=any(e.state == "unpublished" for e in users))
            counts_for = live[0].id if media.kind == "audio" else None
        return PublicFile(
            path=path,
            mime=media.mime,
            size=media.size,
            sha256=media.sha256,
            kind=media.kind,
            modified=media.created_at,
            counts_for=counts_for,
            minimum=(
                stats.minimum_bytes(media.size, media.duration_seconds, id3_header_size(path))
                if counts_for is not None
                else None
            ),
        )


class CountedFileResponse(FileResponse):
    """FileResponse that buffers the request for the statistics once the status is known."""

    def __init__(
        self,
        *args: object,
        episode_id: int | None,
        client: str,
        minimum: int | None = None,
        **kwargs: object,
    ):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.episode_id = episode_id
        self.client = client
        self.minimum = minimum

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.episode_id is None:
            await super().__call__(scope, receive, send)
            return
        episode_id = self.episode_id

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                request_headers = dict(scope["headers"])
                length = dict(message.get("headers", [])).get(b"content-length", b"")
                stats.record(
                    episode_id,
                    self.client,
                    request_headers.get(b"user-agent", b"").decode("latin-1"),
                    method=scope["method"],
                    status=message["status"],
                    range_header=(
                        request_headers[b"range"].decode("latin-1")
                        if b"range" in request_headers
                        else None
                    ),
                    served=int(length) if length.isdigit() else None,
                    minimum=self.minimum,
                )
            await send(message)

        await super().__call__(scope, receive, observed)


def media(request: Request) -> Response:
    """GET/HEAD a published file with Range support; 304 when the copy is current."""
    try:
        found = public_file(request.path_params["slug"], request.path_params["name"], utcnow())
    except NotPublished as exc:
        return PlainTextResponse(str(exc), status_code=410 if exc.gone else 404)
    etag = f'"{found.sha256[:32]}"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(found.modified),
        "Cache-Control": f"public, max-age={MEDIA_MAX_AGE}",
    }
    if found.kind in CORS_KINDS:
        headers["Access-Control-Allow-Origin"] = "*"
    if not_modified(request, etag, found.modified):
        return _not_modified(headers)
    # The exact type of the row (audio/x-m4a, not what mimetypes guesses from the name);
    # given as a header, Starlette adds no charset to it either.
    headers["Content-Type"] = found.mime
    return CountedFileResponse(
        found.path,
        headers=headers,
        stat_result=os.stat(found.path),
        episode_id=found.counts_for,
        minimum=found.minimum,
        client=request.client.host if request.client else "",
    )


def unknown(_request: Request) -> Response:
    """Anything else under /pub/podcasts/ is 404 (never Streamlit's page shell)."""
    return PlainTextResponse(NOT_FOUND, status_code=404)


def routes() -> list[BaseRoute]:
    """Registered through ModuleSpec.routes; public under /pub/podcasts/ (see the registry)."""
    return [
        Route(FEED_ROUTE, feed, methods=["GET", "HEAD"]),
        Route(MEDIA_ROUTE, media, methods=["GET", "HEAD"]),
        Route(PREFIX + "/{rest:path}", unknown, methods=["GET", "HEAD"]),
    ]
