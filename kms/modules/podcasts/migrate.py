"""▶ Podcast umziehen: take over a show from another host by its RSS feed.

The feed is downloaded (http/https only, size cap, timeout) and parsed with lxml without
entity resolution, DTD loading or network access. The channel gets the feed's metadata and
keeps its identity: podcast:guid as the old feed states it, or, when it states none, the
uuid5 of the old feed URL (how Podcasting 2.0 derives it, and the guid must not change when
the show moves). Episodes keep their <guid> exactly (without one: the enclosure URL, which
is what podcast apps used as identity) and their pubDate; an episode the old feed listed
with a pubDate was public there, so it is imported as published (a pubDate in the future
stays scheduled); one without a pubDate becomes a draft.

Cover and audio are streamed from their URLs straight into the media store, which checks
them as it does uploads; an episode's duration is read from its file (as for uploads), not
taken from itunes:duration. What keeps one episode out (no enclosure, download or media check
failed, a guid that is too long or already taken) lands in the result's skip list with a
German reason; the other episodes are imported. What makes the whole import pointless (no
RSS, the feed unreachable, the show imported before, the Kürzel taken) raises before
anything is written. Everything is written in the caller's transaction: a rollback removes
the rows and the media files this import stored (kms.modules.podcasts.media).
"""

from __future__ import annotations

import html
import ipaddress
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from http.client import HTTPException
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.config import get_config
from kms.errors import KmsError, ValidationError, ValidationErrors
from kms.licensing import require
from kms.modules.podcasts import media as store
from kms.modules.podcasts import service, shownotes, urls
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode
from kms.permissions import Permission, require_permission

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
FEED_LIMIT = 20 << 20
# Seconds a connection may stay silent (connect, each read) …
TIMEOUT = 30.0
# … and seconds one download may take in all (an hour-long episode is ~60 MB).
TOTAL = {"feed": 120.0, "cover": 120.0, "image": 120.0, "audio": 1800.0}
GUID_LIMIT = 64  # PodcastEpisode.guid
USER_AGENT = "KMS-Podcast-Umzug/1.0"

Progress = Callable[[int, int, str], None]


class ImportFailed(KmsError):
    """The feed cannot be imported at all (German message); nothing was written."""


@dataclass
class ImportResult:
    """What the import did: the new channel, imported episodes, and what it left out."""

    channel_id: int
    slug: str
    title: str
    imported: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (episode title, reason)
    notes: list[str] = field(default_factory=list)  # channel-level hints (cover, fields)


# --- download ---------------------------------------------------------------------------


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s) (urllib would also follow ftp://)."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise ImportFailed(
                f"Die Adresse leitet auf „{newurl}“ weiter; erlaubt sind nur http und https."
            )
        _reachable_url(newurl, "der Weiterleitung")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


class _Deadline:
    """A response read in chunks that gives up once `total` seconds have passed in all
    (urlopen's timeout holds per socket operation only, so a slow drip would never end)."""

    def __init__(self, response: Any, total: float, what: str) -> None:
        self.response, self.what = response, what
        self.until = time.monotonic() + total

    def read(self, size: int = -1) -> bytes:
        if time.monotonic() > self.until:
            raise ImportFailed(f"Zeitüberschreitung beim Herunterladen {self.what}.")
        try:
            data: bytes = self.response.read(size)
        except (TimeoutError, OSError, HTTPException) as exc:
            raise ImportFailed(f"Der Download {self.what} brach ab.") from exc
        return data


