"""Where the original bytes of issued invoices and dunning letters are kept.

The bytes are stored once in `invoice_files` and never re-rendered: downloads, e-mail
attachments and `python -m kms invoice export` all read them from there. `register_document`
is the ONE place that hands a copy to the Dokumente module, linked to the contact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.errors import NotFoundError
from kms.modules.invoices.models import Invoice, InvoiceFile

# Dokumente type keys per file role (Rechnung, Stornorechnung, Rechnungs-XML, Mahnung).
# The factur-x.xml is inside the PDF already, so only the XRechnung is a document of its own.
DOC_TYPES = {
    ("rechnung", "pdf"): "invoice",
    ("storno", "pdf"): "cancellation",
    ("rechnung", "xrechnung_xml"): "invoice_xml",
    ("storno", "xrechnung_xml"): "invoice_xml",
    ("reminder", "pdf"): "dunning",
}


def store_file(
    session: Session,
    invoice: Invoice,
    file: InvoiceFile,
    *,
    contact_ids: Sequence[int] = (),
    issued_on: date | None = None,
    reminder_id: int | None = None,
    title: str = "",
) -> InvoiceFile:
    """Keep the original bytes with their SHA-256 and register them in Dokumente."""
    file.invoice_id = invoice.id
    file.reminder_id = reminder_id
    file.sha256 = hashlib.sha256(file.content).hexdigest()
    file.size = len(file.content)
    kind = "reminder" if reminder_id else invoice.kind
    doc_type = DOC_TYPES.get((kind, file.role))
    if doc_type is not None:
        # Registered before the insert: an InvoiceFile row is never updated afterwards.
        file.document_id = register_document(
            session,
            file,
            doc_type=doc_type,
            contact_ids=contact_ids,
            issued_on=issued_on,
            title=title or file.filename,
        )
    session.add(file)
    session.flush()
    return file


def register_document(
    session: Session,
    file: InvoiceFile,
    *,
    doc_type: str,
    contact_ids: Sequence[int],
    issued_on: date | None,
    title: str,
) -> int:
    """Hand a copy of the original to Dokumente, linked to the contact; returns its id."""
    from kms.modules.documents.service import store_generated

    document = store_generated(
        session,
        content=file.content,
        filename=file.filename,
        doc_type=doc_type,
        mime_type=file.mime_type,
        contact_ids=tuple(contact_ids),
        issued_on=issued_on,
        title=title,
    )
    return int(document.id)


def files_of(session: Session, invoice_id: int) -> list[InvoiceFile]:
    """Every stored original of an invoice and its dunning letters, oldest first, with the
    (deferred) bytes loaded so they can be offered for download after the session closed."""
    files = list(
        session.scalars(
            select(InvoiceFile).where(InvoiceFile.invoice_id == invoice_id).order_by(InvoiceFile.id)
        )
    )
    for file in files:
        _ = file.content  # load the deferred bytes inside the session
    return files


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
) -> InvoiceFile:
    """The stored original (PDF, factur-x.xml, XRechnung or dunning letter)."""
    stmt = select(InvoiceFile).where(InvoiceFile.invoice_id == invoice_id, InvoiceFile.role == role)
    stmt = stmt.where(
        InvoiceFile.reminder_id == reminder_id
        if reminder_id is not None
        else InvoiceFile.reminder_id.is_(None)
    )
    file = session.scalar(stmt)
    if file is None:
        names = {"pdf": "PDF", "facturx_xml": "Factur-X-XML", "xrechnung_xml": "XRechnung"}
        message = f"Zu diesem Dokument gibt es keine {names.get(role, role)}-Datei."
        if role == "xrechnung_xml" and reminder_id is None:
            message += " " + NO_XRECHNUNG_HINT
        raise NotFoundError(message)
    return file


# Why an invoice has no XRechnung and how the next one gets one (UI and CLI).
NO_XRECHNUNG_HINT = (
    "Das Dokument wurde im Format ZUGFeRD/Factur-X ausgestellt (PDF mit eingebetteten Daten). "
    "Eine ausgestellte Rechnung bleibt, wie sie ist; damit künftige Rechnungen an diesen "
    "Kunden zusätzlich eine XRechnung (CII oder UBL) erhalten, wählen Sie beim Kunden das "
    "E-Rechnungsformat und tragen Sie die Leitweg-ID / Käuferreferenz ein."
)
