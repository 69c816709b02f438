"""Helpers every statement format shares: decoding, amounts, dates, IBANs, purpose text."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from kms.modules.bank.statement import Statement, StatementError, StatementLine

CENT = Decimal("0.01")
# "1.234,56", "1234,56", "1234," (MT940 writes no decimals after the comma for whole amounts)
_GERMAN_AMOUNT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*(,\d+)?$|^[+-]?\d+(,\d*)?$")
_DOT_AMOUNT = re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d+)?$|^[+-]?\d+(\.\d*)?$")


def decode(data: bytes, encoding: str | None = None) -> str:
    """Text of a statement file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    An explicit `encoding` (from a saved CSV mapping) is used as given.
    """
    if encoding:
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except (UnicodeDecodeError, LookupError) as exc:
            raise StatementError(
                f"Die Datei lässt sich nicht mit der Zeichenkodierung „{encoding}“ lesen."
            ) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise StatementError("Die Datei hat eine ungültige UTF-16-Kodierung.") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise StatementError(
            "Die Zeichenkodierung der Datei ist unbekannt (weder UTF-8 noch Windows-1252)."
        ) from exc


def parse_amount(value: str, *, line_no: int, decimal_comma: bool = True) -> Decimal:
    """`value` as a Decimal with 2 places: "1.234,56", "-4,99", "+12,00", "4,99-" or "1234.56".

    Raises StatementError naming the line and the value when it is not an amount.
    """
    text = value.strip().replace("\u00a0", "").replace(" ", "")
    for suffix in ("EUR", "€"):
        text = text.removesuffix(suffix)
    if text.endswith("-") and not text.startswith("-"):
        text = "-" + text[:-1]
    pattern = _GERMAN_AMOUNT if decimal_comma else _DOT_AMOUNT
    if not text or not pattern.match(text):
        raise StatementError(f"Zeile {line_no}: „{value.strip()}“ ist kein gültiger Betrag.")
    if decimal_comma:
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return Decimal(text).quantize(CENT)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already refuses these
        raise StatementError(
            f"Zeile {line_no}: „{value.strip()}“ ist kein gültiger Betrag."
        ) from exc


def parse_date(value: str, formats: tuple[str, ...], *, line_no: int) -> date:
    """`value` read with the first matching strptime format; StatementError names line and value."""
    text = value.strip()
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise StatementError(f"Zeile {line_no}: „{text}“ ist kein gültiges Datum.")


def clean_iban(value: str) -> str:
    """An IBAN or account number in upper case without spaces."""
    return re.sub(r"\s+", "", value).upper()


def german_iban(blz: str, account: str) -> str:
    """The German IBAN of Bankleitzahl `blz` and Kontonummer `account` ("" if not digits)."""
    if not (len(blz) == 8 and blz.isdigit() and account.isdigit() and len(account) <= 10):
        return ""
    bban = blz + account.zfill(10)
    check = 98 - int(bban + "131400") % 97  # "DE00" as digits: D=13, E=14
    return f"DE{check:02d}{bban}"


def join_purpose(parts: list[str]) -> str:
    """Purpose lines joined with one space, each line stripped, empty lines dropped.

    A token the bank split across two lines (e.g. "RE-2026-" / "0042") therefore reads
    "RE-2026- 0042"; the matcher also searches the purpose with all whitespace removed.
    """
    return " ".join(part.strip() for part in parts if part.strip())


def build_statement(
    fmt: str,
    account_iban: str,
    lines: list[StatementLine],
    *,
    currency: str = "",
    period: tuple[date | None, date | None] = (None, None),
    balances: tuple[Decimal | None, Decimal | None] = (None, None),
    warnings: list[str] | None = None,
) -> Statement:
    """The Statement; a period the file does not state is taken from the booking dates."""
    dates = [line.booking_date for line in lines]
    return Statement(
        format=fmt,
        account_iban=account_iban,
        lines=tuple(lines),
        currency=currency or "EUR",
        period_from=period[0] or (min(dates) if dates else None),
        period_to=period[1] or (max(dates) if dates else None),
        opening_balance=balances[0],
        closing_balance=balances[1],
        warnings=tuple(warnings or ()),
    )
