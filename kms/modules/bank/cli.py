"""python -m kms bank import FILE --account NAME [--dry-run] [--profile KEY]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_money

HELP = (
    "Kontoauszug (CAMT.053/052/054, MT940 oder CSV) in ein Konto einlesen. Mit --dry-run nur "
    "die Vorschau. Ohne --dry-run bucht der Befehl nur die sicheren Vorschläge: Zahlungen, "
    "deren Rechnungsnummer und Betrag (oder Betrag und Zahler) eindeutig passen, und Buchungen "
    "nach einer gelernten Regel; bereits importierte Zeilen werden übersprungen. Alle anderen "
    "Zeilen werden als „nicht gebucht“ aufgelistet und nicht gespeichert; sie lassen sich "
    "später auf der Seite Kontoauszüge mit derselben Datei importieren."
)


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _one_line(text: str, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _account_id(session: Any, name: str) -> int:
    from kms.modules.ledger.models import Account

    account = session.scalar(select(Account).where(Account.name == name))
    if account is None:
        names = ", ".join(session.scalars(select(Account.name).order_by(Account.name)))
        raise KmsError(
            f"Das Konto „{name}“ gibt es nicht" + (f" (Konten: {names})." if names else ".")
        )
    return int(account.id)


def cmd_import(args: argparse.Namespace) -> int:
    from kms.modules.bank import service
    from kms.modules.bank.reading import read_statement

    path = Path(args.file)
    if not path.is_file():
        raise KmsError(f"Die Datei {path} gibt es nicht.")
    data = path.read_bytes()
    with session_scope(write=not args.dry_run) as session:
        account_id = _account_id(session, args.account)
        statement = read_statement(session, data, path.name, profile=args.profile or "")
        pv = service.preview(session, account_id, statement)
        _print("\t".join(["Nr", "Datum", "Betrag", "Gegenüber", "Verwendungszweck", "Vorschlag",
                          "Grund"]))  # fmt: skip
        for pl in pv.lines:
            _print(
                "\t".join(
                    [
                        str(pl.line.line_no or pl.index + 1),
                        format_date(pl.line.booking_date),
                        format_money(pl.line.amount),
                        _one_line(pl.line.counterparty_name, 40),
                        _one_line(pl.line.purpose),
                        pl.handling_label,
                        pl.reason,
                    ]
                )
            )
        for no, c in pv.candidate_rows():
            _print(f"Kandidat zu Zeile {no}: {c.number} ({c.score} Punkte): {c.reason}")
        for warning in statement.warnings:
            _print(f"Hinweis: {warning}")
        if args.dry_run:
            _print(f"{len(pv.lines)} Zeilen, nichts gebucht (--dry-run).")
            return 0
        result = service.confirm(
            session, account_id, statement, None, data, path.name, "cli", only_safe=True
        )
        unbooked = [pl for pl in pv.lines if pl.proposal.handling != "doppelt" and not pl.safe]
    for pl in unbooked:
        _print(
            f"nicht gebucht: Zeile {pl.line.line_no or pl.index + 1}, "
            f"{format_date(pl.line.booking_date)}, {format_money(pl.line.amount)}, "
            f"{_one_line(pl.line.counterparty_name, 40)} – {pl.reason}"
        )
    _print(result.message)
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `bank` command group."""
    group = groups(sub, "bank", "Kontoauszüge", "bank_cmd")
    p = add(group, "import", cmd_import, HELP)
    p.add_argument("file", help="Kontoauszug-Datei")
    p.add_argument("--account", required=True, help="Name des Kontos (wie unter Konten)")
    p.add_argument("--dry-run", action="store_true", help="nur die Vorschau zeigen, nichts buchen")
    p.add_argument(
        "--profile",
        help="CSV-Profil oder Name einer gespeicherten CSV-Zuordnung (Standard: erkennen)",
    )
