"""An issued invoice cannot be changed or deleted by any path: service, ORM flush, CLI."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kms.cli import main
from kms.errors import KmsError
from kms.modules.invoices import service
from kms.modules.invoices.models import ImmutableInvoiceError, Invoice, InvoiceFile, InvoiceLine
from tests.modules.invoices.conftest import line


@pytest.fixture
def issued(session, make_draft, issue) -> Invoice:
    return issue(make_draft())


def test_service_refuses_edit_and_delete(session, issued) -> None:
    """save_draft and delete_draft refuse an issued invoice with a German message."""
    with pytest.raises(ImmutableInvoiceError, match="nicht mehr geändert"):
        service.save_draft(
            session,
            invoice_id=issued.id,
            contact_id=issued.contact_id,
            lines=[line()],
            as_of=issued.issue_date,
        )
    with pytest.raises(ImmutableInvoiceError):
        service.delete_draft(session, issued.id)


@pytest.mark.parametrize(
    "change",
    [
        lambda inv, s: setattr(inv, "intro_text", "geändert"),
        lambda inv, s: setattr(inv, "gross_total", Decimal("1.00")),
        lambda inv, s: setattr(inv, "number", "RE-2026-9999"),
        lambda inv, s: setattr(inv.lines[0], "unit_price", Decimal("1")),
        lambda inv, s: inv.lines.append(InvoiceLine(description="x", position=9)),
        lambda inv, s: inv.lines.pop(),
        lambda inv, s: s.delete(inv),
        lambda inv, s: setattr(s.scalar(select(InvoiceFile)), "filename", "x.pdf"),
        lambda inv, s: s.delete(s.scalar(select(InvoiceFile))),
    ],
    ids=[
        "text",
        "total",
        "number",
        "line",
        "add-line",
        "remove-line",
        "delete",
        "file",
        "delete-file",
    ],
)
def test_orm_flush_refuses_any_change(session, issued, change) -> None:
    """Even direct ORM changes are refused at flush time (mapper-level guard)."""
    change(issued, session)
    with pytest.raises(ImmutableInvoiceError):
        session.flush()
    session.rollback()
    session.expire_all()
    assert session.get(Invoice, issued.id).number == issued.number


def test_guard_works_when_the_old_value_was_not_loaded(session, issued) -> None:
    """An expired object (issued_at not in memory) is still recognised as issued."""
    session.expire_all()
    invoice = session.get(Invoice, issued.id)
    session.expire(invoice, ["issued_at", "intro_text"])
    invoice.intro_text = "heimlich"
    with pytest.raises(ImmutableInvoiceError):
        session.flush()


def test_cli_refuses_deleting_an_issued_invoice(session, issued, capsys) -> None:
    """`python -m kms invoice delete-draft` refuses issued invoices and exits non-zero."""
    session.commit()
    assert main(["invoice", "delete-draft", str(issued.id)]) == 2
    assert "nicht mehr geändert" in capsys.readouterr().err
    session.expire_all()
    assert session.get(Invoice, issued.id) is not None


def test_the_originals_live_once_in_dokumente(session, issued) -> None:
    """invoice_files keep the document and the hash, never the bytes; each original is one
    Dokumente file whose bytes hash to what was recorded."""
    from kms.modules.documents.models import Document, DocumentBlob
    from kms.modules.invoices import storage

    assert "content" not in InvoiceFile.__table__.c
    files = session.scalars(select(InvoiceFile).where(InvoiceFile.invoice_id == issued.id)).all()
    assert {f.role for f in files} >= {"pdf", "facturx_xml"}
    for file in files:
        document = session.get(Document, file.document_id)
        assert document.blob.sha256 == file.sha256
        assert (
            storage.read(session, file).content
            == storage.original_bytes(session, issued.id, file.role).content
        )
    # One Dokumente record per original (the former extra copy in Dokumente is gone).
    assert session.scalar(select(func.count()).select_from(Document)) == len(files)
    assert session.scalar(select(func.count()).select_from(DocumentBlob)) == len(files)


def test_dokumente_refuses_to_delete_an_original_even_after_retention(session, issued) -> None:
    """GoBD: the Dokumente record of an issued original can never be deleted."""
    from kms.modules.documents import service as documents

    file = session.scalar(select(InvoiceFile).where(InvoiceFile.role == "pdf"))
    assert documents.is_original(session, file.document_id)
    with pytest.raises(KmsError, match="festgeschrieben \\(GoBD\\)"):
        documents.delete_document(session, file.document_id, today=date(2100, 1, 1))
    assert documents.get_document(session, file.document_id) is not None


def test_a_changed_file_is_refused_not_served(session, issued) -> None:
    """If the stored bytes no longer hash to the recorded SHA-256, every reader gets a
    German error instead of the bytes."""
    from kms.modules.documents.models import Document
    from kms.modules.documents.service import ChecksumMismatch, path_of
    from kms.modules.invoices import mailing, storage

    file = session.scalar(select(InvoiceFile).where(InvoiceFile.role == "pdf"))
    path = path_of(session.get(Document, file.document_id))
    path.write_bytes(path.read_bytes() + b"% manipuliert\n")
    with pytest.raises(ChecksumMismatch, match="stimmt nicht mehr mit ihrer Prüfsumme"):
        storage.original_bytes(session, issued.id, "pdf")
    with pytest.raises(ChecksumMismatch):
        storage.files_of(session, issued.id)
    with pytest.raises(ChecksumMismatch):
        mailing._attachments(session, issued, None, False)
