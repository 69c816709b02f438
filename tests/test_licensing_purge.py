"""Expired add-on data: kept and usable again after renewal; purged (rows and stored files)
only after a retained backup that holds them and that "Alte Backups löschen" never deletes;
only the purge is recorded."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import licensing
from kms.audit import AuditEvent
from kms.backups.archive import backed_up, read_archive
from kms.backups.policy import BackupSettings, plan_prune
from kms.backups.service import create_backup
from kms.backups.store import list_backups
from kms.config import get_config
from kms.db import session_scope
from kms.formatting import format_size
from kms.licensing_purge import purge_scope
from kms.modules.bugreports import service as bugreports
from kms.modules.bugreports.models import BugReport
from kms.modules.settings.licences import licence_purge
from tests import fake_addon

# The stand-in add-on (tests/fake_addon.py) with its files in files/fakeaddon; its rows live
# in the bug_reports table.
ADDON = replace(fake_addon.SPEC, models="kms.modules.bugreports.models")
MEDIA = {"folge-1.mp3": b"ID3" + bytes(range(256)) * 8, "folge-2.ogg": b"OggS" * 125}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _hash(session: Session) -> str:
    """The add-on's tables and its stored files (names and contents), as one hash."""
    rows = session.execute(select(BugReport.__table__).order_by(BugReport.id)).mappings()
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _files()}
    data = {"rows": [dict(r) for r in rows], "files": files}
    return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()


def _files() -> list[Path]:
    return fake_addon.stored_files(None)


@pytest.fixture
def licensed(monkeypatch: pytest.MonkeyPatch, db_url: str) -> str:
    """The add-on licensed for 2026, with two records and two files; the vendor's private key."""
    monkeypatch.setattr("kms.registry.modules", lambda: (ADDON,))
    monkeypatch.delenv(licensing.DEMO_ENV, raising=False)
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    with session_scope() as session:
        _install(session, private, date(2026, 1, 1), date(2026, 12, 31))
        bugreports.create_report(session, title="Erster", description="Eins")
        bugreports.create_report(session, title="Zweiter", description="Zwei")
    fake_addon.media_dir().mkdir(parents=True, exist_ok=True)
    for name, content in MEDIA.items():
        (fake_addon.media_dir() / name).write_bytes(content)
    return private


def _install(session: Session, private: str, start: date, end: date) -> None:
    token = licensing.issue(
        private,
        module=ADDON.key,
        licensee="Musterfirma",
        instance=licensing.instance_id(session),
        valid_from=start,
        valid_until=end,
    )
    licensing.install(session, token)


def test_renewal_before_the_purge_gives_back_identical_tables_and_files(licensed: str) -> None:
    with session_scope(write=False) as session:
        before = _hash(session)
        assert licensing.state(session, ADDON.key, now=_at("2026-12-01T09:00:00")).usable
    assert len(_files()) == 2
    expired = _at("2027-03-01T09:00:00")
    with session_scope() as session:
        assert licence_purge(session, expired) == "Keine Löschung fällig."
        state = licensing.state(session, ADDON.key, now=expired)
        assert state.status == licensing.EXPIRED
        _install(session, licensed, date(2027, 1, 1), date(2027, 12, 31))
    with session_scope(write=False) as session:
        assert licensing.state(session, ADDON.key, now=expired).usable
        assert _hash(session) == before


def test_the_warning_counts_rows_and_files_with_their_size(licensed: str) -> None:
    """30 days before the purge the banner says how many rows and files go, and how big."""
    with session_scope(write=False) as session:
        scope = purge_scope(session, ADDON)
    assert scope.rows == {"bug_reports": 2}
    assert scope.file_bytes == sum(len(c) for c in MEDIA.values())
    assert scope.row_bytes > len("ErsterEinsZweiterZwei")
    size = format_size(scope.row_bytes + scope.file_bytes)
    assert re.fullmatch(r"\d+,\d kB", size)
    expected = f"2 Datensätze in 1 Tabelle, 2 Dateien; zusammen {size}"
    assert scope.describe() == expected
    with session_scope() as session:
        warning = licensing.licence_watch(session, _at("2027-06-20T09:00:00"))
        assert f"in 10 Tagen gelöscht ({expected})" in warning
        due = licensing.licence_watch(session, _at("2027-07-01T09:00:00"))
        assert "Aufbewahrungsfrist endete am 30.06.2027" in due
        assert f"({expected})" in due


