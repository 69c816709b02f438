"""A report's DataFrame as a download: CSV for German Excel, XLSX, JSON; and as display text.

Platform layer, no Streamlit: the Berichte page and `python -m kms report` both use these.
- CSV: UTF-8 with BOM, `;`, CRLF, decimal comma without thousands separators (Excel reads
  1234,56 as a number), dates DD.MM.YYYY, text cells neutralised against formulas.
- XLSX: money, percent, int and date columns as real numeric/date cells with German number
  formats (money with €); text cells stored as text, neutralised as in the CSV.
- JSON: money and percent as strings with a decimal point ("1234.56"), dates ISO 8601.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kms.formatting import format_amount, format_date, format_money, neutralise
from kms.reporting import Column, Period, ReportSpec

if TYPE_CHECKING:
    import pandas as pd

MONEY_FORMAT = '#,##0.00 "€";-#,##0.00 "€"'
PERCENT_FORMAT = '0.00 "%"'
DATE_FORMAT = "DD.MM.YYYY"
FORMATS = ("csv", "xlsx", "json")
MIME_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _rows(df: pd.DataFrame) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in df.itertuples(index=False, name=None)]


def csv_cell(column: Column, value: Any) -> str:
    """One value as a German CSV cell."""
    if _missing(value):
        return ""
    if column.kind in ("money", "percent"):
        return f"{Decimal(value):.2f}".replace(".", ",")
    if column.kind == "date":
        return format_date(value)
    if column.kind == "int":
        return str(int(value))
    return neutralise(str(value))


def to_csv(spec: ReportSpec, df: pd.DataFrame) -> bytes:
    """The report as CSV for German Excel."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(c.name) for c in spec.columns])
    for row in _rows(df):
        writer.writerow([csv_cell(c, v) for c, v in zip(spec.columns, row, strict=True)])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def sheet_title(title: str) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Bericht"


def to_xlsx(spec: ReportSpec, df: pd.DataFrame, period: Period | None = None) -> bytes:
    """The report as an XLSX workbook with numeric money cells in a € format."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(spec.title))
    for number, column in enumerate(spec.columns):
        width = max(12, min(60, len(column.name) + 4))
        sheet.column_dimensions[_letter(number)].width = width
    bold = Font(bold=True)
    header = []
    for column in spec.columns:
        cell = WriteOnlyCell(sheet, value=neutralise(column.name))
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in _rows(df):
        cells = []
        total = bool(row) and row[0] == "Summe"
        for column, value in zip(spec.columns, row, strict=True):
            cells.append(_xlsx_cell(sheet, column, value, bold if total else None))
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _xlsx_cell(sheet: Any, column: Column, value: Any, font: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if _missing(value):
        cell = WriteOnlyCell(sheet, value=None)
    elif column.kind == "money":
        cell = WriteOnlyCell(sheet, value=Decimal(value))
        cell.number_format = MONEY_FORMAT
    elif column.kind == "percent":
        cell = WriteOnlyCell(sheet, value=Decimal(value))
        cell.number_format = PERCENT_FORMAT
    elif column.kind == "int":
        cell = WriteOnlyCell(sheet, value=int(value))
    elif column.kind == "date":
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
    else:
        cell = WriteOnlyCell(sheet, value=neutralise(str(value)))
        cell.data_type = "s"  # text, never a formula
    if font is not None:
        cell.font = font
    return cell


def json_value(column: Column, value: Any) -> Any:
    if _missing(value):
        return None
    if column.kind in ("money", "percent"):
        return f"{Decimal(value):.2f}"
    if column.kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if column.kind == "int":
        return int(value)
    return str(value)


def to_json(spec: ReportSpec, df: pd.DataFrame, period: Period | None = None) -> bytes:
    """The report as JSON: its key, title, period, columns and rows (one object per row)."""
    document = {
        "report": spec.key,
        "title": spec.title,
        "period": None
        if period is None
        else {
            "code": period.code,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
        "columns": [{"name": c.name, "kind": c.kind} for c in spec.columns],
        "rows": [
            {c.name: json_value(c, v) for c, v in zip(spec.columns, row, strict=True)}
            for row in _rows(df)
        ],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def export(spec: ReportSpec, df: pd.DataFrame, fmt: str, period: Period | None = None) -> bytes:
    """The report in one of FORMATS."""
    if fmt == "csv":
        return to_csv(spec, df)
    if fmt == "xlsx":
        return to_xlsx(spec, df, period)
    if fmt == "json":
        return to_json(spec, df, period)
    raise ValueError(f"unknown format {fmt!r}")


def filename(spec: ReportSpec, period: Period | None, fmt: str, day: date | None = None) -> str:
    """A download name such as "zm_2026-Q1.csv" or "open_items_2026-06-30.xlsx"."""
    suffix = period.code if period else (day.isoformat() if day else "stand")
    return f"{spec.key}_{suffix}.{fmt}"


def display_cell(column: Column, value: Any) -> str:
    """One value as the page shows it: 1.234,56 €, 19,5 %, 26.11.2026."""
    if _missing(value):
        return ""
    if column.kind == "money":
        return format_money(Decimal(value))
    if column.kind == "percent":
        return f"{format_amount(Decimal(value))} %"
    if column.kind == "date":
        return format_date(value)
    if column.kind == "int":
        return str(int(value))
    return str(value)


def display_frame(spec: ReportSpec, df: pd.DataFrame) -> pd.DataFrame:
    """The report with every value as German display text (for a table on the page)."""
    import pandas as pd

    return pd.DataFrame(
        {c.name: [display_cell(c, v) for v in df[c.name]] for c in spec.columns},
        columns=[c.name for c in spec.columns],
        dtype=object,
    )
