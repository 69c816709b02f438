"""The parsed-statement shape: immutable, German errors through the KMS error base."""

from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal

import pytest

from kms.errors import KmsError
from kms.modules.bank.statement import Statement, StatementError, StatementLine


def test_a_parsed_statement_cannot_be_changed_after_parsing() -> None:
    line = StatementLine(date(2026, 11, 2), Decimal("4.99"), "RE-2026-0001")
    statement = Statement("camt.053", "DE02120300000000202051", (line,))
    with pytest.raises(FrozenInstanceError):
        statement.lines[0].amount = Decimal("5.00")  # type: ignore[misc]


def test_statement_errors_are_shown_as_german_kms_errors() -> None:
    error = StatementError("Die Datei ist leer.")
    assert isinstance(error, KmsError)
    assert error.message == "Die Datei ist leer."
