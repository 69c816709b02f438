"""Where backups live, what their names say, and the one-at-a-time lock."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kms.backups.errors import BUSY, BackupError
from kms.config import PRIVATE_DIR, get_config

KINDS = {
    "manual": "von Hand",
    "auto": "automatisch",
    "safety": "Sicherung vor Wiederherstellung",
    # Taken before an expired add-on's data is purged; "Alte Backups löschen" never deletes it.
    "retained": "vor Löschung eines Zusatzmoduls, dauerhaft aufbewahrt",
}
NAME_RE = re.compile(
    r"^kms-backup-(?P<ts>\d{8}T\d{6})Z-(?P<kind>manual|auto|safety|retained)(?:-(?P<n>\d{1,4}))?"
    r"\.tar(?P<enc>\.enc)?$"
)
TMP_PREFIX = ".kms-tmp-"
ProgressCallback = Callable[[str, float], None] | None
RESTORE_PREFIX = ".kms-restore-"
# The journal of a running restore (kms.backups.journal), beside the archives.
JOURNAL_NAME = "restore-journal.json"
CHECKSUM_SUFFIX = ".sha256"


def backups_dir() -> Path:
    """data/backups: outside files/, never inside a backup."""
    path = get_config().data_dir / "backups"
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class BackupInfo:
    """One backup archive on disk; its name carries time, kind and encryption."""

    path: Path
    created_at: datetime
    kind: str
    encrypted: bool
    size: int
    seq: int = 1  # the "-2" of a second backup within the same second

    @property
    def order(self) -> tuple[datetime, int, str]:
        """Sort key: creation time, then the suffix ("-2" after none), then the name."""
        return (self.created_at, self.seq, self.name)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def parse_name(path: Path) -> BackupInfo | None:
    """The BackupInfo of a file named like a backup, else None."""
    match = NAME_RE.match(path.name)
    if match is None:
        return None
    try:
        created = datetime.strptime(match["ts"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        size = path.stat().st_size
    except (ValueError, OSError):
        return None
    seq = int(match["n"] or 1)
    return BackupInfo(path, created, match["kind"], bool(match["enc"]), size, seq)


def list_backups(directory: Path | None = None) -> list[BackupInfo]:
    """Every backup, newest first."""
    directory = directory or backups_dir()
    found = [parse_name(p) for p in directory.iterdir() if p.is_file()]
    return sorted((b for b in found if b), key=lambda b: b.order, reverse=True)


def find_backup(name: str) -> BackupInfo:
    """A backup by file name (names only; a path never escapes the backups dir)."""
    info = parse_name(backups_dir() / name) if NAME_RE.match(name or "") else None
    if info is None:
        raise BackupError(f"Ein Backup „{name}“ gibt es nicht.")
    return info


def new_name(created_at: datetime, kind: str, encrypted: bool) -> Path:
    """A free file name for a new backup (a suffix when two fall into one second)."""
    stamp = created_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    ext = ".tar.enc" if encrypted else ".tar"
    directory = backups_dir()
    # After the highest suffix of this second, so a later backup never sorts before an
    # earlier one (also when one in between was deleted).
    taken = [parse_name(p) for p in directory.glob(f"kms-backup-{stamp}Z-{kind}*.tar*")]
    first = max((b.seq for b in taken if b is not None), default=0) + 1
    for n in range(first, 10000):
        suffix = "" if n == 1 else f"-{n}"
        path = directory / f"kms-backup-{stamp}Z-{kind}{suffix}{ext}"
        if not any(directory.glob(f"kms-backup-{stamp}Z-{kind}{suffix}.tar*")):
            return path
    raise BackupError("Zu viele Backups in derselben Sekunde.")  # pragma: no cover


def publish(tmp: Path, final: Path) -> None:
    """Make a finished, fsynced archive visible under its final name, never overwriting."""
    os.link(tmp, final)  # fails if `final` exists, unlike rename
    tmp.unlink()
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def exclusive() -> Iterator[None]:
    """One backup or restore at a time, across threads and processes (flock)."""
    lock_path = backups_dir() / ".lock"
    with open(lock_path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackupError(BUSY) from exc
        try:
            _clean_leftovers()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _clean_leftovers(max_restore_age: float = 86400) -> None:
    """Remove what an interrupted run left (temp archives, stale restore staging, checksums
    of deleted archives); never the staging of a restore whose journal awaits recovery."""
    now = time.time()
    directory = backups_dir()
    pending = _journal_work(directory)
    for path in directory.iterdir():
        stale_restore = (
            path.name.startswith(RESTORE_PREFIX)
            and path.name != pending
            and now - path.stat().st_mtime > max_restore_age
        )
        orphan_checksum = (
            path.name.startswith(".")
            and path.name.endswith(CHECKSUM_SUFFIX)
            and not (directory / path.name[1 : -len(CHECKSUM_SUFFIX)]).exists()
        )
        if path.name.startswith(TMP_PREFIX) or stale_restore or orphan_checksum:
            remove(path)


def _journal_work(directory: Path) -> str | None:
    """The staging directory named by a pending restore journal (kept for its recovery)."""
    try:
        work = json.loads((directory / JOURNAL_NAME).read_text("utf-8")).get("work", "")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(str(work)).name or None


def checksum_path(archive: Path) -> Path:
    """Where the SHA-256 of a whole archive is kept: a hidden file beside it."""
    return archive.with_name(f".{archive.name}{CHECKSUM_SUFFIX}")


def write_checksum(archive: Path, sha256: str, size: int) -> None:
    """Remember an archive's SHA-256 (its writer computed it), so nobody reads it again."""
    target = checksum_path(archive)
    tmp = target.with_name(target.name + ".part")
    tmp.write_text(f"{sha256} {size}\n", "ascii")
    os.replace(tmp, target)


def archive_checksum(archive: Path) -> tuple[str, int]:
    """(SHA-256, size) of an archive: from its checksum file, or hashed once in chunks."""
    size = archive.stat().st_size
    try:
        sha, stored = checksum_path(archive).read_text("ascii").split()
        if int(stored) == size and len(sha) == 64:
            return sha, size
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256()
    with open(archive, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    sha = digest.hexdigest()
    write_checksum(archive, sha, size)
    return sha, size


def delete_archive(archive: Path) -> None:
    """Delete a backup archive and its checksum file."""
    remove(archive)
    remove(checksum_path(archive))


def remove(path: Path) -> None:
    """Delete a file or directory tree; missing is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Tracker:
    """Turns byte counts into a progress fraction for a callback(phase, fraction)."""

    def __init__(self, callback: ProgressCallback, total: int = 0) -> None:
        self.callback = callback
        self.total = max(total, 1)
        self.done = 0
        self.phase = ""

    def set_phase(self, phase: str, total: int | None = None) -> None:
        self.phase = phase
        if total is not None:
            self.total, self.done = max(total, 1), 0
        self._emit()

    def advance(self, n: int) -> None:
        self.done += n
        self._emit()

    def _emit(self) -> None:
        if self.callback is not None:
            self.callback(self.phase, min(1.0, self.done / self.total))
