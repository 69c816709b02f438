"""The archive format: a tar stream (optionally encrypted) with a manifest at its end.

Members, in this order:

- ``database/<table>.jsonl.gz``: the rows of one table (kms.backups.rows); stored files
  are never in here, only once each as their own ``data/`` member
- ``data/<path>``: every stored file under the data dir, by its path relative to it
- ``manifest.json``: format, KMS version, schema revision, creation time, audit head,
  the tables with their columns and row counts, and the size and SHA-256 of every member

Only regular files; the manifest is last, so an archive that was cut short has none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from kms.backups import gz
from kms.backups.crypto import DecryptingReader, is_encrypted
from kms.backups.errors import (
    DAMAGED,
    NEEDS_PASSPHRASE,
    TRUNCATED,
    BackupError,
    PassphraseRequired,
)

FORMAT = "kms-backup"
# 2: table rows as JSON arrays in the manifest's column order, fast gzip (kms.backups.gz;
# 1: objects, level 6). Archives of every version in READABLE_VERSIONS restore.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
DB_PREFIX = "database/"
DATA_PREFIX = "data/"
# 512 KB, not 1 MB: with 1 MB pieces every chunk and what it inflates to came as fresh
# memory from the kernel, 83,000 page faults per verify of the large instance (1,800 now),
# and verify took 0.75 s instead of 0.58 s (docs/performance.md, eleventh round).
READ_CHUNK = 512 << 10
# tarfile's stream buffer: it copies what is left of it for every header and small member
# it takes out, so 1 MB cost 0.5 s for the 10,000 small files of the large instance.
TAR_BUFFER = 64 << 10
# Under the data dir, never in a backup: secrets, backups themselves, temp files.
EXCLUDED_TOP = {"secrets", "backups", "tmp", ".migrate.lock"}
# Where the documents store keeps backup archives it adopted (kms.modules.documents).
EXCLUDED_DIRS = {"files/documents/backups"}
TEMP_SUFFIXES = (".tmp", ".part", "-journal", "-wal", "-shm")
_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

Progress = Callable[[int], None]


def is_temp_name(name: str) -> bool:
    """Temp and lock files that writers leave while they work."""
    return name.endswith(TEMP_SUFFIXES) or name.startswith((".~", ".kms-tmp"))


def data_files(data_dir: Path, exclude: set[Path]) -> Iterator[tuple[str, Path]]:
    """(archive-relative path, absolute path) of every stored file, sorted, no symlinks."""
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        rel_root = here.relative_to(data_dir)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d not in EXCLUDED_TOP]
        dirs[:] = sorted(
            d
            for d in dirs
            if not (here / d).is_symlink() and (rel_root / d).as_posix() not in EXCLUDED_DIRS
        )
        for name in sorted(files):
            path = here / name
            if rel_root == Path(".") and name in EXCLUDED_TOP:
                continue
            if is_temp_name(name) or path in exclude or path.is_symlink() or not path.is_file():
                continue
            yield (rel_root / name).as_posix(), path


def backed_up(data_dir: Path, path: Path) -> bool:
    """Whether a backup copies this stored file (the rules of data_files, for one path)."""
    root = data_dir.resolve()
    try:
        rel = path.absolute().relative_to(root)
    except ValueError:
        return False
    if path.resolve() != root / rel:  # a symlink on the way: data_files does not follow it
        return False
    parts = rel.parts
    if not parts or parts[0] in EXCLUDED_TOP or is_temp_name(rel.name):
        return False
    if any("/".join(parts[:n]) in EXCLUDED_DIRS for n in range(1, len(parts))):
        return False
    return path.is_file()


@dataclass
class Manifest:
    """What an archive says about itself."""

    kms_version: str
    schema_revision: str
    created_at: str
    kind: str
    source_dialect: str
    audit_head: str | None
    tables: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    # The newest audit entry {"id", "hash"} (since issue 11; older manifests lack it).
    audit_anchor: dict[str, Any] | None = None
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BackupError(DAMAGED + " (Inhaltsverzeichnis unlesbar)") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError("Die Datei ist kein KMS-Backup.")
        if data.get("format_version") not in READABLE_VERSIONS:
            raise BackupError(
                f"Das Backup hat das Format {data.get('format_version')!r}; diese KMS-Version "
                f"liest Format {' und '.join(map(str, READABLE_VERSIONS))}. "
                "Bitte KMS aktualisieren."
            )
        try:
            optional = {"audit_anchor"}
            manifest = cls(
                **{k: data[k] for k in cls.__dataclass_fields__ if k in data or k not in optional}
            )
        except (KeyError, TypeError) as exc:
            raise BackupError(DAMAGED + f" (Inhaltsverzeichnis unvollständig: {exc})") from exc
        for table in manifest.tables:
            if not _TABLE_RE.match(str(table.get("name", ""))):
                raise BackupError(DAMAGED + f" (ungültiger Tabellenname {table.get('name')!r})")
            columns = table.get("columns")
            if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                raise BackupError(DAMAGED + f" (Spalten der Tabelle {table.get('name')!r})")
        return manifest


class HashingReader:
    """Hashes what tar reads from a file (the bytes that go into the archive)."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.source.read(n)
        self.sha.update(data)
        return data


