"""Backup erzeugen: a consistent database snapshot plus every stored file, in one archive."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import kms
from kms.backups import WATCH_KEY, hooks
from kms.backups.archive import (
    DATA_PREFIX,
    DB_PREFIX,
    ArchiveWriter,
    HashingWriter,
    Manifest,
    data_files,
)
from kms.backups.crypto import EncryptingWriter
from kms.backups.errors import disk_errors
from kms.backups.rows import TableDump, dump_table
from kms.backups.store import (
    TMP_PREFIX,
    BackupInfo,
    ProgressCallback,
    Tracker,
    backups_dir,
    exclusive,
    new_name,
    parse_name,
    publish,
    remove,
    write_checksum,
)
from kms.config import ensure_dirs, get_config, private_opener
from kms.db import ensure_migrated, get_engine
from kms.functions import run_soon
from kms.models import Base
from kms.notices import RESTORE_KEY
from kms.permissions import Permission, require_permission
from kms.registry import import_models
from kms.types import utcnow


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).resolve()


def create_backup(
    *, kind: str = "manual", passphrase: str | None = None, progress: ProgressCallback = None
) -> BackupInfo:
    """Write a new backup archive into the backups dir and return it.

    The database is read in one snapshot transaction while KMS stays in use (SQLite WAL
    readers and PostgreSQL REPEATABLE READ see one consistent state). Files are copied
    after the snapshot: services write a file before committing the row that names it, so
    every file a row refers to is already there. The archive is written to a temp file,
    fsynced and then linked into place: no half-written backup ever carries a backup name.
    """
    require_permission(Permission.BACKUPS)
    from kms.backups.documents import sync_locked
    from kms.backups.journal import recover_locked

    with exclusive():
        recover_locked()  # a restore a killed process left is finished before the snapshot
        info = create_locked(kind=kind, passphrase=passphrase, progress=progress)
        sync_locked()  # the new archive appears in Dokumente as a document of type Backup
    run_soon(WATCH_KEY)  # the reminder re-judges within a tick instead of within an hour
    return info


def create_locked(
    *, kind: str, passphrase: str | None = None, progress: ProgressCallback = None
) -> BackupInfo:
    """create_backup() for a caller that already holds the backup lock (restore)."""
    config = get_config()
    ensure_dirs(config)
    ensure_migrated()
    import_models()
    created_at = utcnow()
    directory = backups_dir()
    work = directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp = work.with_suffix(".part")
    tracker = Tracker(progress)
    db_file = sqlite_path(config.database_url)
    try:
        with disk_errors("Backup erzeugen"):
            work.mkdir()
            tracker.set_phase("Datenbank lesen", total=len(Base.metadata.tables))
            tables, revision, audit_head, audit_anchor = dump_database(work, tracker)
            files = list(data_files(config.data_dir, exclude={db_file} if db_file else set()))
            total = sum((work / t.table).stat().st_size for t in tables)
            total += sum(path.stat().st_size for _rel, path in files)
            tracker.set_phase("Archiv schreiben", total=total)
            with open(tmp, "wb", buffering=1 << 20, opener=private_opener) as fh:
                hashing = HashingWriter(fh)
                sink = EncryptingWriter(hashing, passphrase) if passphrase else hashing  # type: ignore[arg-type]
                writer = ArchiveWriter(sink)  # type: ignore[arg-type]
                try:
                    for dump in tables:
                        name = f"{DB_PREFIX}{dump.table}.jsonl.gz"
                        writer.add_file(name, work / dump.table, tracker.advance)
                    for rel, path in files:
                        writer.add_file(DATA_PREFIX + rel, path, tracker.advance)
                    manifest = _manifest(
                        kind, created_at, revision, audit_head, tables, writer.parts
                    )
                    manifest.audit_anchor = audit_anchor
                    writer.add_manifest(manifest)
                except BaseException:
                    writer.abort()
                    raise
                writer.close()
                if isinstance(sink, EncryptingWriter):
                    sink.close()
                fh.flush()
                os.fsync(fh.fileno())
            final = new_name(created_at, kind, bool(passphrase))
            publish(tmp, final)
            write_checksum(final, hashing.sha.hexdigest(), hashing.size)
    finally:
        remove(work)
        remove(tmp)
    info = parse_name(final)
    assert info is not None  # noqa: S101 - new_name() makes parseable names
    tracker.set_phase("fertig", total=1)
    tracker.advance(1)
    return info


def _manifest(
    kind: str,
    created_at: datetime,
    revision: str,
    audit_head: str | None,
    tables: list[TableDump],
    parts: list[dict[str, Any]],
) -> Manifest:
    return Manifest(
        kms_version=kms.__version__,
        schema_revision=revision,
        created_at=created_at.isoformat(),
        kind=kind,
        source_dialect=get_engine().dialect.name,
        audit_head=audit_head,
        tables=[
            {
                "name": t.table,
                "part": f"{DB_PREFIX}{t.table}.jsonl.gz",
                "rows": t.rows,
                "columns": t.columns,
            }
            for t in tables
        ],
        parts=parts,
    )


def dump_database(
    work: Path, tracker: Tracker
) -> tuple[list[TableDump], str, str | None, dict[str, Any] | None]:
    """Every table of the models, its schema revision and the audit head (hash, and id with
    hash as the anchor `kms audit verify` compares with), from one snapshot."""
    engine = get_engine()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with conn.begin():
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            dumps = []
            for table in Base.metadata.sorted_tables:
                skip = SKIPS.get(table.name)
                dumps.append(dump_table(conn, table, work / table.name, skip=skip))
                tracker.advance(1)
            with Session(bind=conn) as session:
                audit_head = hooks.audit_head(session)
                audit_anchor = hooks.audit_anchor(session)
    return dumps, revision, audit_head, audit_anchor


def _skip_restore_flag(row: dict[str, object]) -> bool:
    """The read-only flag of a running restore is state of the moment, not data."""
    return row.get("key") == RESTORE_KEY


def _skip_running_backup_job(row: dict[str, object]) -> bool:
    """The backup's own running job (and a restore's, for its safety backup) is state of the
    moment too: restored, it would only show up as "abgebrochen". No row refers to them."""
    return str(row.get("kind", "")).startswith("backup_") and row.get("status") in (
        "queued",
        "running",
    )


SKIPS = {"key_values": _skip_restore_flag, "jobs": _skip_running_backup_job}
