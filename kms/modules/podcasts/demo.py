"""Demo Podcasts: two fictitious shows with a few episodes (silent MP3s generated here, a
plain generated cover). Safe to run twice. The channels stay unpublished: a demo runs on
localhost, and KMS publishes only under a public address."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.podcasts import service
from kms.modules.podcasts.models import PodcastChannel
from kms.modules.podcasts.testaudio import silent_mp3
from kms.types import utcnow

SHOWS: tuple[dict[str, Any], ...] = (
    {
        "slug": "beispielfunk",
        "title": "Beispielfunk (Demo)",
        "description": "Ein erfundener Podcast über die Selbstständigkeit: Angebote, Rechnungen, "
        "Steuern – mit Erika Mustermann.",
        "author": "Erika Mustermann",
        "owner_name": "Erika Mustermann",
        "owner_email": "erika@example.org",
        "category": "Business",
        "subcategory": "Entrepreneurship",
        "website": "https://example.org/beispielfunk",
        "copyright": "© 2026 Erika Mustermann",
        "persons": [{"name": "Erika Mustermann", "role": "host"}],
        "colour": (31, 95, 139),
        "episodes": (
            ("Folge 1: Der erste Kunde", "Wie der **erste Auftrag** zustande kam.", 4),
            ("Folge 2: Faire Preise", "- Gemeinkosten\n- Stundensatz\n- Angebot", 6),
            ("Folge 3: Die Umsatzsteuer", "Mehr unter [example.org](https://example.org).", 5),
        ),
    },
    {
        "slug": "musterstunde",
        "title": "Musterstunde – die Serie (Demo)",
        "description": "Eine erfundene Hörserie in Fortsetzungen mit Max Mustermann.",
        "author": "Max Mustermann",
        "owner_name": "Max Mustermann",
        "owner_email": "max@example.org",
        "category": "Fiction",
        "subcategory": "Drama",
        "show_type": "serial",
        "persons": [{"name": "Max Mustermann", "role": "host"}],
        "colour": (139, 60, 31),
        "episodes": (
            ("Kapitel 1: Ankunft", "Max kommt in *Musterstadt* an.", 3),
            ("Kapitel 2: Das Büro", "Ein Büro, ein Schreibtisch, ein Plan.", 3),
        ),
    },
)


def _cover(colour: tuple[int, int, int]) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (1400, 1400), colour).save(out, "PNG")
    out.seek(0)
    return out


def load(session: Session) -> str:
    existing = set(session.scalars(select(PodcastChannel.slug)))
    episodes = 0
    for show in SHOWS:
        if show["slug"] in existing:
            continue
        fields = {k: v for k, v in show.items() if k not in ("colour", "episodes")}
        channel = service.save_channel(session, **fields)
        service.attach_cover(session, channel.id, _cover(show["colour"]), "cover.png")
        now = utcnow().replace(microsecond=0)
        items = show["episodes"]
        for number, (title, notes, seconds) in enumerate(items, start=1):
            episode = service.save_episode(
                session, channel_id=channel.id, title=title, notes=notes, number=number
            )
            service.attach_episode_media(
                session, episode.id, "audio", io.BytesIO(silent_mp3(seconds)), f"folge-{number}.mp3"
            )
            if number < len(items):
                pub_at = now - timedelta(days=7 * (len(items) - number))
            else:  # the newest one is scheduled for next week
                pub_at = now + timedelta(days=7)
            service.publish_episode(session, episode.id, pub_at=pub_at, now=now)
            episodes += 1
    return f"Podcasts: {len(SHOWS)} Kanäle, {episodes} Episoden (nicht veröffentlicht)"
