"""Podcasts services: channels, episodes, their media, publication and Anbieterplattformen.

Each service checks the permission first, then the add-on's licence. Reading needs
PODCASTS_READ, changing and publishing PODCASTS_WRITE; the instance's public address is a
setting (SETTINGS). Times are aware UTC; `now` parameters exist for tests and the scheduler.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.errors import ConflictError, NotFoundError, ValidationError, ValidationErrors
from kms.licensing import require
from kms.models import set_value
from kms.modules.podcasts import media as store
from kms.modules.podcasts import urls
from kms.modules.podcasts.models import (
    EPISODE_TYPES,
    PLATFORM_STATES,
    PLATFORMS,
    SHOW_TYPES,
    PodcastChannel,
    PodcastEpisode,
    PodcastMedia,
    PodcastPlatform,
)
from kms.permissions import Permission, require_permission
from kms.types import utcnow
from kms.validation import clean_text, validate_email, validate_website

MODULE = "podcasts"
TITLE = "Podcasts"
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
EPISODE_MEDIA = ("audio", "image", "transcript", "chapters")


@cache
def _category_file() -> dict[str, Any]:
    path = Path(__file__).with_name("apple_categories.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def apple_categories() -> dict[str, list[str]]:
    """Apple's category → subcategories (shipped as apple_categories.json)."""
    data: dict[str, list[str]] = _category_file()["categories"]
    return data


def category_label(name: str) -> str:
    """The German name of an Apple category or subcategory for the UI (the feed keeps
    Apple's English value)."""
    german: dict[str, str] = _category_file()["german"]
    return german.get(name, name)


def _check_version(row: Any, version: int | None) -> None:
    if version is not None and row.version != version:
        raise ConflictError(
            "Der Eintrag wurde inzwischen geändert. Bitte neu laden und erneut speichern."
        )


def _channel(session: Session, channel_id: int) -> PodcastChannel:
    channel = session.get(PodcastChannel, channel_id)
    if channel is None:
        raise NotFoundError("Diesen Podcast-Kanal gibt es nicht (mehr).")
    return channel


def _episode(session: Session, episode_id: int) -> PodcastEpisode:
    episode = session.get(PodcastEpisode, episode_id)
    if episode is None:
        raise NotFoundError("Diese Episode gibt es nicht (mehr).")
    return episode


def _url(value: str | None, field: str) -> str:
    return validate_website(value, field=field) if value and value.strip() else ""


def _text(value: Any, limit: int, *, multiline: bool = False) -> str:
    return clean_text(str(value or ""), multiline=multiline).strip()[:limit]


# --- instance address -------------------------------------------------------------------


def save_public_base_url(session: Session, value: str) -> str:
    """Save the instance's public address (KMS_PUBLIC_BASE_URL still overrides it)."""
    require_permission(Permission.SETTINGS, session)
    require(session, MODULE, TITLE)
    base = urls.normalize_base_url(value)
    if base:
        base = urls.normalize_base_url(validate_website(base, field="public_base_url"))
        problem = urls.base_url_problem(base)
        if problem:
            raise ValidationError("public_base_url", problem)
    set_value(session, urls.BASE_URL_KEY, base)
    return base


# --- channels ---------------------------------------------------------------------------


def list_channels(session: Session) -> list[PodcastChannel]:
    """Every channel by title."""
    require_permission(Permission.PODCASTS_READ, session)
    require(session, MODULE, TITLE)
    return list(session.scalars(select(PodcastChannel).order_by(PodcastChannel.title)))


def get_channel(session: Session, channel_id: int) -> PodcastChannel:
    """One channel (NotFoundError in German if it is gone)."""
    require_permission(Permission.PODCASTS_READ, session)
    require(session, MODULE, TITLE)
    return _channel(session, channel_id)


def _persons(value: Any) -> str:
    """podcast:person entries as JSON: [{"name", "role", "href", "img"}], names required."""
    items = json.loads(value) if isinstance(value, str) else list(value or [])
    clean = []
    for item in items:
        name = _text(item.get("name"), 128)
        if not name:
            continue
        entry = {"name": name, "role": _text(item.get("role") or "host", 32).lower()}
        for key in ("href", "img"):
            if item.get(key):
                entry[key] = _url(item[key], f"person_{key}")
        clean.append(entry)
    return json.dumps(clean, ensure_ascii=False)


