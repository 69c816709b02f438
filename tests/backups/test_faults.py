"""Every broken backup is refused with a German message; failures leave nothing behind."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from kms import audit
from kms.backups import archive, create, restore
from kms.backups.errors import DISK_FULL
from kms.backups.service import (
    BackupError,
    apply_restore,
    create_backup,
    list_backups,
    prepare_restore,
    verify_backup,
)
from kms.backups.store import backups_dir, checksum_path
from kms.db import session_scope
from kms.models import KeyValue
from kms.notices import RESTORE_KEY
from tests.backups.helpers import (
    db_snapshot,
    file_snapshot,
    head_revision,
    make_data,
    rewrite,
    wipe,
)


def leftovers() -> list[str]:
    """Anything in the backups dir besides finished backups, their checksums and the lock."""
    backups = list_backups()
    names = {b.name for b in backups} | {checksum_path(b.path).name for b in backups}
    return sorted(p.name for p in backups_dir().iterdir() if p.name not in names | {".lock"})


@pytest.fixture
def backup(db_url: str) -> Path:
    make_data()
    return create_backup().path


def test_interrupted_backup_leaves_no_archive(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An exception halfway through writing: no archive appears and temp files are gone."""
    make_data()
    calls = {"n": 0}
    original = archive.ArchiveWriter.add_file

    def failing(self, name, path, progress=None):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("Stromausfall")
        return original(self, name, path, progress)

    monkeypatch.setattr(archive.ArchiveWriter, "add_file", failing)
    with pytest.raises(RuntimeError):
        create_backup()
    assert list_backups() == []
    assert leftovers() == []


