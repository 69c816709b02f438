"""python -m kms contacts …: import from and export to CSV/XLSX (all or nothing)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kms.db import session_scope
from kms.errors import KmsError


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kms.modules.contacts.transfer import import_contacts

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise KmsError(f"Die Datei „{args.file}“ lässt sich nicht lesen: {exc.strerror}.") from exc
    with session_scope() as session:
        plan = import_contacts(
            session, data, dry_run=args.dry_run, skip_duplicates=args.skip_duplicates
        )
    for row, note in plan.warnings:
        _print(f"Zeile {row}: {note}")
    if not plan.ok:
        for line in plan.problem_lines():
            sys.stderr.write(line + "\n")
        sys.stderr.write(
            f"Nichts importiert: {len(plan.problems)} Problem(e). Bitte die Datei korrigieren.\n"
        )
        return 1
    rows = sum(1 for r in plan.rows if not r.skipped)
    if args.dry_run:
        _print(f"Probelauf: {rows} Zeilen wären importierbar; nichts wurde gespeichert.")
    else:
        _print(
            f"Importiert: {plan.created_persons} Personen, "
            f"{plan.created_organisations} Organisationen."
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from kms.modules.contacts.transfer import export_csv, export_xlsx

    target = Path(args.output)
    if target.exists() and not args.force:
        raise KmsError(f"„{target}“ gibt es schon; mit --force überschreiben.")
    with session_scope(write=False) as session:
        export = export_xlsx if args.format == "xlsx" else export_csv
        data = export(session, kind=args.kind, archived="all" if args.archived else "active")
    tmp = target.with_name(f".{target.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KmsError(f"„{target}“ lässt sich nicht schreiben: {exc.strerror}.") from exc
    _print(f"Kontakte exportiert nach {target}.")
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `contacts` command group to the main parser (ModuleSpec.cli)."""
    csub = groups(sub, "contacts", "Kunden: Personen und Organisationen", "c_cmd")
    p = add(csub, "import", cmd_import, "Kontakte aus CSV importieren (alle oder keine)")
    p.add_argument("file", help="CSV-Datei")
    p.add_argument("--dry-run", action="store_true", help="nur prüfen, nichts speichern")
    p.add_argument(
        "--skip-duplicates",
        action="store_true",
        help="vorhandene Kontakte überspringen statt abzubrechen",
    )
    p = add(csub, "export", cmd_export, "Kontakte als CSV oder XLSX exportieren")
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv", help="Dateiformat")
    p.add_argument("-o", "--output", required=True, help="Zieldatei")
    p.add_argument("--kind", choices=["person", "organisation"], help="nur Personen/Organisationen")
    p.add_argument("--archived", action="store_true", help="archivierte Kontakte einschließen")
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")