class HashingWriter:
    """Hashes and counts what goes into the archive file (its SHA-256 as a document)."""

    def __init__(self, target: BinaryIO) -> None:
        self.target = target
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.target.write(data)


class ArchiveWriter:
    """Adds members to a tar stream and remembers their size and SHA-256."""

    def __init__(self, stream: BinaryIO) -> None:
        self._tar = tarfile.open(
            fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT, bufsize=TAR_BUFFER
        )
        self.parts: list[dict[str, Any]] = []

    def add_file(self, name: str, path: Path, progress: Progress | None = None) -> None:
        """Add a file's bytes as they are now; a file that changes size meanwhile fails."""
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o600
            reader = HashingReader(fh)
            self._tar.addfile(info, reader)  # type: ignore[arg-type]
        self.parts.append({"path": name, "size": st.st_size, "sha256": reader.sha.hexdigest()})
        if progress:
            progress(st.st_size)

    def add_manifest(self, manifest: Manifest) -> None:
        import io

        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode = len(raw), 0o600
        self._tar.addfile(info, io.BytesIO(raw))

    def close(self) -> None:
        self._tar.close()

    def abort(self) -> None:
        """Give up without writing the end of the archive (the temp file is deleted)."""
        stream: Any = self._tar.fileobj
        self._tar.closed = True  # type: ignore[attr-defined]
        if stream is not None:
            stream.closed = True  # tarfile's _Stream would otherwise flush when collected


def safe_member_name(name: str) -> str:
    """Refuse absolute paths, "..", and names outside the known prefixes."""
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or any(p in ("..", "", ".") for p in name.split("/"))
    ):
        raise BackupError(
            f"Das Backup enthält den unzulässigen Pfad „{name}“ "
            "(außerhalb des Datenverzeichnisses)."
        )
    if name == MANIFEST:
        return name
    if name.startswith(DB_PREFIX):
        table = name[len(DB_PREFIX) :].removesuffix(".jsonl.gz")
        if name.endswith(".jsonl.gz") and _TABLE_RE.match(table):
            return name
    if name.startswith(DATA_PREFIX) and len(name) > len(DATA_PREFIX):
        top = name[len(DATA_PREFIX) :].split("/")[0]
        if top not in EXCLUDED_TOP:
            return name
        raise BackupError(
            f"Das Backup enthält „{name}“; Geheimnisse und Backups gehören nie hinein."
        )
    raise BackupError(f"Das Backup enthält die unbekannte Datei „{name}“.")


@dataclass
class ReadResult:
    """A fully read and checked archive."""

    manifest: Manifest
    encrypted: bool
    size: int
    problems: list[str] = field(default_factory=list)


def open_plain(fh: BinaryIO, passphrase: str | None) -> tuple[BinaryIO, bool]:
    """The tar stream of an archive file, decrypting if it is encrypted."""
    head = fh.read(8)
    fh.seek(0)
    if not head:
        raise BackupError("Die Datei ist leer und kein KMS-Backup.")
    if is_encrypted(head):
        if not passphrase:
            raise PassphraseRequired(NEEDS_PASSPHRASE)
        return DecryptingReader(fh, passphrase), True  # type: ignore[return-value]
    return fh, False


