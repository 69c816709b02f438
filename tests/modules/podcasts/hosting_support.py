"""A published podcast in the test's data dir, a licence for it, and raw HTTP requests."""

from __future__ import annotations

import hashlib
import http.client
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kms import licensing
from kms.config import get_config
from kms.db import ensure_migrated, session_scope
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode, PodcastMedia
from kms.types import utcnow

OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
EXT = {
    "audio/x-m4a": "m4a",
    "audio/mpeg": "mp3",
    "image/jpeg": "jpg",
    "text/vtt": "vtt",
    "application/json+chapters": "json",
}


@dataclass
class Show:
    """Storage names by role (see `publish`)."""

    names: dict[str, str] = field(default_factory=dict)
    episodes: dict[str, int] = field(default_factory=dict)


def licence(private: str, start: date, end: date) -> None:
    """Install a podcasts licence from `start` to `end` for this instance."""
    with session_scope() as session:
        token = licensing.issue(
            private,
            module="podcasts",
            licensee="Erika Mustermann",
            instance=licensing.instance_id(session),
            valid_from=start,
            valid_until=end,
        )
        licensing.install(session, token)


def vendor_keys(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A vendor key pair whose public half this process and the server (pass the env to it)
    trust."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    return private, public


def _media(session, channel: PodcastChannel, kind: str, mime: str, content: bytes) -> PodcastMedia:  # type: ignore[no-untyped-def]
    sha = hashlib.sha256(content).hexdigest()
    name = f"{sha}.{EXT[mime]}"
    folder = get_config().files_dir / "podcasts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    media = PodcastMedia(
        channel_id=channel.id,
        kind=kind,
        mime=mime,
        ext=EXT[mime],
        size=len(content),
        sha256=sha,
        storage_name=name,
    )
    session.add(media)
    session.flush()
    return media


def publish(audio_size: int = 300_000) -> Show:
    """Channel "muster-podcast" (published) with episodes in every state, channel
    "anderer-podcast" (published, its own episode) and "entwurf" (never published)."""
    ensure_migrated()
    now = utcnow()
    show = Show()
    with session_scope() as session:
        channels = {}
        for slug, published in (
            ("muster-podcast", True),
            ("anderer-podcast", True),
            ("entwurf", False),
        ):
            channel = PodcastChannel(
                slug=slug,
                title=f"Podcast {slug}",
                published_at=now - timedelta(days=30) if published else None,
            )
            session.add(channel)
            session.flush()
            channels[slug] = channel
        main = channels["muster-podcast"]
        cover = _media(session, main, "cover", "image/jpeg", b"\xff\xd8\xff cover")
        main.cover_media_id = cover.id
        show.names["cover"] = cover.storage_name
        audio = os.urandom(audio_size)
        for role, state, pub_at in (
            ("live", "published", now - timedelta(days=2)),
            ("draft", "draft", None),
            ("scheduled", "published", now + timedelta(days=3)),
            ("gone", "unpublished", now - timedelta(days=5)),
        ):
            channel = main
            episode = PodcastEpisode(
                channel_id=channel.id, guid=f"guid-{role}", title=role, state=state, pub_at=pub_at
            )
            sound = _media(session, channel, "audio", "audio/x-m4a", audio + role.encode())
            episode.audio_media_id = sound.id
            show.names[role] = sound.storage_name
            if role == "live":
                for kind, mime, content in (
                    ("image", "image/jpeg", b"\xff\xd8\xff image"),
                    ("transcript", "text/vtt", b"WEBVTT\n\n00:00.000 --> 00:01.000\nHallo\n"),
                    ("chapters", "application/json+chapters", b'{"version":"1.2.0","chapters":[]}'),
                ):
                    item = _media(session, channel, kind, mime, content)
                    setattr(episode, f"{kind}_media_id", item.id)
                    show.names[kind] = item.storage_name
            session.add(episode)
            session.flush()
            show.episodes[role] = episode.id
        other = channels["anderer-podcast"]
        foreign = _media(session, other, "audio", "audio/mpeg", b"ID3 fremd" + audio[:1000])
        session.add(
            PodcastEpisode(
                channel_id=other.id,
                guid="guid-fremd",
                title="Fremd",
                state="published",
                pub_at=now - timedelta(days=1),
                audio_media_id=foreign.id,
            )
        )
        show.names["foreign"] = foreign.storage_name
        draft_channel = channels["entwurf"]
        hidden = _media(session, draft_channel, "audio", "audio/mpeg", b"ID3 entwurf")
        show.names["draft_channel"] = hidden.storage_name
    return show


def request(
    url: str,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one raw HTTP request; the path is sent
    exactly as given (no normalisation of dot segments or escapes)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        answer = connection.getresponse()
        body = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body
    finally:
        connection.close()


def media_path(slug: str, name: str) -> str:
    return f"/pub/podcasts/{slug}/media/{name}"


def file_bytes(name: str) -> bytes:
    return (get_config().files_dir / "podcasts" / name).read_bytes()


def files_dir() -> Path:
    return get_config().files_dir / "podcasts"


def today() -> date:
    return utcnow().date()


def moment() -> datetime:
    return utcnow()
