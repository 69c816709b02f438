"""The podcast media store: files_dir/podcasts/<sha256>.<ext>, checked before they count.

An upload is streamed to files_dir/podcasts/tmp/<random>.part (never whole into memory),
checked from its content (the uploader's file name and extension are never trusted), then
renamed atomically to its content-addressed name. The same content is stored once; a new
cover is new content and so gets a new name and URL (podcast apps cache artwork by URL).
A rollback removes a file the transaction added; a file without a record is harmless.

Publishing writes the episode's tags into its audio (ID3v2.4 TIT2/TALB/TPE1/TRCK/APIC for
MP3, ©nam/©alb/©ART/trkn/covr for M4A; `tagged`). The tagged copy is new content, so it gets
its own name, record, size and URL (the feed's enclosure length is the served file's); the
padding is fixed, so equal tags give equal bytes and publishing again adds nothing.

The store lies under the data dir, so backups include it like every stored file (the
archive skips only temp names such as *.part). `files()` lists it for whoever needs every
stored podcast file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from kms.config import PRIVATE_DIR, get_config, private_opener
from kms.errors import KmsError
from kms.formatting import format_size
from kms.modules.podcasts.models import PodcastChannel, PodcastMedia

log = logging.getLogger(__name__)

CHUNK = 1 << 20
# Upper bounds per kind (Streamlit's server.maxUploadSize = 200 MB caps uploads anyway).
MAX_SIZE = {
    "audio": 1 << 30,
    "cover": 16 << 20,
    "image": 16 << 20,
    "transcript": 8 << 20,
    "chapters": 1 << 20,
}
MIME = {
    "mp3": "audio/mpeg",
    "m4a": "audio/x-m4a",
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "json": "application/json+chapters",
    "jpg": "image/jpeg",
    "png": "image/png",
}
COVER_MIN, COVER_MAX = 1400, 3000
STORAGE_NAME = re.compile(r"^[0-9a-f]{64}\.(mp3|m4a|vtt|srt|json|jpg|jpeg|png)$")
_NEW = "kms_podcasts_new_files"  # paths this transaction created, removed on rollback
_GONE = "kms_podcasts_gone_files"  # paths this transaction dropped, removed after commit


class MediaError(KmsError):
    """An upload that is not what it claims or not what podcast apps accept."""


@dataclass(frozen=True)
class Checked:
    """What the content check found: the real type and, for audio, the duration."""

    ext: str
    duration_seconds: int | None = None

    @property
    def mime(self) -> str:
        return MIME[self.ext]


def root() -> Path:
    """files_dir/podcasts, created on demand (0700)."""
    path = get_config().files_dir / "podcasts"
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def storage_name(sha256: str, ext: str) -> str:
    """The content-addressed name "<sha256>.<ext>"."""
    return f"{sha256}.{ext}"


def path_for(name: str) -> Path:
    """The path of a stored file; anything but "<sha256>.<ext>" is refused."""
    if not STORAGE_NAME.match(name):
        raise MediaError("Ungültiger Dateiname im Podcast-Speicher.")
    return root() / name


def files(session: Session) -> list[Path]:
    """Every stored podcast file (sorted), whether or not a record still refers to it."""
    del session  # the directory is the truth; the signature matches its callers
    base = root()
    return sorted(
        path
        for path in base.iterdir()
        if path.is_file() and not path.is_symlink() and STORAGE_NAME.match(path.name)
    )


def open_media(media: PodcastMedia) -> BinaryIO:
    """The stored file of a record, opened for reading (German error if it is gone)."""
    try:
        return open(path_for(media.storage_name), "rb")
    except FileNotFoundError as exc:
        raise MediaError(
            "Die Datei fehlt im Podcast-Speicher. Bitte laden Sie sie erneut hoch."
        ) from exc


@lru_cache(maxsize=4096)
def id3_header_size(path: Path) -> int:
    """The bytes of the ID3v2 tag in front of an MP3's audio (0 without one, or for any
    other file). Stored files never change (content-addressed), so the answer is cached."""
    try:
        head = _head(path, 10)
    except OSError:
        return 0
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def find_public(session: Session, slug: str, name: str) -> tuple[PodcastMedia, Path] | None:
    """The medium a public media URL names (/pub/podcasts/<slug>/media/<name>) and its file,
    or None: unknown channel or name, a channel never published, or a missing file."""
    if not STORAGE_NAME.match(name):
        return None
    media = session.scalars(
        select(PodcastMedia)
        .join(PodcastChannel, PodcastChannel.id == PodcastMedia.channel_id)
        .where(
            PodcastChannel.slug == slug,
            PodcastChannel.published_at.is_not(None),
            PodcastMedia.storage_name == name,
        )
    ).first()
    if media is None:
        return None
    path = path_for(name)
    return (media, path) if path.is_file() else None


def _tmp_path() -> Path:
    tmp = root() / "tmp"
    tmp.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return tmp / f"{uuid.uuid4().hex}.part"


def _write_temp(source: BinaryIO, limit: int) -> tuple[Path, str, int]:
    """Stream `source` into a temp file; (path, sha256, size). Removed again on any error."""
    tmp = _tmp_path()
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "xb", opener=private_opener) as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MediaError(
                        f"Die Datei ist zu groß (höchstens {format_size(limit)} für diese Art)."
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if size == 0:
        tmp.unlink(missing_ok=True)
        raise MediaError("Die Datei ist leer.")
    return tmp, digest.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def store(
    session: Session, channel: PodcastChannel, kind: str, source: BinaryIO, original_name: str
) -> PodcastMedia:
    """Check and keep an upload of `kind` for the channel; returns its (new or existing)
    record. Nothing is kept when the check fails (MediaError with a German message)."""
    if kind not in MAX_SIZE:
        raise MediaError("Unbekannte Art von Podcast-Datei.")
    tmp, sha, size = _write_temp(source, MAX_SIZE[kind])
    return _keep(session, channel, kind, tmp, sha, size, original_name)


def _keep(
    session: Session,
    channel: PodcastChannel,
    kind: str,
    tmp: Path,
    sha: str,
    size: int,
    original_name: str,
) -> PodcastMedia:
    """Check the temp file, move it to its content-addressed name (or drop it when that
    content is stored already) and return the channel's record of it, new or existing."""
    try:
        checked = check_file(kind, tmp)
        name = storage_name(sha, checked.ext)
        final = path_for(name)
        if final.is_file():
            tmp.unlink()
            if final in session.info.get(_GONE, []):  # dropped earlier, wanted again
                session.info[_GONE] = [p for p in session.info[_GONE] if p != final]
        else:
            os.replace(tmp, final)
            _fsync_dir(final.parent)
            session.info.setdefault(_NEW, []).append(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    existing = session.scalars(
        select(PodcastMedia).where(
            PodcastMedia.channel_id == channel.id, PodcastMedia.storage_name == name
        )
    ).first()
    if existing is not None:
        return existing
    media = PodcastMedia(
        channel_id=channel.id,
        kind=kind,
        mime=checked.mime,
        ext=checked.ext,
        size=size,
        sha256=sha,
        storage_name=name,
        original_name=Path(original_name or "").name[:255],
        duration_seconds=checked.duration_seconds,
    )
    session.add(media)
    session.flush()
    return media


# --- tags written on publish ------------------------------------------------------------


@dataclass(frozen=True)
class AudioTags:
    """What publishing writes into the audio file: ID3v2.4 (MP3) or iTunes atoms (M4A)."""

    title: str
    show: str
    author: str
    number: int | None = None
    cover: bytes | None = None
    cover_mime: str = "image/jpeg"


TAG_FAILED = (
    "Die Titelangaben (Titel, Sendung, Cover) konnten nicht in die Audiodatei geschrieben "
    "werden; die Folge wurde nicht veröffentlicht. Bitte laden Sie die Audiodatei erneut hoch."
)


def _no_padding(info: Any) -> int:
    """Fixed padding: equal tags on equal audio give equal bytes (and so the same name)."""
    del info
    return 0


def _write_tags(path: Path, ext: str, tags: AudioTags) -> None:
    """Set our tags in the file at `path`, keeping every other tag it has (chapters, …)."""
    if ext == "mp3":
        from mutagen.id3 import APIC, ID3, TALB, TIT2, TPE1, TRCK, ID3NoHeaderError

        try:
            id3 = ID3(path)
        except ID3NoHeaderError:
            id3 = ID3()
        id3.setall("TIT2", [TIT2(encoding=3, text=[tags.title])])
        id3.setall("TALB", [TALB(encoding=3, text=[tags.show])])
        id3.setall("TPE1", [TPE1(encoding=3, text=[tags.author])] if tags.author else [])
        id3.setall("TRCK", [TRCK(encoding=3, text=[str(tags.number)])] if tags.number else [])
        id3.setall("APIC", [])
        if tags.cover:
            id3.add(APIC(encoding=3, mime=tags.cover_mime, type=3, desc="", data=tags.cover))
        id3.save(path, v2_version=4, padding=_no_padding)
        return
    from mutagen.mp4 import MP4, MP4Cover

    mp4 = MP4(path)
    if mp4.tags is None:
        mp4.add_tags()
    ilst: Any = mp4.tags
    values: dict[str, Any] = {
        "\xa9nam": [tags.title],
        "\xa9alb": [tags.show],
        "\xa9ART": [tags.author] if tags.author else None,
        "trkn": [(tags.number, 0)] if tags.number else None,
        "covr": [
            MP4Cover(
                tags.cover,
                MP4Cover.FORMAT_PNG if tags.cover_mime == "image/png" else MP4Cover.FORMAT_JPEG,
            )
        ]
        if tags.cover
        else None,
    }
    for key, value in values.items():
        if value is not None:
            ilst[key] = value
        elif key in ilst:
            del ilst[key]
    mp4.save(padding=_no_padding)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def tagged(
    session: Session, channel: PodcastChannel, audio: PodcastMedia, tags: AudioTags
) -> PodcastMedia:
    """The channel's audio record of `audio` with `tags` written in. The tagged copy is new
    content, so it gets its own content-addressed file and record (and a new URL); equal tags
    give equal bytes, so tagging again changes nothing and returns the same record. The
    duration stays as it was. MediaError (German) when the tags cannot be written; then no
    file is left behind."""
    if audio.kind != "audio" or audio.ext not in ("mp3", "m4a"):
        raise MediaError(TAG_FAILED)
    tmp = _tmp_path()
    try:
        with open_media(audio) as source, open(tmp, "xb", opener=private_opener) as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
        _write_tags(tmp, audio.ext, tags)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        sha, size = _hash_file(tmp)
        if check_audio(tmp).duration_seconds != audio.duration_seconds:
            raise MediaError(TAG_FAILED)
    except MediaError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        log.warning("could not tag podcast audio %s", audio.storage_name, exc_info=True)
        raise MediaError(TAG_FAILED) from exc
    if sha == audio.sha256:
        tmp.unlink()
        return audio
    return _keep(session, channel, "audio", tmp, sha, size, audio.original_name)


def discard_unused(session: Session, media: PodcastMedia) -> bool:
    """Delete a record no channel or episode refers to; its file goes after the commit
    unless another channel's record names the same content. True when deleted."""
    from kms.modules.podcasts.models import PodcastEpisode

    columns = (
        PodcastEpisode.audio_media_id,
        PodcastEpisode.image_media_id,
        PodcastEpisode.transcript_media_id,
        PodcastEpisode.chapters_media_id,
    )
    used = session.scalar(
        select(PodcastEpisode.id).where(or_(*(c == media.id for c in columns))).limit(1)
    ) or session.scalar(
        select(PodcastChannel.id).where(PodcastChannel.cover_media_id == media.id).limit(1)
    )
    if used:
        return False
    session.delete(media)
    session.flush()
    shared = session.scalar(
        select(PodcastMedia.id).where(PodcastMedia.storage_name == media.storage_name).limit(1)
    )
    if shared is None:
        session.info.setdefault(_GONE, []).append(path_for(media.storage_name))
    return True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_NEW, None)
        for path in session.info.pop(_GONE, []):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.warning("could not remove unused podcast file %s", path, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_GONE, None)
    for path in session.info.pop(_NEW, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove new podcast file %s", path, exc_info=True)


# --- content checks ---------------------------------------------------------------------


def check_file(kind: str, path: Path) -> Checked:
    """The content check of one kind; raises MediaError (German) when the file fails it."""
    checks = {
        "audio": check_audio,
        "cover": check_image,
        "image": check_image,
        "transcript": check_transcript,
        "chapters": check_chapters,
    }
    return checks[kind](path)


def _head(path: Path, n: int = 16) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


AUDIO_REFUSED = (
    "Die Audiodatei ist kein gültiges MP3 oder M4A (AAC). Bitte exportieren Sie die Folge als "
    "MP3 oder M4A; eine umbenannte Datei (z. B. WAV als .mp3) wird nicht angenommen."
)


def check_audio(path: Path) -> Checked:
    """MP3 (MPEG audio layer III) or M4A with AAC, recognised by content; the duration is
    read from the file (mutagen honours Xing/VBRI headers of VBR files)."""
    from mutagen import MutagenError
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4

    head = _head(path)
    try:
        if head[4:8] == b"ftyp":
            info: Any = MP4(path).info
            codec = str(getattr(info, "codec", ""))
            if not codec.startswith("mp4a.40"):
                raise MediaError(
                    "Die M4A-Datei enthält kein AAC-Audio (z. B. ALAC). Bitte als AAC exportieren."
                )
            length = float(info.length or 0)
            ext = "m4a"
        elif head[:3] == b"ID3" or (head[:1] == b"\xff" and head[1] & 0xE0 == 0xE0):
            info = MP3(path).info
            if info.layer != 3 or info.sketchy:
                raise MediaError(AUDIO_REFUSED)
            length = float(info.length or 0)
            ext = "mp3"
        else:
            raise MediaError(AUDIO_REFUSED)
    except MutagenError as exc:
        raise MediaError(AUDIO_REFUSED) from exc
    if length < 1:
        raise MediaError("Die Audiodatei ist kürzer als eine Sekunde oder beschädigt.")
    return Checked(ext, round(length))


def check_image(path: Path) -> Checked:
    """JPEG or PNG, square, 1400–3000 px, RGB (Apple's artwork rules); CMYK refused."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            fmt, mode, (width, height) = image.format, image.mode, image.size
            if fmt not in ("JPEG", "PNG"):
                raise MediaError("Das Bild muss ein JPEG oder PNG sein.")
            if width > 2 * COVER_MAX or height > 2 * COVER_MAX:
                raise MediaError(_dimension_message(width, height))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError("Das Bild ist beschädigt oder kein JPEG/PNG.") from exc
    if mode == "CMYK":
        raise MediaError(
            "Das Bild ist im CMYK-Farbraum (Druckvorstufe). Podcast-Apps verlangen RGB; bitte "
            "als RGB speichern."
        )
    if mode not in ("RGB", "RGBA"):
        raise MediaError("Das Bild muss im RGB-Farbraum gespeichert sein (nicht Graustufen).")
    if width != height or not COVER_MIN <= width <= COVER_MAX:
        raise MediaError(_dimension_message(width, height))
    return Checked("jpg" if fmt == "JPEG" else "png")


def _dimension_message(width: int, height: int) -> str:
    return (
        f"Das Bild muss quadratisch sein, zwischen {COVER_MIN} × {COVER_MIN} und "
        f"{COVER_MAX} × {COVER_MAX} Pixel; es hat {width} × {height}."
    )


VTT_CUE = re.compile(r"^(\d{2,}:)?\d{2}:\d{2}\.\d{3}\s+-->\s+(\d{2,}:)?\d{2}:\d{2}\.\d{3}", re.M)
SRT_CUE = re.compile(r"^\d+\s*\n\d{2}:\d{2}:\d{2},\d{3}\s+-->\s+\d{2}:\d{2}:\d{2},\d{3}", re.M)


def check_transcript(path: Path) -> Checked:
    """WebVTT ("WEBVTT" header) or SubRip, UTF-8, with at least one well-formed cue."""
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise MediaError("Das Transkript muss UTF-8-kodiert sein.") from exc
    if re.match(r"WEBVTT([ \t].*)?(\n|$)", text):
        if not VTT_CUE.search(text):
            raise MediaError("Das WebVTT-Transkript enthält keinen gültigen Zeitabschnitt.")
        return Checked("vtt")
    if SRT_CUE.search(text.lstrip()):
        return Checked("srt")
    raise MediaError(
        "Das Transkript ist weder WebVTT (beginnt mit „WEBVTT“) noch SRT mit Zeitangaben."
    )


def chapters_problems(data: Any) -> list[str]:
    """What keeps JSON from being Podcasting 2.0 chapters (version, chapters[].startTime)."""
    if not isinstance(data, dict):
        return ["Die Kapiteldatei muss ein JSON-Objekt sein."]
    problems = []
    if not isinstance(data.get("version"), str) or not data["version"]:
        problems.append("Die Kapiteldatei braucht eine Versionsangabe „version“ (z. B. „1.2.0“).")
    chapters = data.get("chapters")
    if not isinstance(chapters, list) or not chapters:
        return [*problems, "Die Kapiteldatei braucht eine nicht leere Liste „chapters“."]
    for number, chapter in enumerate(chapters, start=1):
        start = chapter.get("startTime") if isinstance(chapter, dict) else None
        if isinstance(start, bool) or not isinstance(start, int | float) or start < 0:
            problems.append(f"Kapitel {number}: „startTime“ muss eine Zahl ≥ 0 (Sekunden) sein.")
        elif "title" in chapter and not isinstance(chapter["title"], str):
            problems.append(f"Kapitel {number}: „title“ muss Text sein.")
    return problems


def check_chapters(path: Path) -> Checked:
    """Podcasting 2.0 JSON chapters."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MediaError("Die Kapiteldatei ist kein gültiges JSON (UTF-8).") from exc
    problems = chapters_problems(data)
    if problems:
        raise MediaError(" ".join(problems))
    return Checked("json")
