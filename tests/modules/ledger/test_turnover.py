"""§ 19 turnover per booking: the stored sum follows every way a booking or category changes."""

from __future__ import annotations

import importlib.util
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.invoices import payments
from kms.modules.ledger import service
from kms.modules.ledger.models import Account, Booking
from kms.modules.ledger.sync import sync_payments
from kms.modules.ledger.turnover import (
    EXCLUDED_FIELDS,
    _counting_codes,
    received_turnover,
    turnover_of_lines,
)
from tests.modules.invoices.conftest import ISSUE_DAY, line

from .conftest import cat, expense, income

D = Decimal
MIGRATION = (
    Path(__file__).parents[3] / "kms" / "migrations" / "versions" / "1325_booking_turnover.py"
)


def stored(session: Session) -> dict[int, Decimal]:
    """Every booking's stored sum, read back from the database."""
    session.expire_all()
    return {i: amount for i, amount in session.execute(select(Booking.id, Booking.turnover_19))}


def derived(session: Session) -> dict[int, Decimal]:
    """The same sums derived from the lines in SQL, independently of the flush hook."""
    rows = session.execute(select(Booking.id, Booking.kind, turnover_of_lines())).all()
    return {i: (D(v) / 100).quantize(D("0.01")) if kind == "einnahme" else D("0.00")
            for i, kind, v in rows}  # fmt: skip


def test_the_stored_sum_follows_create_update_delete_reverse_and_sync(
    session: Session,
    bank: Account,
    make_draft,
    issue,
) -> None:
    day = date(2026, 3, 20)
    # 119,00 at 19 % (net 100) + 500,00 nicht steuerbar + 595,00 sale of an asset: 100 counts.
    mixed = income(
        session, bank, day,
        ("119.00", "erloese", "U19"), ("500.00", "erloese", "UNSTB"),
        ("595.00", "anlagenverkauf", "U19"),
    )  # fmt: skip
    small = income(session, bank, day, ("107.00", "erloese", "U7"))
    spent = expense(session, bank, day, ("50.00", "waren", "V19"))
    session.commit()
    assert stored(session) == {mixed.id: D("100.00"), small.id: D("100.00"), spent.id: D("0.00")}
    assert received_turnover(session, 2026) == D("200.00")

    # Changing lines and moving a booking to another year: both sums follow.
    booking = session.get(Booking, small.id)
    assert booking is not None
    service.update_booking(
        session, small.id, version=booking.version, booking_date=date(2025, 12, 31),
        account_id=bank.id, kind="einnahme",
        lines=[service.LineInput("238.00", cat(session, "erloese"), "U19")],
    )  # fmt: skip
    session.commit()
    assert stored(session)[small.id] == D("200.00")
    assert (received_turnover(session, 2025), received_turnover(session, 2026)) == (
        D("200.00"),
        D("100.00"),
    )

    # A counter-booking takes its share back; a deleted booking leaves the year.
    reverse = service.reverse_booking(session, mixed.id, booking_date=day)
    session.commit()
    assert stored(session)[reverse.id] == D("-100.00")
    assert received_turnover(session, 2026) == D("0.00")
    current = session.get(Booking, small.id)
    assert current is not None
    service.delete_booking(session, small.id, version=current.version)
    session.commit()
    assert received_turnover(session, 2025) == D("0.00")

    # The payment sync books an invoice payment: counted once, before and after.
    inv = issue(make_draft([line("Beratung", "2", "100.00")]))
    payments.record_payment(session, inv.id, paid_on=ISSUE_DAY, amount="238,00")
    session.commit()
    assert received_turnover(session, 2026) == D("200.00")
    sync_payments(session)
    session.commit()
    assert received_turnover(session, 2026) == D("200.00")
    assert stored(session) == derived(session)


def test_a_category_that_becomes_a_hilfsgeschaeft_leaves_the_sum_and_comes_back(
    session: Session, bank: Account
) -> None:
    """Its EÜR field can change after it was booked, in a locked month too."""
    other = service.save_category(
        session, name="Nebenerlöse", side="einnahme", euer_field="einnahmen_stpfl",
        default_tax_key="U19",
    )  # fmt: skip
    session.commit()
    kept = income(session, bank, date(2026, 1, 15), ("119.00", "erloese", "U19"))
    moved = service.create_booking(
        session, booking_date=date(2026, 1, 20), account_id=bank.id, kind="einnahme",
        lines=[service.LineInput("238.00", other.id, "U19")],
    )  # fmt: skip
    service.lock_period(session, date(2026, 1, 31))
    session.commit()
    assert received_turnover(session, 2026) == D("300.00")

    def refile(field: str) -> None:
        service.save_category(
            session, category_id=other.id, name="Nebenerlöse", side="einnahme",
            euer_field=field, default_tax_key="U19",
        )  # fmt: skip
        session.commit()

    refile("anlagenabgang")
    assert stored(session) == {kept.id: D("100.00"), moved.id: D("0.00")}
    assert received_turnover(session, 2026) == D("100.00")
    refile("einnahmen_stpfl")
    assert stored(session) == {kept.id: D("100.00"), moved.id: D("200.00")}
    assert stored(session) == derived(session)


def test_the_migrations_frozen_rule_is_still_the_codes_rule() -> None:
    """Migration 1325 derived the sums of existing bookings with a copy of the rule; a new
    counting tax key or excluded field needs a migration that derives them again."""
    spec = importlib.util.spec_from_file_location("migration_1325", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.COUNTING_CODES == _counting_codes()
    assert module.EXCLUDED_FIELDS == EXCLUDED_FIELDS