def test_disk_full_gives_a_german_message_and_no_half_archive(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """ENOSPC while writing the archive: "Nicht genug Speicherplatz", nothing half-written."""
    make_data()
    real_open = open

    class Full:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh, self.written = fh, 0

        def write(self, data):  # type: ignore[no-untyped-def]
            self.written += len(data)
            if self.written > 4096:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(self.fh, name)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc):  # type: ignore[no-untyped-def]
            self.fh.close()

    def full_open(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        fh = real_open(path, mode, *args, **kwargs)
        return Full(fh) if "w" in mode else fh

    monkeypatch.setattr(create, "open", full_open, raising=False)
    with pytest.raises(BackupError) as info:
        create_backup()
    assert info.value.message == DISK_FULL
    assert list_backups() == []
    assert leftovers() == []


def test_interrupted_restore_leaves_the_old_state(backup: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The database step fails after the files were swapped: files come back, data intact."""
    wipe()
    rows, files = db_snapshot(), file_snapshot()
    plan = prepare_restore(backup)

    def broken(_plan):  # type: ignore[no-untyped-def]
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(restore, "_swap_database", broken)
    with pytest.raises(BackupError, match="Fehler beim Lesen oder Schreiben"):
        apply_restore(plan, confirmation="WIEDERHERSTELLEN")
    assert db_snapshot() == rows
    assert file_snapshot() == files
    with session_scope(write=False) as s:
        assert s.get(KeyValue, RESTORE_KEY) is None
    assert leftovers() == []


def test_restore_needs_the_typed_confirmation(backup: Path) -> None:
    """Without „WIEDERHERSTELLEN“ nothing happens, and the plan can still be used."""
    wipe()
    rows = db_snapshot()
    plan = prepare_restore(backup)
    with pytest.raises(BackupError, match="WIEDERHERSTELLEN"):
        apply_restore(plan, confirmation="ja")
    assert db_snapshot() == rows
    apply_restore(plan, confirmation="WIEDERHERSTELLEN")
    assert db_snapshot() != rows


def test_plan_lists_what_would_be_lost(backup: Path) -> None:
    """Rows newer than the backup are counted per table, by name; new files are listed."""
    wipe()
    plan = prepare_restore(backup)
    try:
        by_table = {loss.table: loss for loss in plan.losses}
        assert by_table["contacts"].label.startswith("Kontakte")
        assert by_table["contacts"].newer_rows == 2
        assert by_table["bug_reports"].newer_rows == 1
        assert plan.files_removed == []
    finally:
        restore.discard_plan(plan)
    assert leftovers() == []


def manifest_edit(key: str, value: object):  # type: ignore[no-untyped-def]
    def edit(manifest: dict) -> None:
        manifest[key] = value

    return edit


def drop_file(members: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in members.items() if not k.endswith("folge-1.mp3")}


def add_file(members: dict[str, bytes]) -> dict[str, bytes]:
    return {**members, "data/files/unbekannt.txt": b"extra"}


def change_file(members: dict[str, bytes]) -> dict[str, bytes]:
    key = next(k for k in members if k.endswith("logo-test.png"))
    return {**members, key: members[key][:-1] + b"X"}


def change_rows(members: dict[str, bytes]) -> dict[str, bytes]:
    import gzip

    key = "database/contacts.jsonl.gz"
    raw = gzip.decompress(members[key]).replace(b"Erika", b"Erich")
    return {**members, key: gzip.compress(raw)}


def traversal(members: dict[str, bytes]) -> dict[str, bytes]:
    return {**members, "data/../../evil.txt": b"x"}


def sneak_secret(members: dict[str, bytes]) -> dict[str, bytes]:
    return {**members, "data/secrets/cookie_key": b"stolen"}


CASES = {
    "hash differs": (change_file, None, "verändert"),
    "rows changed": (change_rows, None, "verändert"),
    "missing file": (drop_file, None, "fehlt im Backup"),
    "extra file": (add_file, None, "zusätzlich im Backup"),
    "path outside": (traversal, None, "unzulässigen Pfad"),
    "secret inside": (sneak_secret, None, "Geheimnisse"),
    "newer KMS": (dict, manifest_edit("kms_version", "99.0.0"), "zuerst KMS"),
    "bad version": (dict, manifest_edit("kms_version", "eins"), "ungültige KMS-Version"),
    "unknown revision": (dict, manifest_edit("schema_revision", "9z9z"), "nicht kennt"),
    "newer format": (dict, manifest_edit("format_version", 3), "Format"),
    "not a backup": (dict, manifest_edit("format", "zip"), "kein KMS-Backup"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_corrupt_archives_are_refused(backup: Path, tmp_path: Path, case: str) -> None:
    """Verify and restore both refuse each kind of damage and leave the instance as it was."""
    change, edit, message = CASES[case]
    broken = rewrite(backup, tmp_path / "broken.tar", change, fix_manifest=edit)
    with pytest.raises(BackupError, match=message):
        verify_backup(broken)
    wipe()
    rows, files = db_snapshot(), file_snapshot()
    with pytest.raises(BackupError, match=message):
        prepare_restore(broken)
    assert db_snapshot() == rows and file_snapshot() == files
    assert leftovers() == []


def test_truncated_archive_is_refused(backup: Path, tmp_path: Path) -> None:
    """An archive cut short (an aborted download) is "unvollständig"."""
    data = backup.read_bytes()
    inside_manifest = data.index(b'"format": "kms-backup"')
    for keep in (100, len(data) // 2, inside_manifest):
        cut = tmp_path / f"cut-{keep}.tar"
        cut.write_bytes(data[:keep])
        with pytest.raises(BackupError, match=r"unvollständig|beschädigt"):
            verify_backup(cut)


def test_symlink_member_is_refused(backup: Path, tmp_path: Path) -> None:
    """Links and devices in an archive are never followed or created."""
    import io
    import tarfile

    target = tmp_path / "link.tar"
    with tarfile.open(backup) as src, tarfile.open(target, "w") as dst:
        link = tarfile.TarInfo("data/files/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        dst.addfile(link)
        for member in src.getmembers():
            dst.addfile(member, io.BytesIO(src.extractfile(member).read()))  # type: ignore[union-attr]
    with pytest.raises(BackupError, match="keine gewöhnliche Datei"):
        verify_backup(target)


def test_sparse_member_is_refused(backup: Path, tmp_path: Path) -> None:
    """A GNU sparse member's bytes are not where its header says: refused like a link,
    whichever way (stream or file) the archive is read."""
    import io
    import tarfile

    target = tmp_path / "sparse.tar"
    with tarfile.open(backup) as src, tarfile.open(target, "w", format=tarfile.GNU_FORMAT) as dst:
        sparse = tarfile.TarInfo("data/files/sparse.bin")
        sparse.type, sparse.size = tarfile.GNUTYPE_SPARSE, 4
        dst.addfile(sparse, io.BytesIO(b"data"))
        for member in src.getmembers():
            dst.addfile(member, io.BytesIO(src.extractfile(member).read()))  # type: ignore[union-attr]
    with tarfile.open(target) as check:
        assert check.getmember("data/files/sparse.bin").issparse()
    with pytest.raises(BackupError, match="keine gewöhnliche Datei"):
        verify_backup(target)


def test_encrypted_archive_wrong_passphrase_and_tampering(db_url: str, tmp_path: Path) -> None:
    """Wrong or missing passphrase, flipped byte, truncation: each has its own message."""
    make_data()
    path = create_backup(passphrase="richtig richtig").path
    assert verify_backup(path, passphrase="richtig richtig").kms_version
    with pytest.raises(BackupError, match="Passphrase ist falsch"):
        verify_backup(path, passphrase="falsch")
    with pytest.raises(BackupError, match="Bitte geben Sie die Passphrase"):
        verify_backup(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped = tmp_path / "flipped.tar.enc"
    flipped.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="beschädigt"):
        verify_backup(flipped, passphrase="richtig richtig")
    cut = tmp_path / "cut.tar.enc"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(BackupError, match="unvollständig"):
        verify_backup(cut, passphrase="richtig richtig")


def test_corruption_report_lists_every_problem(backup: Path, tmp_path: Path) -> None:
    """`problems` names each missing, extra and changed part, not just the first."""
    broken = rewrite(backup, tmp_path / "b.tar", lambda m: add_file(change_file(drop_file(m))))
    with pytest.raises(BackupError) as info:
        verify_backup(broken)
    text = " ".join(info.value.problems)
    assert "fehlt" in text and "zusätzlich" in text and "verändert" in text
    assert len(info.value.problems) == 3


def test_manifest_is_valid_json_with_the_promised_fields(backup: Path) -> None:
    """The manifest names version, revision, time, audit head and a SHA-256 per part."""
    from tests.backups.helpers import archive_members

    members = archive_members(backup)
    manifest = json.loads(members["manifest.json"])
    assert manifest["schema_revision"] == head_revision()
    with session_scope(write=False) as s:
        assert manifest["audit_head"] == audit.head(s) != audit.GENESIS
    assert {p["path"] for p in manifest["parts"]} == set(members) - {"manifest.json"}
    import hashlib

    for part in manifest["parts"]:
        assert hashlib.sha256(members[part["path"]]).hexdigest() == part["sha256"]