def read_archive(
    path: Path,
    *,
    passphrase: str | None = None,
    extract_to: Path | None = None,
    progress: Progress | None = None,
) -> ReadResult:
    """Stream through an archive: check structure and every hash; optionally extract.

    Raises BackupError for anything that makes the archive unusable; its `.problems`
    lists every individual finding (all mismatching hashes, missing and extra files).
    """
    size = path.stat().st_size
    with open(path, "rb") as raw:
        stream, encrypted = open_plain(raw, passphrase)
        try:
            with ExitStack() as threads:
                pools = [
                    threads.enter_context(ThreadPoolExecutor(1, thread_name_prefix="kms-inflate"))
                    for _ in range(INFLATE_THREADS)
                ]
                # A plain archive is a file: tarfile reads its headers and KMS each member's
                # bytes straight from it. Only a decrypted one is read as a stream, whose
                # small reads through tarfile cost 0.2 s more for 10,000 files.
                tar = threads.enter_context(
                    tarfile.open(fileobj=stream, mode="r|", bufsize=TAR_BUFFER)
                    if encrypted
                    else tarfile.open(fileobj=raw, mode="r:")
                )
                rows = RowCounter(pools)
                try:
                    seen, manifest_raw = _members(
                        tar, None if encrypted else raw, rows, extract_to, progress
                    )
                    rows.finish()
                finally:
                    rows.cancel()  # on an error: chunks not yet started are dropped
        except (tarfile.TarError, EOFError, gz.error) as exc:
            raise BackupError(TRUNCATED if _looks_truncated(exc) else DAMAGED) from exc
    if manifest_raw is None:
        raise BackupError(TRUNCATED)
    manifest = Manifest.from_json(manifest_raw)
    problems = compare_parts(manifest, seen)
    if problems:
        raise BackupError(
            "Das Backup ist beschädigt: "
            + ("; ".join(problems[:5]) + (" …" if len(problems) > 5 else "")),
            problems,
        )
    return ReadResult(manifest=manifest, encrypted=encrypted, size=size)


class _Span:
    """The bytes of one member of a plain archive, read straight from its file (tarfile
    seeks to the next header itself)."""

    def __init__(self, raw: BinaryIO, member: tarfile.TarInfo) -> None:
        raw.seek(member.offset_data)
        self.raw, self.left = raw, member.size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        chunk = self.raw.read(size) if size else b""
        self.left -= len(chunk)
        return chunk


def _members(
    tar: tarfile.TarFile,
    raw: BinaryIO | None,
    rows: RowCounter,
    extract_to: Path | None,
    progress: Progress | None,
) -> tuple[dict[str, dict[str, Any]], bytes | None]:
    """Every member's size and hash (rows counted by `rows`), and the manifest's bytes;
    `raw` is the archive's file when it is plain (None: read through `tar`'s stream)."""
    seen: dict[str, dict[str, Any]] = {}
    manifest_raw: bytes | None = None
    for member in tar:
        name = safe_member_name(member.name)
        # A sparse member's bytes are not where its header says (KMS never writes one).
        if not member.isfile() or member.issparse():
            raise BackupError(
                f"Das Backup enthält „{member.name}“, das keine gewöhnliche Datei ist "
                "(Verknüpfung oder Gerät); solche Einträge werden nie "
                "wiederhergestellt."
            )
        if manifest_raw is not None:
            raise BackupError(DAMAGED + f" („{name}“ steht hinter dem Inhaltsverzeichnis)")
        if name in seen:
            raise BackupError(DAMAGED + f" („{name}“ kommt doppelt vor)")
        source: Any = _Span(raw, member) if raw is not None else tar.extractfile(member)
        assert source is not None  # noqa: S101 - isfile() checked above
        if name == MANIFEST:
            if member.size > 64 << 20:
                raise BackupError(DAMAGED + " (Inhaltsverzeichnis zu groß)")
            manifest_raw = source.read()
            continue
        seen[name] = _consume(source, name, member.size, extract_to, progress, rows)
    return seen, manifest_raw


def _looks_truncated(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, EOFError) or "unexpected end" in text or "truncated" in text


# Chunks (READ_CHUNK each) waiting for the inflate threads: bounds the memory to 48 MB,
# enough for the reader to pass the largest part of the large instance (audit_events,
# 39 MB) while it is still being inflated.
INFLATE_AHEAD = (48 << 20) // READ_CHUNK
INFLATE_THREADS = 2


