"""Income from invoices exactly once: payment bookings per rate, Skonto, Storno refund, locks."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import periods
from kms.errors import KmsError
from kms.modules.invoices import issuing, payments
from kms.modules.ledger import service
from kms.modules.ledger.models import Booking
from kms.modules.ledger.sync import sync_payments
from tests.modules.invoices.conftest import ISSUE_DAY, line

D = Decimal


def _bookings(session: Session) -> list[Booking]:
    session.expire_all()
    return list(session.scalars(select(Booking).order_by(Booking.id)))


def test_payment_booked_once_per_rate_with_skonto(session: Session, make_draft, issue) -> None:
    # 100 net at 19 % (gross 119,00) + 100 net at 7 % (gross 107,00) = 226,00.
    # 2 % Skonto: 2,38 + 2,14 = 4,52 → paid 221,48.
    # Lines: 119,00 − 2,38 = 116,62 (VAT 116,62 × 19/119 = 18,62, net 98,00)
    #        107,00 − 2,14 = 104,86 (VAT 104,86 × 7/107 = 6,86, net 98,00).
    inv = issue(make_draft([line("A", "1", "100"), line("B", "1", "100", "S7", "C62")],
                           skonto_percent="2", skonto_days=7))  # fmt: skip
    paid = payments.record_payment(
        session, inv.id, paid_on=ISSUE_DAY + timedelta(days=7), amount="221,48", skonto=True
    )
    session.commit()
    assert sync_payments(session) == "1 Zahlung(en) und 0 Erstattung(en) gebucht"
    assert sync_payments(session) == "nichts zu buchen"  # twice: still one booking
    session.commit()
    [b] = _bookings(session)
    assert b.payment_id == paid.id and b.total == D("221.48") and b.kind == "einnahme"
    assert [(ln.tax_key, ln.amount, ln.net, ln.tax) for ln in b.lines] == [
        ("U19", D("116.62"), D("98.00"), D("18.62")),
        ("U7", D("104.86"), D("98.00"), D("6.86")),
    ]
    assert b.receipt_number == inv.number and b.contact_id == inv.contact_id
    # The booking follows the payment: it cannot be changed in the ledger.
    with pytest.raises(KmsError, match="Rechnungszahlung"):
        service.delete_booking(session, b.id, version=b.version)


def test_partial_payment_and_storno_refund(session: Session, make_draft, issue) -> None:
    # 238,00 gross (200 net + 38 VAT). A partial payment of 100,00: VAT 100 × 19/119 = 15,97.
    inv = issue(make_draft([line("Beratung", "2", "100.00")]))
    payments.record_payment(session, inv.id, paid_on=ISSUE_DAY, amount="100,00")
    payments.record_payment(
        session, inv.id, paid_on=ISSUE_DAY + timedelta(days=1), amount="138,00", method="bar"
    )
    session.commit()
    sync_payments(session)
    first, second = _bookings(session)
    assert (first.lines[0].net, first.lines[0].tax) == (D("84.03"), D("15.97"))
    # 138,00: VAT 138 × 19/119 = 22,03; both together 38,00 = the invoice's VAT.
    assert second.lines[0].tax == D("22.03")
    # No Kasse exists: cash payments go to the automatically created account.
    assert first.account_id == second.account_id
    storno = issuing.cancel(session, inv.id, issue_date=ISSUE_DAY + timedelta(days=3))
    session.commit()
    assert sync_payments(session) == "0 Zahlung(en) und 1 Erstattung(en) gebucht"
    assert sync_payments(session) == "nichts zu buchen"
    refund = _bookings(session)[-1]
    assert refund.refund_invoice_id == storno.id
    assert refund.total == D("-238.00") and refund.booking_date == ISSUE_DAY + timedelta(days=3)
    assert sum(ln.tax for ln in refund.lines) == D("-38.00")


def test_backfill_twice_books_each_payment_once(session: Session, make_draft, issue) -> None:
    invs = [issue(make_draft([line("X", "1", str(10 * (i + 1)))])) for i in range(3)]
    for inv in invs:
        payments.record_payment(session, inv.id, paid_on=ISSUE_DAY, amount=inv.gross_total)
    session.commit()
    sync_payments(session)
    session.commit()
    sync_payments(session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Booking)) == 3
    assert session.scalar(select(func.count(func.distinct(Booking.payment_id)))) == 3


def test_record_payment_refused_in_locked_month(session: Session, make_draft, issue) -> None:
    inv = issue(make_draft([line("Beratung", "2", "100.00")]))
    periods.lock_month(session, ISSUE_DAY)
    session.commit()
    with pytest.raises(KmsError, match=r"März 2026 ist festgeschrieben \(GoBD\): Zahlungen"):
        payments.record_payment(session, inv.id, paid_on=ISSUE_DAY, amount="10,00")
    payments.record_payment(session, inv.id, paid_on=date(2026, 4, 1), amount="10,00")


def test_turnover_counts_once_and_only_taxable_domestic(
    session: Session,
    make_draft,
    issue,
) -> None:
    from kms.modules.ledger.turnover import received_turnover
    from kms.modules.settings.taxation import turnover

    from .conftest import IBAN

    # 238,00 gross (200,00 net) paid: 200,00 before and after the sync (counted once).
    inv = issue(make_draft([line("Beratung", "2", "100.00")]))
    payments.record_payment(session, inv.id, paid_on=ISSUE_DAY, amount="238,00")
    session.commit()
    before = turnover(session, 2026)
    assert received_turnover(session, 2026) == D("200.00")
    sync_payments(session)
    assert received_turnover(session, 2026) == D("200.00")
    assert turnover(session, 2026) == before
    # A service to a Swiss customer (nicht steuerbar, Kz 45) does not count; a taxable
    # manual income of 119,00 adds its net 100,00; the sale of an asset (Hilfsgeschäft) not.
    bank = service.save_account(session, name="Bank", kind="bank", iban=IBAN)
    for amount, category, key in (
        ("500.00", "erloese", "UNSTB"),
        ("119.00", "erloese", "U19"),
        ("595.00", "anlagenverkauf", "U19"),
    ):
        service.create_booking(
            session, booking_date=date(2026, 3, 20), account_id=bank.id, kind="einnahme",
            lines=[service.LineInput(amount, service.category_by_key(session, category).id, key)],
        )  # fmt: skip
    assert received_turnover(session, 2026) == D("300.00")


def test_returned_payment_is_booked_as_the_exact_reverse_once(
    session: Session,
    make_draft,
    issue,
) -> None:
    from kms.modules.ledger.reports import _skonto_corrections
    from kms.modules.ledger.sync import book_payment
    from kms.modules.ledger.turnover import received_turnover

    from .conftest import IBAN

    # The Skonto payment of the first test (221,48 over two rates), booked by a bank import
    # on a second account that is not the default one.
    inv = issue(make_draft([line("A", "1", "100"), line("B", "1", "100", "S7", "C62")],
                           skonto_percent="2", skonto_days=7))  # fmt: skip
    day = ISSUE_DAY + timedelta(days=7)
    service.save_account(session, name="Hauptkonto", kind="sonstige", is_default=True)
    giro = service.save_account(session, name="Giro", kind="bank", iban=IBAN)
    paid = payments.record_payment(session, inv.id, paid_on=day, amount="221,48", skonto=True)
    original = book_payment(session, paid, giro.id)
    back = payments.return_payment(session, paid.id, returned_on=day + timedelta(days=2))
    session.commit()
    assert received_turnover(session, 2026) == D("0.00")  # the unbooked return counts too
    assert sync_payments(session) == "1 Zahlung(en) und 0 Erstattung(en) gebucht"
    assert sync_payments(session) == "nichts zu buchen"  # twice: still one return booking
    session.commit()
    _first, reverse = _bookings(session)
    assert reverse.payment_id == back.id and reverse.account_id == giro.id
    assert (reverse.kind, reverse.total, reverse.booking_date) == (
        "einnahme", D("-221.48"), day + timedelta(days=2))  # fmt: skip
    assert [(ln.tax_key, ln.amount, ln.net, ln.tax) for ln in reverse.lines] == [
        ("U19", D("-116.62"), D("-98.00"), D("-18.62")),
        ("U7", D("-104.86"), D("-98.00"), D("-6.86")),
    ]
    assert [(ln.tax_key, -ln.amount, -ln.net, -ln.tax) for ln in original.lines] == [
        (ln.tax_key, ln.amount, ln.net, ln.tax) for ln in reverse.lines
    ]
    assert received_turnover(session, 2026) == D("0.00")
    # Soll: the Skonto's reduction of base and tax is taken back with the payment.
    corrections = _skonto_corrections(session, date(2026, 3, 1), date(2026, 3, 31))
    assert sum(c[2] for c in corrections) == 0 and sum(c[3] for c in corrections) == 0
    assert len(corrections) == 4


def test_return_synced_together_with_its_payment_books_both_once(
    session: Session,
    make_draft,
    issue,
) -> None:
    # 238,00 gross; 100,00 partial payment returned, both unbooked before the sync.
    inv = issue(make_draft([line("Beratung", "2", "100.00")]))
    paid = payments.record_payment(session, inv.id, paid_on=ISSUE_DAY, amount="100,00")
    payments.return_payment(session, paid.id, returned_on=ISSUE_DAY + timedelta(days=1))
    session.commit()
    assert sync_payments(session) == "2 Zahlung(en) und 0 Erstattung(en) gebucht"
    assert sync_payments(session) == "nichts zu buchen"
    session.commit()
    first, reverse = _bookings(session)
    assert (first.total, reverse.total) == (D("100.00"), D("-100.00"))
    assert (reverse.lines[0].net, reverse.lines[0].tax) == (D("-84.03"), D("-15.97"))
    assert first.account_id == reverse.account_id
    # A Storno afterwards takes back nothing more: the booked income is zero.
    issuing.cancel(session, inv.id, issue_date=ISSUE_DAY + timedelta(days=3))
    session.commit()
    assert sync_payments(session) == "nichts zu buchen"