def _channel_values(values: dict[str, Any]) -> dict[str, Any]:
    """Checked channel fields; every problem at once (ValidationErrors)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in ("slug", "title", "author", "owner_name", "copyright", "funding_text"):
        if key in values:
            out[key] = _text(values[key], 128 if key == "funding_text" else 255)
    if "slug" in out:
        out["slug"] = out["slug"].lower()
        if not SLUG.match(out["slug"]):
            errors["slug"] = (
                "Das Kürzel besteht aus Kleinbuchstaben, Ziffern und Bindestrichen (z. B. "
                "„mein-podcast“), höchstens 64 Zeichen, ohne Bindestrich am Anfang oder Ende."
            )
    if "title" in out and not out["title"]:
        errors["title"] = "Bitte einen Titel eingeben."
    if "description" in values:
        out["description"] = _text(values["description"], 10_000, multiline=True)
        if len(out["description"]) > 4000:
            errors["description"] = "Die Beschreibung darf höchstens 4000 Zeichen lang sein."
    if values.get("owner_email"):
        try:
            out["owner_email"] = validate_email(values["owner_email"], field="owner_email")
        except ValidationError as exc:
            errors["owner_email"] = exc.message
    elif "owner_email" in values:
        out["owner_email"] = ""
    if "language" in values:
        out["language"] = _text(values["language"], 16) or "de"
        if not LANGUAGE.match(out["language"]):
            errors["language"] = "Die Sprache als Sprachcode angeben, z. B. „de“ oder „de-AT“."
    if "category" in values or "subcategory" in values:
        category = _text(values.get("category"), 100)
        sub = _text(values.get("subcategory"), 100)
        if category and category not in apple_categories():
            errors["category"] = f"„{category}“ ist keine Kategorie von Apple Podcasts."
        elif sub and sub not in apple_categories().get(category, []):
            errors["subcategory"] = f"„{sub}“ ist keine Unterkategorie von „{category}“."
        out["category"], out["subcategory"] = category, sub
    if "show_type" in values:
        if values["show_type"] not in SHOW_TYPES:
            errors["show_type"] = "Bitte „Episodisch“ oder „Serie“ wählen."
        out["show_type"] = values["show_type"]
    for key in ("explicit", "locked"):
        if key in values:
            out[key] = bool(values[key])
    for key in ("website", "funding_url"):
        if key in values:
            try:
                out[key] = _url(values[key], key)
            except ValidationError as exc:
                errors[key] = exc.message
    if "new_feed_url" in values:
        try:
            out["new_feed_url"] = _url(values["new_feed_url"], "new_feed_url") or None
        except ValidationError as exc:
            errors["new_feed_url"] = exc.message
    if "apple_verify" in values:
        out["apple_verify"] = _text(values["apple_verify"], 128)
    if "persons" in values:
        try:
            out["persons"] = _persons(values["persons"])
        except (ValueError, AttributeError, ValidationError) as exc:
            errors["persons"] = getattr(exc, "message", "Die Mitwirkenden sind ungültig.")
    if errors:
        raise ValidationErrors(errors)
    return out


CHANNEL_FIELDS = (
    "slug title description author owner_name owner_email language category subcategory "
    "explicit show_type copyright website new_feed_url locked funding_url funding_text "
    "apple_verify persons"
).split()


def save_channel(
    session: Session, *, channel_id: int | None = None, version: int | None = None, **values: Any
) -> PodcastChannel:
    """Create (no channel_id) or change a channel. The slug is part of the feed URL: once the
    channel is published it stays (a move goes through new_feed_url)."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    unknown = set(values) - set(CHANNEL_FIELDS)
    if unknown:
        raise TypeError(f"unknown channel fields: {sorted(unknown)}")
    if channel_id is None:
        values = {"slug": "", "title": "", **values}
    clean = _channel_values(values)
    channel = PodcastChannel() if channel_id is None else _channel(session, channel_id)
    _check_version(channel, version)
    if "slug" in clean and clean["slug"] != channel.slug:
        if channel.published_at is not None:
            raise ValidationError(
                "slug",
                "Das Kürzel gehört zur Feed-Adresse und bleibt nach der Veröffentlichung "
                "gleich. Für einen Umzug die neue Feed-Adresse eintragen.",
            )
        taken = session.scalar(
            select(func.count())
            .select_from(PodcastChannel)
            .where(PodcastChannel.slug == clean["slug"], PodcastChannel.id != channel_id)
        )
        if taken:
            raise ValidationError("slug", f"Das Kürzel „{clean['slug']}“ ist schon vergeben.")
    show_type = clean.get("show_type", channel.show_type or "episodic")
    if show_type == "serial" and channel_id is not None:
        _require_numbers(session, channel_id)
    for key, value in clean.items():
        setattr(channel, key, value)
    if channel_id is None:
        session.add(channel)
    session.flush()
    return channel


