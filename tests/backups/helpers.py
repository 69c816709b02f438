"""Representative data in every module, and exact snapshots of database and files."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kms import audit, auth
from kms.config import get_config, reset_config
from kms.db import dispose_engines, ensure_migrated, session_scope
from kms.models import Base, FunctionRun, KeyValue
from kms.modules.bugreports.models import BugReport
from kms.modules.contacts import service as contacts
from kms.modules.contacts.models import Contact, ContactRole, Tag
from kms.modules.settings.models import CompanyProfile, TaxRegime
from kms.notices import add_notice
from kms.registry import import_models

PASSWORD = "Geheim-Passwort-2026"


def make_data(tag: str = "") -> None:
    """Rows in every table that modules have today, plus files under the data dir."""
    with session_scope() as s:
        auth.create_user(
            s, username=f"erika{tag}", password=PASSWORD, display_name="Erika Mustermann"
        )
        org = Contact(
            kind="organisation",
            name=f"Musterfirma GmbH{tag}",
            customer_number=f"K-1000{tag}",
            email="info@example.org",
            notes="Sonderzeichen: äöüß „Anführung“ € \n zweite Zeile",
        )
        s.add(org)
        s.flush()
        person = contacts.create_person(
            s, first_name="Erika", last_name=f"Mustermann{tag}", city="Köln", postcode="50667"
        )
        person.organisation_id = org.id
        person.archived_at = datetime(2026, 3, 29, 0, 30, 15, 123456, tzinfo=UTC)
        newsletter = Tag(name=f"Newsletter{tag}")
        person.tags.append(newsletter)
        s.add(ContactRole(contact_id=org.id, role="kunde"))
        s.add(ContactRole(contact_id=person.id, role="lieferant"))
        s.add(
            CompanyProfile(
                company_name="Musterfirma GmbH",
                legal_form="GmbH",
                iban="DE02120300000000202051",
                business_start=date(2020, 1, 1),
                logo_file="logo-test.png",
                logo_mime="image/png",
            )
        )
        s.add(TaxRegime(valid_from=date(2024, 1, 1), kind="klein", note="§ 19 UStG"))
        s.add(BugReport(title=f"Absturz{tag}", description="Beim Speichern", created_by="erika"))
        add_notice(s, text=f"Hinweis{tag}", level="warning")
        add_notice(
            s,
            text="Wartung",
            maintenance=True,
            start=datetime(2030, 1, 1, 22, tzinfo=UTC),
            end=datetime(2030, 1, 1, 23, tzinfo=UTC),
        )
        s.add(KeyValue(key=f"test.json{tag}", value={"a": [1, 2.5, None, "ü"], "b": True}))
        s.add(FunctionRun(key="backup_test", kind="function", status="ok", message=tag))
        s.flush()
        for action in ("created", "updated"):  # a hash chain of two entries
            audit.record(
                s, entity="contact", entity_id=person.id, action=action, actor="erika", tag=tag
            )
    files = get_config().files_dir
    files.mkdir(parents=True, exist_ok=True)
    (files / "logo-test.png").write_bytes(b"\x89PNG\r\n\x1a\n" + tag.encode() * 100)
    (files / "dokumente" / "2026").mkdir(parents=True, exist_ok=True)
    (files / "dokumente" / "2026" / "Rechnung 1.pdf").write_bytes(b"%PDF-1.7 " + tag.encode())
    (get_config().data_dir / "media").mkdir(exist_ok=True)
    (get_config().data_dir / "media" / "folge-1.mp3").write_bytes(bytes(range(256)) * 50)


def db_snapshot(*, ignore_log: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in model types (Decimal, aware UTC), by primary key."""
    import_models()
    result: dict[str, list[tuple[Any, ...]]] = {}
    with session_scope(write=False) as s:
        for table in Base.metadata.sorted_tables:
            stmt = sa.select(table).order_by(*table.primary_key.columns)
            if ignore_log and table.name == "function_runs":
                stmt = stmt.where(table.c.key != "backup_restore")
            if ignore_log and table.name == "audit_events":
                # The restore (or its recovery) appends its own audit event on top of the
                # restored chain.
                stmt = stmt.where(
                    table.c.action.not_in(["backup.restore", "backup.restore_recovered"])
                )
            if ignore_log and table.name == "jobs":
                # Backup jobs record what ran (a restore carries its own row over the swap).
                stmt = stmt.where(table.c.kind.not_like("backup\\_%", escape="\\"))
            # Backup documents describe the archives on disk, not the backed-up state: a
            # restore re-syncs them (backup_documents() checks them against the disk).
            stmt = stmt.where(*not_backup_documents(table))
            result[table.name] = [tuple(r) for r in s.execute(stmt)]
    return result


