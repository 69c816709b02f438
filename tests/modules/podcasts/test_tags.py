"""Tags written on publish (issue #16): ID3v2.4 for MP3, iTunes atoms for M4A; the tagged
copy is new content with its own file, the feed's enclosure length matches it, publishing
again changes nothing, and a failure leaves the episode unpublished and no temp file."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from mutagen.id3 import ID3
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, MP4Cover
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import licensing
from kms.modules.podcasts import feed, media, service
from kms.modules.podcasts.models import PodcastMedia
from kms.modules.podcasts.testaudio import silent_mp3

from .helpers import channel, episode, image
from .mp4build import m4a

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _published(session: Session, **values: object) -> tuple[int, int]:
    cid = channel(session)
    service.publish_channel(session, cid, now=NOW)
    eid = episode(session, cid, title="Folge 7: Faire Preise", seconds=5, **values)
    return cid, eid


def _audio(session: Session, eid: int) -> PodcastMedia:
    found = session.get(PodcastMedia, service.get_episode(session, eid).audio_media_id)
    assert found is not None
    return found


def _enclosure_length(session: Session) -> tuple[str, int]:
    xml = feed.build_feed(session, "beispielfunk", NOW + timedelta(minutes=1)).xml
    enclosure = etree.fromstring(xml).find("channel/item/enclosure")
    assert enclosure is not None
    return enclosure.get("url", ""), int(enclosure.get("length", "0"))


def test_publishing_writes_id3_tags_into_a_new_file(
    session: Session, licensed: licensing.Licence
) -> None:
    cid, eid = _published(session, number=7)
    untagged = _audio(session, eid)
    guid = service.get_episode(session, eid).guid
    service.publish_episode(session, eid, now=NOW)
    session.commit()
    audio = _audio(session, eid)
    assert audio.id != untagged.id and audio.storage_name != untagged.storage_name
    path = media.path_for(audio.storage_name)
    tags = ID3(path)
    assert tags.version == (2, 4, 0)
    assert str(tags["TIT2"]) == "Folge 7: Faire Preise"
    assert str(tags["TALB"]) == "Beispielfunk"
    assert str(tags["TPE1"]) == "Erika Mustermann"
    assert str(tags["TRCK"]) == "7"
    cover = tags.getall("APIC")[0]
    assert cover.mime == "image/png" and cover.type == 3
    channel_cover = session.get(PodcastMedia, service.get_channel(session, cid).cover_media_id)
    assert channel_cover is not None
    assert cover.data == media.path_for(channel_cover.storage_name).read_bytes()
    # The duration is unchanged; the record describes the served bytes.
    assert round(MP3(path).info.length) == 5 == audio.duration_seconds
    assert service.get_episode(session, eid).duration_seconds == 5
    assert audio.size == path.stat().st_size
    url, length = _enclosure_length(session)
    assert url.endswith("/" + audio.storage_name) and length == path.stat().st_size
    assert service.get_episode(session, eid).guid == guid
    # The draft's untagged upload was never listed and nothing else uses it: gone.
    assert session.get(PodcastMedia, untagged.id) is None
    assert not media.path_for(untagged.storage_name).exists()


def test_the_episode_image_wins_over_the_channel_cover(
    session: Session, licensed: licensing.Licence
) -> None:
    _, eid = _published(session)
    service.attach_episode_media(session, eid, "image", image(1400, "JPEG"), "bild.jpg")
    service.publish_episode(session, eid, now=NOW)
    tags = ID3(media.path_for(_audio(session, eid).storage_name))
    assert tags.getall("APIC")[0].mime == "image/jpeg"
    assert "TRCK" not in tags  # no episode number, no track tag


def test_publishing_again_with_the_same_data_keeps_the_file(
    session: Session, licensed: licensing.Licence
) -> None:
    _, eid = _published(session)
    service.publish_episode(session, eid, now=NOW)
    session.commit()
    first = _audio(session, eid)
    files = media.files(session)
    service.unpublish_episode(session, eid)
    service.publish_episode(session, eid, now=NOW)
    session.commit()
    assert _audio(session, eid).id == first.id
    assert media.files(session) == files
    # A new title is new content: a new file, a new URL, the same guid.
    service.save_episode(session, episode_id=eid, title="Folge 7 (neu geschnitten)")
    service.publish_episode(session, eid, now=NOW)
    session.commit()
    changed = _audio(session, eid)
    assert changed.storage_name != first.storage_name
    assert str(ID3(media.path_for(changed.storage_name))["TIT2"]) == "Folge 7 (neu geschnitten)"
    assert _enclosure_length(session)[1] == media.path_for(changed.storage_name).stat().st_size


def test_an_upload_used_by_another_episode_is_kept(
    session: Session, licensed: licensing.Licence
) -> None:
    cid, eid = _published(session)
    other = episode(session, cid, title="Andere Folge", seconds=5)  # the same MP3 content
    shared = _audio(session, eid)
    assert _audio(session, other).id == shared.id
    service.publish_episode(session, eid, now=NOW)
    session.commit()
    assert session.get(PodcastMedia, shared.id) is not None
    assert media.path_for(shared.storage_name).is_file()
    assert _audio(session, other).id == shared.id


def test_publishing_writes_mp4_tags(session: Session, licensed: licensing.Licence) -> None:
    cid = channel(session)
    service.publish_channel(session, cid, now=NOW)
    eid = service.save_episode(session, channel_id=cid, title="Folge M", number=3).id
    service.attach_episode_media(session, eid, "audio", io.BytesIO(m4a(90)), "f.m4a")
    service.publish_episode(session, eid, now=NOW)
    session.commit()
    audio = _audio(session, eid)
    path = media.path_for(audio.storage_name)
    tags = MP4(path).tags
    assert tags is not None
    assert tags["\xa9nam"] == ["Folge M"]
    assert tags["\xa9alb"] == ["Beispielfunk"]
    assert tags["\xa9ART"] == ["Erika Mustermann"]
    assert tags["trkn"] == [(3, 0)]
    assert tags["covr"][0].imageformat == MP4Cover.FORMAT_PNG
    assert round(MP4(path).info.length) == 90 == audio.duration_seconds
    assert _enclosure_length(session)[1] == path.stat().st_size == audio.size
    service.publish_episode(session, eid, now=NOW)
    assert _audio(session, eid).id == audio.id


def test_a_tagging_failure_leaves_the_episode_unpublished(
    session: Session, licensed: licensing.Licence, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, eid = _published(session)
    before = _audio(session, eid)
    files = media.files(session)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ID3, "save", broken)
    with pytest.raises(media.MediaError, match="nicht veröffentlicht"):
        service.publish_episode(session, eid, now=NOW)
    assert service.get_episode(session, eid).state == "draft"
    assert _audio(session, eid).id == before.id
    assert media.files(session) == files
    assert list((media.root() / "tmp").iterdir()) == []
    assert session.scalars(select(PodcastMedia).where(PodcastMedia.kind == "audio")).all() == [
        before
    ]


def test_the_id3_header_size_is_read_from_the_tagged_file(
    session: Session, licensed: licensing.Licence
) -> None:
    _, eid = _published(session)
    untagged = media.path_for(_audio(session, eid).storage_name)
    assert media.id3_header_size(untagged) == 0
    service.publish_episode(session, eid, now=NOW)
    path = media.path_for(_audio(session, eid).storage_name)
    assert media.id3_header_size(path) == ID3(path).size > 1400  # the cover is in it


def test_new_audio_for_a_published_episode_is_tagged_at_once(
    session: Session, licensed: licensing.Licence
) -> None:
    _, eid = _published(session)
    service.publish_episode(session, eid, now=NOW)
    old = _audio(session, eid)
    upload = silent_mp3(8)
    new = service.attach_episode_media(session, eid, "audio", io.BytesIO(upload), "neu.mp3")
    session.commit()
    assert new.id == _audio(session, eid).id != old.id
    path = media.path_for(new.storage_name)
    assert str(ID3(path)["TIT2"]) == "Folge 7: Faire Preise"
    assert path.stat().st_size > len(upload) and new.duration_seconds == 8
    # The untagged upload was never listed and nothing uses it.
    untagged = media.storage_name(hashlib.sha256(upload).hexdigest(), "mp3")
    assert not media.path_for(untagged).exists()
    rows = select(PodcastMedia).where(PodcastMedia.storage_name == untagged)
    assert session.scalars(rows).all() == []
    assert _enclosure_length(session)[1] == path.stat().st_size


def test_tags_without_any_cover(tmp_path: Path) -> None:
    """A channel may have no cover yet (publishing the channel needs one, an episode not)."""
    path = tmp_path / "f.mp3"
    path.write_bytes(silent_mp3(2))
    media._write_tags(path, "mp3", media.AudioTags(title="T", show="S", author=""))
    tags = ID3(path)
    assert str(tags["TIT2"]) == "T" and not tags.getall("APIC") and "TPE1" not in tags
    m4a_path = tmp_path / "f.m4a"
    m4a_path.write_bytes(m4a(5))
    media._write_tags(m4a_path, "m4a", media.AudioTags(title="T", show="S", author=""))
    found = MP4(m4a_path).tags
    assert found is not None and found["\xa9nam"] == ["T"] and "covr" not in found