def _require_numbers(session: Session, channel_id: int) -> None:
    missing = session.scalar(
        select(func.count())
        .select_from(PodcastEpisode)
        .where(
            PodcastEpisode.channel_id == channel_id,
            PodcastEpisode.number.is_(None),
            PodcastEpisode.episode_type == "full",
        )
    )
    if missing:
        raise ValidationError(
            "show_type",
            f"Eine Serie braucht Episodennummern; {missing} Episode(n) haben noch keine.",
        )


def attach_cover(
    session: Session, channel_id: int, source: BinaryIO, original_name: str = ""
) -> PodcastMedia:
    """Check and set a new cover (JPEG/PNG, square, 1400–3000 px, RGB); new content, new URL."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    channel = _channel(session, channel_id)
    cover = store.store(session, channel, "cover", source, original_name)
    channel.cover_media_id = cover.id
    session.flush()
    return cover


def publish_problems(session: Session, channel: PodcastChannel) -> list[str]:
    """What stops a channel from going public (German), empty when it may."""
    problems = []
    problem = urls.base_url_problem(urls.public_base_url(session))
    if problem:
        problems.append(problem)
    if not channel.cover_media_id:
        problems.append("Der Kanal braucht ein Cover (JPEG oder PNG, 1400–3000 Pixel).")
    if not channel.description:
        problems.append("Der Kanal braucht eine Beschreibung.")
    if not channel.category:
        problems.append("Der Kanal braucht eine Kategorie.")
    if not channel.owner_email:
        problems.append("Der Kanal braucht eine E-Mail-Adresse des Inhabers (itunes:owner).")
    if not channel.author:
        problems.append("Der Kanal braucht einen Autor.")
    return problems


def publish_channel(session: Session, channel_id: int, now: datetime | None = None) -> str:
    """Make the channel's feed public; returns the feed URL. The podcast:guid is derived
    from the feed URL at the first publication and never again."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    channel = _channel(session, channel_id)
    problems = publish_problems(session, channel)
    if problems:
        raise ValidationError("publish", " ".join(problems))
    feed = urls.feed_url(session, channel.slug)
    if channel.podcast_guid is None:
        channel.podcast_guid = urls.podcast_guid(feed)
    if channel.published_at is None:
        channel.published_at = now or utcnow()
    session.flush()
    return feed


def unpublish_channel(session: Session, channel_id: int) -> None:
    """Take the feed offline (the guid stays for a later publication)."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    _channel(session, channel_id).published_at = None
    session.flush()


# --- episodes ---------------------------------------------------------------------------


def list_episodes(session: Session, channel_id: int) -> list[PodcastEpisode]:
    """A channel's episodes, newest (by pub_at, drafts first) first."""
    require_permission(Permission.PODCASTS_READ, session)
    require(session, MODULE, TITLE)
    return list(
        session.scalars(
            select(PodcastEpisode)
            .where(PodcastEpisode.channel_id == channel_id)
            .order_by(PodcastEpisode.pub_at.desc().nulls_first(), PodcastEpisode.id.desc())
        )
    )


def get_episode(session: Session, episode_id: int) -> PodcastEpisode:
    """One episode."""
    require_permission(Permission.PODCASTS_READ, session)
    require(session, MODULE, TITLE)
    return _episode(session, episode_id)


EPISODE_FIELDS = ("title", "notes", "season", "number", "episode_type", "explicit")


