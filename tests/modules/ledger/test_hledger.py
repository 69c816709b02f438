"""The hledger export is parsed by hledger itself and its balances equal the EÜR."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kms.modules.ledger import assets, reports, service
from kms.modules.ledger.hledger import journal
from kms.modules.ledger.models import Account

from .conftest import expense, income

HLEDGER = shutil.which("hledger")


@pytest.mark.skipif(HLEDGER is None, reason="hledger is not installed (.ci/run installs it)")
def test_hledger_balances_equal_the_euer(
    session: Session, bank: Account, cash: Account, tmp_path: Path
) -> None:
    income(
        session, bank, date(2026, 2, 1), ("1190.00", "erloese", "U19"), ("107.00", "erloese", "U7")
    )
    expense(
        session,
        bank,
        date(2026, 2, 2),
        ("119.00", "buerobedarf", "V19"),
        ("10.70", "buerobedarf", "V7"),
    )
    expense(session, bank, date(2026, 2, 3), ("100.00", "software", "RCEU19"))
    expense(session, bank, date(2026, 2, 4), ("238.00", "bewirtung", "V19"))
    expense(
        session, bank, date(2026, 2, 5), ("59.50", "geschenke", "V19"), counterparty="Frau Beispiel"
    )
    expense(session, cash, date(2026, 2, 6), ("8.50", "porto", "NSTB"))
    service.create_booking(
        session, booking_date=date(2026, 2, 7), account_id=bank.id, kind="ust_zahlung",
        tax_period="2026-01", lines=[service.LineInput("40.00")],
    )  # fmt: skip
    service.create_booking(
        session, booking_date=date(2026, 2, 8), account_id=bank.id, kind="privatentnahme",
        lines=[service.LineInput("300.00")],
    )  # fmt: skip
    laptop = expense(session, bank, date(2026, 2, 9), ("1785.00", "anlagen", "V19"))
    assets.create_asset(
        session, name="Laptop", acquired_on=date(2026, 2, 9), cost="1500.00",
        useful_life_years=3, booking_id=laptop.id,
    )  # fmt: skip
    path = tmp_path / "kms.journal"
    path.write_text(journal(session), encoding="utf-8")
    command = [HLEDGER or "hledger", "-f", str(path), "balance", "--flat", "-N", "-O", "csv"]
    result = subprocess.run([*command, "-p", "2026"], capture_output=True, text=True, check=True)
    balances = {
        row[0]: Decimal(row[1].replace(" EUR", "").replace("EUR", "").strip() or "0")
        for row in csv.reader(io.StringIO(result.stdout))
        if row and row[0] != "account"
    }
    euer = reports.euer(session, reports_period(2026))
    for _, row in euer.iterrows():
        if not row["Kennzahl"] or row["Kennzahl"] in ("159", "199"):
            continue
        account = next(a for a in balances if a.split(":")[1].startswith(f"Kz {row['Kennzahl']} "))
        # hledger: income negative, expenses positive.
        assert abs(balances[account]) == row["Betrag"], account
    income_total = -sum(v for a, v in balances.items() if a.startswith("Einnahmen:"))
    expense_total = sum(v for a, v in balances.items() if a.startswith("Ausgaben:"))
    figures = {r["Kennzahl"]: r["Betrag"] for _, r in euer.iterrows() if r["Kennzahl"]}
    assert (income_total, expense_total) == (figures["159"], figures["199"])
    # The money accounts: 1.297,00 in, 119 + 10,70 + 100 + 238 + 59,50 + 40 + 300 + 1.785 out.
    assert balances["Aktiva:Girokonto"] == Decimal("1297.00") - Decimal("2652.20")
    # Laptop: 1.500,00 − AfA 2026 (500 × 11/12 = 458,33) = 1.041,67 left.
    assert balances["Aktiva:Anlagevermögen"] == Decimal("1041.67")
    assert figures["130"] == Decimal("458.33")


def reports_period(year: int):  # type: ignore[no-untyped-def]
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class P:
        start: date
        end: date
        label: str

    return P(date(year, 1, 1), date(year, 12, 31), str(year))
