"""▶ Feed prüfen: a channel and its feed against Apple Podcasts' published requirements and
the Podcasting 2.0 rules, every problem as a German sentence (empty list: all good)."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlsplit

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.licensing import require
from kms.modules.podcasts import feed, media, service, urls
from kms.modules.podcasts.models import PodcastChannel, PodcastMedia
from kms.permissions import Permission, require_permission
from kms.types import utcnow

AUDIO_TYPES = ("audio/mpeg", "audio/x-m4a")


def check_channel(session: Session, slug: str, now: datetime | None = None) -> list[str]:
    """Problems of the channel `slug` and its feed (German); [] when podcast apps accept it."""
    require_permission(Permission.PODCASTS_READ, session)
    require(session, service.MODULE, service.TITLE)
    now = now or utcnow()
    channel = session.scalars(select(PodcastChannel).where(PodcastChannel.slug == slug)).first()
    if channel is None:
        return [f"Einen Kanal mit dem Kürzel „{slug}“ gibt es nicht."]
    problems = _channel_problems(session, channel)
    if channel.published_at is None:
        return [*problems, "Der Kanal ist noch nicht veröffentlicht; es gibt noch keinen Feed."]
    result = feed.build_feed(session, slug, now)
    return problems + _feed_problems(session, channel, result.xml)


def _channel_problems(session: Session, channel: PodcastChannel) -> list[str]:
    problems = service.publish_problems(session, channel)
    base = urls.public_base_url(session)
    if base.startswith("http://"):
        problems.append("Die öffentliche Adresse sollte https:// verwenden (Apple verlangt HTTPS).")
    if len(channel.description) > 4000:
        problems.append("Die Beschreibung ist länger als 4000 Zeichen (Apples Grenze).")
    if channel.category and channel.category not in service.apple_categories():
        problems.append(f"„{channel.category}“ ist keine Kategorie von Apple Podcasts.")
    if channel.locked and not channel.owner_email:
        problems.append("podcast:locked braucht die E-Mail-Adresse des Inhabers.")
    if channel.published_at is not None and not channel.podcast_guid:
        problems.append("Dem veröffentlichten Kanal fehlt die podcast:guid.")
    if channel.cover_media_id:
        cover = session.get(PodcastMedia, channel.cover_media_id)
        if cover is None or not media.path_for(cover.storage_name).is_file():
            problems.append("Die Datei des Covers fehlt im Speicher; bitte neu hochladen.")
    for person in json.loads(channel.persons or "[]"):
        if not person.get("name"):
            problems.append("Eine mitwirkende Person hat keinen Namen (podcast:person).")
    return problems


def _feed_problems(session: Session, channel: PodcastChannel, xml: bytes) -> list[str]:
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        return [f"Der Feed ist kein gültiges XML: {exc}"]
    ns = {"itunes": feed.ITUNES_NS, "podcast": feed.PODCAST_NS}
    problems: list[str] = []
    ch = root.find("channel")
    if ch is None:
        return ["Der Feed hat kein <channel>-Element."]
    for path, what in (
        ("title", "Titel"),
        ("description", "Beschreibung"),
        ("language", "Sprache"),
        ("itunes:image", "Cover (itunes:image)"),
        ("itunes:category", "Kategorie (itunes:category)"),
        ("itunes:explicit", "Angabe „explicit“"),
    ):
        if ch.find(path, ns) is None:
            problems.append(f"Im Feed fehlt: {what}.")
    explicit = ch.findtext("itunes:explicit", namespaces=ns)
    if explicit not in ("true", "false"):
        problems.append("itunes:explicit muss „true“ oder „false“ sein.")
    items = ch.findall("item")
    if not items:
        problems.append(
            "Der Feed enthält noch keine sichtbare Episode; Apple nimmt nur Feeds mit "
            "mindestens einer Episode an."
        )
    guids: set[str] = set()
    for item in items:
        title = item.findtext("title") or "(ohne Titel)"
        where = f"Episode „{title}“"
        guid = item.findtext("guid")
        if not guid:
            problems.append(f"{where}: keine guid.")
        elif guid in guids:
            problems.append(f"{where}: die guid „{guid}“ kommt mehrfach vor.")
        guids.add(guid or "")
        enclosure = item.find("enclosure")
        if enclosure is None:
            problems.append(f"{where}: keine Audiodatei (enclosure).")
        else:
            if enclosure.get("type") not in AUDIO_TYPES:
                problems.append(
                    f"{where}: Audiotyp {enclosure.get('type')} wird nicht unterstützt."
                )
            if not (enclosure.get("length") or "0").isdigit() or enclosure.get("length") == "0":
                problems.append(f"{where}: die Dateigröße (length) fehlt.")
            problems += _file_problem(session, channel, enclosure.get("url", ""), where)
        if not item.findtext("pubDate"):
            problems.append(f"{where}: kein Veröffentlichungsdatum.")
        if not item.findtext("itunes:duration", namespaces=ns):
            problems.append(f"{where}: keine Dauer (itunes:duration).")
        if (
            channel.show_type == "serial"
            and item.findtext("itunes:episodeType", namespaces=ns) == "full"
            and not item.findtext("itunes:episode", namespaces=ns)
        ):
            problems.append(f"{where}: eine Serie braucht Episodennummern.")
        for tag in ("podcast:transcript", "podcast:chapters"):
            element = item.find(tag, ns)
            if element is not None:
                problems += _file_problem(session, channel, element.get("url", ""), where)
    return problems


def _file_problem(session: Session, channel: PodcastChannel, url: str, where: str) -> list[str]:
    """The file behind a public media URL of this channel must be in the store."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    found = media.find_public(session, channel.slug, name)
    if found is None:
        return [f"{where}: die Datei {name} fehlt im Speicher."]
    return []
