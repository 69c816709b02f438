"""CSV profiles of German banks, each on a sample with the bank's real column structure."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from kms.modules.bank.formats import CsvMapping, parse_statement, profiles
from kms.modules.bank.statement import Statement, StatementError

SAMPLES = Path(__file__).parent / "samples"
OWN = "DE02120300000000202051"
ERIKA = "DE89370400440532013000"


def _parse(name: str) -> Statement:
    return parse_statement((SAMPLES / name).read_bytes(), name)


def test_sparkasse_csv_camt_in_windows_1252_with_pending_row_and_return() -> None:
    statement = _parse("sparkasse_csv_camt.csv")
    assert statement.format == "csv:sparkasse_camt"
    assert statement.account_iban == OWN
    assert statement.warnings == ("Zeile 2: vorgemerkter Umsatz (Umsatz vorgemerkt) übersprungen.",)
    returned, debit, credit = statement.lines
    assert credit.amount == Decimal("1190.00")  # "1.190,00"
    assert credit.purpose == "Rechnung RE-2026-0042 Grüße"  # umlaut read from cp1252
    assert (credit.counterparty_name, credit.counterparty_iban) == ("Erika Mustermann", ERIKA)
    assert credit.end_to_end_id == "E2E-RE-2026-0042"
    assert debit.purpose == "Kundennr. 4711; Rechnung November"  # ";" inside quotes
    assert debit.end_to_end_id == ""  # NOTPROVIDED
    assert (debit.mandate_reference, debit.creditor_id) == ("MAND-0815", "DE98ZZZ09999999999")
    assert returned.booking_date == date(2026, 11, 20)  # two-digit year
    assert returned.amount == Decimal("-122.99")
    assert returned.is_return and returned.return_reason == "MD06"
    assert returned.fee == Decimal("3.99")
    assert [line.line_no for line in statement.lines] == [3, 4, 5]


def test_sparkasse_csv_mt940_splits_the_sepa_keywords_and_computes_the_iban() -> None:
    statement = _parse("sparkasse_csv_mt940.csv")
    assert statement.format == "csv:sparkasse_mt940"
    assert statement.account_iban == ""  # the file gives only the account number
    debit, credit = statement.lines
    assert debit.purpose == "Kundennr. 4711 Rechnung November"
    assert (debit.mandate_reference, debit.creditor_id) == ("MAND-0815", "DE98ZZZ09999999999")
    assert debit.counterparty_iban == "DE02100500000054540402"
    assert credit.purpose == "Rechnung RE-2026-0042"
    assert credit.end_to_end_id == "E2E-RE-2026-0042"
    assert credit.counterparty_iban == ERIKA  # from Kontonummer 0532013000, BLZ 37040044
    assert credit.amount == Decimal("119.00")


def test_dkb_2023_export_with_bom_metadata_and_payer_or_payee_by_sign() -> None:
    statement = _parse("dkb_2023.csv")
    assert statement.format == "csv:dkb"
    assert statement.account_iban == OWN
    assert statement.warnings == ("Zeile 6: vorgemerkter Umsatz (Vorgemerkt) übersprungen.",)
    debit, credit = statement.lines
    assert debit.amount == Decimal("-59.50")  # "-59,5"
    assert debit.counterparty_name == "Beispiel Telekom GmbH"
    assert debit.booking_date == date(2026, 11, 5)
    assert credit.amount == Decimal("2119.00")  # "2.119"
    assert credit.counterparty_name == "Erika Mustermann"
    assert credit.end_to_end_id == "E2E-RE-2026-0042"
    assert credit.booking_text == "Eingang"


def test_dkb_export_until_2023_reads_the_account_from_the_metadata_lines() -> None:
    statement = _parse("dkb_alt.csv")
    assert statement.format == "csv:dkb_alt"
    assert statement.account_iban == OWN
    assert [(line.booking_date, line.amount) for line in statement.lines] == [
        (date(2022, 11, 5), Decimal("-59.50")),
        (date(2022, 11, 2), Decimal("1119.00")),
    ]
    assert statement.lines[1].purpose == "Rechnung RE-2022-0042"
    assert statement.lines[0].creditor_id == "DE98ZZZ09999999999"


def test_ing_umsatzanzeige_with_metadata_two_currency_columns_and_a_return() -> None:
    statement = _parse("ing.csv")
    assert statement.format == "csv:ing"
    assert statement.account_iban == OWN
    returned, debit, credit = statement.lines
    assert returned.is_return and returned.return_reason == "AC04"
    assert returned.amount == Decimal("-122.99")
    assert debit.amount == Decimal("-59.50")
    assert credit.amount == Decimal("1119.00")  # Betrag, not the Saldo column
    assert credit.purpose == "Rechnung RE-2026-0042; Danke"
    assert credit.counterparty_name == "Erika Mustermann"
    assert credit.line_no == 18


def test_ing_current_header_without_balance_column() -> None:
    data = (
        "Umsatzanzeige;Datei erstellt am: 01.12.2026 08:00\n\nIBAN;DE02 1203 0000 0000 2020 51\n\n"
        "Buchung;Wertstellungsdatum;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;"
        "Betrag;Währung\n02.11.2026;03.11.2026;Erika Mustermann;Gutschrift;RE-2026-0042;"
        "1.119,00;EUR\n"
    ).encode("cp1252")
    (line,) = parse_statement(data).lines
    assert (line.value_date, line.amount) == (date(2026, 11, 3), Decimal("1119.00"))


def test_deutsche_bank_soll_haben_columns_and_the_closing_balance_line_is_ignored() -> None:
    statement = _parse("deutsche_bank.csv")
    assert statement.format == "csv:deutsche_bank"
    assert statement.account_iban == OWN
    debit, credit = statement.lines
    assert (debit.booking_date, debit.amount) == (date(2026, 11, 5), Decimal("-59.50"))
    assert debit.mandate_reference == "MAND-0815"  # header cell "Mandatsreferenz " with space
    assert debit.creditor_id == "DE98ZZZ09999999999"
    assert (credit.booking_date, credit.amount) == (date(2026, 11, 2), Decimal("1119.00"))
    assert credit.counterparty_bic == "COBADEFFXXX"
    assert credit.end_to_end_id == "E2E-RE-2026-0042"


def test_a_generic_mapping_reads_any_csv_and_survives_a_json_round_trip() -> None:
    mapping = CsvMapping(
        date_column="Datum",
        amount_column="Umsatz",
        purpose_column="Text",
        name_column="Partner",
        iban_column="Konto",
        delimiter=",",
        date_format="%Y-%m-%d",
        decimal_comma=False,
        header_row=1,
    )
    assert CsvMapping.from_json(mapping.to_json()) == mapping
    data = (
        b"Export Beispielbank\n"
        b"Datum,Partner,Konto,Text,Umsatz\n"
        b'2026-11-02,Erika Mustermann,DE89 3704 0044 0532 0130 00,"RE-2026-0042, Danke",1190.50\n'
        b"2026-11-03,Beispiel GmbH,,Miete,-800\n"
    )
    statement = parse_statement(data, mapping=mapping)
    assert statement.format == "csv:generic"
    assert [(line.amount, line.purpose) for line in statement.lines] == [
        (Decimal("1190.50"), "RE-2026-0042, Danke"),
        (Decimal("-800.00"), "Miete"),
    ]
    assert statement.lines[0].counterparty_iban == ERIKA


def test_a_generic_mapping_with_debit_and_credit_columns() -> None:
    mapping = CsvMapping(
        date_column="Tag", debit_column="Soll", credit_column="Haben", purpose_column="Zweck"
    )
    data = "Tag;Zweck;Soll;Haben\n02.11.26;Gutschrift;;119,00\n03.11.26;Gebühr;4,99;\n"
    statement = parse_statement(data.encode(), mapping=mapping)
    assert [line.amount for line in statement.lines] == [Decimal("119.00"), Decimal("-4.99")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "kein gültiges JSON"),
        ("[]", "kein JSON-Objekt"),
        ('{"date_column": "Datum", "amount_column": "Betrag", "x": 1}', "unbekannte Felder: x"),
        ('{"date_column": "Datum", "amount_column": "Betrag", "header_row": "2"}', "header_row"),
        ('{"date_column": "Datum"}', "Betragsspalte"),
        ('{"amount_column": "Betrag"}', "keine Datumsspalte"),
    ],
)
def test_a_broken_saved_mapping_is_refused_in_german(text: str, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        CsvMapping.from_json(text)


def test_a_mapping_naming_a_missing_column_says_which() -> None:
    mapping = CsvMapping(date_column="Datum", amount_column="Betrag")
    with pytest.raises(StatementError, match="Die Spalte „Betrag“ fehlt"):
        parse_statement(b"Datum;Wert\n02.11.2026;1,00\n", mapping=mapping)


def test_a_bad_amount_names_the_line_and_the_value() -> None:
    data = (SAMPLES / "dkb_2023.csv").read_bytes().replace(b'"-59,5"', b'"-59,5x"')
    with pytest.raises(StatementError, match="Zeile 7: „-59,5x“ ist kein gültiger Betrag"):
        parse_statement(data)


def test_a_bad_date_names_the_line_and_the_value() -> None:
    data = (SAMPLES / "ing.csv").read_bytes().replace(b"05.11.2026;05.11", b"35.11.2026;05.11")
    with pytest.raises(StatementError, match=r"Zeile 17: „35\.11\.2026“ ist kein gültiges Datum"):
        parse_statement(data)


def test_a_chosen_profile_that_does_not_fit_the_file_is_refused() -> None:
    data = (SAMPLES / "ing.csv").read_bytes()
    with pytest.raises(StatementError, match=r"Unbekanntes Format.*DKB – Export ab 2023"):
        parse_statement(data, profile="dkb")


def test_every_profile_has_a_german_label_and_auto_comes_first() -> None:
    keys = [key for key, _ in profiles()]
    assert keys[0] == "auto"
    assert {"camt", "mt940", "sparkasse_camt", "sparkasse_mt940", "dkb", "dkb_alt", "ing"} <= set(
        keys
    )
    assert {"deutsche_bank", "generic"} <= set(keys)
    assert len(keys) == len(set(keys))


def test_a_purpose_spanning_two_lines_keeps_the_file_line_numbers_right() -> None:
    data = (
        "Buchung;Valuta;Auftraggeber/Empfänger;Buchungstext;Verwendungszweck;Betrag;Währung\n"
        '02.11.2026;02.11.2026;Erika Mustermann;Gutschrift;"Rechnung RE-2026-\n0042";119,00;EUR\n'
        "03.11.2026;03.11.2026;Beispiel GmbH;Lastschrift;Miete;-8x;EUR\n"
    ).encode()
    with pytest.raises(StatementError, match="Zeile 4: „-8x“"):
        parse_statement(data)
    first = parse_statement(data.replace(b"-8x", b"-8")).lines[0]
    assert first.purpose == "Rechnung RE-2026- 0042"
    assert first.line_no == 2


@pytest.mark.parametrize("encoding", ["ascii", "klingonisch"])
def test_a_saved_encoding_that_does_not_fit_the_file_is_named(encoding: str) -> None:
    mapping = CsvMapping(date_column="Tag", amount_column="Betrag", encoding=encoding)
    with pytest.raises(StatementError, match=f"Zeichenkodierung „{encoding}“"):
        parse_statement("Tag;Betrag;Zweck\n02.11.26;1,00;Grüße\n".encode(), mapping=mapping)


def test_a_header_row_beyond_the_end_of_the_file_is_named() -> None:
    mapping = CsvMapping(date_column="Tag", amount_column="Betrag", header_row=5)
    with pytest.raises(StatementError, match="keine Zeile 6 mit Spaltenüberschriften"):
        parse_statement(b"Tag;Betrag\n02.11.26;1,00\n", mapping=mapping)
