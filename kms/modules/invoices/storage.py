"""Where the original bytes of issued invoices and dunning letters are kept: in Dokumente.

Each original (PDF, factur-x.xml, XRechnung, dunning letter) is stored once, as a Dokumente
document linked to the contact; the `invoice_files` row keeps its document id and SHA-256.
Downloads, e-mail attachments and `python -m kms invoice export` read the bytes through
Dokumente and check them against that hash (`original_bytes`, `files_of`); nothing is ever
re-rendered. `store_file` is the ONE place an original enters Dokumente.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.errors import NotFoundError
from kms.modules.invoices.models import Invoice, InvoiceFile

# Dokumente type keys per file role (Rechnung, Stornorechnung, Rechnungs-XML, Mahnung).
DOC_TYPES = {
    ("rechnung", "pdf"): "invoice",
    ("storno", "pdf"): "cancellation",
    ("rechnung", "facturx_xml"): "invoice_xml",
    ("storno", "facturx_xml"): "invoice_xml",
    ("rechnung", "xrechnung_xml"): "invoice_xml",
    ("storno", "xrechnung_xml"): "invoice_xml",
    ("reminder", "pdf"): "dunning",
}
ROLE_NAMES = {"pdf": "PDF", "facturx_xml": "Factur-X-XML", "xrechnung_xml": "XRechnung"}


@dataclass(frozen=True)
class NewFile:
    """An original just rendered, before it is stored."""

    role: str  # pdf | facturx_xml | xrechnung_xml
    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True)
class StoredFile:
    """An original with its bytes, read from Dokumente and checked against its SHA-256
    (usable after the session closed)."""

    id: int
    invoice_id: int
    reminder_id: int | None
    role: str
    filename: str
    mime_type: str
    sha256: str
    size: int
    document_id: int
    content: bytes


def store_file(
    session: Session,
    invoice: Invoice,
    new: NewFile,
    *,
    contact_ids: Sequence[int] = (),
    issued_on: date | None = None,
    reminder_id: int | None = None,
    title: str = "",
) -> InvoiceFile:
    """Store an original once in Dokumente (linked to the contact) and record its hash."""
    from kms.modules.documents.service import store_generated

    kind = "reminder" if reminder_id else invoice.kind
    doc_type = DOC_TYPES.get((kind, new.role), "invoice_xml")
    document = store_generated(
        session,
        content=new.content,
        filename=new.filename,
        doc_type=doc_type,
        mime_type=new.mime_type,
        contact_ids=tuple(contact_ids),
        issued_on=issued_on,
        title=title or _title(invoice, new),
    )
    # Inserted complete: an InvoiceFile row is never updated afterwards.
    file = InvoiceFile(
        invoice_id=invoice.id,
        reminder_id=reminder_id,
        role=new.role,
        filename=new.filename,
        mime_type=new.mime_type,
        sha256=hashlib.sha256(new.content).hexdigest(),
        size=len(new.content),
        document_id=document.id,
    )
    session.add(file)
    session.flush()
    return file


def _title(invoice: Invoice, new: NewFile) -> str:
    """ "RE-2026-0001.pdf" for the PDF, "RE-2026-0001 (XRechnung)" for an XML."""
    if new.role == "pdf":
        return new.filename
    return f"{invoice.number or new.filename} ({ROLE_NAMES.get(new.role, new.role)})"


def read(session: Session, file: InvoiceFile) -> StoredFile:
    """The original's bytes through Dokumente, checked against the recorded SHA-256."""
    from kms.modules.documents.service import read_verified

    content = read_verified(session, file.document_id, file.sha256)
    return StoredFile(
        id=file.id,
        invoice_id=file.invoice_id,
        reminder_id=file.reminder_id,
        role=file.role,
        filename=file.filename,
        mime_type=file.mime_type,
        sha256=file.sha256,
        size=file.size,
        document_id=file.document_id,
        content=content,
    )


def files_of(session: Session, invoice_id: int) -> list[StoredFile]:
    """Every stored original of an invoice and its dunning letters, oldest first, with the
    (checked) bytes loaded so they can be offered for download after the session closed."""
    files = session.scalars(
        select(InvoiceFile).where(InvoiceFile.invoice_id == invoice_id).order_by(InvoiceFile.id)
    )
    return [read(session, file) for file in files]


def has_xrechnung(session: Session, invoice_id: int) -> bool:
    """Whether an XRechnung was stored for the invoice (it can go along with an e-mail)."""
    return bool(
        session.scalar(
            select(InvoiceFile.id).where(
                InvoiceFile.invoice_id == invoice_id, InvoiceFile.role == "xrechnung_xml"
            )
        )
    )


def original_bytes(
    session: Session, invoice_id: int, role: str, reminder_id: int | None = None
) -> StoredFile:
    """The stored original (PDF, factur-x.xml, XRechnung or dunning letter), hash-checked."""
    stmt = select(InvoiceFile).where(InvoiceFile.invoice_id == invoice_id, InvoiceFile.role == role)
    stmt = stmt.where(
        InvoiceFile.reminder_id == reminder_id
        if reminder_id is not None
        else InvoiceFile.reminder_id.is_(None)
    )
    file = session.scalar(stmt)
    if file is None:
        message = f"Zu diesem Dokument gibt es keine {ROLE_NAMES.get(role, role)}-Datei."
        if role == "xrechnung_xml" and reminder_id is None:
            message += " " + NO_XRECHNUNG_HINT
        raise NotFoundError(message)
    return read(session, file)


# Why an invoice has no XRechnung and how the next one gets one (UI and CLI).
NO_XRECHNUNG_HINT = (
    "Das Dokument wurde im Format ZUGFeRD/Factur-X ausgestellt (PDF mit eingebetteten Daten). "
    "Eine ausgestellte Rechnung bleibt, wie sie ist; damit künftige Rechnungen an diesen "
    "Kunden zusätzlich eine XRechnung (CII oder UBL) erhalten, wählen Sie beim Kunden das "
    "E-Rechnungsformat und tragen Sie die Leitweg-ID / Käuferreferenz ein."
)
