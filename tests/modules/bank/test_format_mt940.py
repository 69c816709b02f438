"""MT940 parsing: DK field 86 subfields, SEPA keywords, reversals, returns, year-end dates."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from kms.modules.bank.formats import parse_statement
from kms.modules.bank.formats.mt940 import join_segments
from kms.modules.bank.statement import StatementError

SAMPLE = (Path(__file__).parent / "samples" / "mt940_sample.sta").read_bytes()


def test_an_mt940_file_reads_account_balances_period_and_every_line() -> None:
    statement = parse_statement(SAMPLE, "umsaetze.sta")
    assert statement.format == "mt940"
    # :25: gives BLZ/Kontonummer; the IBAN is computed from them
    assert statement.account_iban == "DE02120300000000202051"
    assert statement.opening_balance == Decimal("1234.56")
    assert statement.closing_balance == Decimal("1146.07")
    assert (statement.period_from, statement.period_to) == (date(2026, 12, 28), date(2027, 1, 6))
    assert [line.amount for line in statement.lines] == [
        Decimal("119.00"),
        Decimal("-59.50"),
        Decimal("-122.99"),
        Decimal("-25.00"),
    ]
    assert [line.line_no for line in statement.lines] == [5, 8, 10, 12]


def test_field_86_subfields_give_purpose_references_and_counterparty() -> None:
    line = parse_statement(SAMPLE).lines[0]
    assert line.purpose == "Rechnung Nr.: RE-2026-0042 vom 20.12.2026"
    assert line.end_to_end_id == "E2E-RE-2026-0042"
    assert line.booking_text == "GUTSCHR. UEBERWEISUNG"
    assert line.counterparty_name == "Erika Mustermann"
    assert line.counterparty_iban == "DE89370400440532013000"  # continued on the next line
    assert line.counterparty_bic == "COBADEFFXXX"
    assert line.bank_reference == "2026122800001"
    assert not line.is_return


def test_a_direct_debit_across_the_year_end_gets_the_next_year_as_booking_date() -> None:
    line = parse_statement(SAMPLE).lines[1]
    assert line.value_date == date(2026, 12, 31)
    assert line.booking_date == date(2027, 1, 2)
    assert line.purpose == "Kundennr. 4711 Rechnung November"
    assert line.end_to_end_id == ""  # NOTPROVIDED
    assert line.mandate_reference == "MAND-0815"
    assert line.creditor_id == "DE98ZZZ09999999999"


def test_gvc_109_is_a_returned_direct_debit_with_reason_and_fee() -> None:
    line = parse_statement(SAMPLE).lines[2]
    assert line.is_return
    assert line.return_reason == "AC04"
    assert line.fee == Decimal("3.99")
    assert line.purpose == "RE-2026-0040 AC04 Konto erloschen"


def test_a_reversed_credit_is_money_paid_and_flagged() -> None:
    line = parse_statement(SAMPLE).lines[3]
    assert line.amount == Decimal("-25.00")
    assert line.is_return
    assert line.purpose == "Storno Gutschrift vom 05.01.2027"


def test_cut_segments_are_joined_without_space_only_where_the_segment_was_full() -> None:
    assert join_segments(["SVWZ+Rechnung Nr.: RE-2026-", "0042"]) == (
        "SVWZ+Rechnung Nr.: RE-2026-0042"
    )
    assert join_segments(["Miete", "Dezember"]) == "Miete Dezember"


def test_an_unreadable_statement_line_names_the_line_and_value() -> None:
    broken = SAMPLE.replace(b":61:2612310102DR59,50", b":61:2612310102DRxx,50")
    with pytest.raises(StatementError, match="Zeile 8: „2612310102DRxx,50N105NONREF“"):
        parse_statement(broken)


def test_an_impossible_date_names_the_line() -> None:
    broken = SAMPLE.replace(b":61:2612281228C", b":61:2613281228C")
    with pytest.raises(StatementError, match="Zeile 5: „261328“ ist kein gültiges Datum"):
        parse_statement(broken)


def test_whole_amounts_without_decimals_and_several_statements_in_one_file() -> None:
    second = (
        b":20:STARTUMSE\r\n:25:DE02120300000000202051\r\n:28C:00013/001\r\n"
        b":60F:C270106EUR1146,07\r\n:61:2701070107C100,N166NONREF\r\n"
        b":86:166?00GUTSCHRIFT?20RE-2027-0001\r\n:62F:C270107EUR1246,07\r\n-\r\n"
    )
    statement = parse_statement(SAMPLE + second)
    assert statement.lines[-1].amount == Decimal("100.00")
    assert statement.lines[-1].purpose == "RE-2027-0001"
    assert statement.opening_balance == Decimal("1234.56")
    assert statement.closing_balance == Decimal("1246.07")
    assert len(statement.lines) == 5


def test_a_second_account_in_the_same_file_is_refused() -> None:
    other = b":20:X\r\n:25:DE89370400440532013000\r\n:60F:C270106EUR0,\r\n-\r\n"
    with pytest.raises(StatementError, match="mehrerer Konten"):
        parse_statement(SAMPLE + other)


def test_unstructured_free_text_lines_are_joined_as_words() -> None:
    free = SAMPLE.replace(
        b":86:Storno Gutschrift vom 05.01.2027",
        b":86:Storno\r\nGutschrift vom 05.01.2027",
    )
    assert parse_statement(free).lines[3].purpose == "Storno Gutschrift vom 05.01.2027"
