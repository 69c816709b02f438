"""python -m kms report <key>: a report as CSV, XLSX or JSON file (read-only)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kms.errors import KmsError

FORMATS = ("csv", "xlsx", "json")


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_report(args: argparse.Namespace) -> int:
    import kms.reports
    from kms.db import session_scope
    from kms.reporting_export import export
    from kms.types import today

    key = args.key.replace("-", "_")
    spec = kms.reports.spec(key)
    if args.year is not None and args.period is not None:
        raise KmsError("Bitte entweder --year oder --period angeben, nicht beides.")
    text = str(args.year) if args.year is not None else args.period
    if spec.period == "none" and text is not None:
        raise KmsError(f"Der Bericht „{spec.title}“ hat keinen Zeitraum: er gilt mit Stand heute.")
    period = spec.coerce_period(text)
    target = Path(args.output)
    if target.exists() and not args.force:
        raise KmsError(f"Die Datei {target} gibt es schon (mit --force überschreiben).")
    with session_scope(write=False) as session:
        df = kms.reports.run(key, session, period)
    content = export(spec, df, args.format, period)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    label = period.label if period else f"Stand {today().strftime('%d.%m.%Y')}"
    _print(f"{spec.title} ({label}) als {args.format.upper()} nach {target} geschrieben.")
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `report` command to the main parser."""
    from kms import registry

    keys = ", ".join(report.key for _module, report in registry.reports())
    p = add(sub, "report", cmd_report, "Bericht als CSV, XLSX oder JSON schreiben")
    p.add_argument("key", help=f"welcher Bericht ({keys}; Bindestrich statt _ geht auch)")
    p.add_argument("--year", type=int, help="Jahr, z. B. 2026")
    p.add_argument("--period", help="Zeitraum: 2026 (Jahr), 2026-Q1 (Quartal), 2026-03 (Monat)")
    p.add_argument("--format", choices=FORMATS, default="csv", help="Dateiformat")
    p.add_argument("-o", "--output", required=True, help="Zieldatei")
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")
