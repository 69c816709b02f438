"""python -m kms bank import: dry-run preview, safe proposals booked, the rest listed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kms.cli import main
from kms.db import ensure_migrated, session_scope
from kms.modules.bank import formats
from kms.modules.bank.models import BankLine
from kms.modules.bank.statement import Statement, StatementLine
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import Booking

from .conftest import OTHER_IBAN, OWN_IBAN

DAY = date(2026, 3, 5)
PARSED: dict[str, str] = {}  # what the stand-in parser reads as the statement's IBAN


def _statement(iban: str = OWN_IBAN) -> Statement:
    return Statement(
        "camt.053",
        iban,
        (
            StatementLine(DAY, Decimal("-9.99"), "Briefmarken", "Post", line_no=1),
            StatementLine(DAY, Decimal("-4.99"), "Unbekannt", "Jemand", line_no=2),
        ),
    )


@pytest.fixture
def statement_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A statement file and a stand-in parser (the real parsers are tested on their own)."""
    path = tmp_path / "auszug.xml"
    path.write_bytes(b'<?xml version="1.0"?><Document/>')
    PARSED["iban"] = OWN_IBAN

    def parse(data: bytes, filename: str = "", *, mapping: object = None) -> Statement:
        return _statement(PARSED["iban"])

    monkeypatch.setattr(formats, "parse_statement", parse, raising=False)
    ensure_migrated()
    with session_scope() as s:
        from kms.modules.bank.rules import save_rule
        from kms.modules.settings import taxation

        taxation.set_regime(s, valid_from=date(2024, 1, 1), kind="regel")
        ledger.save_account(s, name="Girokonto", kind="bank", iban=OWN_IBAN)
        save_rule(s, category_id=ledger.category_by_key(s, "porto").id, name_pattern="Post",
                  tax_key="NSTB")  # fmt: skip
    return path


def _count(model: type) -> int:
    with session_scope(write=False) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_dry_run_prints_the_preview_and_books_nothing(
    statement_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bank", "import", str(statement_file), "--account", "Girokonto", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[:3] == ["Nr", "Datum", "Betrag"]
    assert out[1].split("\t")[5:] == ["Buchen als Kategorie", "Regel: Name enthält „Post“ → Porto"]
    assert out[2].split("\t")[5:] == ["Überspringen", "Keine Zuordnung gefunden"]
    assert out[-1] == "2 Zeilen, nichts gebucht (--dry-run)."
    assert _count(BankLine) == 0 and _count(Booking) == 0


def test_import_books_safe_lines_and_lists_the_rest(
    statement_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bank", "import", str(statement_file), "--account", "Girokonto"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("nicht gebucht: Zeile 2, 05.03.2026, -4,99")
    assert out[-1] == (
        "1 Zeile(n) gebucht, davon 0 Rechnungszahlung(en); 0 bereits importiert, 1 nicht gebucht."
    )
    assert _count(BankLine) == 1 and _count(Booking) == 1
    # Again: the booked line is a duplicate now, nothing is added.
    assert main(["bank", "import", str(statement_file), "--account", "Girokonto"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("0 Zeile(n) gebucht")
    assert _count(Booking) == 1


def test_wrong_account_and_unknown_account_are_german_errors(
    statement_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bank", "import", str(statement_file), "--account", "Sparbuch"]) == 2
    assert "Das Konto „Sparbuch“ gibt es nicht (Konten: Girokonto)." in capsys.readouterr().err
    PARSED["iban"] = OTHER_IBAN
    assert main(["bank", "import", str(statement_file), "--account", "Girokonto"]) == 2
    assert "gehört zum Konto DE02100500000054540402" in capsys.readouterr().err
    assert main(["bank", "import", "/nicht/da.xml", "--account", "Girokonto"]) == 2
    assert _count(BankLine) == 0
