"""python -m kms booking list …, python -m kms ledger export/sync/lock."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_money


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise KmsError(
            f"{name}: bitte ein Datum als JJJJ-MM-TT angeben, nicht „{value}“."
        ) from None


def cmd_booking_list(args: argparse.Namespace) -> int:
    from kms.modules.ledger.models import BOOKING_KINDS
    from kms.modules.ledger.service import count_bookings, list_bookings

    date_from, date_to = _day(args.date_from, "--from"), _day(args.date_to, "--to")
    with session_scope(write=False) as session:
        total = count_bookings(
            session, search=args.search or "", date_from=date_from, date_to=date_to
        )
        offset = 0
        while offset < total:
            rows = list_bookings(
                session,
                search=args.search or "",
                date_from=date_from,
                date_to=date_to,
                offset=offset,
                limit=500,
            )
            if not rows:
                break
            for row in rows:
                _print(
                    "\t".join(
                        [
                            str(row.id),
                            format_date(row.booking_date),
                            BOOKING_KINDS.get(row.kind, row.kind),
                            row.account,
                            row.counterparty,
                            row.receipt_number,
                            row.text,
                            format_money(row.total),
                            "festgeschrieben" if row.locked else "",
                        ]
                    )
                )
            offset += len(rows)
        _print(f"{total} Buchungen")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from kms.modules.ledger.hledger import journal

    target = Path(args.output)
    if target.exists() and not args.force:
        raise KmsError(f"Die Datei {target} gibt es schon (mit --force überschreiben).")
    with session_scope(write=False) as session:
        text = journal(session)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    _print(f"Journal nach {target} geschrieben.")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from kms.modules.ledger.sync import sync_payments
    from kms.permissions import SYSTEM, acting_as

    with acting_as(SYSTEM), session_scope() as session:
        _print(sync_payments(session))
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `booking` and `ledger` command groups."""
    group = groups(sub, "booking", "Buchungen (Einnahmen/Ausgaben)", "b_cmd")
    p = add(group, "list", cmd_booking_list, "Buchungen auflisten (tabulatorgetrennt)")
    p.add_argument("--from", dest="date_from", help="ab Datum (JJJJ-MM-TT)")
    p.add_argument("--to", dest="date_to", help="bis Datum (JJJJ-MM-TT)")
    p.add_argument("--search", help="Suchbegriff (Gegenüber, Belegnummer, Text)")
    group = groups(sub, "ledger", "Einnahmen/Ausgaben", "l_cmd")
    p = add(group, "export", cmd_export, "Buchungen als hledger-Journal schreiben")
    p.add_argument("--format", choices=["hledger"], default="hledger", help="Dateiformat")
    p.add_argument("-o", "--output", required=True, help="Zieldatei")
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")
    add(group, "sync", cmd_sync, "Rechnungszahlungen jetzt als Einnahmen buchen")