class RowCounter:
    """Counts the rows of the table parts on other threads while the reader goes on.

    Each part goes to one thread (the one with the fewest bytes queued when the part
    starts), so its stream is decompressed in order while another thread inflates the
    next parts; the reader only waits when more than INFLATE_AHEAD chunks are queued, and
    for the rest in finish(). zlib-ng and hashlib release the GIL, so on two cores the
    inflating (most of a verify: 600 MB of rows for the large instance) runs beside the
    hashing instead of after it.
    """

    def __init__(self, pools: list[ThreadPoolExecutor]) -> None:
        self.pools = pools
        self.queued = [0] * len(pools)  # bytes submitted to each thread and not yet taken
        self.pending: deque[tuple[dict[str, Any], int, int, Future[int]]] = deque()
        self.parts: list[tuple[dict[str, Any], Any]] = []

    def start(self, info: dict[str, Any]) -> tuple[Any, int]:
        """A new part: its inflater and the thread that inflates all of it."""
        info["rows"] = 0
        inflate = gz.inflater()
        self.parts.append((info, inflate))
        return inflate, min(range(len(self.pools)), key=self.queued.__getitem__)

    def add(self, info: dict[str, Any], part: tuple[Any, int], chunk: bytes) -> None:
        inflate, thread = part
        future = self.pools[thread].submit(gz.count_lines, inflate, chunk)
        self.queued[thread] += len(chunk)
        self.pending.append((info, thread, len(chunk), future))
        while len(self.pending) > INFLATE_AHEAD:
            self._take()

    def _take(self) -> None:
        info, thread, size, future = self.pending.popleft()
        info["rows"] += future.result()  # a gz.error of the thread is raised here
        self.queued[thread] -= size

    def finish(self) -> None:
        """Wait for every count; mark a part whose stream did not end as broken."""
        while self.pending:
            self._take()
        for info, inflate in self.parts:
            if not inflate.eof:
                info["broken"] = True

    def cancel(self) -> None:
        for _info, _thread, _size, future in self.pending:
            future.cancel()


def _consume(
    source: IO[bytes],
    name: str,
    size: int,
    extract_to: Path | None,
    progress: Progress | None,
    rows: RowCounter,
) -> dict[str, Any]:
    """Hash a member (and write it out) in one pass; a table part's rows are counted by
    `rows` (complete after rows.finish())."""
    sha = hashlib.sha256()
    out = None
    info: dict[str, Any] = {"size": size}
    part = rows.start(info) if name.startswith(DB_PREFIX) else None
    if extract_to is not None:
        target = extract_to / name
        target.parent.mkdir(parents=True, exist_ok=True)
        out = open(target, "wb")  # closed in the finally below
    try:
        read = 0
        while True:
            chunk = source.read(READ_CHUNK)
            if not chunk:
                break
            read += len(chunk)
            sha.update(chunk)
            if part is not None:
                rows.add(info, part, chunk)
            if out is not None:
                out.write(chunk)
            if progress:
                progress(len(chunk))
        if read != size:
            raise BackupError(TRUNCATED)
    finally:
        if out is not None:
            out.close()
    info["sha256"] = sha.hexdigest()
    return info


def compare_parts(manifest: Manifest, seen: dict[str, dict[str, Any]]) -> list[str]:
    """Every difference between what the manifest lists and what the archive holds."""
    problems: list[str] = []
    listed = {p["path"]: p for p in manifest.parts}
    for name in sorted(set(listed) - set(seen)):
        problems.append(f"„{name}“ fehlt im Backup")
    for name in sorted(set(seen) - set(listed)):
        problems.append(
            f"„{name}“ ist zusätzlich im Backup, steht aber nicht im Inhaltsverzeichnis"
        )
    for name in sorted(set(listed) & set(seen)):
        want, got = listed[name], seen[name]
        if want.get("sha256") != got["sha256"] or want.get("size") != got["size"]:
            problems.append(f"„{name}“ ist verändert (SHA-256 stimmt nicht)")
        elif got.get("broken"):
            problems.append(f"„{name}“ ist nicht vollständig komprimiert")
    for table in manifest.tables:
        part = seen.get(table.get("part", ""))
        if part is not None and part.get("rows") != table.get("rows"):
            problems.append(
                f"Tabelle {table['name']}: {part.get('rows')} statt {table.get('rows')} Zeilen"
            )
    tables = {t.get("part") for t in manifest.tables}
    for name in sorted(n for n in listed if n.startswith(DB_PREFIX) and n not in tables):
        problems.append(f"„{name}“ gehört zu keiner Tabelle des Inhaltsverzeichnisses")
    return problems
