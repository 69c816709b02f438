"""CAMT.052/053/054 parsing: real structure samples, returns, batches, and unsafe XML refused."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from kms.modules.bank.formats import parse_statement
from kms.modules.bank.statement import StatementError
from tests.modules.bank.camt_factory import camt053_bytes

SAMPLES = Path(__file__).parent / "samples"
OWN = "DE02120300000000202051"


def _sample() -> bytes:
    return (SAMPLES / "camt053_v08.xml").read_bytes()


def test_a_camt053_v08_statement_reads_account_period_balances_and_booked_lines() -> None:
    statement = parse_statement(_sample(), "auszug.xml")
    assert statement.format == "camt.053"
    assert statement.account_iban == OWN
    assert (statement.period_from, statement.period_to) == (date(2026, 11, 2), date(2026, 11, 30))
    assert statement.opening_balance == Decimal("1234.56")
    assert statement.closing_balance == Decimal("1371.07")
    assert [line.amount for line in statement.lines] == [
        Decimal("119.00"),
        Decimal("-59.50"),
        Decimal("150.00"),
        Decimal("50.00"),
        Decimal("-122.99"),
    ]
    assert statement.opening_balance + sum(line.amount for line in statement.lines) == (
        statement.closing_balance
    )


def test_an_incoming_transfer_names_the_debtor_and_keeps_a_split_invoice_number_findable() -> None:
    line = parse_statement(_sample()).lines[0]
    assert line.booking_date == date(2026, 11, 2)
    assert line.value_date == date(2026, 11, 2)
    assert line.counterparty_name == "Erika Mustermann"
    assert line.counterparty_iban == "DE89370400440532013000"
    assert line.counterparty_bic == "COBADEFFXXX"
    assert line.purpose == "Rechnung RE-2026- 0042 vom 28.10.2026"
    assert "RE-2026-0042" in "".join(line.purpose.split())
    assert line.end_to_end_id == "E2E-RE-2026-0042"
    assert line.bank_reference == "2026110200001"
    assert line.booking_text == "GUTSCHR. UEBERWEISUNG"
    assert not line.is_return


def test_a_direct_debit_names_the_creditor_its_mandate_and_creditor_id() -> None:
    line = parse_statement(_sample()).lines[1]
    assert line.amount == Decimal("-59.50")
    assert line.counterparty_name == "Beispiel Telekom GmbH"
    assert line.counterparty_iban == "DE02100500000054540402"
    assert line.end_to_end_id == ""  # NOTPROVIDED
    assert line.mandate_reference == "MAND-0815"
    assert line.creditor_id == "DE98ZZZ09999999999"


def test_a_batch_entry_becomes_one_line_per_transaction_with_its_own_amount() -> None:
    lines = parse_statement(_sample()).lines[2:4]
    assert [(line.amount, line.purpose, line.counterparty_name) for line in lines] == [
        (Decimal("150.00"), "RE-2026-0043", "Max Mustermann"),
        (Decimal("50.00"), "RE-2026-0044", "Beispiel GmbH"),
    ]
    assert [line.line_no for line in lines] == [3, 4]


def test_a_returned_direct_debit_is_flagged_with_reason_fee_and_debtor() -> None:
    line = parse_statement(_sample()).lines[4]
    assert line.is_return
    assert line.return_reason == "AC04"
    assert line.fee == Decimal("3.99")
    assert line.counterparty_name == "Erika Mustermann"
    assert line.mandate_reference == "KMS-M-7"


def test_pending_entries_are_skipped_with_a_german_warning() -> None:
    statement = parse_statement(_sample())
    assert len(statement.lines) == 5
    assert statement.warnings == (
        "Eintrag 5: nicht gebuchter Umsatz (PDNG) vom 30.11.2026 über -12,00\xa0€ übersprungen.",
    )


@pytest.mark.parametrize(
    ("namespace", "root", "report", "fmt"),
    [
        ("camt.053.001.02", "BkToCstmrStmt", "Stmt", "camt.053"),
        ("camt.052.001.08", "BkToCstmrAcctRpt", "Rpt", "camt.052"),
        ("camt.054.001.08", "BkToCstmrDbtCdtNtfctn", "Ntfctn", "camt.054"),
    ],
)
def test_every_camt_version_and_message_type_reads_the_same(
    namespace: str, root: str, report: str, fmt: str
) -> None:
    document = (
        _sample()
        .decode()
        .replace("camt.053.001.08", namespace)
        .replace("BkToCstmrStmt", root)
        .replace("<Stmt>", f"<{report}>")
        .replace("</Stmt>", f"</{report}>")
    )
    statement = parse_statement(document.encode())
    assert statement.format == fmt
    assert len(statement.lines) == 5


def test_the_factory_builds_documents_the_parser_reads_back() -> None:
    data = camt053_bytes(
        OWN,
        [
            {
                "amount": "4.99",
                "booking_date": date(2026, 11, 2),
                "purpose": ["RE-2026-", "0001"],
                "name": "Erika Mustermann",
                "iban": "DE89370400440532013000",
                "end_to_end_id": "E-1",
            },
            {"amount": "-1.50", "booking_date": date(2026, 11, 3), "purpose": "Gebühr"},
            {"amount": "-7", "booking_date": date(2026, 11, 3), "status": "PDNG"},
        ],
    )
    statement = parse_statement(data)
    assert [(line.amount, line.purpose) for line in statement.lines] == [
        (Decimal("4.99"), "RE-2026- 0001"),
        (Decimal("-1.50"), "Gebühr"),
    ]
    assert statement.lines[0].end_to_end_id == "E-1"
    assert len(statement.warnings) == 1


def test_a_truncated_xml_file_is_refused_in_german() -> None:
    with pytest.raises(StatementError, match="unvollständig oder fehlerhaft"):
        parse_statement(_sample()[:-200])


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<Document>&lol2;</Document>",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<Document>&xxe;</Document>",
        b'<!doctype Document SYSTEM "http://example.org/camt.dtd"><Document/>',
    ],
)
def test_doctype_entities_and_external_references_are_refused(document: bytes) -> None:
    with pytest.raises(StatementError, match="Sicherheitsgründen"):
        parse_statement(document)


def test_an_xml_file_that_is_no_camt_names_what_was_found() -> None:
    pain = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><x/></Document>'
    with pytest.raises(StatementError, match=r"Unbekanntes Format.*pain\.001\.001\.09"):
        parse_statement(pain)


def test_a_bad_amount_names_the_entry_and_the_value() -> None:
    broken = _sample().replace(b">59.50<", b">59,5O<", 1)
    with pytest.raises(StatementError, match="Eintrag 2: „59,5O“ ist kein gültiger Betrag"):
        parse_statement(broken)


def test_an_impossible_period_date_is_named() -> None:
    broken = _sample().replace(b"<ToDtTm>2026-11-30", b"<ToDtTm>2026-11-31", 1)
    with pytest.raises(StatementError, match="Zeitraum: „2026-11-31“ ist kein gültiges Datum"):
        parse_statement(broken)


def test_a_reversal_indicator_marks_the_entry_as_returned() -> None:
    reversed_entry = _sample().replace(
        b"<CdtDbtInd>DBIT</CdtDbtInd>\n        <Sts><Cd>BOOK</Cd></Sts>\n"
        b"        <BookgDt><Dt>2026-11-05",
        b"<CdtDbtInd>DBIT</CdtDbtInd>\n        <RvslInd>true</RvslInd>\n"
        b"        <Sts><Cd>BOOK</Cd></Sts>\n        <BookgDt><Dt>2026-11-05",
    )
    lines = parse_statement(reversed_entry).lines
    assert [line.is_return for line in lines] == [False, True, False, False, True]
