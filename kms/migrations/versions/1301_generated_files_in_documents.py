"""generated files stored once: invoice files and sent letters live in Dokumente

Revision ID: 1301
Revises: 1211
Create Date: 2026-12-02 21:00:00

Until now the bytes of every issued invoice file (`invoice_files.content`) and of every sent
letter (`letters.pdf`) were kept in the database AND (for most of them) as a Dokumente file:
two copies, both in every backup. From here on Dokumente holds the only copy; the module's
row keeps `document_id` and the SHA-256.

The data step (`move_generated_files`) moves each row's bytes into the Dokumente store,
checked by hash, exactly once: a row whose document already holds the same bytes is only
pointed at it, a stored file with the same hash is reused, and running it again changes
nothing. A row whose bytes no longer match their recorded SHA-256 stops the migration with
a German message (nothing is changed then). Drafts keep their PDF in `letters.draft_pdf`
(it is not an original yet).

Files are written under `<files dir>/documents` like the store does (temp file, fsync,
rename, then the row); a restore that migrates an old backup passes its staged files dir in
the Alembic option `kms_files_dir`, so the moved files land with the restored data.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "1301"
down_revision: str | Sequence[str] | None = "1211"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (invoice kind or "reminder", role) -> Dokumente type, as kms.modules.invoices.storage.
DOC_TYPES = {
    ("rechnung", "pdf"): "invoice",
    ("storno", "pdf"): "cancellation",
    ("reminder", "pdf"): "dunning",
}
RETENTION_YEARS = {"invoice": 8, "cancellation": 8, "invoice_xml": 8, "dunning": 6, "letter": 6}
ROLE_NAMES = {"facturx_xml": "Factur-X-XML", "xrechnung_xml": "XRechnung"}
EXTENSIONS = {"application/pdf": ".pdf", "application/xml": ".xml"}


class MigrationRefused(RuntimeError):
    """A stored original does not match its recorded hash: nothing is moved."""


def _now() -> datetime:
    return datetime.now(timezone.utc)  # noqa: UP017 - migrations stay independent of kms.types


def files_root() -> Path:
    """<files dir>/documents: the staged one during a restore, else the configured one."""
    option = None
    try:
        option = context.config.get_main_option("kms_files_dir")
    except Exception:  # noqa: BLE001 - called outside an Alembic run (tests)
        option = None
    if option:
        return Path(option) / "documents"
    from kms.config import get_config

    return get_config().files_dir / "documents"


def _search_key(*parts: str) -> str:
    from kms.modules.contacts.service import search_key

    return search_key(*parts)[:1000]


def _write_file(root: Path, content: bytes, mime_type: str) -> str:
    """Write `content` as a new store file (temp, fsync, rename); returns its storage name."""
    token = uuid.uuid4().hex
    name = f"{token[:2]}/{token}{EXTENSIONS.get(mime_type, '.bin')}"
    final = root / name
    final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = root / "tmp"
    tmp.mkdir(mode=0o700, parents=True, exist_ok=True)
    part = tmp / f"{token}.part"
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return name


def _file_matches(root: Path, storage_name: str, sha256: str) -> bool:
    if ":" in storage_name:
        return False  # external stores never hold invoices or letters
    try:
        data = (root / storage_name).read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == sha256


class _Mover:
    def __init__(self, conn: sa.Connection, root: Path) -> None:
        self.conn, self.root = conn, root
        meta = sa.MetaData()
        meta.reflect(
            conn,
            only=(
                "document_blobs",
                "documents",
                "document_contacts",
                "invoice_files",
                "letters",
                "invoices",
                "invoice_reminders",
            ),
        )
        self.t = meta.tables
        self.created_documents = 0
        self.created_blobs = 0

    def _blob_for(self, content: bytes, sha256: str, mime_type: str) -> int:
        """The blob holding these bytes: an existing one (its file checked, and rewritten if
        it went missing) or a new file."""
        blobs = self.t["document_blobs"]
        row = self.conn.execute(
            sa.select(blobs.c.id, blobs.c.storage_name).where(blobs.c.sha256 == sha256)
        ).first()
        if row is not None:
            if (
                not _file_matches(self.root, row.storage_name, sha256)
                and ":" not in row.storage_name
            ):
                # Same hash, so these are exactly the bytes the blob stands for.
                target = self.root / row.storage_name
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                name = _write_file(self.root, content, mime_type)
                os.replace(self.root / name, target)
            return int(row.id)
        name = _write_file(self.root, content, mime_type)
        self.created_blobs += 1
        return int(
            self.conn.execute(
                sa.insert(blobs)
                .values(
                    sha256=sha256,
                    size=len(content),
                    mime_type=mime_type,
                    storage_name=name,
                    created_at=_now(),
                )
                .returning(blobs.c.id)
            ).scalar_one()
        )

    def _reusable(self, document_id: int | None, sha256: str) -> bool:
        """Whether the row's document already holds exactly these bytes (file checked)."""
        if document_id is None:
            return False
        docs, blobs = self.t["documents"], self.t["document_blobs"]
        row = self.conn.execute(
            sa.select(blobs.c.sha256, blobs.c.storage_name)
            .join(docs, docs.c.blob_id == blobs.c.id)
            .where(docs.c.id == document_id)
        ).first()
        return (
            row is not None
            and row.sha256 == sha256
            and _file_matches(self.root, row.storage_name, sha256)
        )

    def _document(
        self,
        *,
        content: bytes,
        sha256: str,
        mime_type: str,
        doc_type: str,
        filename: str,
        title: str,
        issued_on: date,
        contact_id: int | None,
    ) -> int:
        blob_id = self._blob_for(content, sha256, mime_type)
        docs = self.t["documents"]
        now = _now()
        title = title[:199] + "…" if len(title) > 200 else title
        document_id = int(
            self.conn.execute(
                sa.insert(docs)
                .values(
                    blob_id=blob_id,
                    doc_type=doc_type,
                    source="generated",
                    title=title,
                    filename=filename[:160],
                    issued_on=issued_on,
                    retain_until=date(issued_on.year + RETENTION_YEARS[doc_type], 12, 31),
                    search_key=_search_key(title, filename),
                    created_by="",
                    created_at=now,
                    updated_at=now,
                )
                .returning(docs.c.id)
            ).scalar_one()
        )
        if contact_id is not None:
            self.conn.execute(
                sa.insert(self.t["document_contacts"]).values(
                    document_id=document_id, contact_id=contact_id
                )
            )
        self.created_documents += 1
        return document_id

    def invoice_files(self) -> int:
        files = self.t["invoice_files"]
        if "content" not in files.c:
            return 0
        invoices, reminders = self.t["invoices"], self.t["invoice_reminders"]
        moved = 0
        ids = self.conn.scalars(sa.select(files.c.id).order_by(files.c.id)).all()
        for file_id in ids:  # one row's bytes in memory at a time
            row = self.conn.execute(
                sa.select(
                    files,
                    invoices.c.kind,
                    invoices.c.number,
                    invoices.c.issue_date,
                    invoices.c.contact_id,
                    reminders.c.letter_date,
                )
                .join(invoices, invoices.c.id == files.c.invoice_id)
                .outerjoin(reminders, reminders.c.id == files.c.reminder_id)
                .where(files.c.id == file_id)
            ).one()
            content = bytes(row.content or b"")
            sha256 = hashlib.sha256(content).hexdigest()
            if not content or sha256 != row.sha256:
                raise MigrationRefused(
                    f"Migration 1301: Die Rechnungsdatei {row.id} („{row.filename}“ zu "
                    f"{row.number}) passt nicht zu ihrer gespeicherten Prüfsumme (SHA-256). "
                    "Es wurde nichts geändert; bitte wenden Sie sich an den Support."
                )
            if self._reusable(row.document_id, sha256):
                continue
            kind = "reminder" if row.reminder_id is not None else row.kind
            doc_type = DOC_TYPES.get((kind, row.role), "invoice_xml")
            title = (
                row.filename
                if row.role == "pdf" or row.reminder_id
                else (f"{row.number} ({ROLE_NAMES.get(row.role, row.role)})")
            )
            document_id = self._document(
                content=content,
                sha256=sha256,
                mime_type=row.mime_type,
                doc_type=doc_type,
                filename=row.filename,
                title=title,
                issued_on=row.letter_date or row.issue_date or row.created_at.date(),
                contact_id=row.contact_id,
            )
            self.conn.execute(
                sa.update(files).where(files.c.id == row.id).values(document_id=document_id)
            )
            moved += 1
        return moved

    def letters(self) -> int:
        letters = self.t["letters"]
        column = letters.c.get("draft_pdf")
        if column is None:
            column = letters.c.pdf
        moved = 0
        ids = self.conn.scalars(
            sa.select(letters.c.id)
            .where(letters.c.status == "versendet", column.is_not(None))
            .order_by(letters.c.id)
        ).all()
        for letter_id in ids:
            row = self.conn.execute(
                sa.select(letters, column.label("bytes")).where(letters.c.id == letter_id)
            ).one()
            content = bytes(row.bytes)
            sha256 = hashlib.sha256(content).hexdigest()
            if not content or (row.pdf_sha256 and row.pdf_sha256 != sha256):
                raise MigrationRefused(
                    f"Migration 1301: Das PDF des versendeten Briefs {row.id} "
                    f"(„{row.printed_subject}“) passt nicht zu seiner gespeicherten Prüfsumme "
                    "(SHA-256). Es wurde nichts geändert; bitte wenden Sie sich an den Support."
                )
            document_id = row.document_id
            if not self._reusable(document_id, sha256):
                document_id = self._document(
                    content=content,
                    sha256=sha256,
                    mime_type="application/pdf",
                    doc_type="letter",
                    filename=f"Brief_{row.letter_date.isoformat()}_{row.id}.pdf",
                    title=row.printed_subject or row.subject,
                    issued_on=row.letter_date,
                    contact_id=row.contact_id,
                )
            self.conn.execute(
                sa.update(letters)
                .where(letters.c.id == row.id)
                .values({"document_id": document_id, "pdf_sha256": sha256, column.name: None})
            )
            moved += 1
        return moved


