"""The RSS feed of a published channel (Apple Podcasts and Podcasting 2.0), built with
feedgen and its podcast extension plus `PodcastExtension` for what feedgen lacks or gets
wrong: the podcast: namespace (guid, locked, funding, person, txt, transcript, chapters),
itunes:explicit as "true"/"false", itunes:image for any URL (feedgen drops ".jpeg"), and
itunes:new-feed-url written by us.

Only visible episodes appear: published and pub_at <= now. `next_change` is the next
scheduled pub_at, so a cache knows when the feed changes by itself. The output depends only
on the data and `now` (lastBuildDate is the last change, not the time of the request), so
equal data gives equal bytes (ETag).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.errors import NotFoundError
from kms.modules.podcasts import shownotes, urls
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode, PodcastMedia

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_NS = "https://podcastindex.org/namespace/1.0"
GENERATOR = "KMS Podcasts"


class FeedNotFound(NotFoundError):
    """No published channel under this slug (the route answers 404)."""


@dataclass(frozen=True)
class FeedResult:
    """The feed's bytes, when its content last changed, and when it will change by itself."""

    xml: bytes
    last_modified: datetime
    next_change: datetime | None


def _add(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = xml_elem(tag, parent)
    if text is not None:
        element.text = text
    for key, value in attrs.items():
        element.attrib[key] = value
    return element


class PodcastExtension(BaseExtension):  # type: ignore[misc]
    """Channel-level elements feedgen lacks or gets wrong (see the module docstring)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed[0]
        data = self.data
        _add(channel, f"{{{ITUNES_NS}}}explicit", "true" if data.get("explicit") else "false")
        if data.get("image"):
            _add(channel, f"{{{ITUNES_NS}}}image", href=data["image"])
        if data.get("new_feed_url"):
            _add(channel, f"{{{ITUNES_NS}}}new-feed-url", data["new_feed_url"])
        if data.get("guid"):
            _add(channel, f"{{{PODCAST_NS}}}guid", data["guid"])
        locked = {"owner": data["owner_email"]} if data.get("owner_email") else {}
        _add(channel, f"{{{PODCAST_NS}}}locked", "yes" if data.get("locked") else "no", **locked)
        if data.get("funding_url"):
            _add(
                channel,
                f"{{{PODCAST_NS}}}funding",
                data.get("funding_text") or "Unterstützen",
                url=data["funding_url"],
            )
        for person in data.get("persons", []):
            attrs = {k: person[k] for k in ("role", "href", "img") if person.get(k)}
            _add(channel, f"{{{PODCAST_NS}}}person", person["name"], **attrs)
        if data.get("apple_verify"):
            _add(
                channel, f"{{{PODCAST_NS}}}txt", data["apple_verify"], purpose="applepodcastsverify"
            )
        return rss_feed


class PodcastEntryExtension(BaseEntryExtension):  # type: ignore[misc]
    """Item-level elements: explicit, image, transcript, chapters."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def extend_rss(self, entry: Any) -> Any:
        data = self.data
        _add(entry, f"{{{ITUNES_NS}}}explicit", "true" if data.get("explicit") else "false")
        if data.get("image"):
            _add(entry, f"{{{ITUNES_NS}}}image", href=data["image"])
        if data.get("transcript"):
            url, mime = data["transcript"]
            _add(entry, f"{{{PODCAST_NS}}}transcript", url=url, type=mime, language=data["lang"])
        if data.get("chapters"):
            url, mime = data["chapters"]
            _add(entry, f"{{{PODCAST_NS}}}chapters", url=url, type=mime)
        return entry


def published_channel(session: Session, slug: str) -> PodcastChannel:
    """The channel under `slug` if it is published (FeedNotFound otherwise)."""
    channel = session.scalars(select(PodcastChannel).where(PodcastChannel.slug == slug)).first()
    if channel is None or channel.published_at is None:
        raise FeedNotFound("Diesen Podcast gibt es nicht.")
    return channel


def visible_episodes(session: Session, channel_id: int, now: datetime) -> list[PodcastEpisode]:
    """Published episodes whose time has come, newest first."""
    return list(
        session.scalars(
            select(PodcastEpisode)
            .where(
                PodcastEpisode.channel_id == channel_id,
                PodcastEpisode.state == "published",
                PodcastEpisode.pub_at <= now,
                PodcastEpisode.audio_media_id.is_not(None),
            )
            .order_by(PodcastEpisode.pub_at.desc(), PodcastEpisode.id.desc())
        )
    )


def next_change(session: Session, channel_id: int, now: datetime) -> datetime | None:
    """The next scheduled pub_at after `now` (when the feed changes without an edit)."""
    result: datetime | None = session.scalar(
        select(func.min(PodcastEpisode.pub_at)).where(
            PodcastEpisode.channel_id == channel_id,
            PodcastEpisode.state == "published",
            PodcastEpisode.pub_at > now,
        )
    )
    if result is not None and result.tzinfo is None:  # SQLite's MIN() skips the type
        result = result.replace(tzinfo=UTC)
    return result


def _last_modified(
    session: Session, channel: PodcastChannel, episodes: list[PodcastEpisode]
) -> datetime:
    """The latest edit of the channel or any of its episodes, or the latest visible pub_at."""
    edited = session.scalar(
        select(func.max(PodcastEpisode.updated_at)).where(PodcastEpisode.channel_id == channel.id)
    )
    stamps = [channel.updated_at, *(e.pub_at for e in episodes if e.pub_at)]
    if edited is not None:
        stamps.append(edited if edited.tzinfo else edited.replace(tzinfo=UTC))
    return max(stamps).replace(microsecond=0)


def build_feed(session: Session, slug: str, now: datetime) -> FeedResult:
    """The feed of the published channel `slug` as seen at `now` (aware UTC)."""
    channel = published_channel(session, slug)
    episodes = visible_episodes(session, channel.id, now)
    media_ids = {channel.cover_media_id} | {
        mid
        for e in episodes
        for mid in (e.audio_media_id, e.image_media_id, e.transcript_media_id, e.chapters_media_id)
    }
    media = {
        m.id: m
        for m in session.scalars(
            select(PodcastMedia).where(PodcastMedia.id.in_(media_ids - {None}))
        )
    }

    # Read once: the setting is a query each time (its row is not kept in the session).
    base = urls.public_base_url(session)

    def url(media_id: int | None) -> str | None:
        found = media.get(media_id) if media_id else None
        return urls.media_url(session, slug, found.storage_name, base=base) if found else None

    last_modified = _last_modified(session, channel, episodes)
    feed_url = urls.feed_url(session, slug, base=base)
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("kmspodcast", PodcastExtension, PodcastEntryExtension)
    fg.title(channel.title)
    fg.link(href=channel.website or feed_url, rel="alternate")
    fg.link(href=feed_url, rel="self")
    fg.description(channel.description or channel.title)
    fg.language(channel.language)
    if channel.copyright:
        fg.copyright(channel.copyright)
    fg.generator(GENERATOR)
    fg.lastBuildDate(last_modified)
    if episodes:
        fg.pubDate(max(e.pub_at for e in episodes if e.pub_at))
    cover = url(channel.cover_media_id)
    if cover:
        fg.image(url=cover, title=channel.title, link=channel.website or feed_url)
    itunes = fg.podcast
    if channel.author:
        itunes.itunes_author(channel.author)
    if channel.owner_email:
        itunes.itunes_owner(name=channel.owner_name or channel.author, email=channel.owner_email)
    if channel.category:
        itunes.itunes_category(
            {"cat": channel.category, "sub": channel.subcategory}
            if channel.subcategory
            else {"cat": channel.category}
        )
    itunes.itunes_type(channel.show_type)
    fg.kmspodcast.data = {
        "explicit": channel.explicit,
        "image": cover,
        "new_feed_url": channel.new_feed_url,
        "guid": channel.podcast_guid,
        "locked": channel.locked,
        "owner_email": channel.owner_email,
        "funding_url": channel.funding_url,
        "funding_text": channel.funding_text,
        "persons": json.loads(channel.persons or "[]"),
        "apple_verify": channel.apple_verify,
    }
    for episode in episodes:
        audio = media[episode.audio_media_id] if episode.audio_media_id in media else None
        if audio is None:
            continue
        fe = fg.add_entry(order="append")
        fe.title(episode.title)
        fe.guid(episode.guid, permalink=False)
        notes = shownotes.render(episode.notes)
        if notes:
            fe.description(notes)
            fe.content(notes, type="CDATA")
        fe.enclosure(url(audio.id), str(audio.size), audio.mime)
        fe.pubDate(episode.pub_at)
        entry = fe.podcast
        if episode.duration_seconds:
            entry.itunes_duration(str(episode.duration_seconds))
        if episode.season:
            entry.itunes_season(episode.season)
        if episode.number:
            entry.itunes_episode(episode.number)
        entry.itunes_episode_type(episode.episode_type)
        transcript = media.get(episode.transcript_media_id or 0)
        chapters = media.get(episode.chapters_media_id or 0)
        fe.kmspodcast.data = {
            "explicit": episode.explicit,
            "image": url(episode.image_media_id),
            "transcript": (url(transcript.id), transcript.mime) if transcript else None,
            "chapters": (url(chapters.id), chapters.mime) if chapters else None,
            "lang": channel.language,
        }
    return FeedResult(
        xml=fg.rss_str(pretty=True),
        last_modified=last_modified,
        next_change=next_change(session, channel.id, now),
    )
