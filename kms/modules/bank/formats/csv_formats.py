"""CSV exports of German banks -> Statement, through fixed profiles or a user's CsvMapping.

A profile is a CsvMapping plus the header cells that identify the bank's export. Column
names may list alternatives separated by "|" (banks renamed columns over time). The header
row is searched among the first lines, so the metadata lines banks put on top (ING
"Umsatzanzeige", DKB "Kontonummer:", Deutsche Bank "Umsätze Girokonto") are skipped; an IBAN
found in them becomes the statement's account. Pending rows ("Umsatz vorgemerkt",
"Vorgemerkt") are skipped with a warning; balance lines at the end ("Kontostand") are ignored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal

from kms.modules.bank.formats.common import (
    build_statement,
    clean_iban,
    decode,
    german_iban,
    join_purpose,
    parse_amount,
    parse_date,
)
from kms.modules.bank.formats.sepa import is_return_text, reason_code, split_sepa_purpose
from kms.modules.bank.statement import Statement, StatementError, StatementLine

_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_IBAN_IN_TEXT = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?)\b")
_FOOTER = ("kontostand", "alter kontostand", "neuer kontostand", "summe", "saldo")
_PENDING = ("vorgemerkt", "vormerkung", "pending")
_HEADER_SEARCH_LINES = 40


@dataclass(frozen=True)
class CsvMapping:
    """Which column of a CSV export holds what; saved per bank account as JSON.

    Column names are the header cells as the bank writes them ("" = not in this file).
    The amount is either one signed `amount_column` or `debit_column`/`credit_column`
    (a debit is always taken as money paid, whatever its sign). `header_row` is the
    0-based line of the header; `date_format` a strptime pattern; dates with two-digit
    years are also accepted. `encoding` None = detect (UTF-8, else Windows-1252).
    """

    date_column: str
    purpose_column: str = ""
    amount_column: str = ""
    debit_column: str = ""
    credit_column: str = ""
    name_column: str = ""
    iban_column: str = ""
    bic_column: str = ""
    value_date_column: str = ""
    booking_text_column: str = ""
    currency_column: str = ""
    end_to_end_column: str = ""
    mandate_column: str = ""
    creditor_id_column: str = ""
    fee_column: str = ""  # fee charged with the entry (Sparkasse "Auslagenersatz Ruecklastschrift")
    account_column: str = ""  # own IBAN on every row (Sparkasse "Auftragskonto")
    delimiter: str = ";"
    date_format: str = "%d.%m.%Y"
    decimal_comma: bool = True
    header_row: int = 0
    encoding: str | None = None

    def validate(self) -> None:
        """StatementError (German) when the mapping cannot describe a statement."""
        if not self.date_column.strip():
            raise StatementError("Bitte die Spalte mit dem Buchungsdatum angeben.")
        if not self.amount_column.strip() and not (
            self.debit_column.strip() and self.credit_column.strip()
        ):
            raise StatementError(
                "Bitte die Betragsspalte oder die Spalten für Soll und Haben angeben."
            )
        if len(self.delimiter) != 1:
            raise StatementError("Das Trennzeichen muss genau ein Zeichen sein.")
        if self.header_row < 0:
            raise StatementError("Die Zeile der Spaltenüberschriften darf nicht negativ sein.")
        if "%d" not in self.date_format or "%m" not in self.date_format:
            raise StatementError(
                f"Das Datumsformat „{self.date_format}“ braucht Tag (%d) und Monat (%m)."
            )

    def to_json(self) -> str:
        """The mapping as a JSON object (stable keys), for saving with the bank account."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CsvMapping:
        """A mapping saved with to_json(); StatementError for unreadable or unknown content."""
        try:
            raw = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise StatementError("Die gespeicherte CSV-Zuordnung ist kein gültiges JSON.") from exc
        if not isinstance(raw, dict):
            raise StatementError("Die gespeicherte CSV-Zuordnung ist kein JSON-Objekt.")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise StatementError(
                f"Die gespeicherte CSV-Zuordnung enthält unbekannte Felder: {', '.join(unknown)}."
            )
        for key, value in raw.items():
            expected: tuple[type, ...] = (str,)
            if key == "decimal_comma":
                expected = (bool,)
            elif key == "header_row":
                expected = (int,)
            elif key == "encoding":
                expected = (str, type(None))
            if not isinstance(value, expected) or (key == "header_row" and isinstance(value, bool)):
                raise StatementError(
                    f"Die gespeicherte CSV-Zuordnung hat einen ungültigen Wert für „{key}“."
                )
        if "date_column" not in raw:
            raise StatementError("Die gespeicherte CSV-Zuordnung nennt keine Datumsspalte.")
        mapping = cls(**raw)
        mapping.validate()
        return mapping


