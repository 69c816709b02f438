"""The file store under files_dir/documents, tied to the database transaction.

Order of work, so a crash at any point leaves no record without its file:
- writing: bytes go to tmp/<random>.part, are fsynced and renamed to their final random
  name *before* the record is flushed; a rollback removes the new file again, a crash
  leaves a file without a record, which the sweeper removes once it is an hour old;
- deleting: the record goes in the transaction; the file is unlinked only after commit
  (an `after_commit` hook); a crash between the two leaves a file without a record.
So a record never points to a missing file, and a file without a record is swept.

External stores: a few files KMS keeps outside files_dir/documents are still listed as
documents. Their storage name is "<store>:<file name>" (e.g. "backups:kms-backup-….tar",
an archive in data/backups), resolved through the stores modules declare
(ModuleSpec.file_stores). The sweeper never touches them, and only the owning module
deletes them (DocumentType.delete_with).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kms.config import PRIVATE_DIR, get_config, private_opener
from kms.errors import KmsError

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
ORPHAN_AGE = timedelta(hours=1)
_NEW = "kms_documents_new_files"  # [(path, restore_to)] undone on rollback
_UNLINK = "kms_documents_unlink_after_commit"  # [path] removed after commit


def _stores() -> dict[str, Any]:
    """The external stores modules declare (ModuleSpec.file_stores), by key."""
    from kms.registry import file_stores

    return file_stores()


def external_name(store: str, filename: str) -> str:
    """The storage name of a file in an external store."""
    if store not in _stores() or "/" in filename or not filename.strip("."):
        raise KmsError("Ungültiger Speicherort eines Dokuments.")
    return f"{store}:{filename}"


def split_external(storage_name: str) -> tuple[Any, str] | None:
    """(store, file name) for an external storage name, None for the documents store."""
    store, sep, filename = storage_name.partition(":")
    if not sep:
        return None
    stores = _stores()
    if store not in stores:
        raise KmsError("Ungültiger Speicherort eines Dokuments.")
    return stores[store], filename


def external_url(storage_name: str) -> str | None:
    """The streaming route of an externally stored file, None for the documents store."""
    from kms.registry import resolve

    found = split_external(storage_name)
    return None if found is None else str(resolve(found[0].url)(found[1]))


def root() -> Path:
    """files_dir/documents, created on demand."""
    path = get_config().files_dir / "documents"
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def path_for(storage_name: str) -> Path:
    """The absolute path of a stored file; refuses anything that leaves the store."""
    external = split_external(storage_name)
    if external is not None:
        from kms.registry import resolve

        base = Path(resolve(external[0].root)()).resolve()
        path = (base / external[1]).resolve()
        if path.parent != base or "/" in external[1]:
            raise KmsError("Ungültiger Speicherort eines Dokuments.")
        return path
    base = root().resolve()
    path = (base / storage_name).resolve()
    if base not in path.parents:
        raise KmsError("Ungültiger Speicherort eines Dokuments.")
    return path


def new_storage_name(extension: str, *, folder: str = "") -> str:
    """A fresh random name like "backups/3f/3f9a…e1.zip" (never derived from user input)."""
    token = uuid.uuid4().hex
    return f"{folder}{token[:2]}/{token}{extension}"


def _tmp_path() -> Path:
    tmp = root() / "tmp"
    tmp.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return tmp / f"{uuid.uuid4().hex}.part"


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_temp(source: BinaryIO) -> tuple[Path, str, int]:
    """Copy `source` in chunks to a temporary file; return (path, sha256, size).

    On any error the temporary file is removed and the error propagates: no record is
    written by the caller then.
    """
    tmp = _tmp_path()
    digest = hashlib.sha256()
    size = 0
    try:
        with open(tmp, "xb", opener=private_opener) as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, digest.hexdigest(), size


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file, read in chunks (never whole into memory)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def install(session: Session, source: Path, storage_name: str, *, keep_source: bool) -> Path:
    """Move `source` to its final name; undone if the session rolls back.

    keep_source=False renames a temp file; keep_source=True adopts a caller's file, which
    is moved back where it was on rollback. Across file systems it is copied in chunks
    (never through memory as a whole) and the original is removed after commit.
    """
    final = path_for(storage_name)
    final.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    restore_to: Path | None = source if keep_source else None
    try:
        os.replace(source, final)
    except OSError:
        if not keep_source:
            raise
        tmp = _tmp_path()
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        restore_to = None
        schedule_unlink(session, source)
    # Age counts from adoption: the sweeper must not take a file whose record is pending.
    os.utime(final)
    _fsync_dir(final.parent)
    session.info.setdefault(_NEW, []).append((final, restore_to))
    return final


def _undo(path: Path, restore_to: Path | None) -> None:
    if restore_to is not None:
        os.replace(path, restore_to)
    else:
        _unlink(path)


def undo_install(session: Session, final: Path) -> Path | None:
    """Undo one install now (the record was not needed); returns where an adopted file went."""
    entries = session.info.get(_NEW, [])
    for entry in entries:
        if entry[0] == final:
            entries.remove(entry)
            _undo(*entry)
            return entry[1]
    return None


def schedule_unlink(session: Session, path: Path) -> None:
    """Remove `path` once the session's transaction has committed (never before)."""
    session.info.setdefault(_UNLINK, []).append(path)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit is still to come
    session.info.pop(_NEW, None)
    for path in session.info.pop(_UNLINK, []):
        try:
            _unlink(path)
        except OSError:
            # The record is gone already; the sweeper removes the file later.
            log.warning("could not remove %s after commit", path, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_UNLINK, None)
    for path, restore_to in session.info.pop(_NEW, []):
        try:
            _undo(path, restore_to)
        except OSError:
            log.warning("could not undo new file %s", path, exc_info=True)


def _files(base: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            yield Path(dirpath) / name


def sweep(session: Session, now: datetime) -> tuple[int, int]:
    """Remove files without a record that are older than an hour; count records without file.

    Returns (removed files, records whose file is missing). Directory entries are checked
    against the database in batches, so neither side is loaded whole.
    """
    from kms.modules.documents.models import DocumentBlob

    base = root()
    cutoff = (now - ORPHAN_AGE).timestamp()
    removed = 0
    batch: dict[str, Path] = {}

    def flush_batch() -> None:
        nonlocal removed
        known = set(
            session.scalars(
                select(DocumentBlob.storage_name).where(DocumentBlob.storage_name.in_(batch))
            )
        )
        for name, path in batch.items():
            if name not in known:
                try:
                    _unlink(path)
                    removed += 1
                except OSError:
                    log.warning("sweeper could not remove %s", path, exc_info=True)
        batch.clear()

    for path in _files(base):
        try:
            if path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        batch[path.relative_to(base).as_posix()] = path
        if len(batch) >= 500:
            flush_batch()
    if batch:
        flush_batch()
    missing = 0
    for name in session.scalars(select(DocumentBlob.storage_name).execution_options(yield_per=500)):
        if not (path_for(name) if ":" in name else base / name).is_file():
            missing += 1
    return removed, missing


def open_file(storage_name: str) -> BinaryIO:
    """The stored file opened for reading, or a German error if it is gone."""
    try:
        return open(path_for(storage_name), "rb")
    except FileNotFoundError as exc:
        raise KmsError(
            "Die Datei zu diesem Dokument fehlt im Speicher. Bitte wenden Sie sich an den "
            "Support (Sonstiges → Fehlermeldungen)."
        ) from exc
