"""▸ Abschlags- oder Schlussrechnung anlegen on the Rechnungen page (AppTest)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.modules.invoices.models import BILLING_ADVANCE, Invoice
from tests.modules.invoices.test_page import app, draft_id  # noqa: F401 - fixture
from tests.ui_helpers import edit_table

ORDER = "Auftrag 2026-17 Dachsanierung"


def _fill(at, percent: str):  # type: ignore[no-untyped-def]
    with session_scope(write=False) as session:
        customer = session.scalars(select(Contact.id).where(Contact.name == "Musterfirma GmbH"))
        at.selectbox(key="adv_contact").set_value(customer.one())
    at.text_input(key="adv_order").input(ORDER)
    at.text_input(key="adv_value").input("10.000,00")
    at.text_input(key="adv_num").input(percent)
    return at.button(key="adv_create").click().run()


def test_advance_form_creates_an_advance_draft(draft_id) -> None:  # noqa: F811
    """30 % of 10.000 € at the first allowed rate becomes a selected advance draft."""
    at = _fill(app(), "30")
    assert not at.exception
    assert any("angelegt" in s.value for s in at.success)
    with session_scope(write=False) as session:
        created = session.scalars(select(Invoice).where(Invoice.billing == BILLING_ADVANCE)).one()
        assert created.net_total == Decimal("3000.00")
        assert created.order_reference == ORDER
        assert at.session_state["inv_selected"] == created.id


def test_advance_form_shows_german_errors(draft_id) -> None:  # noqa: F811
    """Over 100 % is refused with a German message; nothing is saved."""
    at = _fill(app(), "120")
    assert not at.exception
    assert any("höchstens 100 %" in e.value for e in at.error)
    with session_scope(write=False) as session:
        assert (
            session.scalars(select(Invoice).where(Invoice.billing == BILLING_ADVANCE)).all() == []
        )


def test_final_form_deducts_the_issued_advance(draft_id) -> None:  # noqa: F811
    """After an issued 30 % advance, the Schlussrechnung form lists the whole service and
    deducts the advance: 10.000 € + 19 % less 3.570 € leaves 8.330 € due."""
    from kms.modules.invoices import advance, issuing, service

    with session_scope() as session:
        customer = session.scalars(select(Contact).where(Contact.name == "Musterfirma GmbH")).one()
        customer_id = customer.id
        first = advance.create_advance_draft(
            session,
            contact_id=customer_id,
            order_reference=ORDER,
            order_value="10000",
            percent="30",
            service_date=service.today(),
        ).id
    issuing.issue_invoice(first, actor="test")
    at = app()
    at.radio(key="adv_kind").set_value("schluss").run()
    at.selectbox(key="adv_contact").set_value(customer_id)
    at.text_input(key="adv_order").input(ORDER)
    edit_table(
        at,
        "adv_lines",
        added_rows=[
            {
                "Beschreibung": "Dachsanierung",
                "Menge": "1",
                "Einheit": "Stück",
                "Einzelpreis": "10000",
                "Steuer": "19 % USt",
            }
        ],
    )
    at.button(key="adv_final").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    with session_scope(write=False) as session:
        final = session.get(Invoice, at.session_state["inv_selected"])
        assert final is not None and final.gross_total == Decimal("8330.00")