@dataclass(frozen=True)
class CsvProfile:
    """A bank's CSV export: label for the select box, identifying header cells, mapping."""

    key: str
    label: str
    signature: tuple[str, ...]  # header cells that must all be present (alternatives: "a|b")
    mapping: CsvMapping
    payer_column: str = ""  # DKB 2023+: the counterparty is the payer for money received...
    payee_column: str = ""  # ...and the payee for money paid
    status_column: str = ""  # rows whose status says pending are skipped
    sepa_tags_in_purpose: bool = False  # purpose carries "EREF+…SVWZ+…" (Sparkasse CSV-MT940)
    date_formats: tuple[str, ...] = field(default=("%d.%m.%Y", "%d.%m.%y"))


_SPARKASSE_CAMT = CsvProfile(
    key="sparkasse_camt",
    label="Sparkasse – CSV-CAMT (mit Gläubiger-ID und IBAN)",
    signature=("Auftragskonto", "Buchungstag", "Kundenreferenz (End-to-End)", "Kontonummer/IBAN"),
    mapping=CsvMapping(
        date_column="Buchungstag",
        value_date_column="Valutadatum",
        booking_text_column="Buchungstext",
        purpose_column="Verwendungszweck",
        creditor_id_column="Glaeubiger ID",
        mandate_column="Mandatsreferenz",
        end_to_end_column="Kundenreferenz (End-to-End)",
        fee_column="Auslagenersatz Ruecklastschrift",
        name_column="Beguenstigter/Zahlungspflichtiger",
        iban_column="Kontonummer/IBAN",
        bic_column="BIC (SWIFT-Code)",
        amount_column="Betrag",
        currency_column="Waehrung",
        account_column="Auftragskonto",
        date_format="%d.%m.%y",
    ),
    status_column="Info",
)
_SPARKASSE_MT940 = CsvProfile(
    key="sparkasse_mt940",
    label="Sparkasse – CSV-MT940 / CSV-CAMT V2 (Kontonummer und BLZ)",
    signature=("Auftragskonto", "Buchungstag", "Beguenstigter/Zahlungspflichtiger", "BLZ"),
    mapping=CsvMapping(
        date_column="Buchungstag",
        value_date_column="Valutadatum",
        booking_text_column="Buchungstext",
        purpose_column="Verwendungszweck",
        name_column="Beguenstigter/Zahlungspflichtiger",
        iban_column="Kontonummer",
        bic_column="BLZ",
        amount_column="Betrag",
        currency_column="Waehrung",
        account_column="Auftragskonto",
        date_format="%d.%m.%y",
    ),
    status_column="Info",
    sepa_tags_in_purpose=True,
)
_DKB_OLD = CsvProfile(
    key="dkb_alt",
    label="DKB – Export bis 2023",
    signature=("Buchungstag", "Auftraggeber / Begünstigter", "Betrag (EUR)"),
    mapping=CsvMapping(
        date_column="Buchungstag",
        value_date_column="Wertstellung",
        booking_text_column="Buchungstext",
        name_column="Auftraggeber / Begünstigter",
        purpose_column="Verwendungszweck",
        iban_column="Kontonummer",
        bic_column="BLZ",
        amount_column="Betrag (EUR)",
        creditor_id_column="Gläubiger-ID",
        mandate_column="Mandatsreferenz",
        end_to_end_column="Kundenreferenz",
    ),
)
_DKB_NEW = CsvProfile(
    key="dkb",
    label="DKB – Export ab 2023",
    signature=("Buchungsdatum", "Zahlungspflichtige*r", "Zahlungsempfänger*in", "Betrag (€)"),
    mapping=CsvMapping(
        date_column="Buchungsdatum",
        value_date_column="Wertstellung",
        booking_text_column="Umsatztyp",
        purpose_column="Verwendungszweck",
        iban_column="IBAN",
        amount_column="Betrag (€)",
        creditor_id_column="Gläubiger-ID",
        mandate_column="Mandatsreferenz",
        end_to_end_column="Kundenreferenz",
        date_format="%d.%m.%y",
    ),
    payer_column="Zahlungspflichtige*r",
    payee_column="Zahlungsempfänger*in",
    status_column="Status",
)
_ING = CsvProfile(
    key="ing",
    label="ING – Umsatzanzeige",
    signature=("Buchung", "Auftraggeber/Empfänger", "Verwendungszweck", "Betrag"),
    mapping=CsvMapping(
        date_column="Buchung",
        value_date_column="Valuta|Wertstellungsdatum",
        name_column="Auftraggeber/Empfänger",
        booking_text_column="Buchungstext",
        purpose_column="Verwendungszweck",
        amount_column="Betrag",
        currency_column="Währung",
    ),
)
_DEUTSCHE_BANK = CsvProfile(
    key="deutsche_bank",
    label="Deutsche Bank / Postbank – Umsätze",
    signature=("Buchungstag", "Wert", "Umsatzart", "Begünstigter / Auftraggeber", "Soll", "Haben"),
    mapping=CsvMapping(
        date_column="Buchungstag",
        value_date_column="Wert",
        booking_text_column="Umsatzart",
        name_column="Begünstigter / Auftraggeber",
        purpose_column="Verwendungszweck",
        iban_column="IBAN|IBAN / Kontonummer",
        bic_column="BIC",
        end_to_end_column="Kundenreferenz",
        mandate_column="Mandatsreferenz",
        creditor_id_column="Gläubiger ID",
        amount_column="Betrag",
        debit_column="Soll",
        credit_column="Haben",
        currency_column="Währung",
    ),
)
PROFILES: tuple[CsvProfile, ...] = (
    _SPARKASSE_CAMT,
    _SPARKASSE_MT940,
    _DKB_NEW,
    _DKB_OLD,
    _ING,
    _DEUTSCHE_BANK,
)
GENERIC_KEY = "generic"
GENERIC_LABEL = "Allgemeines CSV (eigene Spaltenzuordnung)"