def not_backup_documents(table: sa.Table) -> list[Any]:
    """Conditions leaving out the rows of Backup documents (and their tags and contacts)."""
    from kms.backups.documents import activity_filter
    from kms.modules.documents.models import Document

    if table.name in ("document_tags", "document_contacts"):
        backups = sa.select(Document.id).where(Document.doc_type == "backup")
        return [table.c.document_id.not_in(backups)]
    return activity_filter(table)


def backup_documents() -> list[tuple[str, str, int]]:
    """(file name, SHA-256, size) of every Backup document, sorted by file name."""
    from kms.modules.documents.models import Document, DocumentBlob

    with session_scope(write=False) as s:
        rows = s.execute(
            sa.select(Document.filename, DocumentBlob.sha256, DocumentBlob.size)
            .join(DocumentBlob, Document.blob_id == DocumentBlob.id)
            .where(Document.doc_type == "backup")
            .order_by(Document.filename)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def archives_on_disk() -> list[tuple[str, str, int]]:
    """(file name, SHA-256, size) of every archive in the backups dir, hashed here."""
    from kms.backups.store import list_backups

    return sorted(
        (b.name, hashlib.sha256(b.path.read_bytes()).hexdigest(), b.size) for b in list_backups()
    )


def restore_events() -> list[audit.AuditEvent]:
    """The audit entries the restores wrote, oldest first (db_snapshot leaves them out)."""
    with session_scope(write=False) as s:
        events = s.scalars(
            sa.select(audit.AuditEvent)
            .where(audit.AuditEvent.action == "backup.restore")
            .order_by(audit.AuditEvent.id)
        ).all()
        s.expunge_all()
    return list(events)


def audit_problems() -> list[audit.ChainProblem]:
    """Where the audit hash chain breaks (empty: intact)."""
    with session_scope(write=False) as s:
        return audit.verify(s)


def file_snapshot() -> dict[str, str]:
    """SHA-256 of every stored file (what a backup must carry), by relative path."""
    data = get_config().data_dir
    skip = {"secrets", "backups"}
    return {
        p.relative_to(data).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file()
        and p.relative_to(data).parts[0] not in skip
        and not p.name.startswith("kms.sqlite3")
        and p.name != ".migrate.lock"
    }


def wipe() -> None:
    """Delete every row and every stored file, then add something new."""
    import_models()
    with session_scope() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(table.delete())
    for rel in file_snapshot():
        (get_config().data_dir / rel).unlink()
    make_data(tag="-neu")


def archive_members(path: Path) -> dict[str, bytes]:
    """Name → bytes of every member of an unencrypted archive."""
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def table_rows(path: Path, table: str) -> list[dict[str, Any]]:
    """The rows of one table as stored in an unencrypted archive (as dicts, any format)."""
    members = archive_members(path)
    manifest = json.loads(members["manifest.json"])
    columns = next(t["columns"] for t in manifest["tables"] if t["name"] == table)
    raw = gzip.decompress(members[f"database/{table}.jsonl.gz"])
    rows = [json.loads(line) for line in raw.splitlines()]
    if manifest["format_version"] >= 2:
        return [dict(zip(columns, row, strict=True)) for row in rows]
    return rows


def to_format_1(source: Path, target: Path) -> Path:
    """An archive as KMS wrote it before format 2: every row a JSON object (keys in column
    order, the same values), gzip level 6, format_version 1 with the parts' hashes."""
    members = archive_members(source)
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["format_version"] == 2
    for table in manifest["tables"]:
        raw = gzip.decompress(members[table["part"]])
        lines = [
            json.dumps(
                dict(zip(table["columns"], json.loads(line), strict=True)),
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
            + b"\n"
            for line in raw.splitlines()
        ]
        members[table["part"]] = gzip.compress(b"".join(lines), compresslevel=6, mtime=0)
    manifest["format_version"] = 1
    manifest["parts"] = [
        {"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for n, d in members.items()
    ]
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def rewrite(
    source: Path,
    target: Path,
    change: Callable[[dict[str, bytes]], dict[str, bytes]],
    *,
    fix_manifest: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """Write a modified copy of an archive (members changed, manifest optionally edited)."""
    members = archive_members(source)
    manifest = json.loads(members.pop("manifest.json"))
    if fix_manifest is not None:
        fix_manifest(manifest)
    members = change(members)
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [*members.items(), ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def head_revision() -> str:
    """The newest migration of this checkout."""
    from alembic.script import ScriptDirectory

    from kms.db import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point KMS at another database (same data dir) and migrate it."""
    dispose_engines()
    monkeypatch.setenv("KMS_DATABASE_URL", url)
    reset_config()
    ensure_migrated()
