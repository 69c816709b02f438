"""python -m kms einvoice import FILE…"""

from __future__ import annotations

from pathlib import Path

import pytest

from kms.cli import main
from kms.db import ensure_migrated, session_scope
from kms.modules.intake import service

from .conftest import sample


def test_import_reports_each_file_and_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_migrated()
    good = tmp_path / "rechnung.xml"
    good.write_bytes(sample("two_rates_cii.xml"))
    bad = tmp_path / "bomb.xml"
    bad.write_bytes(sample("billion_laughs.xml"))
    empty = tmp_path / "leer.pdf"
    empty.write_bytes(b"")
    assert main(["einvoice", "import", str(good)]) == 0
    out = capsys.readouterr().out
    assert "rechnung.xml: angenommen – E-Rechnung (EN 16931 (COMFORT)), Eingang Nr. 1" in out
    assert "Prüfung: gültig" in out and "1 von 1 Dateien angenommen." in out
    assert main(["einvoice", "import", str(good), str(bad), str(empty)]) == 1
    out = capsys.readouterr().out
    assert "rechnung.xml: doppelt – Doppelt: Diese Datei wurde bereits" in out
    assert "bomb.xml: abgelehnt – Die XML-Datei enthält eine DOCTYPE-Deklaration" in out
    assert "leer.pdf: abgelehnt – Die Datei ist leer." in out
    assert "0 von 3 Dateien angenommen." in out
    with session_scope(write=False) as s:
        page = service.list_invoices(s)
        assert page.total == 1 and page.items[0].source == "cli"


def test_invalid_invoice_is_accepted_with_its_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ensure_migrated()
    broken = tmp_path / "falsch.xml"
    broken.write_bytes(
        sample("two_rates_cii.xml").replace(
            b"<ram:GrandTotalAmount>193.70<", b"<ram:GrandTotalAmount>999.70<"
        )
    )
    assert main(["einvoice", "import", str(broken)]) == 0
    out = capsys.readouterr().out
    assert "falsch.xml: angenommen" in out and "Fehler" in out
    assert "[BR-CO-15]" in out
