"""python -m kms booking list, ledger export, ledger sync."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kms.cli import main
from kms.db import ensure_migrated, session_scope
from kms.modules.ledger import assets, service
from kms.modules.settings import taxation

from .conftest import IBAN


def _book() -> None:
    ensure_migrated()
    with session_scope() as s:
        taxation.set_regime(s, valid_from=date(2024, 1, 1), kind="regel")
        bank = service.save_account(s, name="Girokonto", kind="bank", iban=IBAN)
        for day, who in ((date(2026, 3, 5), "Bürohaus Beispiel"), (date(2026, 4, 6), "Post")):
            service.create_booking(
                s,
                booking_date=day,
                account_id=bank.id,
                kind="ausgabe",
                counterparty=who,
                lines=[service.LineInput("11.90", service.category_by_key(s, "porto").id, "NSTB")],
            )


def test_booking_list_and_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _book()
    assert main(["booking", "list", "--from", "2026-03-01", "--to", "2026-03-31"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "1 Buchungen"
    assert out[0].split("\t")[1:5] == ["05.03.2026", "Ausgabe", "Girokonto", "Bürohaus Beispiel"]
    target = tmp_path / "kms.journal"
    assert main(["ledger", "export", "--format", "hledger", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert "2026-03-05 * Bürohaus Beispiel" in text and "Aktiva:Girokonto  -11.90 EUR" in text
    # An existing file is not overwritten without --force.
    assert main(["ledger", "export", "-o", str(target)]) != 0
    assert "--force" in capsys.readouterr().err
    assert main(["booking", "list", "--from", "gestern"]) != 0
    assert "JJJJ-MM-TT" in capsys.readouterr().err
    assert main(["ledger", "sync"]) == 0
    assert "nichts zu buchen" in capsys.readouterr().out


def test_asset_list_with_a_year(capsys: pytest.CaptureFixture[str]) -> None:
    ensure_migrated()
    assert main(["asset", "list"]) == 0
    assert capsys.readouterr().out == "Noch keine Anlagegüter erfasst.\n"
    with session_scope() as s:
        assets.create_asset(
            s, name="Laptop\nPro", acquired_on=date(2026, 5, 15), cost="1499.00",
            useful_life_years=3,
        )  # fmt: skip
    # 2027: 1499 / 3 = 499.67; book value 1499 − 333.11 − 499.67 = 666.22.
    assert main(["asset", "list", "--year", "2027"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Bezeichnung\tAnschaffung\tAnschaffungskosten\tMethode\tAfA 2027\tBuchwert 31.12.2027"
        "\tAbgang",
        "Laptop Pro\t15.05.2026\t1.499,00\xa0€\tlinear, 3 Jahre\t499,67\xa0€\t666,22\xa0€\t",
        "1 Anlagegüter, AfA 2027 gesamt 499,67\xa0€",
    ]
    assert main(["asset", "list", "--year", "2025"]) == 0
    assert "\t–\t–\t" in capsys.readouterr().out.splitlines()[1]
    with pytest.raises(SystemExit):
        main(["asset", "list", "--year", "zwanzig"])
    assert "ist kein Jahr" in capsys.readouterr().err
    assert main(["booking", "list", "--from", "01.05.2026", "--to", "31.05.2026"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 Buchungen"
    with pytest.raises(SystemExit):
        main(["asset", "list", "--help"])
    assert "Aufruf: python -m kms asset list" in " ".join(capsys.readouterr().out.split())


def test_datev_export_and_kanzleipaket(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from zipfile import ZipFile

    from kms.modules.ledger import datev

    _book()
    target = tmp_path / "EXTF.csv"
    args = ["datev", "export", "--from", "2026-03-01", "--to", "2026-04-30", "-o", str(target)]
    # No Berater-Nr. yet: a German message, exit code 2, no file.
    assert main(args) == 2
    assert "fehlt die Berater-Nr." in capsys.readouterr().err and not target.exists()
    with session_scope() as s:
        datev.save_settings(s, advisor_number="1001", client_number="1", chart="03")
    assert main(args) == 0
    assert "2 Buchungszeilen (nicht festgeschrieben)" in capsys.readouterr().out
    lines = target.read_bytes().decode("cp1252").split("\r\n")
    assert lines[0].startswith('"EXTF";700;21;') and lines[2].startswith(
        '11,90;"H";"EUR";;;;1200;4910;'
    )
    assert main(args) == 2 and "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    capsys.readouterr()
    over = [
        "datev",
        "export",
        "--from",
        "2025-12-01",
        "--to",
        "2026-01-31",
        "-o",
        str(tmp_path / "x"),
    ]
    assert main(over) == 2 and "höchstens ein Wirtschaftsjahr" in capsys.readouterr().err
    assert main(["datev", "export", "--from", "März", "--to", "2026-01-31", "-o", "x"]) == 2
    assert "JJJJ-MM-TT" in capsys.readouterr().err
    package = tmp_path / "paket.zip"
    rng = ["--from", "2026-01-01", "--to", "2026-06-30", "-o", str(package)]
    assert main(["kanzleipaket", *rng]) == 0
    assert "2 Buchungen, 0 Belege" in capsys.readouterr().out
    with ZipFile(package) as zf:
        assert "Journal.csv" in zf.namelist() and "README.txt" in zf.namelist()
    assert main(["datev", "paket", *rng]) == 2
    assert "nicht überschrieben" in capsys.readouterr().err
    assert main(["datev", "paket", *rng, "--force"]) == 0