def _positive(value: Any, field: str, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        errors[field] = "Bitte eine ganze Zahl ab 1 eingeben."
        return None
    return number


def save_episode(
    session: Session,
    *,
    channel_id: int | None = None,
    episode_id: int | None = None,
    version: int | None = None,
    **values: Any,
) -> PodcastEpisode:
    """Create (channel_id) or change (episode_id) an episode. Its guid is assigned once, at
    creation, and never changes (not even when the audio is replaced)."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    unknown = set(values) - set(EPISODE_FIELDS)
    if unknown:
        raise TypeError(f"unknown episode fields: {sorted(unknown)}")
    if episode_id is None:
        if channel_id is None:
            raise TypeError("channel_id or episode_id")
        channel = _channel(session, channel_id)
        episode = PodcastEpisode(channel_id=channel.id, guid=str(uuid.uuid4()))
        values = {"title": "", **values}
    else:
        episode = _episode(session, episode_id)
        channel = _channel(session, episode.channel_id)
    _check_version(episode, version)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if "title" in values:
        clean["title"] = _text(values["title"], 255)
        if not clean["title"]:
            errors["title"] = "Bitte einen Titel eingeben."
    if "notes" in values:
        clean["notes"] = _text(values["notes"], 100_000, multiline=True)
    for key in ("season", "number"):
        if key in values:
            clean[key] = _positive(values[key], key, errors)
    if "episode_type" in values:
        if values["episode_type"] not in EPISODE_TYPES:
            errors["episode_type"] = "Bitte Vollständige Folge, Trailer oder Bonus wählen."
        clean["episode_type"] = values["episode_type"]
    if "explicit" in values:
        clean["explicit"] = bool(values["explicit"])
    number = clean.get("number", episode.number)
    kind = clean.get("episode_type", episode.episode_type or "full")
    if (
        channel.show_type == "serial"
        and kind == "full"
        and number is None
        and "number" not in errors
    ):
        errors["number"] = "Dieser Kanal ist eine Serie: jede Folge braucht eine Episodennummer."
    if errors:
        raise ValidationErrors(errors)
    for key, value in clean.items():
        setattr(episode, key, value)
    if episode_id is None:
        session.add(episode)
    session.flush()
    return episode


def attach_episode_media(
    session: Session, episode_id: int, kind: str, source: BinaryIO, original_name: str = ""
) -> PodcastMedia:
    """Check and attach audio, an episode image, a transcript or chapters. New audio sets
    the duration from the file; the episode keeps its guid."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    if kind not in EPISODE_MEDIA:
        raise ValidationError("kind", "Unbekannte Art von Episodendatei.")
    episode = _episode(session, episode_id)
    medium = store.store(
        session, _channel(session, episode.channel_id), kind, source, original_name
    )
    setattr(episode, f"{kind}_media_id", medium.id)
    if kind == "audio":
        episode.duration_seconds = medium.duration_seconds
    session.flush()
    if kind == "audio" and episode.state == "published":  # the feed lists it: tagged at once
        _tag_audio(session, _channel(session, episode.channel_id), episode)
        return _audio(session, episode)
    return medium


def publish_episode(
    session: Session, episode_id: int, pub_at: datetime | None = None, now: datetime | None = None
) -> PodcastEpisode:
    """Publish now, or schedule (pub_at in the future: the feed shows it from then on).

    Publishing an episode that is already out again (e.g. after a new title, to write the
    tags anew) keeps its date unless a new one is given: apps sort by it, and an old episode
    must not come back as the newest."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    episode = _episode(session, episode_id)
    if episode.audio_media_id is None:
        raise ValidationError("audio", "Die Episode braucht eine Audiodatei (MP3 oder M4A).")
    channel = _channel(session, episode.channel_id)
    if channel.show_type == "serial" and episode.episode_type == "full" and episode.number is None:
        raise ValidationError("number", "Dieser Kanal ist eine Serie: bitte eine Episodennummer.")
    if pub_at is not None and pub_at.tzinfo is None:
        raise ValueError("naive datetime; use an aware one")
    _tag_audio(session, channel, episode)
    moment = (now or utcnow()).astimezone(UTC)
    already_out = (
        episode.state == "published" and episode.pub_at is not None and episode.pub_at <= moment
    )
    if pub_at is not None or not already_out:
        episode.pub_at = (pub_at or moment).astimezone(UTC)
    episode.state = "published"
    session.flush()
    return episode


def _tag_audio(session: Session, channel: PodcastChannel, episode: PodcastEpisode) -> None:
    """Write title, show, author, number and cover into the episode's audio (issue #16).
    Tagged audio is new content: the episode points at the tagged file (its guid stays; the
    enclosure URL and length follow the file). The file it replaces goes unless another
    episode uses it (the media route serves only files of visible episodes anyway)."""
    audio = _audio(session, episode)
    image_id = episode.image_media_id or channel.cover_media_id
    image = session.get(PodcastMedia, image_id) if image_id else None
    cover = None
    if image is not None:
        with store.open_media(image) as fh:
            cover = fh.read()
    tags = store.AudioTags(
        title=episode.title,
        show=channel.title,
        author=channel.author,
        number=episode.number,
        cover=cover,
        cover_mime=image.mime if image is not None else "image/jpeg",
    )
    medium = store.tagged(session, channel, audio, tags)
    if medium.id == audio.id:
        return
    episode.audio_media_id = medium.id
    episode.duration_seconds = medium.duration_seconds
    session.flush()
    store.discard_unused(session, audio)


def _audio(session: Session, episode: PodcastEpisode) -> PodcastMedia:
    audio = session.get(PodcastMedia, episode.audio_media_id) if episode.audio_media_id else None
    if audio is None:
        raise ValidationError("audio", "Die Episode braucht eine Audiodatei (MP3 oder M4A).")
    return audio


def unpublish_episode(session: Session, episode_id: int) -> PodcastEpisode:
    """Take an episode out of the feed (Depubliziert); publishing again is possible."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    episode = _episode(session, episode_id)
    if episode.state != "published":
        raise ValidationError("state", "Nur veröffentlichte Episoden können depubliziert werden.")
    episode.state = "unpublished"
    session.flush()
    return episode


def is_visible(episode: PodcastEpisode, now: datetime) -> bool:
    """Whether the feed shows the episode at `now` (published and its time has come)."""
    return episode.state == "published" and episode.pub_at is not None and episode.pub_at <= now


# --- Anbieterplattformen ----------------------------------------------------------------


def list_platforms(session: Session, channel_id: int) -> list[PodcastPlatform]:
    """Where the channel is submitted or listed."""
    require_permission(Permission.PODCASTS_READ, session)
    require(session, MODULE, TITLE)
    return list(
        session.scalars(
            select(PodcastPlatform)
            .where(PodcastPlatform.channel_id == channel_id)
            .order_by(PodcastPlatform.platform, PodcastPlatform.id)
        )
    )


def save_platform(
    session: Session,
    *,
    channel_id: int,
    platform: str,
    status: str = "submitted",
    url: str = "",
    day: date | None = None,
    notes: str = "",
    platform_id: int | None = None,
) -> PodcastPlatform:
    """Record (or update) a submission to a platform."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    channel = _channel(session, channel_id)
    errors: dict[str, str] = {}
    if platform not in PLATFORMS:
        errors["platform"] = "Bitte eine Plattform wählen."
    if status not in PLATFORM_STATES:
        errors["status"] = "Bitte Eingereicht, Gelistet oder Abgelehnt wählen."
    try:
        clean_url = _url(url, "url")
    except ValidationError as exc:
        errors["url"] = exc.message
    if errors:
        raise ValidationErrors(errors)
    if platform_id is None:
        row = PodcastPlatform(channel_id=channel.id)
        session.add(row)
    else:
        found = session.get(PodcastPlatform, platform_id)
        if found is None or found.channel_id != channel.id:
            raise NotFoundError("Diesen Plattform-Eintrag gibt es nicht (mehr).")
        row = found
    row.platform, row.status, row.url, row.date = platform, status, clean_url, day
    row.notes = _text(notes, 4000, multiline=True)
    session.flush()
    return row


def delete_platform(session: Session, platform_id: int) -> None:
    """Remove a platform entry."""
    require_permission(Permission.PODCASTS_WRITE, session)
    require(session, MODULE, TITLE)
    row = session.get(PodcastPlatform, platform_id)
    if row is None:
        raise NotFoundError("Diesen Plattform-Eintrag gibt es nicht (mehr).")
    session.delete(row)
    session.flush()
