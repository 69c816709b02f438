"""python -m kms invoice …: list, export originals, delete drafts (issued ones are refused)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_money

FORMATS = {"facturx": "pdf", "xrechnung": "xrechnung_xml", "xml": "facturx_xml"}


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def cmd_list(args: argparse.Namespace) -> int:
    from kms.modules.invoices.service import STATUS_LABELS, list_invoices

    if args.status and args.status not in STATUS_LABELS:
        raise KmsError(f"Unbekannter Status „{args.status}“ (erlaubt: {', '.join(STATUS_LABELS)}).")
    with session_scope(write=False) as session:
        page_no, shown = 1, 0
        while True:
            found = list_invoices(
                session,
                status=args.status,
                year=args.year,
                search=args.search or "",
                page=page_no,
                page_size=200,
            )
            for row in found.page.items:
                _print(
                    "\t".join(
                        [
                            row.number or f"Entwurf {row.id}",
                            format_date(row.issue_date) if row.issue_date else "",
                            row.customer,
                            format_money(row.gross),
                            format_money(row.open),
                            row.status_label,
                        ]
                    )
                )
                shown += 1
            if page_no >= found.page.pages:
                break
            page_no += 1
        _print(
            f"{shown} Rechnungen, Summe {format_money(found.sum_gross)}, "
            f"offen {format_money(found.sum_open)}"
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the stored original bytes (never a re-render); refuse to overwrite a file."""
    from kms.modules.invoices.service import get_by_number
    from kms.modules.invoices.storage import original_bytes

    target = Path(args.output)
    if target.exists() and not args.force:
        raise KmsError(f"Die Datei {target} gibt es schon (mit --force überschreiben).")
    with session_scope(write=False) as session:
        invoice = get_by_number(session, args.number)
        content = original_bytes(session, invoice.id, FORMATS[args.format]).content
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    _print(f"{args.number} als {args.format} nach {target} geschrieben ({len(content)} Byte).")
    return 0


def cmd_delete_draft(args: argparse.Namespace) -> int:
    from kms.modules.invoices.service import delete_draft

    with session_scope() as session:
        delete_draft(session, args.id, actor="cli")
    _print(f"Entwurf {args.id} gelöscht.")
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `invoice` command group to the main parser."""
    group = groups(sub, "invoice", "Rechnungen", "i_cmd")
    p = add(group, "list", cmd_list, "Rechnungen auflisten (tabulatorgetrennt)")
    p.add_argument("--status", help="entwurf, offen, teilweise, bezahlt, ueberfaellig, …")
    p.add_argument("--year", type=int, help="nur dieses Jahr")
    p.add_argument("--search", help="Suchbegriff (Nummer, Kunde, Position)")
    p = add(group, "export", cmd_export, "Original-PDF oder -XML einer Rechnung schreiben")
    p.add_argument("number", help="Rechnungsnummer")
    p.add_argument("--format", choices=sorted(FORMATS), default="facturx", help="Dateiformat")
    p.add_argument("-o", "--output", required=True, help="Zieldatei")
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")
    p = add(group, "delete-draft", cmd_delete_draft, "Entwurf löschen (Rechnungen: abgelehnt)")
    p.add_argument("id", type=int, help="Nummer des Entwurfs")
