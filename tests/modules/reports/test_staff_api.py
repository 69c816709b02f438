"""kms.reports: the staff API over a session or a read-only database URL; exports."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import kms.reports
from kms.errors import KmsError, ValidationError
from kms.modules.invoices.report_specs import SPECS
from kms.reporting import frame_problems
from kms.reporting_export import display_frame, to_csv, to_json, to_xlsx
from tests.modules.reports.helpers import customer, invoice


@pytest.fixture
def world(session: Session) -> None:
    alpha = customer(session, '=HYPERLINK("x") GmbH', customer_number="K-1")
    invoice(session, alpha, date(2026, 1, 10), [("S19", "1234.50")])
    invoice(session, alpha, date(2026, 2, 10), [("S19", "-0.00"), ("S7", "100.00")])
    session.commit()


def test_every_registered_report_is_a_function(session: Session, world: None) -> None:
    from kms.reports import open_items, revenue_by_customer, revenue_by_month, zm

    assert revenue_by_month.__name__ == "revenue_by_month"
    assert "Monat (text)" in (revenue_by_month.__doc__ or "")
    df = revenue_by_month(session, "2026")
    assert frame_problems(SPECS["revenue_by_month"], df) == []
    assert df.iloc[-1]["Netto"] == Decimal("1334.50")  # 1234.50 + 100.00
    assert frame_problems(SPECS["zm"], zm(session, "2026-Q1")) == []
    assert frame_problems(SPECS["open_items"], open_items(session)) == []
    assert frame_problems(SPECS["revenue_by_customer"], revenue_by_customer(session, 2026)) == []
    assert {"zm", "open_items"} <= set(dir(kms.reports))
    with pytest.raises(AttributeError, match="no_such_report"):
        getattr(kms.reports, "no_such_report")  # noqa: B009 - the name is the point


def test_bad_periods_are_refused_in_german(session: Session) -> None:
    with pytest.raises(ValidationError, match="gilt für ein ganzes Jahr"):
        kms.reports.revenue_by_month(session, "2026-Q1")
    with pytest.raises(ValidationError, match="nicht erkannt"):
        kms.reports.zm(session, "Q1")
    with pytest.raises(ValidationError, match="braucht einen Zeitraum"):
        kms.reports.zm(session)
    with pytest.raises(KmsError, match="Den Bericht „euer_x“ gibt es nicht"):
        kms.reports.run("euer_x", session, "2026")


def test_a_url_is_opened_read_only(session: Session, db_url: str, world: None) -> None:
    """The report reads through the URL; a write through that very session fails."""
    session.close()
    df = kms.reports.revenue_by_month(db_url, "2026")
    assert df.iloc[0]["Netto"] == Decimal("1234.50")
    with kms.reports.readonly_session(db_url) as ro:
        assert ro.execute(text("SELECT count(*) FROM invoices")).scalar() == 2
        with pytest.raises(DBAPIError, match=r"(?i)read.?only"):
            ro.execute(text("UPDATE invoices SET buyer_reference = 'x'"))
            ro.commit()
    with kms.reports.readonly_session(db_url) as ro:
        with pytest.raises(DBAPIError, match=r"(?i)read.?only"):
            ro.execute(text("CREATE TABLE staff_scratch (id integer)"))
            ro.commit()


def test_an_in_memory_or_foreign_url_is_refused() -> None:
    with pytest.raises(KmsError, match="schreibgeschützt"):
        kms.reports.readonly_url("sqlite://")
    with pytest.raises(KmsError, match="nicht unterstützt"):
        kms.reports.readonly_url("mysql://u@h/db")


def test_csv_is_german_excel_with_formulas_neutralised(session: Session, world: None) -> None:
    spec = SPECS["open_items"]
    df = kms.reports.open_items(session)
    data = to_csv(spec, df)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Kunde;Nummer;Datum;Fällig;Betrag;Offen;Tage überfällig;Bucket"
    # 1234.50 × 1.19 = 1469.055 → 1469.06; the customer name starts with "=": prefixed '.
    first = lines[1].split(";")
    assert first[0].startswith("\"'=HYPERLINK(") or first[0].startswith("'=HYPERLINK(")
    assert first[2] == "10.01.2026" and first[4] == "1469,06" and first[5] == "1469,06"
    # 100.00 × 1.07 = 107.00; Summe 1469.06 + 107.00 = 1576.06.
    assert lines[3].split(";")[:6] == ["Summe", "", "", "", "1576,06", "1576,06"]


def test_xlsx_has_numeric_money_cells_with_a_euro_format(session: Session, world: None) -> None:
    from openpyxl import load_workbook

    spec = SPECS["open_items"]
    book = load_workbook(io.BytesIO(to_xlsx(spec, kms.reports.open_items(session))))
    sheet = book["Offene Posten"]
    assert [c.value for c in sheet[1]] == [c.name for c in spec.columns]
    amount = sheet["E2"]
    assert amount.data_type == "n" and Decimal(str(amount.value)) == Decimal("1469.06")
    assert "€" in amount.number_format
    assert sheet["C2"].value.date() == date(2026, 1, 10)
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("'=")
    assert sheet["A4"].value == "Summe"


def test_json_has_money_as_strings(session: Session, world: None) -> None:
    spec = SPECS["revenue_by_month"]
    df = kms.reports.revenue_by_month(session, "2026")
    document = json.loads(
        to_json(spec, df, kms.reports.spec("revenue_by_month").coerce_period("2026"))
    )
    assert document["period"]["label"] == "2026"
    assert document["rows"][0] == {
        "Monat": "Januar",
        "Rechnungen": 1,
        "Stornos": 0,
        "Netto": "1234.50",
        "Umsatzsteuer": "234.56",  # 1234.50 × 19 % = 234.555 → 234.56
        "Brutto": "1469.06",
    }


def test_display_frame_is_german_text(session: Session, world: None) -> None:
    spec = SPECS["revenue_by_customer"]
    shown = display_frame(spec, kms.reports.revenue_by_customer(session, "2026"))
    assert shown.iloc[-1].tolist() == ["Summe", "", "2", "1.334,50\xa0€", "100,00 %"]
