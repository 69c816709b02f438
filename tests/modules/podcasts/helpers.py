"""Shared podcast test data: a publishable channel on an instance with a public address."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy.orm import Session

from kms.modules.podcasts import service
from kms.modules.podcasts.testaudio import silent_mp3

BASE = "https://kms.example.org"


def image(size: int = 1400, fmt: str = "PNG") -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, fmt)
    out.seek(0)
    return out


def channel(session: Session, slug: str = "beispielfunk", **values: object) -> int:
    """A channel with everything publishing needs (not yet published)."""
    service.save_public_base_url(session, BASE)
    fields = {
        "slug": slug,
        "title": "Beispielfunk",
        "description": "Ein erfundener Podcast über erfundene Dinge.",
        "author": "Erika Mustermann",
        "owner_name": "Erika Mustermann",
        "owner_email": "erika@example.org",
        "category": "Business",
        "subcategory": "Entrepreneurship",
        **values,
    }
    cid = service.save_channel(session, **fields).id  # type: ignore[arg-type]
    service.attach_cover(session, cid, image(), "cover.png")
    return cid


def episode(
    session: Session, channel_id: int, title: str = "Folge", seconds: float = 3, **values: object
) -> int:
    """An episode with a silent MP3 (draft)."""
    eid = service.save_episode(session, channel_id=channel_id, title=title, **values).id  # type: ignore[arg-type]
    service.attach_episode_media(session, eid, "audio", io.BytesIO(silent_mp3(seconds)), "f.mp3")
    return eid
