"""ZIP archives of CAMT statements: merged per account, broken or oversized archives refused."""

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from kms.modules.bank.formats import archive, parse_statement
from kms.modules.bank.statement import StatementError
from tests.modules.bank.camt_factory import camt053_bytes

OWN = "DE02120300000000202051"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in files.items():
            target.writestr(name, content)
    return buffer.getvalue()


def _day(day: int, amount: str, purpose: str, iban: str = OWN) -> bytes:
    entry = {"amount": amount, "booking_date": date(2026, 11, day), "purpose": purpose}
    return camt053_bytes(iban, [entry])


def test_the_daily_statements_of_a_zip_are_merged_in_date_order() -> None:
    data = _zip(
        {
            "b_20261103.xml": _day(3, "-4.99", "Gebühr"),
            "a_20261102.xml": _day(2, "119.00", "RE-2026-0042"),
            "liesmich.pdf": b"%PDF-1.4",
        }
    )
    statement = parse_statement(data, "camt.zip")
    assert statement.format == "camt.053"
    assert statement.account_iban == OWN
    assert [(line.booking_date, line.amount, line.line_no) for line in statement.lines] == [
        (date(2026, 11, 2), Decimal("119.00"), 1),
        (date(2026, 11, 3), Decimal("-4.99"), 2),
    ]
    assert (statement.period_from, statement.period_to) == (date(2026, 11, 2), date(2026, 11, 3))
    assert statement.opening_balance == Decimal("1000.00")
    assert statement.closing_balance == Decimal("995.01")


def test_a_zip_with_statements_of_two_accounts_is_refused() -> None:
    data = _zip(
        {
            "a.xml": _day(2, "1.00", "x"),
            "b.xml": _day(3, "1.00", "y", iban="DE89370400440532013000"),
        }
    )
    with pytest.raises(StatementError, match="mehrerer Konten"):
        parse_statement(data)


def test_a_broken_member_is_named_in_the_message() -> None:
    data = _zip({"a.xml": _day(2, "1.00", "x")[:-30]})
    with pytest.raises(StatementError, match=r"a\.xml: Die XML-Datei ist unvollständig"):
        parse_statement(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04kaputt", "beschädigt"),
        (_zip({"liesmich.txt.pdf": b"x"}), "keine Kontoauszüge"),
    ],
)
def test_broken_or_empty_archives_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        parse_statement(data)


def test_an_archive_that_unpacks_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1000)
    data = _zip({"a.xml": b"<x>" + b" " * 5000 + b"</x>"})
    with pytest.raises(StatementError, match="zu groß"):
        parse_statement(data)
