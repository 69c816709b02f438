"""Backups in Dokumente: every archive is a document of type "Backup", where it lies.

The archive stays in data/backups (outside files/, so a backup never contains an earlier
one and a restore never moves archives aside). Its DocumentBlob's storage name is
"backups:<archive name>" (an external store of kms.modules.documents.storage), with the
SHA-256 its writer computed and the size on disk; downloads stream through the
authenticated route of kms.backups.routes.

These rows describe the disk, not business data: a restore brings back the rows of the
backups that existed when the backup was taken, while the archives on disk are what they
are. So sync_locked() reconciles them (adds a row for each archive without one, removes
rows whose archive is gone) after every backup, prune and restore, at start-up and when
the Dokumente page lists backups. Deleting a backup document follows the backup rules
(never the newest backup; not while a backup or restore runs).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms.backups.errors import BackupError
from kms.backups.store import (
    BackupInfo,
    archive_checksum,
    checksum_path,
    exclusive,
    list_backups,
    parse_name,
)
from kms.config import get_config
from kms.errors import KmsError
from kms.permissions import Permission, require_permission
from kms.types import BERLIN

log = logging.getLogger(__name__)

STORE = "backups"
PREFIX = f"{STORE}:"
NEWEST = (
    "Das neueste Backup lässt sich nicht löschen: Es ist Ihre aktuelle Sicherung. "
    "Erzeugen Sie zuerst ein neueres Backup."
)


def archive_name(storage_name: str) -> str | None:
    """The archive a blob refers to, or None for an ordinary document."""
    return storage_name[len(PREFIX) :] if storage_name.startswith(PREFIX) else None


def is_backup_blob(column: Any) -> Any:
    """SQL: a document_blobs.storage_name that names a backup archive."""
    return column.startswith(PREFIX, autoescape=True)


def activity_filter(table: sa.Table) -> list[Any]:
    """Conditions that leave backup documents out of "what the business did" (reminders,
    loss reports): a backup is not a record a user saved."""
    from kms.modules.documents.service import BACKUP

    if table.name == "documents":
        return [table.c.doc_type != BACKUP]
    if table.name == "document_blobs":
        return [sa.not_(is_backup_blob(table.c.storage_name))]
    return []


def _title(info: BackupInfo) -> str:
    encrypted = ", verschlüsselt" if info.encrypted else ""
    # To the second: two backups of one minute must not look alike in a picker.
    when = info.created_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M:%S")
    return f"Backup vom {when} Uhr ({info.kind_label}{encrypted})"


def _issued_on(info: BackupInfo) -> date:
    return info.created_at.astimezone(BERLIN).date()


def sync_backup_documents(session: Session) -> tuple[int, int]:
    """Make the Backup documents match the archives on disk; returns (added, removed).

    Works in the caller's transaction. Each new row is added in a savepoint, so a row that
    another process added a moment ago is simply kept.
    """
    from kms.modules.documents import service
    from kms.modules.documents.models import Document, DocumentBlob

    on_disk = {b.name: b for b in list_backups()}
    blobs = {
        archive_name(name): (blob_id, sha)
        for blob_id, name, sha in session.execute(
            sa.select(DocumentBlob.id, DocumentBlob.storage_name, DocumentBlob.sha256).where(
                is_backup_blob(DocumentBlob.storage_name)
            )
        )
    }
    # A row is stale when its archive is gone, or when the name now belongs to another
    # archive (a restored database may describe an archive deleted since).
    gone = [
        blob_id
        for name, (blob_id, sha) in blobs.items()
        if name not in on_disk or _checksum(on_disk[name]) != sha
    ]
    blobs = {name: entry for name, entry in blobs.items() if entry[0] not in gone}
    if gone:
        doc_ids = list(session.scalars(sa.select(Document.id).where(Document.blob_id.in_(gone))))
        for doc in session.scalars(sa.select(Document).where(Document.id.in_(doc_ids))):
            session.delete(doc)  # tags and contact links go with it
        session.flush()
        session.execute(sa.delete(DocumentBlob).where(DocumentBlob.id.in_(gone)))
    # Rows of the right blob but without a document (a crash between the two) get one.
    with_doc = set(
        session.scalars(
            sa.select(Document.blob_id).where(
                Document.blob_id.in_(
                    [blob_id for name, (blob_id, _s) in blobs.items() if name in on_disk]
                )
            )
        )
    )
    added = 0
    for name, info in sorted(on_disk.items()):
        known = blobs.get(name)
        if known is not None and known[0] in with_doc:
            continue
        try:
            with session.begin_nested():
                blob = session.get(DocumentBlob, known[0]) if known else None
                if blob is None:
                    sha, size = archive_checksum(info.path)
                    blob = DocumentBlob(
                        sha256=sha,
                        size=size,
                        mime_type="application/x-tar"
                        if not info.encrypted
                        else "application/octet-stream",
                        storage_name=f"{PREFIX}{name}",
                    )
                    session.add(blob)
                    session.flush()
                session.add(
                    Document(
                        blob=blob,
                        doc_type=service.BACKUP,
                        source="generated",
                        title=_title(info),
                        filename=name,
                        issued_on=_issued_on(info),
                        retain_until=None,
                        search_key=service.search_key(_title(info), name, "backup"),
                        created_by="",
                        contact_links=[],
                        tags=[],
                    )
                )
                session.flush()
            added += 1
        except IntegrityError:
            log.info("backup document for %s was added concurrently", name)
        except OSError:
            log.warning("could not read backup %s for Dokumente", name, exc_info=True)
    return added, len(gone)


def in_sync(session: Session) -> bool:
    """True if every archive on disk has exactly one Backup document and no row is stale."""
    from kms.modules.documents.models import Document, DocumentBlob

    rows = session.execute(
        sa.select(DocumentBlob.storage_name, DocumentBlob.sha256, sa.func.count(Document.id))
        .outerjoin(Document, Document.blob_id == DocumentBlob.id)
        .where(is_backup_blob(DocumentBlob.storage_name))
        .group_by(DocumentBlob.storage_name, DocumentBlob.sha256)
    ).all()
    on_disk = {b.name: b for b in list_backups()}
    described = {name[len(PREFIX) :]: (sha, count) for name, sha, count in rows}
    if set(described) != set(on_disk):
        return False
    return all(
        count == 1 and _checksum(on_disk[name]) == sha for name, (sha, count) in described.items()
    )


def _checksum(info: BackupInfo) -> str | None:
    try:
        return archive_checksum(info.path)[0]
    except OSError:
        return None


def sync_locked() -> tuple[int, int] | None:
    """sync_backup_documents() in its own transaction, for a caller holding the backup lock.

    The rows describe the disk, so they are written also while KMS is read-only (maintenance,
    the end of a restore). Failures are logged, never raised: the archive is there and
    appears at the next sync.
    """
    from kms.backups.journal import pending
    from kms.db import session_scope
    from kms.notices import SKIP_GUARD

    if pending():
        return None  # an interrupted restore is recovered first (kms.backups.journal)
    try:
        with session_scope(write=False) as session:
            if in_sync(session):
                return (0, 0)  # the usual case: no write transaction for a page view
        with session_scope() as session:
            session.info[SKIP_GUARD] = True
            return sync_backup_documents(session)
    except Exception:
        log.exception("could not list backups in Dokumente")
        return None


def sync_now() -> tuple[int, int] | None:
    """Sync unless a backup or restore is running (it syncs when it ends); a restore that a
    killed process left is recovered first (kms.backups.journal)."""
    from kms.backups.journal import pending, recover_quietly

    if not (get_config().data_dir / STORE).is_dir():
        return None
    if pending():
        recover_quietly()
    try:
        with exclusive():
            return sync_locked()
    except BackupError:
        return None


def delete_backup_document(session: Session, document: Any) -> str:
    """Dokumente's delete for a backup: never the newest backup, not while one runs; the
    archive goes after the transaction commits (DocumentType.delete_with)."""
    require_permission(Permission.BACKUPS, session)
    from kms.modules.documents import storage
    from kms.modules.documents.models import DocumentBlob

    name = archive_name(document.blob.storage_name)
    if name is None:  # pragma: no cover - the type is only given to archive rows
        raise KmsError("Dieses Dokument ist kein Backup.")
    title = str(document.display_title)
    with exclusive():  # refuses with a German message while a backup or restore runs
        backups = list_backups()
        if backups and backups[0].name == name:
            raise KmsError(NEWEST)
        blob = session.get(DocumentBlob, document.blob_id)
        session.delete(document)
        session.flush()
        if blob is not None:
            session.delete(blob)
            session.flush()
        info = parse_name(storage.path_for(f"{PREFIX}{name}"))
        if info is not None:
            storage.schedule_unlink(session, info.path)
            storage.schedule_unlink(session, checksum_path(info.path))
    return title
