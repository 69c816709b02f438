"""python -m kms report …, and the README's staff example run as written."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kms.cli import main
from kms.config import ROOT, get_config
from tests.modules.reports.helpers import customer, invoice, storno


@pytest.fixture
def data(sqlite_session: Session) -> None:
    alpen = customer(sqlite_session, "Alpen GmbH", country="AT", vat_id="ATU12345678")
    invoice(
        sqlite_session, alpen, date(2026, 2, 3), [("K", "1500.00")], service_date=date(2026, 2, 1)
    )
    first = invoice(sqlite_session, alpen, date(2026, 1, 5), [("S19", "100.00")])
    storno(sqlite_session, first, date(2026, 3, 1))
    sqlite_session.commit()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_writes_csv_xlsx_and_json(data: None, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "zm.csv"
    code, out, _ = run(capsys, "report", "zm", "--period", "2026-Q1", "-o", str(target))
    assert (
        code == 0
        and out
        == f"Zusammenfassende Meldung (1. Quartal 2026) als CSV nach {target} geschrieben.\n"
    )
    lines = target.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[1] == "AT;ATU12345678;Alpen GmbH;1500,00;0,00"
    target = tmp_path / "umsatz.json"
    code, _, _ = run(
        capsys,
        "report",
        "revenue-by-month",
        "--year",
        "2026",
        "--format",
        "json",
        "-o",
        str(target),
    )
    document = json.loads(target.read_text())
    # 1500.00 (Feb) + 100.00 (Jan) − 100.00 (Storno in March) = 1500.00
    assert document["rows"][-1]["Netto"] == "1500.00"
    assert document["rows"][2]["Netto"] == "-100.00"
    target = tmp_path / "op.xlsx"
    assert run(capsys, "report", "open_items", "--format", "xlsx", "-o", str(target))[0] == 0
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(target.read_bytes())).active
    assert sheet["E2"].data_type == "n" and sheet["E2"].value == 1500  # 1500.00 K, no VAT
    assert "€" in sheet["E2"].number_format


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "euer_x", "--year", "2026"], "Den Bericht „euer_x“ gibt es nicht"),
        (["report", "zm"], "braucht einen Zeitraum"),
        (["report", "zm", "--period", "2026-13"], "nicht erkannt"),
        (["report", "revenue_by_month", "--period", "2026-Q1"], "gilt für ein ganzes Jahr"),
        (["report", "open-items", "--year", "2026"], "hat keinen Zeitraum"),
        (["report", "zm", "--year", "2026", "--period", "2026-Q1"], "nicht beides"),
    ],
)
def test_bad_arguments_are_refused_in_german(
    data: None, tmp_path: Path, capsys, argv, message
) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, *argv, "-o", str(tmp_path / "x.csv"))
    assert code != 0 and message in out + err
    assert not (tmp_path / "x.csv").exists()


def test_an_existing_file_is_kept_without_force(data: None, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "zm.csv"
    target.write_text("alt")
    code, out, err = run(capsys, "report", "zm", "--period", "2026", "-o", str(target))
    assert code != 0 and "gibt es schon" in out + err and target.read_text() == "alt"
    assert run(capsys, "report", "zm", "--period", "2026", "-o", str(target), "--force")[0] == 0


def test_the_readme_example_runs(data: None) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Reports for staff (pandas)", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]
    code = code.replace('"sqlite:///data/kms.sqlite3"', repr(get_config().database_url))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Januar" in result.stdout and "('USt-IdNr.', 'text')" in result.stdout
