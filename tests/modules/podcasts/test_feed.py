"""The feed: parsed by feedparser and podcastparser, only visible episodes (controlled clock),
Apple's and Podcasting 2.0's elements, explicit as true/false, a .jpeg image kept, hostile
show notes rendered harmless, and stable bytes for equal data."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import feedparser
import podcastparser
import pytest
from lxml import etree
from sqlalchemy import event
from sqlalchemy.orm import Session

from kms import licensing
from kms.modules.podcasts import feed, service, shownotes, urls
from kms.modules.podcasts.models import PodcastMedia

from .helpers import BASE, channel, episode, image

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
NS = {"itunes": feed.ITUNES_NS, "podcast": feed.PODCAST_NS, "atom": "http://www.w3.org/2005/Atom"}


def _show(session: Session) -> tuple[int, list[int]]:
    cid = channel(
        session,
        explicit=True,
        locked=True,
        funding_url="https://example.org/unterstuetzen",
        funding_text="Unterstützen",
        apple_verify="abc123",
        persons=[{"name": "Erika Mustermann", "role": "host", "href": "https://example.org"}],
    )
    service.publish_channel(session, cid, now=NOW - timedelta(days=10))
    old = episode(session, cid, "Erste Folge", seconds=65, notes="Hallo **Welt**", number=1)
    service.publish_episode(session, old, pub_at=NOW - timedelta(days=7), now=NOW)
    new = episode(session, cid, "Zweite Folge", season=1, number=2, explicit=False)
    service.attach_episode_media(
        session,
        new,
        "transcript",
        io.BytesIO(b"WEBVTT\n\n00:00.000 --> 00:02.000\nHallo\n"),
        "t.vtt",
    )
    chapters = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Anfang"}]}
    service.attach_episode_media(
        session, new, "chapters", io.BytesIO(json.dumps(chapters).encode()), "k.json"
    )
    service.publish_episode(session, new, pub_at=NOW - timedelta(hours=1), now=NOW)
    planned = episode(session, cid, "Geplante Folge", number=3)
    service.publish_episode(session, planned, pub_at=NOW + timedelta(days=2), now=NOW)
    draft = episode(session, cid, "Entwurf", number=4)
    gone = episode(session, cid, "Zurückgezogen", number=5)
    service.publish_episode(session, gone, pub_at=NOW - timedelta(days=3), now=NOW)
    service.unpublish_episode(session, gone)
    return cid, [old, new, planned, draft, gone]


def test_feedparser_and_podcastparser_read_the_feed(
    session: Session, licensed: licensing.Licence
) -> None:
    _show(session)
    result = feed.build_feed(session, "beispielfunk", NOW)
    parsed = feedparser.parse(result.xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Beispielfunk"
    assert [e.title for e in parsed.entries] == ["Zweite Folge", "Erste Folge"]
    first = parsed.entries[1]
    assert first.enclosures[0].type == "audio/mpeg"
    assert first.enclosures[0].href.startswith(f"{BASE}/pub/podcasts/beispielfunk/media/")
    assert first.itunes_duration == "65"
    assert "<strong>Welt</strong>" in first.content[0].value

    pod = podcastparser.parse(urls.feed_url(session, "beispielfunk"), io.BytesIO(result.xml))
    assert pod["title"] == "Beispielfunk"
    assert pod["type"] == "episodic"
    assert pod["cover_url"].endswith(".png")
    assert [e["title"] for e in pod["episodes"]] == ["Zweite Folge", "Erste Folge"]
    assert pod["episodes"][1]["total_time"] == 65
    assert pod["episodes"][0]["number"] == 2
    assert pod["episodes"][1]["explicit"] is False  # podcastparser reads "false"


def test_only_visible_episodes_and_the_next_change(
    session: Session, licensed: licensing.Licence
) -> None:
    _show(session)
    before = feed.build_feed(session, "beispielfunk", NOW)
    assert before.next_change == NOW + timedelta(days=2)
    assert b"Geplante Folge" not in before.xml and b"Entwurf" not in before.xml
    assert "Zurückgezogen".encode() not in before.xml
    later = feed.build_feed(session, "beispielfunk", NOW + timedelta(days=2))
    assert b"Geplante Folge" in later.xml
    assert later.next_change is None
    assert later.last_modified >= before.last_modified
    # Equal data and time give equal bytes (a stable ETag).
    assert feed.build_feed(session, "beispielfunk", NOW).xml == before.xml


def test_apple_and_podcasting_2_0_elements(session: Session, licensed: licensing.Licence) -> None:
    cid, _ = _show(session)
    service.save_channel(session, channel_id=cid, new_feed_url="https://neu.example.org/feed.xml")
    root = etree.fromstring(feed.build_feed(session, "beispielfunk", NOW).xml)
    ch = root.find("channel")
    assert ch is not None

    def one(path: str) -> etree._Element:
        found = ch.find(path, NS)
        assert found is not None, path
        return found

    assert one("itunes:explicit").text == "true"
    assert [e.text for e in ch.findall("item/itunes:explicit", NS)] == ["false", "false"]
    assert one("atom:link[@rel='self']").get("href") == f"{BASE}/pub/podcasts/beispielfunk/feed.xml"
    assert one("itunes:new-feed-url").text == "https://neu.example.org/feed.xml"
    assert one("podcast:guid").text == urls.podcast_guid(
        f"{BASE}/pub/podcasts/beispielfunk/feed.xml"
    )
    assert one("podcast:locked").text == "yes"
    assert one("podcast:locked").get("owner") == "erika@example.org"
    assert one("podcast:funding").get("url") == "https://example.org/unterstuetzen"
    assert one("podcast:person").text == "Erika Mustermann"
    assert one("podcast:txt").get("purpose") == "applepodcastsverify"
    category = one("itunes:category")
    assert category.get("text") == "Business"
    assert category[0].get("text") == "Entrepreneurship"
    assert one("itunes:owner/itunes:email").text == "erika@example.org"
    assert one("itunes:type").text == "episodic"
    newest = ch.find("item", NS)
    assert newest is not None
    transcript = newest.find("podcast:transcript", NS)
    assert transcript is not None and transcript.get("type") == "text/vtt"
    chapters = newest.find("podcast:chapters", NS)
    assert chapters is not None and chapters.get("type") == "application/json+chapters"
    assert newest.findtext("itunes:season", namespaces=NS) == "1"
    assert newest.findtext("itunes:episodeType", namespaces=NS) == "full"


def test_a_jpeg_image_url_is_kept(session: Session, licensed: licensing.Licence) -> None:
    """feedgen drops itunes:image URLs ending in .jpeg; ours are written as they are."""
    cid, _ = _show(session)
    cover = session.get(PodcastMedia, service.get_channel(session, cid).cover_media_id)
    assert cover is not None
    cover.storage_name = cover.sha256 + ".jpeg"
    session.flush()
    xml = feed.build_feed(session, "beispielfunk", NOW).xml
    root = etree.fromstring(xml)
    image = root.find("channel/itunes:image", NS)
    assert image is not None and image.get("href", "").endswith(".jpeg")


def test_unknown_or_unpublished_channels_have_no_feed(
    session: Session, licensed: licensing.Licence
) -> None:
    channel(session, slug="still")
    for slug in ("still", "gibt-es-nicht"):
        with pytest.raises(feed.FeedNotFound):
            feed.build_feed(session, slug, NOW)


HOSTILE = """<script>alert(1)</script> <img src=x onerror=alert(2)>
[Klick](javascript:alert(3)) [Daten](data:text/html,boom) **fett** [ok](https://example.org/a?b=1&c=2)
[quote](https://example.org/"onmouseover="alert(4))

- <b>Liste</b>
- *kursiv*
"""


def test_hostile_show_notes_are_rendered_harmless(
    session: Session, licensed: licensing.Licence
) -> None:
    html = shownotes.render(HOSTILE)
    tree = etree.fromstring(f"<root>{html}</root>".encode())
    tags = {el.tag for el in tree.iter()} - {"root"}
    assert tags <= {"p", "br", "strong", "em", "a", "ul", "ol", "li"}
    hrefs = [a.get("href") for a in tree.iter("a")]
    assert hrefs == ["https://example.org/a?b=1&c=2"]
    assert all(not el.attrib or set(el.attrib) == {"href"} for el in tree.iter())
    assert "<script>alert(1)</script>" in tree.xpath("string()")  # shown as text
    # In the feed, the parser sees the same harmless markup.
    cid = channel(session)
    service.publish_channel(session, cid, now=NOW - timedelta(days=1))
    eid = episode(session, cid, notes=HOSTILE)
    service.publish_episode(session, eid, pub_at=NOW - timedelta(hours=1), now=NOW)
    parsed = feedparser.parse(feed.build_feed(session, "beispielfunk", NOW).xml)
    content = parsed.entries[0].content[0].value
    assert "<script" not in content and "<img" not in content and "<b>" not in content
    assert 'href="javascript' not in content and 'href="data' not in content
    assert "onmouseover=" not in content.replace("&quot;onmouseover=&quot;", "")


def test_the_feed_takes_the_same_few_statements_for_10_or_50_episodes(
    session: Session, licensed: licensing.Licence
) -> None:
    """No query per episode or per URL (1,000 episodes once took seconds through the base
    URL setting read for every enclosure)."""
    cid = channel(session)
    service.publish_channel(session, cid, now=NOW - timedelta(days=60))

    def add(count: int, start: int) -> None:
        for n in range(start, start + count):
            eid = episode(session, cid, f"Folge {n}", seconds=2, number=n)
            service.attach_episode_media(session, eid, "image", image(1400, "JPEG"), "bild.jpg")
            service.publish_episode(session, eid, pub_at=NOW - timedelta(hours=n), now=NOW)

    def statements() -> tuple[int, int]:
        session.commit()
        session.expire_all()
        seen: list[str] = []

        def before(*args: object) -> None:
            seen.append(str(args[2]))

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", before)
        try:
            xml = feed.build_feed(session, "beispielfunk", NOW).xml
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(seen), len(etree.fromstring(xml).findall("channel/item"))

    add(10, 1)
    few, items = statements()
    assert items == 10
    add(40, 11)
    many, items = statements()
    assert items == 50
    assert many == few <= 8
