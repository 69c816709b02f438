"""Payments and status: partial, full, Skonto split per rate, overpayment, overdue notices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from kms.audit import history
from kms.errors import ValidationError
from kms.models import KeyValue
from kms.modules.invoices import issuing, payments, service
from kms.modules.invoices.models import OverdueNotice
from kms.modules.settings.taxation import turnover
from kms.notices import SYSTEM_WARNINGS_KEY
from kms.types import today
from tests.modules.invoices.conftest import ISSUE_DAY, line


@pytest.fixture
def invoice(session, make_draft, issue):
    """238.00 € gross (200 net + 38 VAT at 19 %), 14 days, 2 % Skonto within 7 days."""
    return issue(make_draft([line("Beratung", "2", "100.00")], skonto_percent="2",
                            skonto_days=7))  # fmt: skip


def _status(session, inv, day=ISSUE_DAY):
    session.expire_all()
    return service.status_of(session, inv, day)


def test_status_goes_from_open_to_partly_paid_to_paid(session, invoice) -> None:
    """offen → teilweise bezahlt → bezahlt, derived from the payments."""
    assert _status(session, invoice) == "offen"
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="100,00")
    assert _status(session, invoice) == "teilweise"
    assert service.open_amount(session, invoice) == Decimal("138.00")
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount=Decimal("138.00"),
                            method="bar")  # fmt: skip
    assert _status(session, invoice) == "bezahlt"
    assert [e.action for e in history(session, "invoice", invoice.id)][-2:] == ["paid", "paid"]


def test_overdue_is_derived_from_due_date_and_payments(session, invoice) -> None:
    """After the due date an unpaid invoice is überfällig; paying it ends that."""
    late = invoice.due_date + timedelta(days=1)
    assert _status(session, invoice, invoice.due_date) == "offen"
    assert _status(session, invoice, late) == "ueberfaellig"
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="50")
    assert _status(session, invoice, late) == "ueberfaellig"
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="188")
    assert _status(session, invoice, late) == "bezahlt"


def test_skonto_closes_the_invoice_with_the_discount_split_per_rate(session, make_draft, issue):
    """2 % Skonto on 119.00 (19 %) + 107.00 (7 %): 2.38 + 2.14, VAT parts 0.38 and 0.14."""
    inv = issue(make_draft([line("A", "1", "100"), line("B", "1", "100", "S7", "C62")],
                           skonto_percent="2", skonto_days=7))  # fmt: skip
    paid = payments.record_payment(session, inv.id, paid_on=ISSUE_DAY + timedelta(days=7),
                                   amount="221.48", skonto=True)  # fmt: skip
    assert paid.skonto == Decimal("4.52")
    assert paid.skonto_split == [
        {"category": "S", "rate": "19.00", "discount": "2.38", "net": "2.00", "tax": "0.38"},
        {"category": "S", "rate": "7.00", "discount": "2.14", "net": "2.00", "tax": "0.14"},
    ]
    assert _status(session, inv) == "bezahlt"


def test_skonto_after_its_period_is_refused(session, invoice) -> None:
    """Paying on day 8 does not entitle to the 7-day Skonto."""
    with pytest.raises(ValidationError, match="Skontofrist endete"):
        payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY + timedelta(days=8),
                                amount="233.24", skonto=True)  # fmt: skip


def test_overpayment_only_when_booked_as_such(session, invoice) -> None:
    """More than is open is refused, unless explicitly booked as overpayment."""
    with pytest.raises(ValidationError, match="höher als der offene Betrag"):
        payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="250")
    paid = payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="250",
                                   overpayment=True)  # fmt: skip
    assert paid.overpayment == Decimal("12.00")
    assert _status(session, invoice) == "bezahlt"


def test_payments_feed_the_kleinunternehmer_turnover(session, invoice) -> None:
    """§ 19 Abs. 2 UStG turnover counts received payments, net (238 gross → 200 net)."""
    before = turnover(session, 2026)
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="238")
    assert turnover(session, 2026) - before == Decimal("200.00")


def test_overdue_automatism_notifies_once_per_invoice(session, invoice) -> None:
    """The ⊕ run marks each newly overdue invoice once and keeps the banner current."""
    later = datetime.combine(invoice.due_date + timedelta(days=2), datetime.min.time(), UTC)
    assert "1 neu überfällig" in payments.overdue_watch(session, later)
    assert "Keine neu" in payments.overdue_watch(session, later + timedelta(days=1))
    assert session.scalar(select(OverdueNotice.invoice_id)) == invoice.id
    assert [e.action for e in history(session, "invoice", invoice.id)].count("overdue") == 1
    warnings = session.get(KeyValue, SYSTEM_WARNINGS_KEY).value
    assert invoice.number in warnings["invoices_overdue"]["text"]
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="238")
    # At once, not only with the watch's next run six hours later.
    assert "invoices_overdue" not in session.get(KeyValue, SYSTEM_WARNINGS_KEY).value
    payments.overdue_watch(session, later + timedelta(days=2))
    assert "invoices_overdue" not in session.get(KeyValue, SYSTEM_WARNINGS_KEY).value


def test_the_banner_follows_a_return_and_a_storno_at_once(session, invoice) -> None:
    """A Rücklastschrift makes the invoice overdue again in the banner; its Storno clears it."""
    assert invoice.due_date < today()  # issued in March, due 14 days later
    payment = payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="238")
    payments.return_payment(session, payment.id, returned_on=ISSUE_DAY + timedelta(days=3))
    text = session.get(KeyValue, SYSTEM_WARNINGS_KEY).value["invoices_overdue"]["text"]
    assert text.startswith(f"1 Rechnung ist überfällig: {invoice.number}")
    issuing.cancel(session, invoice.id)
    assert "invoices_overdue" not in session.get(KeyValue, SYSTEM_WARNINGS_KEY).value


def test_list_filters_and_sums_in_sql(session, make_draft, issue, invoice) -> None:
    """Filter by status and year, search by number or customer; sums over all matches."""
    second = issue(make_draft([line("Pflege", "1", "50")]))
    payments.record_payment(session, second.id, paid_on=ISSUE_DAY, amount="59.50")
    make_draft([line("Noch offen", "1", "10")])
    session.commit()
    everything = service.list_invoices(session, day=ISSUE_DAY)
    assert everything.page.total == 3
    assert everything.sum_gross == Decimal("297.50")
    assert everything.sum_open == Decimal("238.00")
    paid = service.list_invoices(session, status="bezahlt", day=ISSUE_DAY)
    assert [r.number for r in paid.page.items] == [second.number]
    assert service.list_invoices(session, year=2025, day=ISSUE_DAY).page.total == 0
    assert service.list_invoices(session, search="musterfirma", day=ISSUE_DAY).page.total == 3
    by_number = service.list_invoices(session, search="re-2026-0001").page
    assert [r.number for r in by_number.items] == [invoice.number]
    assert service.list_invoices(session, status="entwurf").page.items[0].number is None
    assert service.count_invoices_for_contact(session, invoice.contact_id) == 3


def test_the_command_line_lists_every_invoice_with_the_sums(
    session, make_draft, issue, invoice, capsys
) -> None:
    """`kms invoice list` walks the pages to the end and closes with the count and the sums."""
    from kms.cli import main

    second = issue(make_draft([line("Pflege", "1", "50")]))
    payments.record_payment(session, second.id, paid_on=ISSUE_DAY, amount="59.50")
    session.commit()
    capsys.readouterr()
    assert main(["invoice", "list"]) == 0
    *rows, summary = capsys.readouterr().out.splitlines()
    assert sorted(r.split("\t")[0] for r in rows) == sorted([invoice.number, second.number])
    assert summary == "2 Rechnungen, Summe 297,50\xa0€, offen 238,00\xa0€"
    _ = date