def move_generated_files(conn: sa.Connection, root: Path | None = None) -> dict[str, int]:
    """The data step: every original into Dokumente, checked by hash; idempotent."""
    mover = _Mover(conn, root or files_root())
    counts = {"invoice_files": mover.invoice_files(), "letters": mover.letters()}
    counts["documents"] = mover.created_documents
    counts["blobs"] = mover.created_blobs
    return counts


def upgrade() -> None:
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.alter_column(
            "pdf",
            new_column_name="draft_pdf",
            existing_type=sa.LargeBinary(),
            existing_nullable=True,
        )
    move_generated_files(op.get_bind())
    with op.batch_alter_table("invoice_files", schema=None) as batch_op:
        batch_op.drop_column("content")
        batch_op.alter_column("document_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_invoice_files_document_id"), ["document_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invoice_files_document_id_documents"),
            "documents",
            ["document_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_constraint("fk_letters_document_id_documents", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_letters_document_id_documents"),
            "documents",
            ["document_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_index(batch_op.f("ix_letters_document_id"), ["document_id"], unique=False)


def _read_back(conn: sa.Connection, root: Path, document_id: int, sha256: str) -> bytes:
    docs = sa.table("documents", sa.column("id"), sa.column("blob_id"))
    blobs = sa.table("document_blobs", sa.column("id"), sa.column("storage_name"))
    name = conn.execute(
        sa.select(blobs.c.storage_name)
        .join(docs, docs.c.blob_id == blobs.c.id)
        .where(docs.c.id == document_id)
    ).scalar_one()
    data = (root / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise MigrationRefused(f"Migration 1301 zurück: Dokument {document_id} ist beschädigt.")
    return data


def downgrade() -> None:
    """Copy the bytes back into the rows (the Dokumente records stay, as before 1301)."""
    conn, root = op.get_bind(), files_root()
    with op.batch_alter_table("letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_letters_document_id"))
        batch_op.drop_constraint("fk_letters_document_id_documents", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_letters_document_id_documents"),
            "documents",
            ["document_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.alter_column(
            "draft_pdf",
            new_column_name="pdf",
            existing_type=sa.LargeBinary(),
            existing_nullable=True,
        )
    with op.batch_alter_table("invoice_files", schema=None) as batch_op:
        batch_op.drop_constraint("fk_invoice_files_document_id_documents", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invoice_files_document_id"))
        batch_op.alter_column("document_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
    files = sa.table(
        "invoice_files",
        sa.column("id"),
        sa.column("document_id"),
        sa.column("sha256"),
        sa.column("content", sa.LargeBinary()),
    )
    for file_id, document_id, sha256 in conn.execute(
        sa.select(files.c.id, files.c.document_id, files.c.sha256)
    ).all():
        conn.execute(
            sa.update(files)
            .where(files.c.id == file_id)
            .values(content=_read_back(conn, root, document_id, sha256))
        )
    with op.batch_alter_table("invoice_files", schema=None) as batch_op:
        batch_op.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
    letters = sa.table(
        "letters",
        sa.column("id"),
        sa.column("status"),
        sa.column("document_id"),
        sa.column("pdf_sha256"),
        sa.column("pdf", sa.LargeBinary()),
    )
    for letter_id, document_id, sha256 in conn.execute(
        sa.select(letters.c.id, letters.c.document_id, letters.c.pdf_sha256).where(
            letters.c.status == "versendet", letters.c.document_id.is_not(None)
        )
    ).all():
        conn.execute(
            sa.update(letters)
            .where(letters.c.id == letter_id)
            .values(pdf=_read_back(conn, root, document_id, sha256))
        )
