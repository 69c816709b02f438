"""Dokumente: content-addressed file blobs, document records, their contacts and tags.

A blob is one stored file (unique by SHA-256); a document is one business record that
points to a blob. Several documents may share a blob (an invoice PDF that was also
uploaded by hand); the file goes only when the last document referring to it goes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.models import Base, BusinessData
from kms.types import utcnow


class DocumentBlob(BusinessData, Base):
    """One stored file under files_dir/documents; `storage_name` is generated, never user text."""

    __tablename__ = "document_blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(100))
    # Relative to files_dir/documents, e.g. "3f/3f9a…e1.pdf" (a random name per blob row,
    # so a blob deleted and re-created never shares a path with its predecessor).
    storage_name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Document(BusinessData, Base):
    """A document as the user sees it: type, title, original file name, date, contacts, tags."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_type_issued", "doc_type", "issued_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blob_id: Mapped[int] = mapped_column(ForeignKey("document_blobs.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(30))
    # "upload" (by the user) or "generated" (by KMS: invoices, letters, backups).
    source: Mapped[str] = mapped_column(String(10), default="upload")
    title: Mapped[str] = mapped_column(String(200), default="")
    # The user's file name, sanitised; shown and offered on download, never used as a path.
    filename: Mapped[str] = mapped_column(String(160))
    issued_on: Mapped[date] = mapped_column(index=True)
    # Last day of the statutory retention (§ 147 AO, § 14b UStG); None = may be deleted.
    retain_until: Mapped[date | None] = mapped_column(default=None)
    # Lower-cased, umlaut-folded title, file name and tags for search alike on both databases.
    search_key: Mapped[str] = mapped_column(String(1000), default="", index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    blob: Mapped[DocumentBlob] = relationship(lazy="joined")
    tags: Mapped[list[DocumentTag]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="DocumentTag.name"
    )
    contact_links: Mapped[list[DocumentContact]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.name for t in self.tags]

    @property
    def contact_ids(self) -> list[int]:
        return sorted(link.contact_id for link in self.contact_links)

    @property
    def display_title(self) -> str:
        return self.title or self.filename


class DocumentContact(BusinessData, Base):
    """A document belongs to any number of persons and organisations."""

    __tablename__ = "document_contacts"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DocumentTag(BusinessData, Base):
    """A free label on a document (e.g. "Steuer 2026")."""

    __tablename__ = "document_tags"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)
