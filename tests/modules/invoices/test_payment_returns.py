"""Returned payments (Rücklastschrift): a negative row takes a payment back, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kms import periods
from kms.audit import history
from kms.errors import KmsError, ValidationError
from kms.modules.invoices import issuing, payments, reports, service
from kms.modules.invoices.models import Payment
from kms.modules.invoices.overview import overview
from kms.modules.settings.taxation import turnover
from tests.modules.invoices.conftest import ISSUE_DAY, line

D = Decimal
PAID = ISSUE_DAY + timedelta(days=3)
BACK = ISSUE_DAY + timedelta(days=6)


@pytest.fixture
def invoice(session, make_draft, issue):
    """238.00 € gross (200 net + 38 VAT at 19 %), 14 days, 2 % Skonto within 7 days."""
    return issue(make_draft([line("Beratung", "2", "100.00")], skonto_percent="2",
                            skonto_days=7))  # fmt: skip


def _status(session, inv, day=BACK):
    session.expire_all()
    return service.status_of(session, inv, day)


def _figures(session, day):
    return {f.label: (f.value, f.detail) for f in overview(session, day)}


def test_full_return_opens_the_invoice_again(session, invoice) -> None:
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="238",
                                   method="lastschrift")  # fmt: skip
    assert _status(session, invoice) == "bezahlt"
    back = payments.return_payment(session, paid.id, returned_on=BACK,
                                   reason="AC04  Konto erloschen", actor="erika")  # fmt: skip
    assert (back.amount, back.skonto, back.overpayment, back.net_amount) == (
        D("-238.00"), D("0.00"), D("0.00"), D("-200.00"))  # fmt: skip
    assert back.returns_payment_id == paid.id and back.method == "lastschrift"
    assert back.note == "Rücklastschrift: AC04 Konto erloschen" and back.is_return
    assert _status(session, invoice) == "offen"
    assert _status(session, invoice, invoice.due_date + timedelta(days=1)) == "ueberfaellig"
    assert service.open_amount(session, invoice) == D("238.00")
    assert service.settled_amount(session, invoice.id) == D("0.00")
    event = history(session, "invoice", invoice.id)[-1]
    assert event.action == "payment_returned" and event.actor == "erika"
    # The original row is unchanged (insert-only); both are listed, oldest first.
    assert [p.amount for p in payments.payments_of(session, invoice.id)] == [
        D("238.00"), D("-238.00")]  # fmt: skip
    assert payments.returned_payment_ids(session, invoice.id) == {paid.id}
    # The invoice can be paid again.
    payments.record_payment(session, invoice.id, paid_on=BACK, amount="238")
    assert _status(session, invoice) == "bezahlt"


def test_returned_payment_leaves_the_received_turnover(session, invoice) -> None:
    before = turnover(session, PAID.year)
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="238")
    assert turnover(session, PAID.year) - before == D("200.00")
    payments.return_payment(session, paid.id, returned_on=BACK)
    assert turnover(session, PAID.year) == before


def test_returning_one_of_two_partial_payments_is_partly_paid(session, invoice) -> None:
    first = payments.record_payment(session, invoice.id, paid_on=PAID, amount="100")
    payments.record_payment(session, invoice.id, paid_on=PAID, amount="138")
    assert _status(session, invoice) == "bezahlt"
    payments.return_payment(session, first.id, returned_on=BACK)
    assert _status(session, invoice) == "teilweise"
    assert service.open_amount(session, invoice) == D("100.00")
    listed = service.list_invoices(session, status="teilweise", day=BACK)
    assert [r.number for r in listed.page.items] == [invoice.number]
    assert listed.page.items[0].open == D("100.00") and listed.sum_open == D("100.00")


def test_return_of_a_skonto_payment_takes_the_skonto_back(session, invoice) -> None:
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="233.24",
                                   skonto=True)  # fmt: skip
    assert paid.skonto == D("4.76") and _status(session, invoice) == "bezahlt"
    back = payments.return_payment(session, paid.id, returned_on=BACK)
    assert (back.amount, back.skonto) == (D("-233.24"), D("-4.76"))
    assert back.skonto_split == paid.skonto_split
    assert service.open_amount(session, invoice) == D("238.00")
    assert _status(session, invoice) == "offen"


def test_return_of_an_overpayment_takes_the_excess_back(session, invoice) -> None:
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="250",
                                   overpayment=True)  # fmt: skip
    back = payments.return_payment(session, paid.id, returned_on=BACK)
    assert (back.amount, back.overpayment) == (D("-250.00"), D("-12.00"))
    assert service.open_amount(session, invoice) == D("238.00")


def test_a_payment_is_returned_once_and_a_return_never(session, invoice) -> None:
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="238")
    back = payments.return_payment(session, paid.id, returned_on=BACK)
    with pytest.raises(KmsError, match="bereits zurückgebucht"):
        payments.return_payment(session, paid.id, returned_on=BACK)
    with pytest.raises(KmsError, match="Rückbuchung kann nicht selbst"):
        payments.return_payment(session, back.id, returned_on=BACK)
    with pytest.raises(KmsError, match="gibt es nicht"):
        payments.return_payment(session, 987654, returned_on=BACK)
    assert session.scalar(select(func.count()).select_from(Payment)) == 2


def test_bad_dates_locked_periods_and_cancelled_invoices_are_refused(session, invoice) -> None:
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="238")
    session.commit()
    with pytest.raises(ValidationError, match="vor der Zahlung"):
        payments.return_payment(session, paid.id, returned_on=PAID - timedelta(days=1))
    with pytest.raises(ValidationError, match="Zukunft"):
        payments.return_payment(session, paid.id, returned_on=service.today() + timedelta(days=1))
    periods.lock_month(session, BACK.replace(day=1), actor="erika")
    with pytest.raises(periods.PeriodLocked, match="festgeschrieben"):
        payments.return_payment(session, paid.id, returned_on=BACK)
    session.rollback()
    issuing.cancel(session, invoice.id, issue_date=BACK)
    with pytest.raises(KmsError, match="storniert"):
        payments.return_payment(session, paid.id, returned_on=BACK)
    assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_record_payment_still_refuses_negative_amounts(session, invoice) -> None:
    with pytest.raises(ValidationError, match="größer als 0"):
        payments.record_payment(session, invoice.id, paid_on=PAID, amount="-238")


def test_overview_open_items_and_overdue_count_the_returned_invoice(session, invoice) -> None:
    late = invoice.due_date + timedelta(days=1)
    paid = payments.record_payment(session, invoice.id, paid_on=PAID, amount="238")
    session.commit()
    assert _figures(session, late)["Überfällig"][1] == "0 Rechnungen"
    assert payments.overdue_invoices(session, late) == []
    payments.return_payment(session, paid.id, returned_on=BACK)
    session.commit()
    figures = _figures(session, late)
    assert figures["Offene Rechnungen"][0] == "238,00\xa0€"
    assert figures["Überfällig"] == ("238,00\xa0€", "1 Rechnung")
    # The year's net revenue stands: the invoice is still issued and not cancelled.
    assert figures["Umsatz 2026 (netto)"][0] == "200,00\xa0€"
    assert [o.id for o in payments.overdue_invoices(session, late)] == [invoice.id]
    items = reports.open_items(session, day=late)
    assert list(items.iloc[0])[1] == invoice.number and list(items.iloc[0])[5] == D("238.00")
