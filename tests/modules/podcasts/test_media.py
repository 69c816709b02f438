"""The media store: content decides the type (never the file name), broken and disguised
files are refused in German, files are content-addressed under files_dir/podcasts, a rollback
removes what the transaction added, and `files()` lists the store."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.orm import Session

from kms.config import get_config
from kms.modules.podcasts import media
from kms.modules.podcasts.models import PodcastChannel
from kms.modules.podcasts.testaudio import silent_mp3


@pytest.fixture
def channel(session: Session) -> PodcastChannel:
    row = PodcastChannel(slug="beispiel", title="Beispielfunk")
    session.add(row)
    session.flush()
    return row


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(8000)
        fh.writeframes(bytes(32000))
    return out.getvalue()


def _image(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt)
    return out.getvalue()


def test_a_silent_mp3_is_stored_content_addressed(
    session: Session, channel: PodcastChannel
) -> None:
    data = silent_mp3(65)
    row = media.store(session, channel, "audio", io.BytesIO(data), "../../etc/Folge 1.wav")
    assert (row.mime, row.ext, row.duration_seconds, row.size) == (
        "audio/mpeg",
        "mp3",
        65,
        len(data),
    )
    assert row.storage_name == f"{row.sha256}.mp3"
    assert row.original_name == "Folge 1.wav"
    path = get_config().files_dir / "podcasts" / row.storage_name
    assert path.read_bytes() == data
    assert media.files(session) == [path]
    # The same content again is the same record, stored once.
    assert media.store(session, channel, "audio", io.BytesIO(data), "x.mp3").id == row.id


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_wav(), id="wav-renamed-mp3"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"kaputt" * 200, id="broken-id3"),
        pytest.param(b"\xff\xfb\x90\x64" + b"\x01" * 10, id="truncated-frame"),
        pytest.param(b"%PDF-1.7 nicht einmal Audio", id="pdf"),
    ],
)
def test_disguised_and_broken_audio_is_refused_in_german(
    session: Session, channel: PodcastChannel, content: bytes
) -> None:
    with pytest.raises(media.MediaError, match=r"kein gültiges MP3 oder M4A|kürzer als"):
        media.store(session, channel, "audio", io.BytesIO(content), "folge.mp3")
    assert media.files(session) == []
    assert list((media.root() / "tmp").iterdir()) == []


def test_covers_follow_apples_rules(session: Session, channel: PodcastChannel) -> None:
    ok = media.store(session, channel, "cover", io.BytesIO(_image((1400, 1400))), "c.png")
    assert (ok.mime, ok.ext) == ("image/png", "png")
    jpeg = media.store(
        session, channel, "cover", io.BytesIO(_image((3000, 3000), fmt="JPEG")), "c.jpeg"
    )
    assert (jpeg.mime, jpeg.ext) == ("image/jpeg", "jpg")
    assert jpeg.storage_name != ok.storage_name  # a new cover, a new URL
    refusals = {
        "CMYK": _image((1400, 1400), "CMYK", "JPEG"),
        "quadratisch": _image((1400, 1500)),
        "1400 × 1400": _image((1000, 1000)),
        "Graustufen": _image((1400, 1400), "L"),
        "beschädigt": b"\x89PNG\r\n\x1a\nkaputt",
    }
    for message, content in refusals.items():
        with pytest.raises(media.MediaError, match=message):
            media.store(session, channel, "cover", io.BytesIO(content), "c.jpg")


def test_transcripts_and_chapters_are_checked(session: Session, channel: PodcastChannel) -> None:
    vtt = b"WEBVTT\n\n00:00.000 --> 00:05.000\nHallo\n"
    srt = b"1\n00:00:00,000 --> 00:00:05,000\nHallo\n"
    assert media.store(session, channel, "transcript", io.BytesIO(vtt), "t.txt").mime == "text/vtt"
    assert (
        media.store(session, channel, "transcript", io.BytesIO(srt), "t.vtt").mime
        == "application/x-subrip"
    )
    with pytest.raises(media.MediaError, match="weder WebVTT"):
        media.store(session, channel, "transcript", io.BytesIO(b"Hallo Welt"), "t.vtt")
    with pytest.raises(media.MediaError, match="keinen gültigen Zeitabschnitt"):
        media.store(session, channel, "transcript", io.BytesIO(b"WEBVTT\n\nHallo"), "t.vtt")
    good = {
        "version": "1.2.0",
        "chapters": [{"startTime": 0, "title": "Start"}, {"startTime": 61.5}],
    }
    row = media.store(session, channel, "chapters", io.BytesIO(json.dumps(good).encode()), "c")
    assert row.mime == "application/json+chapters"
    for bad, message in (
        ({"chapters": [{"startTime": 0}]}, "version"),
        ({"version": "1.2.0", "chapters": [{"startTime": "0"}]}, "startTime"),
        ({"version": "1.2.0", "chapters": [{"startTime": True}]}, "startTime"),
        ({"version": "1.2.0", "chapters": []}, "nicht leere"),
    ):
        with pytest.raises(media.MediaError, match=message):
            media.store(session, channel, "chapters", io.BytesIO(json.dumps(bad).encode()), "c")
    with pytest.raises(media.MediaError, match="kein gültiges JSON"):
        media.store(session, channel, "chapters", io.BytesIO(b"{kaputt"), "c")


def test_a_rollback_removes_the_new_file(session: Session, channel: PodcastChannel) -> None:
    session.commit()
    row = media.store(session, channel, "audio", io.BytesIO(silent_mp3(2)), "a.mp3")
    path = media.path_for(row.storage_name)
    assert path.is_file()
    session.rollback()
    assert not path.exists()


def test_oversized_uploads_stop_while_streaming(
    session: Session, channel: PodcastChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(media.MAX_SIZE, "audio", 1 << 10)
    with pytest.raises(media.MediaError, match="zu groß"):
        media.store(session, channel, "audio", io.BytesIO(silent_mp3(5)), "a.mp3")
    assert list((media.root() / "tmp").iterdir()) == []


def test_storage_names_never_leave_the_store() -> None:
    for name in ("../kms.sqlite3", "a.mp3", "x" * 64 + ".mp3", "/etc/passwd"):
        with pytest.raises(media.MediaError):
            media.path_for(name)
    assert media.path_for("a" * 64 + ".mp3") == Path(media.root()) / ("a" * 64 + ".mp3")
