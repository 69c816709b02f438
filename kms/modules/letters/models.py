"""Schreiben: letters to contacts (or free addresses), templates, and mail merge runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.models import Base, BusinessData
from kms.modules.contacts.models import Contact
from kms.types import utcnow

DRAFT, SENT = "entwurf", "versendet"
STATUS_LABELS = {DRAFT: "Entwurf", SENT: "versendet"}
SENT_VIA_LABELS = {"post": "Post", "email": "E-Mail"}


class LetterTemplate(BusinessData, Base):
    """A Vorlage: subject and body with placeholders such as {briefanrede} or {firma}."""

    __tablename__ = "letter_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class MailMerge(BusinessData, Base):
    """One Serienbrief run: the combined print PDF and the report of skipped recipients."""

    __tablename__ = "letter_mail_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("letter_templates.id", ondelete="SET NULL")
    )
    template_name: Mapped[str] = mapped_column(String(120), default="")
    filter_text: Mapped[str] = mapped_column(String(300), default="")
    letter_date: Mapped[date]
    letter_count: Mapped[int] = mapped_column(default=0)
    # [{"contact_id": 3, "name": "Max Mustermann", "reason": "keine Anschrift"}, …]
    skipped: Mapped[Any] = mapped_column(JSON, default=list)
    combined_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Letter(BusinessData, Base):
    """A letter; once sent, its PDF (in Dokumente) is the original and never changes."""

    __tablename__ = "letters"
    __table_args__ = (Index("ix_letters_contact_date", "contact_id", "letter_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Recipient: a contact (address built from it) or free address lines.
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), default=None
    )
    free_address: Mapped[str] = mapped_column(Text, default="")
    # The address lines as printed by the last render (list and search; frozen once sent).
    recipient_lines: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(300))  # as typed, placeholders included
    printed_subject: Mapped[str] = mapped_column(String(300), default="")  # as printed
    letter_date: Mapped[date] = mapped_column(index=True)
    salutation: Mapped[str] = mapped_column(String(200), default="")
    closing: Mapped[str] = mapped_column(String(200), default="")
    signature: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[str] = mapped_column(Text, default="")  # one attachment per line
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    # A draft's PDF of its current content, refreshed on every save. Sending freezes it: the
    # bytes move to Dokumente (document_id) and this column becomes NULL, so the original
    # exists exactly once.
    draft_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None, deferred=True)
    # SHA-256 of the draft's PDF, and once sent of the original; every read of a sent
    # letter's PDF is checked against it.
    pdf_sha256: Mapped[str] = mapped_column(String(64), default="")
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_via: Mapped[str] = mapped_column(String(10), default="")
    sent_to: Mapped[str] = mapped_column(String(254), default="")
    # The Dokumente entry holding a sent letter's PDF. RESTRICT: never deleted (GoBD).
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), default=None, index=True
    )
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("letter_templates.id", ondelete="SET NULL"), default=None
    )
    mail_merge_id: Mapped[int | None] = mapped_column(
        ForeignKey("letter_mail_merges.id", ondelete="SET NULL"), default=None, index=True
    )
    copied_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    __mapper_args__ = {"version_id_col": version}

    contact: Mapped[Contact | None] = relationship(lazy="joined")

    @property
    def is_sent(self) -> bool:
        return self.status == SENT

    @property
    def recipient_name(self) -> str:
        """The first address line that names someone (for lists)."""
        if self.contact is not None:
            return self.contact.display_name
        lines = self.recipient_lines.splitlines() or self.free_address.splitlines()
        return lines[0] if lines else ""

    @property
    def attachment_list(self) -> list[str]:
        return [line.strip() for line in self.attachments.splitlines() if line.strip()]
