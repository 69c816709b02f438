"""kms.reporting: periods, declarations the registry refuses, frames with the agreed dtypes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kms.errors import ValidationError
from kms.registry import ModuleSpec, report_problems
from kms.reporting import Column, Period, ReportSpec, frame, frame_problems


def test_period_parse_reads_year_quarter_and_month() -> None:
    assert Period.parse("2026") == Period(date(2026, 1, 1), date(2026, 12, 31), "2026")
    assert Period.parse(" 2026-Q1 ") == Period(
        date(2026, 1, 1), date(2026, 3, 31), "1. Quartal 2026"
    )
    assert Period.parse("2026-q4").end == date(2026, 12, 31)
    assert Period.parse("2028-02") == Period(date(2028, 2, 1), date(2028, 2, 29), "Februar 2028")
    assert Period.parse("2026-03").label == "März 2026"
    assert [Period.parse(c).code for c in ("2026", "2026-Q3", "2026-11")] == [
        "2026",
        "2026-Q3",
        "2026-11",
    ]


@pytest.mark.parametrize("text", ["", "26", "2026-13", "2026-Q5", "2026/03", "März", "2026-00"])
def test_period_parse_refuses_bad_text_in_german(text: str) -> None:
    with pytest.raises(ValidationError, match=r"nicht erkannt.*2026-Q1"):
        Period.parse(text)


def test_period_parse_refuses_an_implausible_year() -> None:
    with pytest.raises(ValidationError, match="Das Jahr 1026 liegt außerhalb"):
        Period.parse("1026")


def test_a_year_report_refuses_a_quarter() -> None:
    spec = ReportSpec("x", "Jahresbericht", "m.f", (Column("A", "text"),), "year")
    with pytest.raises(ValidationError, match=r"gilt für ein ganzes Jahr, nicht für 1\. Quartal"):
        spec.coerce_period("2026-Q1")
    with pytest.raises(ValidationError, match="braucht ein Jahr"):
        spec.coerce_period(None)
    assert spec.coerce_period(2026) == Period.year(2026)


SPEC = ReportSpec(
    "demo",
    "Demo",
    "kms.reporting.frame",
    (
        Column("Name", "text"),
        Column("Tag", "date"),
        Column("Anzahl", "int"),
        Column("Betrag", "money"),
    ),
    "period",
    chart="Betrag",
)


def test_report_problems_refuse_duplicate_keys_unresolvable_paths_and_bad_charts() -> None:
    a = ModuleSpec("a", "A", reports=(SPEC,))
    b = ModuleSpec(
        "b",
        "B",
        reports=(
            SPEC,
            ReportSpec("other", "O", "kms.nowhere.f", (Column("A", "text"),), "none", chart="A"),
        ),
    )
    assert report_problems((a,)) == []
    problems = report_problems((a, b))
    assert problems[0] == (
        "module 'b': report 'demo': duplicate report key, already declared by module 'a'"
    )
    assert any("function 'kms.nowhere.f' does not resolve" in p for p in problems)
    assert "module 'b': report 'other': chart 'A' is not a money column" in problems


def test_frame_builds_the_agreed_dtypes_and_frame_problems_finds_floats() -> None:
    df = frame(SPEC.columns, [("x", date(2026, 1, 2), 3, Decimal("1.5")), ("Summe", None, 3, 2)])
    assert frame_problems(SPEC, df) == []
    assert str(df["Anzahl"].dtype) == "int64"
    assert df["Betrag"].tolist() == [Decimal("1.50"), Decimal("2.00")]
    assert frame_problems(SPEC, frame(SPEC.columns, [])) == []
    df["Betrag"] = [1.5, 2.0]
    assert frame_problems(SPEC, df)[0] == "Betrag: dtype float64 instead of object"
    df["Betrag"] = [Decimal("1.50"), Decimal("2.00")]
    df["Name"] = df["Name"].astype("string")
    assert frame_problems(SPEC, df) == []
    df["Betrag"] = [Decimal("1.5"), Decimal("2.00")]
    assert frame_problems(SPEC, df) == ["Betrag: Decimal('1.5') is not a valid money value"]
    with pytest.raises(TypeError, match="float instead of Decimal"):
        frame(SPEC.columns, [("x", None, 1, 1.5)])
