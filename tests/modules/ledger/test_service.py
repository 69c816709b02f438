"""Bookings: computed lines, German refusals with nothing saved, Kasse, receipts, locks, audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import periods
from kms.audit import AuditEvent
from kms.errors import KmsError
from kms.modules.documents.filetypes import FileRefused
from kms.modules.documents.models import Document
from kms.modules.ledger import service
from kms.modules.ledger.models import Account, Booking, BookingLine, Category
from kms.modules.settings import taxation

from .conftest import cat, expense, transit

D = Decimal


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Booking)) or 0


def test_mixed_rate_receipt_gets_one_line_per_rate(session: Session, bank: Account) -> None:
    # 119,00 € at 19 %: VAT 119 × 19/119 = 19,00, net 100,00;
    # 10,70 € at 7 %: VAT 10,70 × 7/107 = 0,70, net 10,00. Total paid 129,70.
    b = expense(
        session,
        bank,
        date(2026, 3, 5),
        ("119.00", "buerobedarf", "V19"),
        ("10.70", "buerobedarf", "V7"),
    )
    session.commit()
    assert [(ln.net, ln.tax, ln.deductible) for ln in b.lines] == [
        (D("100.00"), D("19.00"), D("19.00")),
        (D("10.00"), D("0.70"), D("0.70")),
    ]
    assert b.total == D("-129.70")
    assert service.balance(session, bank.id) == D("-129.70")


def test_bewirtung_splits_70_30(session: Session, bank: Account) -> None:
    # 238,00 € gross at 19 %: net 200,00, Vorsteuer 38,00 (fully deductible);
    # 30 % of 200,00 = 60,00 not deductible.
    b = expense(session, bank, date(2026, 3, 6), ("238.00", "bewirtung", "V19"))
    assert (b.lines[0].net, b.lines[0].tax, b.lines[0].nondeductible) == (
        D("200.00"),
        D("38.00"),
        D("60.00"),
    )


def test_reverse_charge_owed_and_deducted_unless_small_business(
    session: Session, bank: Account
) -> None:
    # Software from Ireland, 100,00 € net paid: 19,00 € owed (Kz 47) and deducted (Kz 67).
    b = expense(session, bank, date(2026, 3, 7), ("100.00", "software", "RCEU19"))
    assert (b.lines[0].net, b.lines[0].tax, b.lines[0].deductible, b.lines[0].paid_tax) == (
        D("100.00"),
        D("19.00"),
        D("19.00"),
        D("0.00"),
    )
    assert b.total == D("-100.00")
    taxation.set_regime(session, valid_from=date(2026, 4, 1), kind="klein")
    k = expense(session, bank, date(2026, 4, 7), ("100.00", "software", "RCEU19"))
    assert (k.lines[0].tax, k.lines[0].deductible) == (D("19.00"), D("0.00"))
    # A Kleinunternehmer's 19 % receipt: the whole 119,00 is the expense, no Vorsteuer.
    g = expense(session, bank, date(2026, 4, 8), ("119.00", "buerobedarf", "V19"))
    assert (g.lines[0].net, g.lines[0].tax, g.lines[0].deductible) == (
        D("119.00"),
        D("0.00"),
        D("0.00"),
    )


def test_three_decimals_refused_nothing_saved(session: Session, bank: Account) -> None:
    with pytest.raises(KmsError, match="mehr als zwei Nachkommastellen"):
        expense(
            session, bank, date(2026, 3, 5), ("10.00", "porto", "NSTB"), ("1.005", "porto", "NSTB")
        )
    assert _count(session) == 0
    assert session.scalar(select(func.count()).select_from(BookingLine)) == 0


def test_category_without_euer_field_refused(session: Session, bank: Account) -> None:
    with pytest.raises(KmsError, match="keinem Feld der EÜR"):
        service.save_category(session, name="Sonderkram", side="ausgabe", euer_field="")
    stray = Category(key="u_alt", name="Altlast", side="ausgabe", euer_field="")
    session.add(stray)
    session.flush()
    with pytest.raises(KmsError, match="keinem Feld der EÜR"):
        service.create_booking(
            session,
            booking_date=date(2026, 3, 5),
            account_id=bank.id,
            kind="ausgabe",
            lines=[service.LineInput("5.00", stray.id, "NSTB")],
        )
    assert _count(session) == 0
    own = service.save_category(
        session, name="Coworking", side="ausgabe", euer_field="miete", default_tax_key="V19"
    )
    b = expense(session, bank, date(2026, 3, 5), ("119.00", own.key, ""))
    assert b.lines[0].tax_key == "V19"


def test_wrong_direction_of_tax_key_refused(session: Session, bank: Account) -> None:
    with pytest.raises(KmsError, match="passt nicht zu einer Ausgabe"):
        expense(session, bank, date(2026, 3, 5), ("119.00", "buerobedarf", "U19"))


def test_kasse_never_negative(session: Session, cash: Account, bank: Account) -> None:
    with pytest.raises(
        KmsError, match=r"Kasse „Kasse“ wäre am 10\.03\.2026 mit -10,00\xa0€ im Minus"
    ):
        expense(session, cash, date(2026, 3, 10), ("60.00", "porto", "NSTB"))
    assert _count(session) == 0
    moved = transit(session, bank, cash, date(2026, 3, 9), "100.00")
    expense(session, cash, date(2026, 3, 10), ("60.00", "porto", "NSTB"))
    assert service.balance(session, cash.id) == D("90.00")
    assert service.balance(session, bank.id) == D("-100.00")
    # Taking the transit away would leave the Kasse at -10,00 on 10.03.
    with pytest.raises(KmsError, match="im Minus"):
        service.delete_booking(session, moved.id, version=moved.version)
    assert session.get(Booking, moved.id) is not None
    # Moving the transit after the expense is refused as well.
    with pytest.raises(KmsError, match="im Minus"):
        service.update_booking(
            session,
            moved.id,
            version=moved.version,
            booking_date=date(2026, 3, 11),
            account_id=bank.id,
            kind="geldtransit",
            transfer_account_id=cash.id,
            lines=[service.LineInput("100.00")],
        )
    assert session.get(Booking, moved.id).booking_date == date(2026, 3, 9)


def test_private_withdrawal_has_no_category(session: Session, bank: Account) -> None:
    b = service.create_booking(
        session,
        booking_date=date(2026, 3, 1),
        account_id=bank.id,
        kind="privatentnahme",
        lines=[service.LineInput("500.00")],
    )
    assert b.total == D("-500.00") and b.lines[0].category_id is None
    with pytest.raises(KmsError, match="keine Kategorie"):
        service.create_booking(
            session,
            booking_date=date(2026, 3, 1),
            account_id=bank.id,
            kind="privateinlage",
            lines=[service.LineInput("5.00", cat(session, "porto"))],
        )


def test_receipt_upload_and_wrong_type(session: Session, bank: Account) -> None:
    with pytest.raises(FileRefused):
        expense(
            session,
            bank,
            date(2026, 3, 5),
            ("11.90", "porto", "NSTB"),
            receipt=("beleg.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100),
        )
    assert _count(session) == 0
    assert session.scalar(select(func.count()).select_from(Document)) == 0
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    b = expense(
        session, bank, date(2026, 3, 5), ("11.90", "porto", "NSTB"), receipt=("beleg.pdf", pdf)
    )
    doc = session.get(Document, b.document_id)
    assert doc is not None and doc.doc_type == "booking_receipt"
    # Buchungsbeleg: 8 years from the end of 2026.
    assert doc.retain_until == date(2034, 12, 31)


def test_locked_month_refuses_every_path(session: Session, bank: Account) -> None:
    b = expense(session, bank, date(2026, 1, 15), ("119.00", "buerobedarf", "V19"))
    session.commit()
    assert service.lock_period(session, date(2026, 1, 1)) == [date(2026, 1, 1)]
    session.commit()
    assert periods.is_locked(session, date(2026, 1, 31)) and not periods.is_locked(
        session, date(2026, 2, 1)
    )
    with pytest.raises(KmsError, match="Januar 2026 ist festgeschrieben"):
        expense(session, bank, date(2026, 1, 20), ("1.00", "porto", "NSTB"))
    with pytest.raises(KmsError, match="festgeschrieben"):
        service.update_booking(
            session,
            b.id,
            version=b.version,
            booking_date=date(2026, 2, 2),
            account_id=bank.id,
            kind="ausgabe",
            lines=[service.LineInput("1.00", cat(session, "porto"), "NSTB")],
        )
    with pytest.raises(KmsError, match="festgeschrieben"):
        service.delete_booking(session, b.id, version=b.version)
    # Moving an open booking INTO the locked month is refused too.
    open_one = expense(session, bank, date(2026, 2, 3), ("2.00", "porto", "NSTB"))
    with pytest.raises(KmsError, match="festgeschrieben"):
        service.update_booking(
            session,
            open_one.id,
            version=open_one.version,
            booking_date=date(2026, 1, 3),
            account_id=bank.id,
            kind="ausgabe",
            lines=[service.LineInput("2.00", cat(session, "porto"), "NSTB")],
        )
    # The correction: a counter-booking in an open period.
    r = service.reverse_booking(session, b.id, booking_date=date(2026, 2, 10))
    assert r.total == D("119.00") and r.lines[0].tax == D("-19.00")
    with pytest.raises(KmsError, match="schon gegengebucht"):
        service.reverse_booking(session, b.id, booking_date=date(2026, 2, 10))


def test_every_change_is_audited(session: Session, bank: Account) -> None:
    b = expense(session, bank, date(2026, 3, 5), ("119.00", "buerobedarf", "V19"))
    service.update_booking(
        session,
        b.id,
        version=b.version,
        booking_date=date(2026, 3, 6),
        account_id=bank.id,
        kind="ausgabe",
        lines=[service.LineInput("59.50", cat(session, "buerobedarf"), "V19")],
    )
    service.delete_booking(session, b.id, version=None)
    actions = list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "booking", AuditEvent.entity_id == str(b.id))
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["created", "updated", "deleted"]


def test_lock_only_ended_months(session: Session, bank: Account) -> None:
    from kms.types import today

    with pytest.raises(KmsError, match="noch nicht zu Ende"):
        service.lock_period(session, today())


def test_auto_lock_after_deadline_with_and_without_extension(
    session: Session, bank: Account
) -> None:
    from datetime import UTC, datetime

    expense(session, bank, date(2026, 1, 15), ("1.00", "porto", "NSTB"))
    # January's deadline: 28.02.2026; with Dauerfristverlängerung 31.03.2026.
    assert service.lock_deadline(session, date(2026, 1, 1)) == date(2026, 2, 28)
    service.save_settings(session, valid_from=date(2026, 1, 1), permanent_extension=True)
    assert service.lock_deadline(session, date(2026, 1, 1)) == date(2026, 3, 31)
    assert (
        service.auto_lock(session, datetime(2026, 3, 31, 12, tzinfo=UTC))
        == "nichts festzuschreiben"
    )
    assert "Januar 2026" in service.auto_lock(session, datetime(2026, 4, 1, 12, tzinfo=UTC))
    assert periods.is_locked(session, date(2026, 1, 1)) and not periods.is_locked(
        session, date(2026, 2, 1)
    )


def test_the_model_guard_refuses_every_path_around_the_services(
    session: Session, bank: Account
) -> None:
    b = expense(session, bank, date(2026, 1, 15), ("119.00", "buerobedarf", "V19"))
    open_one = expense(session, bank, date(2026, 2, 15), ("11.90", "porto", "NSTB"))
    session.commit()
    periods.lock_month(session, date(2026, 1, 1))
    session.commit()
    for change in (
        lambda: setattr(b, "note", "nachträglich"),
        lambda: setattr(b.lines[0], "amount", D("1.00")),
        lambda: session.delete(b),
        lambda: setattr(open_one, "booking_date", date(2026, 1, 20)),
    ):
        change()
        with pytest.raises(KmsError, match="festgeschrieben"):
            session.flush()
        session.rollback()
    assert session.get(Booking, b.id).note == ""


def test_balances_of_all_accounts_match_each_and_follow_every_change(
    session: Session, cash: Account, bank: Account
) -> None:
    """The Konten page's balances (two GROUP BYs, reused while nothing changed) equal
    balance() per account, also after a new booking and a changed opening balance."""
    from kms import querycache
    from kms.db import session_scope

    transit(session, bank, cash, date(2026, 3, 9), "100.00")
    expense(session, cash, date(2026, 3, 10), ("60.00", "porto", "NSTB"))
    session.commit()

    def both() -> tuple[dict[int, Decimal], dict[int, Decimal]]:
        with session_scope(write=False) as s:
            each = {a.id: service.balance(s, a.id) for a in s.scalars(select(Account))}
            return dict(service.balances(s)), each

    hits = querycache.stats()["hits"]
    first, each = both()
    assert first == each == {bank.id: D("-100.00"), cash.id: D("90.00")}
    assert both()[0] == first and querycache.stats()["hits"] == hits + 1  # reused

    expense(session, bank, date(2026, 3, 11), ("19.99", "porto", "NSTB"))
    session.commit()
    after_booking, each = both()
    assert after_booking == each and after_booking[bank.id] == D("-119.99")

    service.save_account(
        session,
        account_id=cash.id,
        version=cash.version,
        name=cash.name,
        kind="kasse",
        opening_balance="75.00",
        opening_date=cash.opening_date,
    )
    session.commit()
    after_edit, each = both()
    assert after_edit == each and after_edit[cash.id] == D("115.00")
