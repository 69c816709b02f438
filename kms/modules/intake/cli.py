"""python -m kms einvoice import FILE…: receive invoice files into the Rechnungseingang."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kms.db import session_scope
from kms.errors import KmsError


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def import_one(path: Path) -> bool:
    """Receive one file in its own transaction; print the outcome. True if archived."""
    from kms.modules.intake.service import DuplicateInvoice, receive

    name = path.name
    try:
        content = path.read_bytes()
    except OSError as exc:
        _print(f"{name}: abgelehnt – Datei nicht lesbar ({exc.strerror or 'unbekannter Fehler'}).")
        return False
    try:
        with session_scope() as session:
            result = receive(session, content, name, source="cli", actor="cli")
            summary = result.summary
            findings = [f for f in result.invoice.findings or [] if f.get("severity") == "error"]
    except DuplicateInvoice as exc:
        _print(f"{name}: doppelt – {exc.message}")
        return False
    except KmsError as exc:
        _print(f"{name}: abgelehnt – {exc.message}")
        return False
    _print(f"{name}: angenommen – {summary}")
    for finding in findings[:20]:
        message = " ".join(str(finding.get("message", "")).split())
        _print(f"  [{finding.get('rule', '')}] {message}")
    if len(findings) > 20:
        _print(f"  … und {len(findings) - 20} weitere Fehler")
    return True


def cmd_import(args: argparse.Namespace) -> int:
    """Exit 0 when every file was archived, 1 otherwise."""
    results = [import_one(Path(p)) for p in args.files]
    accepted = sum(results)
    _print(f"{accepted} von {len(results)} Dateien angenommen.")
    return 0 if all(results) else 1


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `einvoice` command group (received invoices)."""
    group = groups(sub, "einvoice", "Rechnungseingang (E-Rechnungen und Belege)", "ei_cmd")
    p = add(
        group,
        "import",
        cmd_import,
        "Eingangsrechnungen einlesen (XRechnung, ZUGFeRD/Factur-X, PDF, JPEG, PNG)",
    )
    p.add_argument("files", nargs="+", metavar="DATEI", help="eine oder mehrere Dateien")
