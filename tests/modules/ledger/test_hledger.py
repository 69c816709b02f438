"""The hledger export is parsed by hledger itself (Debian package hledger) and its balances
equal the EÜR. In CI (CI=true) a missing hledger fails the tests; locally they are skipped."""

from __future__ import annotations

import csv
import io
import os
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

IN_CI = os.environ.get("CI", "").lower() == "true"
# A counterparty and a note that try to end the description, start a comment, open a second
# transaction and post to accounts of their own (and a bidi override to hide it).
EVIL_PAYEE = "Kunde; Kommentar | Notiz\n2026-01-02 Gefälscht\n    Einnahmen:Gefälscht  999 EUR"
EVIL_NOTE = "Zeile 1\r\nZeile 2\u2028  Ausgaben:Fake  1 EUR ; date: 2020-01-01\u202e\x07"


def _hledger() -> str:
    path = shutil.which("hledger")
    if path is None:
        if IN_CI:
            pytest.fail("hledger is not installed (Debian package hledger; .ci/run installs it)")
        pytest.skip("hledger is not installed (apt-get install hledger); CI runs this test")
    return path


def _run(journal: Path, *args: str) -> str:
    result = subprocess.run(
        [_hledger(), "-f", str(journal), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_missing_hledger_fails_in_ci_and_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(f"{__name__}.IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="hledger is not installed"):
        _hledger()
    monkeypatch.setattr(f"{__name__}.IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install hledger"):
        _hledger()


def test_user_text_cannot_inject_postings_comments_or_transactions(
    session: Session, bank: Account, tmp_path: Path
) -> None:
    """The hostile counterparty, note, receipt number and account name stay text: hledger
    reads exactly one transaction, no account of their making, and the money balances."""
    _hledger()
    booking = income(session, bank, date(2026, 1, 15), ("1190.00", "erloese", "U19"))
    booking.counterparty, booking.note = EVIL_PAYEE, EVIL_NOTE
    booking.receipt_number = "RE-2026-001 (bar)"
    bank.name = "(Giro: Haupt)  ; x"
    session.flush()
    text = journal(session)
    path = tmp_path / "evil.journal"
    path.write_text(text, encoding="utf-8")
    assert "\u2028" not in text and "\u202e" not in text and "\x07" not in text
    printed = _run(path, "print")
    assert [line for line in printed.splitlines() if line[:1].isdigit()] == [
        "2026-01-15 * (RE-2026-001 bar) Kunde, Kommentar / Notiz 2026-01-02 Gefälscht "
        "Einnahmen:Gefälscht 999 EUR | Zeile 1 Zeile 2 Ausgaben:Fake 1 EUR , date: 2020-01-01"
    ]
    accounts = _run(path, "accounts").splitlines()
    assert [a for a in accounts if a.startswith("Aktiva:")] == ["Aktiva:Giro - Haupt) , x"]
    assert all(a.startswith(("Aktiva:", "Einnahmen:Kz ")) for a in accounts), accounts
    assert not [a for a in accounts if "Gefälscht" in a or "Fake" in a]
    # A counterparty in brackets stays the description, not the transaction code.
    booking.receipt_number = ""
    booking.counterparty = "(Fake) Kunde"
    session.flush()
    path.write_text(journal(session), encoding="utf-8")
    register = list(csv.reader(io.StringIO(_run(path, "register", "-O", "csv"))))[1:]
    assert {(r[2], r[3].split(" | ")[0]) for r in register} == {("", "(Fake) Kunde")}
    booking.receipt_number = "RE-2026-001 (bar)"
    session.flush()
    path.write_text(journal(session), encoding="utf-8")
    register = list(csv.reader(io.StringIO(_run(path, "register", "-O", "csv"))))[1:]
    # 1.190,00 = 1.000,00 net + 190,00 USt, one transaction of three postings on 15.01.2026.
    assert {(r[0], r[1], r[2]) for r in register} == {("1", "2026-01-15", "RE-2026-001 bar")}
    assert sorted(Decimal(r[5].split()[0]) for r in register) == [
        Decimal("-1000.00"), Decimal("-190.00"), Decimal("1190.00")
    ]  # fmt: skip


def test_clean_text_and_account_names() -> None:
    from kms.modules.ledger.hledger import _clean, _name

    assert _clean("a;b|c\n\td\x07e  f\u202e") == "a,b/c d e f"
    # Brackets at the ends would make a virtual (unbalanced) posting; ":" a sub-account.
    assert _name("[Kasse]") == "Kasse" and _name("(Kfz: Leasing)") == "Kfz - Leasing"
    assert _name(" \n ") == "Unbenannt"


def test_hledger_balances_equal_the_euer(
    session: Session, bank: Account, cash: Account, tmp_path: Path
) -> None:
    hledger = _hledger()
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
    command = [hledger, "-f", str(path), "balance", "--flat", "-N", "-O", "csv"]
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
