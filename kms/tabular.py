"""Tables in and out: reading CSV/XLSX uploads and writing CSV/XLSX exports, for every module.

Reading: CSV with semicolon, comma or tab as separator, UTF-8 with or without BOM or
Windows-1252, quoted fields with separators and line breaks; or the first sheet of an XLSX
workbook. Row numbers in messages count records as a spreadsheet shows them: the header is
row 1, the first data row 2. Headers are matched case-insensitively, ignoring spaces and
punctuation („E-Mail“ = „email“ = „E Mail“).

Writing: CSV for Excel (UTF-8 with BOM, semicolon, CRLF) and XLSX whose every cell is text;
cells a spreadsheet would run as a formula are neutralised (kms.formatting.neutralise), and
`unneutralise` undoes that on re-import of our own exports.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kms.errors import KmsError, ValidationError, ValidationErrors
from kms.formatting import FORMULA_START, search_key

MAX_IMPORT_BYTES = 10_000_000
MAX_IMPORT_ROWS = 20_000
XLSX_MAGIC = b"PK\x03\x04"


def header_key(text: str) -> str:
    """A column header as compared: folded, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", search_key(text))


def header_map(columns: dict[str, tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    """header_key → field, from field → (export header, import synonyms)."""
    return {
        header_key(name): field_name
        for field_name, (header, synonyms) in columns.items()
        for name in (header, *synonyms)
    }


@dataclass
class Columns:
    """Where each known field stands in a file's header (a field may fill several columns,
    e.g. Telefon and Mobil), the header as written per field, and the headers not known."""

    index: dict[str, list[int]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def columns(header: list[str], known: dict[str, str]) -> Columns:
    """Match a header row against `known` (header_key → field, see header_map)."""
    found = Columns()
    for i, name in enumerate(header):
        key = known.get(header_key(name))
        if key is None:
            if name:
                found.ignored.append(name)
            continue
        found.index.setdefault(key, []).append(i)
        found.names.setdefault(key, name)
    return found


@dataclass
class ImportPlan:
    """What importing a file would do: its rows (each with `.row` and `.errors`), problems of
    the file as a whole, and whether it was imported. Nothing is imported while a problem
    remains: all rows or none."""

    rows: list[Any] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    imported: bool = False

    @property
    def problems(self) -> list[tuple[int, str]]:
        """(row, message) of every problem; row 0 is the file as a whole."""
        out = [(0, m) for m in self.file_errors]
        return out + [(r.row, m) for r in self.rows for m in r.errors]

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_lines(self) -> list[str]:
        """One German line per problem, each naming its row."""
        return [f"Zeile {row}: {msg}" if row else msg for row, msg in self.problems]

    def read(
        self, data: bytes, reader: Callable[[bytes], list[list[str]]] | None = None
    ) -> list[list[str]] | None:
        """The file's records (CSV or XLSX unless another reader is given), or None with the
        reason noted as a problem of the file."""
        try:
            return (reader or read_table)(data)
        except KmsError as exc:
            self.file_errors.append(exc.message)
            return None


def field_messages(exc: KmsError, labels: dict[str, str]) -> list[str]:
    """A row's validation errors as „Feld: Meldung“ lines (labels name the fields)."""
    if isinstance(exc, ValidationErrors):
        return [f"{labels.get(k, k)}: {m}" for k, m in exc.errors.items()]
    if isinstance(exc, ValidationError):
        return [f"{labels.get(exc.field, exc.field)}: {exc.message}"]
    return [exc.message]


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or Windows-1252 text; anything else gets a German error."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise KmsError(
            "Die Datei ist UTF-16 oder binär kodiert. Bitte als CSV in UTF-8 oder "
            "Windows-1252 speichern (z. B. in Excel „CSV UTF-8“)."
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise KmsError(
                f"Die Datei ist als UTF-8 markiert, enthält aber an Byte {exc.start} "
                "ungültige Zeichen."
            ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise KmsError(
            "Die Zeichenkodierung der Datei ist unbekannt (weder UTF-8 noch Windows-1252; "
            f"Byte {exc.start}). Bitte als CSV in UTF-8 speichern."
        ) from exc


def delimiter(text: str) -> str:
    """The separator that occurs most often in the header line (outside quotes)."""
    header, in_quotes = [], False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif char in "\r\n" and not in_quotes:
            break
        elif not in_quotes:
            header.append(char)
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _check_size(data: bytes) -> None:
    if len(data) > MAX_IMPORT_BYTES:
        raise KmsError("Die Datei ist größer als 10 MB. Bitte in kleinere Dateien aufteilen.")


def read_records(data: bytes) -> list[list[str]]:
    """The CSV file's records (header first), or a German error naming the broken row."""
    _check_size(data)
    text = decode(data)
    if not text.strip():
        raise KmsError("Die Datei ist leer.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text), strict=True)
    records: list[list[str]] = []
    try:
        for record in reader:
            if any(cell.strip() for cell in record) or not records:
                records.append(record)
            if len(records) > MAX_IMPORT_ROWS + 1:
                raise KmsError(f"Die Datei hat mehr als {MAX_IMPORT_ROWS} Zeilen.")
    except csv.Error as exc:
        row = len(records) + 1
        raise KmsError(
            f"Zeile {row}: Die CSV-Datei ist fehlerhaft (Textzeile {reader.line_num}): "
            f"{_csv_reason(str(exc))}. Nichts wurde importiert."
        ) from exc
    return records


def _csv_reason(message: str) -> str:
    if "unexpected end of data" in message or "EOF" in message:
        return "ein Anführungszeichen wird nicht geschlossen"
    if "expected after" in message:
        return "nach einem schließenden Anführungszeichen folgt kein Trennzeichen"
    return "unlesbarer Aufbau"


def _xlsx_text(value: object) -> str:
    """A cell as the text a CSV would hold: numbers without float noise, dates German."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float | int | Decimal):
        # German notation, no grouping: 24,9 (not 24.899999…, and never the ambiguous 1.234).
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return format(number.normalize(), "f").replace(".", ",")
    if isinstance(value, datetime | date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def read_xlsx_records(data: bytes) -> list[list[str]]:
    """The first sheet's rows as text (header first), empty rows left out."""
    _check_size(data)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML or openpyxl errors: the file is no workbook
        raise KmsError("Die Datei ist keine lesbare XLSX-Arbeitsmappe.") from exc
    try:
        sheet = workbook.worksheets[0]
        records: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            record = [_xlsx_text(v) for v in values]
            if any(cell.strip() for cell in record) or not records:
                records.append(record)
            if len(records) > MAX_IMPORT_ROWS + 1:
                raise KmsError(f"Die Datei hat mehr als {MAX_IMPORT_ROWS} Zeilen.")
    finally:
        workbook.close()
    if not records or not any(cell.strip() for cell in records[0]):
        raise KmsError("Die Datei ist leer.")
    return records


def read_table(data: bytes) -> list[list[str]]:
    """CSV or XLSX (told apart by the file's first bytes, not its name)."""
    if data.startswith(XLSX_MAGIC):
        return read_xlsx_records(data)
    return read_records(data)


def unneutralise(value: str) -> str:
    """Undo the formula neutralisation of our own exports ("'=…" → "=…")."""
    if value.startswith("'") and value[1:2] in FORMULA_START and value[1:2]:
        return value[1:]
    return value


def write_csv(rows: Iterable[list[str]]) -> bytes:
    """CSV for Excel: UTF-8 with BOM, semicolon, CRLF (cells already neutralised)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def write_xlsx(rows: Iterable[list[str]], title: str) -> bytes:
    """An XLSX workbook with one sheet: every cell text, the header row bold."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    bold = Font(bold=True)
    for number, row in enumerate(rows):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula or a number
            if number == 0:
                cell.font = bold
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
