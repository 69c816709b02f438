"""parse_statement: format detection and the German errors for files it cannot read."""

from pathlib import Path

import pytest

from kms.modules.bank.formats import parse_statement
from kms.modules.bank.statement import StatementError

SAMPLES = Path(__file__).parent / "samples"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("camt053_v08.xml", "camt.053"),
        ("mt940_sample.sta", "mt940"),
        ("sparkasse_csv_camt.csv", "csv:sparkasse_camt"),
        ("sparkasse_csv_mt940.csv", "csv:sparkasse_mt940"),
        ("dkb_2023.csv", "csv:dkb"),
        ("dkb_alt.csv", "csv:dkb_alt"),
        ("ing.csv", "csv:ing"),
        ("deutsche_bank.csv", "csv:deutsche_bank"),
    ],
)
def test_the_format_is_detected_from_the_content_not_the_file_name(name: str, fmt: str) -> None:
    assert parse_statement((SAMPLES / name).read_bytes(), "upload.dat").format == fmt


@pytest.mark.parametrize("data", [b"", b"  \r\n\t", b"\xef\xbb\xbf\r\n"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    with pytest.raises(StatementError, match=r"Die Datei „auszug\.csv“ ist leer\."):
        parse_statement(data, "auszug.csv")


def test_an_unknown_csv_header_names_what_was_found() -> None:
    data = b"Datum;Beschreibung;Wert\n01.11.2026;Test;1,00\n"
    with pytest.raises(
        StatementError, match=r"Unbekanntes Format.*„Datum;Beschreibung;Wert“.*Allgemeines CSV"
    ):
        parse_statement(data)


def test_plain_text_that_is_no_statement_is_refused() -> None:
    with pytest.raises(StatementError, match=r"weder CAMT.*„Hallo Welt“"):
        parse_statement(b"Hallo Welt\n")


def test_an_undecodable_file_is_refused_in_german() -> None:
    with pytest.raises(StatementError, match="Zeichenkodierung"):
        parse_statement(b"Buchungstag;Betrag\n\x81\x8d\x90;1,00\n")


def test_utf8_with_bom_and_windows_1252_read_the_same_text() -> None:
    text = (SAMPLES / "sparkasse_csv_camt.csv").read_bytes().decode("cp1252")
    as_bom = parse_statement(b"\xef\xbb\xbf" + text.encode("utf-8"))
    as_1252 = parse_statement(text.encode("cp1252"))
    assert as_bom == as_1252
    assert as_bom.lines[2].purpose == "Rechnung RE-2026-0042 Grüße"


def test_an_unknown_profile_key_is_refused() -> None:
    with pytest.raises(StatementError, match="Unbekanntes Format „quicken“"):
        parse_statement(b"x", profile="quicken")