def _check_url(url: str, what: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ImportFailed(f"Die Adresse {what} muss mit http:// oder https:// beginnen.")
    return url


def _reachable_url(url: str, what: str) -> str:
    """An http(s) address outside the server's own network: the only kind it fetches."""
    url = _check_url(url, what)
    parts = urlsplit(url)
    _refuse_private(parts.hostname or "", parts.port, what)
    return url


def _refuse_private(host: str, port: int | None, what: str) -> None:
    """The server fetches what a user names: never from its own machine or private network
    (a cloud's metadata service, an intranet admin page) unless the operator allows the host
    in KMS_IMPORT_PRIVATE_HOSTS. Checked for every address the name resolves to, and again
    for every redirect."""
    if host.lower() in get_config().import_private_hosts:
        return
    try:
        infos = socket.getaddrinfo(host, port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ImportFailed(
            f"Die Adresse {what} ist nicht erreichbar (den Servernamen gibt es nicht)."
        ) from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise ImportFailed(
                f"Die Adresse {what} zeigt ins lokale Netz ({address}). Von dort lädt KMS "
                "nichts, außer der Betreiber gibt den Host in KMS_IMPORT_PRIVATE_HOSTS frei."
            )


def _why(reason: object) -> str:
    """Why a connection failed, in German (the library's own text is English)."""
    if isinstance(reason, socket.gaierror):
        return " (den Servernamen gibt es nicht)"
    if isinstance(reason, ConnectionRefusedError):
        return " (der Server nimmt keine Verbindung an)"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return " (das TLS-Zertifikat des Servers ist ungültig)"
    if isinstance(reason, ssl.SSLError):
        return " (die verschlüsselte Verbindung kam nicht zustande)"
    return ""


def _open(url: str, what: str, limit: int, timeout: float) -> Any:
    """The response of a GET on `url` (German ImportFailed for every way it can fail)."""
    url = _reachable_url(url, what)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - http(s) only
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        meaning = {404: "nicht gefunden", 410: "gelöscht", 401: "Anmeldung nötig", 403: "verboten"}
        extra = f" ({meaning[exc.code]})" if exc.code in meaning else ""
        raise ImportFailed(
            f"Der Server antwortet beim Abruf {what} mit Fehler {exc.code}{extra}."
        ) from exc
    except TimeoutError as exc:
        raise ImportFailed(f"Zeitüberschreitung beim Abruf {what}.") from exc
    except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise ImportFailed(f"Zeitüberschreitung beim Abruf {what}.") from exc
        raise ImportFailed(f"Die Adresse {what} ist nicht erreichbar{_why(reason)}.") from exc
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        response.close()
        raise ImportFailed(f"Die Datei {what} ist zu groß.")
    return response


def _fetch(url: str, what: str, limit: int, timeout: float) -> bytes:
    """A small download (the feed) into memory, capped at `limit` bytes."""
    with _open(url, what, limit, timeout) as response:
        reader = _Deadline(response, TOTAL["feed"], what)
        data = reader.read(limit + 1)
        if len(data) > limit:
            raise ImportFailed(f"Die Datei {what} ist zu groß.")
        return data


def _store(session: Session, channel: PodcastChannel, kind: str, url: str, timeout: float) -> Any:
    """Stream `url` into the media store as `kind` (checked like an upload)."""
    what = "der Audiodatei" if kind == "audio" else "des Bildes"
    with _open(url, what, store.MAX_SIZE[kind], timeout) as response:
        name = urlsplit(url).path.rsplit("/", 1)[-1]
        source: BinaryIO = _Deadline(response, TOTAL[kind], what)  # type: ignore[assignment]
        return store.store(session, channel, kind, source, name)


# --- parsing ----------------------------------------------------------------------------


def parse(data: bytes) -> etree._Element:
    """The <channel> of an RSS feed. Entities are never resolved (an external one stays an
    unresolved reference), no DTD is loaded, nothing is fetched."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ImportFailed(
            "Unter dieser Adresse liegt kein RSS-Feed (die Antwort ist kein gültiges XML, "
            "vielleicht eine Webseite)."
        ) from exc
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise ImportFailed("Unter dieser Adresse liegt kein RSS-Feed (kein <rss>/<channel>).")
    return channel


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path)
    return "".join(found.itertext()).strip() if found is not None else ""


def _attr(element: etree._Element, path: str, name: str) -> str:
    found = element.find(path)
    return (found.get(name) or "").strip() if found is not None else ""


def _explicit(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "explicit")


def _number(value: str) -> int | None:
    return int(value) if value.strip().isdigit() and int(value) > 0 else None


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class _Notes(HTMLParser):
    """Show notes HTML → the Markdown subset of kms.modules.podcasts.shownotes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # [counter] per open list, 0 for bullets
        self.href: list[str | None] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in ("p", "div", "h1", "h2", "h3", "h4", "blockquote"):
            self.out.append("\n\n")
        elif tag == "br":
            self.out.append("\n")
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag in ("ul", "ol"):
            self.lists.append([1 if tag == "ol" else 0])
            self.out.append("\n\n")
        elif tag == "li":
            counter = self.lists[-1] if self.lists else [0]
            self.out.append(f"\n{counter[0]}. " if counter[0] else "\n- ")
            if counter[0]:
                counter[0] += 1
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            ok = urlsplit(href).scheme.lower() in ("http", "https") and " " not in href
            self.href.append(href if ok else None)
            if ok:
                self.out.append("[")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("p", "div", "h1", "h2", "h3", "h4", "blockquote"):
            self.out.append("\n\n")
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.out.append("\n\n")
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href:
                self.out.append(f"]({href})")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(re.sub(r"\s+", " ", data))


def notes_from_html(value: str) -> str:
    """Show notes of a feed (HTML or plain text) as the Markdown subset the feed renders."""
    if "<" not in value:
        return html.unescape(value).strip()
    parser = _Notes()
    parser.feed(value)
    parser.close()
    text = "".join(parser.out)
    lines = [line.strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- the import -------------------------------------------------------------------------


def slug_from(title: str) -> str:
    """A Kürzel from a title: lower case, umlauts spelled out, hyphens between words."""
    text = title.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:64].rstrip("-") or "podcast"


def _channel_values(channel: etree._Element, slug: str, notes: list[str]) -> dict[str, Any]:
    category = _attr(channel, f"{ITUNES}category", "text")
    subcategory = _attr(channel, f"{ITUNES}category/{ITUNES}category", "text")
    description = shownotes.plain(
        notes_from_html(_text(channel, "description") or _text(channel, f"{ITUNES}summary"))
    )
    if len(description) > 4000:
        notes.append("Die Beschreibung war länger als 4000 Zeichen und wurde gekürzt.")
        description = description[:4000]
    language = _text(channel, "language").replace("_", "-")
    if language and not service.LANGUAGE.match(language):
        language = language[:2].lower()
    show_type = _text(channel, f"{ITUNES}type").lower()
    locked = _text(channel, f"{PODCAST}locked").lower() == "yes"
    return {
        "slug": slug,
        "title": _text(channel, "title"),
        "description": description,
        "author": _text(channel, f"{ITUNES}author"),
        "owner_name": _text(channel, f"{ITUNES}owner/{ITUNES}name"),
        "owner_email": _text(channel, f"{ITUNES}owner/{ITUNES}email"),
        "language": language or "de",
        "category": category,
        "subcategory": subcategory,
        "explicit": _explicit(_text(channel, f"{ITUNES}explicit")),
        "show_type": show_type if show_type in ("episodic", "serial") else "episodic",
        "copyright": _text(channel, "copyright"),
        "website": _text(channel, "link"),
        "locked": locked,
        "funding_url": _attr(channel, f"{PODCAST}funding", "url"),
        "funding_text": _text(channel, f"{PODCAST}funding"),
    }


# Fields the feed may get wrong without stopping the import: dropped with a note.
_OPTIONAL = {
    "description": "",
    "owner_email": "",
    "language": "de",
    "category": "",
    "subcategory": "",
    "website": "",
    "funding_url": "",
}


def _create_channel(session: Session, values: dict[str, Any], notes: list[str]) -> PodcastChannel:
    """save_channel with the feed's values; a field it refuses is left empty (noted), except
    the title and the Kürzel, which stop the import."""
    try:
        return service.save_channel(session, **values)
    except ValidationErrors as exc:
        fatal = {k: m for k, m in exc.errors.items() if k not in _OPTIONAL}
        if fatal:
            raise ImportFailed(" ".join(fatal.values())) from exc
        for key, message in exc.errors.items():
            notes.append(f"Nicht übernommen: {message}")
            values[key] = _OPTIONAL[key]
            if key == "category":
                values["subcategory"] = ""
    except ValidationError as exc:
        hint = " Bitte ein anderes Kürzel angeben." if exc.field == "slug" else ""
        raise ImportFailed(exc.message + hint) from exc
    return service.save_channel(session, **values)


def _refuse_duplicates(session: Session, podcast_guid: str, guids: list[str]) -> None:
    """A show imported before (same podcast:guid or any episode guid) is refused."""
    existing = session.scalars(
        select(PodcastChannel).where(PodcastChannel.podcast_guid == podcast_guid)
    ).first()
    if existing is None and guids:
        taken = session.scalars(
            select(PodcastEpisode.channel_id).where(PodcastEpisode.guid.in_(guids))
        ).first()
        existing = session.get(PodcastChannel, taken) if taken is not None else None
    if existing is not None:
        raise ImportFailed(
            f"Dieser Podcast ist schon übernommen (Kanal „{existing.title}“, Kürzel "
            f"„{existing.slug}“). Ein zweiter Umzug würde Episoden doppelt anlegen."
        )


@dataclass
class _Item:
    title: str
    guid: str
    element: etree._Element


def _items(channel: etree._Element) -> list[_Item]:
    items = []
    for number, element in enumerate(channel.findall("item"), start=1):
        title = _text(element, "title") or _text(element, f"{ITUNES}title") or f"Episode {number}"
        guid = _text(element, "guid") or _attr(element, "enclosure", "url")
        items.append(_Item(title[:255], guid, element))
    return items


def import_feed(
    session: Session,
    feed_url: str,
    *,
    slug: str = "",
    xml: bytes | None = None,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
) -> ImportResult:
    """Import the show behind `feed_url` as a new channel (see the module docstring).
    `slug` is the new Kürzel (default: from the title). `xml` is the feed itself when it is
    at hand already (`feed_url` still names where it lived: the podcast:guid may derive from
    it). `progress(done, total, label)` is called before each step with the number of steps
    done. ImportFailed when nothing can be imported."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, service.MODULE, service.TITLE)
    feed_url = _check_url(feed_url, "des Feeds")
    report = progress or (lambda done, total, label: None)
    report(0, 1, "Feed wird geladen")
    rss = parse(xml if xml is not None else _fetch(feed_url, "des Feeds", FEED_LIMIT, timeout))
    notes: list[str] = []
    title = _text(rss, "title")
    if not title:
        raise ImportFailed(
            "Der Feed hat keinen Titel (<title>); so lässt er sich nicht übernehmen."
        )
    values = _channel_values(rss, (slug or "").strip().lower() or slug_from(title), notes)
    podcast_guid = _text(rss, f"{PODCAST}guid").lower()
    try:
        podcast_guid = str(uuid.UUID(podcast_guid)) if podcast_guid else ""
    except ValueError:
        notes.append("Die podcast:guid des Feeds ist ungültig; sie wurde neu berechnet.")
        podcast_guid = ""
    podcast_guid = podcast_guid or urls.podcast_guid(feed_url)
    items = _items(rss)
    _refuse_duplicates(session, podcast_guid, [i.guid for i in items if i.guid])
    if values["show_type"] == "serial" and any(
        _number(_text(i.element, f"{ITUNES}episode")) is None
        and (_text(i.element, f"{ITUNES}episodeType").lower() or "full") == "full"
        for i in items
    ):
        notes.append("Nicht jede Folge hat eine Nummer; der Kanal ist daher „Episodisch“.")
        values["show_type"] = "episodic"
    channel = _create_channel(session, values, notes)
    channel.podcast_guid = podcast_guid
    result = ImportResult(channel.id, channel.slug, channel.title, notes=notes)
    total = len(items) + 1
    cover_url = _attr(rss, f"{ITUNES}image", "href") or _text(rss, "image/url")
    report(0, total, "Cover")
    if cover_url:
        try:
            channel.cover_media_id = _store(session, channel, "cover", cover_url, timeout).id
        except KmsError as exc:
            notes.append(f"Cover nicht übernommen: {exc.message}")
    else:
        notes.append("Der Feed nennt kein Cover.")
    seen: set[str] = set()
    for done, item in enumerate(items, start=1):
        report(done, total, item.title)
        reason = _import_item(session, channel, item, seen, timeout)
        if reason:
            result.skipped.append((item.title, reason))
        else:
            result.imported.append(item.title)
    report(total, total, "Fertig")
    session.flush()
    return result


def _import_item(
    session: Session, channel: PodcastChannel, item: _Item, seen: set[str], timeout: float
) -> str | None:
    """Import one episode; the German reason when it is skipped, else None."""
    element = item.element
    if not item.guid:
        return "Die Episode hat weder eine GUID noch eine Audiodatei."
    if len(item.guid) > GUID_LIMIT:
        return f"Die GUID ist länger als {GUID_LIMIT} Zeichen und kann nicht unverändert bleiben."
    if item.guid in seen:
        return "Die GUID kommt im Feed mehrfach vor."
    seen.add(item.guid)
    audio_url = _attr(element, "enclosure", "url")
    if not audio_url:
        return "Die Episode hat keine Audiodatei (enclosure)."
    try:
        audio = _store(session, channel, "audio", audio_url, timeout)
    except KmsError as exc:
        return exc.message
    pub_at = _date(_text(element, "pubDate"))
    kind = _text(element, f"{ITUNES}episodeType").lower()
    notes = (
        _text(element, f"{CONTENT}encoded")
        or _text(element, "description")
        or _text(element, f"{ITUNES}summary")
    )
    episode = PodcastEpisode(
        channel_id=channel.id,
        guid=item.guid,
        title=service._text(item.title, 255),
        notes=service._text(notes_from_html(notes), 100_000, multiline=True),
        audio_media_id=audio.id,
        duration_seconds=audio.duration_seconds,
        season=_number(_text(element, f"{ITUNES}season")),
        number=_number(_text(element, f"{ITUNES}episode")),
        episode_type=kind if kind in ("full", "trailer", "bonus") else "full",
        explicit=_explicit(_text(element, f"{ITUNES}explicit")),
        state="published" if pub_at else "draft",
        pub_at=pub_at,
    )
    image_url = _attr(element, f"{ITUNES}image", "href")
    if image_url:
        try:
            episode.image_media_id = _store(session, channel, "image", image_url, timeout).id
        except KmsError:
            pass  # the show's cover stands in; the audio is what counts
    session.add(episode)
    session.flush()
    return None
