"""Migration 1325: existing bookings get their § 19 turnover share, derived from their lines,
on SQLite and PostgreSQL; the per-year sum then reads the covering index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command

from kms.db import alembic_config, dispose_engines, get_engine, reflect, session_scope
from tests.conftest import database_at
from tests.test_migration_1301 import insert


@pytest.fixture(params=["sqlite", "postgres"])
def url_1324(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own, migrated up to revision 1324 only."""
    with database_at("1324", request.param, monkeypatch) as url:
        yield url


def test_existing_bookings_get_the_sum_of_their_counting_lines(url_1324: str) -> None:
    engine = get_engine(url_1324)
    t = reflect(engine).tables
    with engine.begin() as conn:

        def category(key: str, side: str, field: str) -> int:
            return insert(conn, t["ledger_categories"], key=key, name=key, side=side,
                          euer_field=field)  # fmt: skip

        sales = category("erloese", "einnahme", "nach_steuerschluessel")
        asset = category("anlagenverkauf", "einnahme", "anlagenabgang")
        goods = category("waren", "ausgabe", "waren")
        account = insert(conn, t["ledger_accounts"], name="Girokonto", kind="bank")

        def booking(kind: str, *lines: tuple[int, int, int, str]) -> int:
            """Lines as (category, amount in cents, paid tax in cents, tax key)."""
            booking_id = insert(conn, t["ledger_bookings"], kind=kind, account_id=account,
                                booking_date=date(2026, 3, 1), total=0, version=1)  # fmt: skip
            for position, (cat, amount, tax, key) in enumerate(lines, start=1):
                insert(conn, t["ledger_booking_lines"], booking_id=booking_id, position=position,
                       category_id=cat, amount=amount, paid_tax=tax, tax_key=key)  # fmt: skip
            return booking_id

        ids = {
            # 119,00 at 19 % + 107,00 at 7 % + 500,00 nicht steuerbar + an asset sold: 200,00
            "mixed": booking(
                "einnahme",
                (sales, 11900, 1900, "U19"),
                (sales, 10700, 700, "U7"),
                (sales, 50000, 0, "UNSTB"),
                (asset, 59500, 9500, "U19"),
            ),
            "kleinunternehmer": booking("einnahme", (sales, 4000, 0, "UKU")),
            "expense": booking("ausgabe", (goods, 5000, 798, "V19")),
            "no_lines": booking("einnahme"),
        }
    dispose_engines()
    command.upgrade(alembic_config(url_1324), "head")
    engine = get_engine(url_1324)
    with engine.connect() as conn:
        cents = dict(conn.execute(sa.text("SELECT id, turnover_19 FROM ledger_bookings")).all())
        found = sa.inspect(conn).get_indexes("ledger_bookings")
    indexes = {index["name"]: index["column_names"] for index in found}
    assert {name: cents[i] for name, i in ids.items()} == {
        "mixed": 20000,
        "kleinunternehmer": 4000,
        "expense": 0,
        "no_lines": 0,
    }
    assert indexes["ix_ledger_bookings_kind_date"] == ["kind", "booking_date", "turnover_19"]
    from kms.modules.ledger.turnover import received_turnover

    with session_scope(write=False) as session:
        assert received_turnover(session, 2026) == Decimal("240.00")
