"""Nachkalkulation: invoice positions linked to offers, counted by Leistungsdatum year; a
Stornorechnung takes them back; the issued invoice never changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kms.db import session_scope
from kms.errors import ConflictError, NotFoundError, ValidationError
from kms.modules.contacts import service as contacts
from kms.modules.invoices import issuing
from kms.modules.invoices import service as invoices
from kms.modules.invoices.models import Invoice
from kms.modules.pricing import service
from kms.modules.settings import demo as settings_demo

LINE = {
    "description": "Workshop",
    "quantity": "2",
    "unit_code": "C62",
    "unit_price": "900.00",
    "tax": "S19",
}


def _issued(service_date: date) -> tuple[int, int]:
    with session_scope() as s:
        settings_demo.load(s)
        person = contacts.create_person(
            s, first_name="Erika", last_name="Mustermann", street="Beispielweg 7",
            postcode="10115", city="Berlin", email="erika@example.org",
        )  # fmt: skip
        draft = invoices.save_draft(
            s, contact_id=person.id, service_date=service_date, payment_term_days=14,
            as_of=date(2026, 3, 2),
            lines=[LINE],
        )  # fmt: skip
        draft_id = draft.id
    invoice = issuing.issue_invoice(draft_id, issue_date=date(2026, 3, 2))
    with session_scope(write=False) as s:
        line_id = s.get(Invoice, invoice.id).lines[0].id  # type: ignore[union-attr]
    return invoice.id, line_id


@pytest.mark.usefixtures("licensed_app")
def test_linked_positions_count_by_service_year_and_storno_takes_them_back() -> None:
    invoice_id, line_id = _issued(date(2026, 2, 27))
    with session_scope() as s:
        offer = service.save_offering(
            s, name="Workshop", hours_delivery=Decimal(8), units_per_year=10,
            planned_price=Decimal(1000),
        )  # fmt: skip
        offer_id = offer.id
        draft = invoices.save_draft(
            s, contact_id=s.get(Invoice, invoice_id).contact_id,  # type: ignore[union-attr]
            lines=[{**LINE, "quantity": "1"}],
        )  # fmt: skip
        draft_line = draft.lines[0].id
    with session_scope() as s, pytest.raises(NotFoundError, match="ausgestellter"):
        service.link_invoice_line(s, draft_line, offer_id)
    with session_scope() as s:
        service.link_invoice_line(s, line_id, offer_id)
    with session_scope() as s, pytest.raises(ConflictError, match="schon"):
        service.link_invoice_line(s, line_id, offer_id)
    with session_scope(write=False) as s:
        [row] = service.post_calculation(s, 2026)
        assert (row.planned_units, row.planned_revenue) == (10, Decimal("10000.00"))
        assert (row.invoiced_units, row.invoiced_net) == (Decimal(2), Decimal("1800.00"))
        assert service.post_calculation(s, 2025)[0].invoiced_net == 0
        [position] = service.invoice_positions(s, 2026)
        assert (position.line_id, position.offering, position.net) == (
            line_id,
            "Workshop",
            Decimal("1800.00"),
        )
        assert service.invoice_positions(s, 2025) == []
        before = s.get(Invoice, invoice_id).snapshot  # type: ignore[union-attr]
    with session_scope() as s:
        issuing.cancel(s, invoice_id, issue_date=date(2026, 3, 5))
    with session_scope(write=False) as s:
        assert service.post_calculation(s, 2026)[0].invoiced_net == 0
        assert s.get(Invoice, invoice_id).snapshot == before  # type: ignore[union-attr]


@pytest.mark.usefixtures("licensed_app")
def test_price_goes_into_a_new_invoice_draft() -> None:
    invoice_id, _line = _issued(date(2026, 2, 27))
    with session_scope() as s:
        contact_id = s.get(Invoice, invoice_id).contact_id  # type: ignore[union-attr]
        offer = service.save_offering(s, name="Coaching", hours_delivery=Decimal(2))
        offer_id = offer.id
    with session_scope() as s, pytest.raises(ValidationError, match="kein Preis geplant"):
        service.price_to_draft(s, offer_id, contact_id=contact_id, planned=True)
    with session_scope() as s:
        fair = next(r for row, r in service.plan(s).offerings if row.id == offer_id).fair_net
        draft = service.price_to_draft(s, offer_id, contact_id=contact_id)
        assert not draft.is_issued
        [line] = draft.lines
        assert (line.description, line.unit_price, line.net) == ("Coaching", fair.value, fair.value)


@pytest.mark.usefixtures("licensed_app")
def test_a_linked_offer_is_kept_until_unlinked() -> None:
    from kms.modules.pricing.models import InvoiceLineLink, Offering

    _invoice_id, line_id = _issued(date(2026, 2, 27))
    with session_scope() as s:
        offer_id = service.save_offering(s, name="Workshop", hours_delivery=Decimal(8)).id
        service.link_invoice_line(s, line_id, offer_id)
    with session_scope() as s, pytest.raises(ConflictError, match="Zuordnungen lösen"):
        service.delete_offering(s, offer_id)
    with session_scope() as s:
        service.unlink_invoice_line(s, line_id)
    with session_scope() as s, pytest.raises(NotFoundError, match="keinem Angebot"):
        service.unlink_invoice_line(s, line_id)
    with session_scope() as s:
        service.delete_offering(s, offer_id)
    with session_scope(write=False) as s:
        assert s.query(Offering).count() == 0
        assert s.query(InvoiceLineLink).count() == 0
