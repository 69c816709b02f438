"""Backups are documents of type "Backup" that stay in data/backups and match the disk."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from kms.backups.documents import sync_backup_documents, sync_now
from kms.backups.service import (
    apply_restore,
    create_backup,
    list_backups,
    prepare_restore,
)
from kms.backups.store import backups_dir, checksum_path, delete_archive, exclusive
from kms.config import get_config
from kms.db import session_scope
from kms.errors import KmsError
from kms.modules.documents import service as documents
from kms.modules.documents.models import Document, DocumentBlob
from kms.modules.documents.routes import stream_url
from tests.backups.helpers import (
    archive_members,
    archives_on_disk,
    backup_documents,
    db_snapshot,
    make_data,
)


def doc_id(name: str) -> int:
    with session_scope(write=False) as s:
        return int(s.scalar(sa.select(Document.id).where(Document.filename == name)))


def test_a_new_backup_is_a_document_of_type_backup_outside_files(db_url: str) -> None:
    """Type Backup, no retention, SHA-256 and size of the archive file; the file stays in
    data/backups and is found through the document."""
    backup = create_backup(passphrase="Korrekt Pferd Batterie")
    [(name, sha, size)] = backup_documents()
    assert name == backup.name
    assert sha == hashlib.sha256(backup.path.read_bytes()).hexdigest()
    assert size == backup.path.stat().st_size
    assert backup.path.parent == backups_dir()
    assert get_config().files_dir not in backup.path.parents
    with session_scope(write=False) as s:
        doc = s.scalar(sa.select(Document).where(Document.filename == backup.name))
        assert doc is not None
        assert (doc.doc_type, doc.source, doc.retain_until) == ("backup", "generated", None)
        assert "verschlüsselt" in doc.title
        assert documents.path_of(doc) == backup.path
        assert stream_url(doc) == f"/api/backups/download/{backup.name}"
        page = documents.list_documents(s, doc_types=["backup"])
        assert [d.filename for d in page.items] == [backup.name]
        assert documents.list_documents(s, hide_backups=True).total == 0


def test_a_backup_never_holds_an_earlier_backup_nor_its_file(db_url: str) -> None:
    """The earlier backup's row is in the database part, its archive is not among the files."""
    first = create_backup()
    second = create_backup()
    members = archive_members(second.path)
    assert not [m for m in members if m.startswith("data/backups")]
    assert all(first.path.read_bytes() != data for data in members.values())


def test_restore_lists_exactly_the_archives_on_disk(db_url: str) -> None:
    """The restored database names an archive pruned since and lacks the newer ones; after
    the restore Dokumente lists exactly what is on disk, the safety backup included."""
    make_data()
    pruned = create_backup()
    target = create_backup()  # its database part holds a row for `pruned`
    delete_archive(pruned.path)
    sync_now()
    newer = create_backup()
    assert [n for n, _s, _z in backup_documents()] == sorted([target.name, newer.name])

    result = apply_restore(prepare_restore(target.path), confirmation="WIEDERHERSTELLEN")

    names = [n for n, _s, _z in backup_documents()]
    assert names == sorted([target.name, newer.name, result.safety_backup.name])
    assert backup_documents() == archives_on_disk()


def test_sync_adds_missing_rows_and_removes_rows_without_archive(db_url: str) -> None:
    """An archive without row (copied in, no checksum file) gets one with its real hash; a
    row whose archive is gone disappears with its blob."""
    kept = create_backup()
    gone = create_backup()
    copied = backups_dir() / "kms-backup-20250101T100000Z-manual.tar"
    copied.write_bytes(kept.path.read_bytes() + b"\0" * 512)
    gone.path.unlink()
    assert not checksum_path(copied).exists()

    with session_scope() as s:
        assert sync_backup_documents(s) == (1, 1)
    with session_scope() as s:
        assert sync_backup_documents(s) == (0, 0)  # idempotent
    assert backup_documents() == archives_on_disk()
    assert checksum_path(copied).exists()
    with session_scope(write=False) as s:
        blobs = s.scalars(sa.select(DocumentBlob.storage_name)).all()
    assert sorted(blobs) == sorted(f"backups:{n}" for n in (kept.name, copied.name))


