"""python -m kms bank import: dry-run preview, safe proposals booked, the rest listed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kms.cli import main
from kms.db import ensure_migrated, session_scope
from kms.modules.bank.models import BankLine
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import Account, Booking, Category

from .camt_factory import camt053_bytes
from .conftest import OTHER_IBAN, OWN_IBAN, PAYER_IBAN

DAY = date(2026, 3, 5)


def _write(path: Path, iban: str = OWN_IBAN) -> Path:
    entries = [
        {"amount": "-9.99", "booking_date": DAY, "purpose": "Briefmarken", "name": "Post",
         "iban": PAYER_IBAN},
        {"amount": "-4.99", "booking_date": DAY, "purpose": "Unbekannt", "name": "Jemand"},
    ]  # fmt: skip
    path.write_bytes(camt053_bytes(iban, entries))
    return path


@pytest.fixture
def statement_file(tmp_path: Path) -> Path:
    """A CAMT.053 file of the Girokonto; a rule books the Post by its name."""
    ensure_migrated()
    with session_scope() as s:
        from kms.modules.bank.rules import save_rule
        from kms.modules.settings import taxation

        taxation.set_regime(s, valid_from=date(2024, 1, 1), kind="regel")
        ledger.save_account(s, name="Girokonto", kind="bank", iban=OWN_IBAN)
        save_rule(s, category_id=ledger.category_by_key(s, "porto").id, name_pattern="Post",
                  tax_key="NSTB")  # fmt: skip
    return _write(tmp_path / "auszug.xml")


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
    _write(statement_file, OTHER_IBAN)
    assert main(["bank", "import", str(statement_file), "--account", "Girokonto"]) == 2
    assert "gehört zum Konto DE02100500000054540402" in capsys.readouterr().err
    assert main(["bank", "import", "/nicht/da.xml", "--account", "Girokonto"]) == 2
    assert "Die Datei /nicht/da.xml gibt es nicht." in capsys.readouterr().err
    args = ["bank", "import", str(statement_file), "--account", "Girokonto", "--profile", "xyz"]
    assert main(args) == 2
    assert "Das Format „xyz“ gibt es nicht" in capsys.readouterr().err
    assert _count(BankLine) == 0


def test_dry_run_on_a_fresh_instance_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No categories yet, read-only session: the preview still works and stores nothing."""
    ensure_migrated()
    with session_scope() as s:
        s.add(Account(name="Girokonto", kind="bank", iban=OWN_IBAN))
    path = _write(tmp_path / "auszug.xml")
    assert main(["bank", "import", str(path), "--account", "Girokonto", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 Zeilen, nichts gebucht (--dry-run)."
    assert _count(Category) == 0 and _count(BankLine) == 0