def _cells(row: list[str]) -> list[str]:
    return [cell.strip().strip('"').strip() for cell in row]


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return [row for _, row in _numbered_rows(text, delimiter)]


def _numbered_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Each record with the file line it starts on (a quoted purpose may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    result: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        result.append((start, row))
        start = reader.line_num + 1
    return result


def _index(header: list[str], name: str) -> int | None:
    """Position of column `name` (alternatives "a|b") in the header, None if absent or ""."""
    if not name:
        return None
    for alternative in name.split("|"):
        if alternative.strip() in header:
            return header.index(alternative.strip())
    return None


def _has(header: list[str], name: str) -> bool:
    return _index(header, name) is not None


def find_profile(text: str) -> tuple[CsvProfile, int, str] | None:
    """The profile whose header appears in the first lines, its header row and delimiter."""
    for delimiter in (";", ",", "\t"):
        rows = _rows("\n".join(text.splitlines()[:_HEADER_SEARCH_LINES]), delimiter)
        for number, row in enumerate(rows):
            header = _cells(row)
            for profile in PROFILES:
                if all(_has(header, column) for column in profile.signature):
                    return profile, number, delimiter
    return None


def first_line(text: str) -> str:
    """The first non-empty line, shortened, to name what was found in an error message."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def parse_csv(
    data: bytes,
    *,
    profile: CsvProfile | None = None,
    mapping: CsvMapping | None = None,
) -> Statement:
    """Parse a CSV export with the given profile, the user's mapping, or the detected profile."""
    text = decode(data, mapping.encoding if mapping else None)
    if mapping is not None:
        mapping.validate()
        generic = CsvProfile(
            key=GENERIC_KEY,
            label=GENERIC_LABEL,
            signature=(),
            mapping=mapping,
            date_formats=(mapping.date_format, "%d.%m.%y", "%d.%m.%Y"),
        )
        return _Reader(text, generic, mapping.header_row, mapping.delimiter).statement()
    found = find_profile(text)
    if found is None or (profile is not None and found[0].key != profile.key):
        expected = f"„{profile.label}“" if profile else "eines bekannten Bankformats"
        raise StatementError(
            f"Unbekanntes Format: Die Kopfzeile von {expected} wurde nicht gefunden "
            f"(erste Zeile: „{first_line(text)}“). Bitte das Profil „{GENERIC_LABEL}“ "
            "mit eigener Spaltenzuordnung wählen."
        )
    detected, header_row, delimiter = found
    return _Reader(text, detected, header_row, delimiter).statement()


class _Reader:
    def __init__(self, text: str, profile: CsvProfile, header_row: int, delimiter: str) -> None:
        self.profile = profile
        numbered = _numbered_rows(text, delimiter)
        self.rows = [row for _, row in numbered]
        self.line_numbers = [number for number, _ in numbered]
        if header_row >= len(self.rows):
            raise StatementError(
                f"Die Datei hat keine Zeile {header_row + 1} mit Spaltenüberschriften."
            )
        self.header_row = header_row
        self.header = _cells(self.rows[header_row])
        self.warnings: list[str] = []
        mapping = profile.mapping
        for name in (mapping.date_column, mapping.amount_column or mapping.debit_column):
            if not _has(self.header, name):
                raise StatementError(
                    f"Die Spalte „{name}“ fehlt in der Kopfzeile (Zeile {header_row + 1}: "
                    f"„{first_line(delimiter.join(self.header))}“)."
                )

    def _get(self, row: list[str], name: str) -> str:
        index = _index(self.header, name)
        if index is None or index >= len(row):
            return ""
        return row[index].strip()

    def _account_from_metadata(self) -> str:
        for row in self.rows[: self.header_row]:
            for cell in row:
                match = _IBAN_IN_TEXT.search(cell.upper())
                if match:
                    return clean_iban(match.group(1))
        return ""

    def statement(self) -> Statement:
        lines: list[StatementLine] = []
        account = self._account_from_metadata()
        mapping = self.profile.mapping
        for offset, row in enumerate(self.rows[self.header_row + 1 :]):
            line_no = self.line_numbers[self.header_row + 1 + offset]
            cells = _cells(row)
            if not any(cells):
                continue
            if cells[0].casefold().rstrip(":") in _FOOTER or cells[0].casefold().startswith(
                "kontostand"
            ):
                continue
            status = self._get(row, self.profile.status_column)
            if status and any(word in status.casefold() for word in _PENDING):
                self.warnings.append(
                    f"Zeile {line_no}: vorgemerkter Umsatz ({status}) übersprungen."
                )
                continue
            line = self._line(row, line_no)
            lines.append(line)
            account = account or clean_iban(self._get(row, mapping.account_column))
        return build_statement(
            f"csv:{self.profile.key}",
            account if _IBAN.match(account) else "",
            lines,
            currency=lines[0].currency if lines else "EUR",
            warnings=self.warnings,
        )

    def _amount(self, row: list[str], line_no: int) -> Decimal:
        mapping = self.profile.mapping
        comma = mapping.decimal_comma
        value = self._get(row, mapping.amount_column)
        if value:
            return parse_amount(value, line_no=line_no, decimal_comma=comma)
        debit = self._get(row, mapping.debit_column)
        credit = self._get(row, mapping.credit_column)
        if not debit and not credit:
            shown = mapping.amount_column or f"{mapping.debit_column}/{mapping.credit_column}"
            raise StatementError(f"Zeile {line_no}: Der Betrag („{shown}“) fehlt.")
        total = Decimal("0.00")
        if credit:
            total += abs(parse_amount(credit, line_no=line_no, decimal_comma=comma))
        if debit:
            total -= abs(parse_amount(debit, line_no=line_no, decimal_comma=comma))
        return total

    def _line(self, row: list[str], line_no: int) -> StatementLine:
        profile, mapping = self.profile, self.profile.mapping
        booking_date = parse_date(
            self._get(row, mapping.date_column), profile.date_formats, line_no=line_no
        )
        value_text = self._get(row, mapping.value_date_column)
        value_date = (
            parse_date(value_text, profile.date_formats, line_no=line_no) if value_text else None
        )
        amount = self._amount(row, line_no)
        name = self._get(row, mapping.name_column)
        if profile.payer_column:
            column = profile.payer_column if amount > 0 else profile.payee_column
            name = self._get(row, column)
        purpose = join_purpose(self._get(row, mapping.purpose_column).splitlines())
        end_to_end = self._get(row, mapping.end_to_end_column)
        mandate = self._get(row, mapping.mandate_column)
        creditor = self._get(row, mapping.creditor_id_column)
        if profile.sepa_tags_in_purpose:
            tags = split_sepa_purpose(purpose)
            purpose = tags.purpose
            end_to_end = end_to_end or tags.end_to_end_id
            mandate = mandate or tags.mandate_reference
            creditor = creditor or tags.creditor_id
        iban = clean_iban(self._get(row, mapping.iban_column))
        if not _IBAN.match(iban):  # Kontonummer and BLZ (Sparkasse CSV-MT940)
            iban = german_iban(self._get(row, mapping.bic_column), iban)
        booking_text = self._get(row, mapping.booking_text_column)
        is_return = is_return_text(booking_text)
        fee_text = self._get(row, mapping.fee_column)
        fee = Decimal("0.00")
        if fee_text:
            fee = abs(parse_amount(fee_text, line_no=line_no, decimal_comma=mapping.decimal_comma))
        return StatementLine(
            booking_date=booking_date,
            amount=amount,
            purpose=purpose,
            counterparty_name=name,
            counterparty_iban=iban if _IBAN.match(iban) else "",
            counterparty_bic=self._bic(row),
            value_date=value_date,
            currency=(self._get(row, mapping.currency_column) or "EUR").upper(),
            end_to_end_id="" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
            mandate_reference=mandate,
            creditor_id=creditor,
            booking_text=booking_text,
            is_return=is_return,
            return_reason=reason_code(purpose) if is_return else "",
            fee=fee,
            line_no=line_no,
        )

    def _bic(self, row: list[str]) -> str:
        bic = self._get(row, self.profile.mapping.bic_column).upper()
        return bic if re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?", bic) else ""


def profile_by_key(key: str) -> CsvProfile | None:
    """The CSV profile with this key, None if there is none."""
    return next((p for p in PROFILES if p.key == key), None)