def test_purge_after_retention_takes_a_retained_backup_with_the_files_first(
    licensed: str, tmp_path: Path
) -> None:
    due = _at("2027-07-01T09:00:00")
    with session_scope(write=False) as session:
        assert licensing.state(session, ADDON.key, now=due).status == licensing.PURGE_DUE
        summary = purge_scope(session, ADDON).describe()
    with session_scope() as session:
        message = licence_purge(session, due)
    assert f"„Zusatzmodul“: {summary} gelöscht" in message
    assert _files() == []
    retained = [b for b in list_backups() if b.kind == "retained"]
    assert len(retained) == 1
    assert retained[0].name in message
    # the retained backup holds the deleted files, byte for byte
    read_archive(retained[0].path, extract_to=tmp_path)
    for name, content in MEDIA.items():
        assert (tmp_path / "data" / "files" / "fakeaddon" / name).read_bytes() == content
    with session_scope(write=False) as session:
        assert session.scalars(select(BugReport)).all() == []
        state = licensing.state(session, ADDON.key, now=due)
        assert state.status == licensing.PURGED
        assert "gelöscht" in state.describe()
        events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "licence")).all()
        assert [(e.entity_id, e.action) for e in events] == [(ADDON.key, "purged")]
    with session_scope() as session:  # nothing left to purge: no second backup
        assert licence_purge(session, due) == "Keine Löschung fällig."
    # "Alte Backups löschen" keeps the retained backup however old it gets
    create_backup()
    create_backup()
    plan = plan_prune(list_backups(), BackupSettings(False, 1, 0, 0), _at("2030-01-01T09:00:00"))
    assert retained[0].name in {b.name for b in plan.keep}
    assert plan.delete


def test_files_no_backup_would_hold_stop_the_purge(
    licensed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module whose files lie outside the data dir is not purged: nothing would keep them."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "folge-3.mp3").write_bytes(b"ID3")
    monkeypatch.setattr(fake_addon, "media_dir", lambda: outside)
    due = _at("2027-07-01T09:00:00")
    with session_scope() as session:
        message = licence_purge(session, due)
    assert "„Zusatzmodul“: Löschung ausgesetzt" in message
    assert "1 Datei außerhalb des Datenverzeichnisses" in message
    assert (outside / "folge-3.mp3").exists()
    assert [b for b in list_backups() if b.kind == "retained"] == []
    with session_scope(write=False) as session:
        assert len(session.scalars(select(BugReport)).all()) == 2
        assert licensing.state(session, ADDON.key, now=due).status == licensing.PURGE_DUE


def test_backed_up_follows_the_backup_rules(tmp_path: Path) -> None:
    """Files under the data dir are in every backup; secrets, backups, temp files are not."""
    data = get_config().data_dir
    paths = {
        "files/fakeaddon/a.mp3": True,
        "files/documents/b.pdf": True,
        "secrets/key": False,
        "backups/x.tar": False,
        "files/documents/backups/y.tar": False,
        "files/fakeaddon/c.part": False,
    }
    for rel in paths:
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(b"x")
    assert {rel: backed_up(data, data / rel) for rel in paths} == paths
    (tmp_path / "d.mp3").write_bytes(b"x")
    assert not backed_up(data, tmp_path / "d.mp3")
    (data / "files" / "link.mp3").symlink_to(tmp_path / "d.mp3")
    assert not backed_up(data, data / "files" / "link.mp3")
    assert not backed_up(data, data / "files" / "missing.mp3")
