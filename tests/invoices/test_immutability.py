"""An issued invoice cannot be changed or deleted by any path: service, ORM flush, CLI."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from kms.cli import main
from kms.modules.invoices import service
from kms.modules.invoices.models import ImmutableInvoiceError, Invoice, InvoiceFile, InvoiceLine
from tests.invoices.conftest import line


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