def test_deleting_a_backup_document_follows_the_backup_rules(db_url: str) -> None:
    """Never the newest backup; not while a backup runs; otherwise archive and checksum go
    after the commit (and stay if the transaction rolls back)."""
    older = create_backup()
    newest = create_backup()
    with pytest.raises(KmsError, match="neueste Backup lässt sich nicht löschen"):
        with session_scope() as s:
            documents.delete_document(s, doc_id(newest.name))
    with exclusive(), pytest.raises(KmsError, match="Gerade läuft schon"):
        with session_scope() as s:
            documents.delete_document(s, doc_id(older.name))
    with pytest.raises(RuntimeError), session_scope() as s:
        documents.delete_document(s, doc_id(older.name))
        raise RuntimeError("abgebrochen")
    assert older.path.exists() and checksum_path(older.path).exists()

    with session_scope() as s:
        assert "Backup vom" in documents.delete_document(s, doc_id(older.name))
    assert not older.path.exists() and not checksum_path(older.path).exists()
    assert [b.name for b in list_backups()] == [newest.name]
    assert backup_documents() == archives_on_disk()


def test_sweeper_neither_removes_archives_nor_reports_them_missing(db_url: str) -> None:
    backup = create_backup()
    with session_scope() as s:
        message = documents.sweep_orphans(s, datetime(2100, 1, 1, tzinfo=UTC))
    assert "ohne Datei" not in message
    assert backup.path.exists()


def test_loss_report_leaves_backup_documents_out(db_url: str) -> None:
    """Backups made after the backup are not "lost": they are listed again after restore."""
    make_data()
    backup = create_backup()
    create_backup()
    plan = prepare_restore(backup.path)
    try:
        assert "documents" not in {loss.table for loss in plan.losses}
        assert "document_blobs" not in {loss.table for loss in plan.losses}
    finally:
        from kms.backups.service import discard_plan

        discard_plan(plan)


def test_round_trip_comparison_leaves_out_only_backup_documents(db_url: str) -> None:
    """db_snapshot() ignores Backup documents (they describe the disk), but not others."""
    before = db_snapshot()
    create_backup()
    assert db_snapshot() == before
    with session_scope() as s:
        documents.store_generated(
            s,
            content=b"%PDF-1.7 x",
            filename="r.pdf",
            doc_type="invoice",
            mime_type="application/pdf",
        )
    assert db_snapshot()["documents"] != before["documents"]


def test_external_storage_names_never_leave_their_store(db_url: str) -> None:
    from kms.modules.documents import storage

    for bad in ("backups:../kms.sqlite3", "backups:", "fremd:datei.tar", "backups:a/b.tar"):
        with pytest.raises(KmsError, match="Ungültiger Speicherort"):
            storage.path_for(bad)


def test_a_name_that_now_belongs_to_another_archive_gets_a_fresh_row(db_url: str) -> None:
    """A restored database may describe an archive deleted since whose name a newer one
    took: the row follows the archive on disk (its checksum), not the name."""
    backup = create_backup()
    delete_archive(backup.path)
    backup.path.write_bytes(b"anderes Archiv" * 100)
    with session_scope() as s:
        assert sync_backup_documents(s) == (1, 1)
    assert backup_documents() == archives_on_disk()


def test_a_later_backup_of_the_same_second_never_reuses_a_deleted_name() -> None:
    from kms.backups.store import new_name

    stamp = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    for name in (
        "kms-backup-20261127T100000Z-manual.tar",
        "kms-backup-20261127T100000Z-manual-2.tar",
    ):
        (backups_dir() / name).write_bytes(b"x")
    (backups_dir() / "kms-backup-20261127T100000Z-manual.tar").unlink()
    assert new_name(stamp, "manual", False).name == "kms-backup-20261127T100000Z-manual-3.tar"


def test_a_page_view_in_sync_takes_no_write_transaction(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Listing checks first and writes only when rows and disk differ."""
    from kms.backups import documents as backup_documents_module

    create_backup()
    calls: list[int] = []
    real = backup_documents_module.sync_backup_documents
    monkeypatch.setattr(
        backup_documents_module,
        "sync_backup_documents",
        lambda s: calls.append(1) or real(s),
    )
    assert sync_now() == (0, 0)
    assert calls == []
    (backups_dir() / "kms-backup-20250101T100000Z-auto.tar").write_bytes(b"x" * 10)
    assert sync_now() == (1, 0)
    assert calls == [1]
    assert backup_documents() == archives_on_disk()
