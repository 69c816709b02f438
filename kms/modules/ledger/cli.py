"""python -m kms booking list, ledger export/sync, asset list."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_money


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _day(value: str | None, name: str) -> date | None:
    """JJJJ-MM-TT or TT.MM.JJJJ; anything else is a German error."""
    if not value:
        return None
    text = value.strip()
    try:
        if "." in text:
            return datetime.strptime(text, "%d.%m.%Y").date()
        return date.fromisoformat(text)
    except ValueError:
        raise KmsError(
            f"{name}: bitte ein Datum als JJJJ-MM-TT oder TT.MM.JJJJ angeben, nicht „{value}“."
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


def _range(args: argparse.Namespace) -> tuple[date, date]:
    start, end = _day(args.date_from, "--from"), _day(args.date_to, "--to")
    if start is None or end is None:
        raise KmsError("Bitte den Zeitraum mit --from und --to angeben.")
    return start, end


def cmd_datev_export(args: argparse.Namespace) -> int:
    """The DATEV EXTF Buchungsstapel of a period (one Wirtschaftsjahr) into a file."""
    from kms.modules.ledger import datev

    start, end = _range(args)
    target = Path(args.output)
    if target.exists() and not args.force:
        raise KmsError(f"Die Datei {target} gibt es schon (mit --force überschreiben).")
    with session_scope(write=False) as session:
        result = datev.export(session, start, end)
    tmp = target.with_name(f".{target.name}.part")
    try:
        tmp.write_bytes(result.content)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KmsError(
            f"Die Datei {target} kann nicht geschrieben werden: {exc.strerror}."
        ) from None
    for warning in result.warnings:
        sys.stderr.write(f"Hinweis: {warning}\n")
    state = "festgeschrieben" if result.locked else "nicht festgeschrieben"
    _print(
        f"DATEV-Buchungsstapel mit {result.rows} Buchungszeilen ({state}) "
        f"nach {target} geschrieben."
    )
    return 0


def cmd_kanzleipaket(args: argparse.Namespace) -> int:
    """The Kanzleipaket of a period as one ZIP."""
    from kms.formatting import format_size
    from kms.modules.ledger import kanzlei

    start, end = _range(args)
    target = Path(args.output)
    with session_scope(write=False) as session:
        result = kanzlei.build(session, start, end, target, overwrite=args.force)
    for warning in result.warnings:
        sys.stderr.write(f"Hinweis: {warning}\n")
    _print(
        f"Kanzleipaket nach {target} geschrieben: {result.bookings} Buchungen, "
        f"{result.receipts} Belege, {format_size(target.stat().st_size)}."
    )
    return 0


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def cmd_asset_list(args: argparse.Namespace) -> int:
    """The Anlagenverzeichnis with the AfA and book value of one year (tab-separated)."""
    from kms.modules.ledger import assets
    from kms.types import today

    year = args.year or today().year
    with session_scope(write=False) as session:
        rows = assets.list_assets(session)
        if not rows:
            _print("Noch keine Anlagegüter erfasst.")
            return 0
        _print(
            "\t".join(
                ["Bezeichnung", "Anschaffung", "Anschaffungskosten", "Methode", f"AfA {year}",
                 f"Buchwert 31.12.{year}", "Abgang"]
            )
        )  # fmt: skip
        total = Decimal("0.00")
        for asset in rows:
            figures = assets.year_figures(asset, year)  # None: not held in that year
            total += figures.afa if figures else Decimal("0.00")
            _print(
                "\t".join(
                    [
                        _one_line(asset.name),
                        format_date(asset.acquired_on),
                        format_money(asset.cost),
                        assets.method_text(asset),
                        format_money(figures.afa) if figures else "–",
                        format_money(figures.closing) if figures else "–",
                        format_date(asset.disposed_on) if asset.disposed_on else "",
                    ]
                )
            )
    _print(f"{len(rows)} Anlagegüter, AfA {year} gesamt {format_money(total)}")
    return 0


def _year(value: str) -> int:
    try:
        year = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"„{value}“ ist kein Jahr (z. B. 2026).") from None
    if not 1990 <= year <= 2199:
        raise argparse.ArgumentTypeError(f"Das Jahr {year} liegt außerhalb von 1990 bis 2199.")
    return year


def _range_args(p: argparse.ArgumentParser, output: str) -> None:
    p.add_argument("--from", dest="date_from", required=True, help="ab Datum (JJJJ-MM-TT)")
    p.add_argument("--to", dest="date_to", required=True, help="bis Datum (JJJJ-MM-TT)")
    p.add_argument("-o", "--output", required=True, help=output)
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `booking`, `ledger` and `asset` command groups."""
    group = groups(sub, "booking", "Buchungen (Einnahmen/Ausgaben)", "b_cmd")
    p = add(group, "list", cmd_booking_list, "Buchungen auflisten (tabulatorgetrennt)")
    p.add_argument("--from", dest="date_from", help="ab Datum (JJJJ-MM-TT oder TT.MM.JJJJ)")
    p.add_argument("--to", dest="date_to", help="bis Datum (JJJJ-MM-TT oder TT.MM.JJJJ)")
    p.add_argument("--search", help="Suchbegriff (Gegenüber, Belegnummer, Text)")
    group = groups(sub, "ledger", "Einnahmen/Ausgaben", "l_cmd")
    p = add(group, "export", cmd_export, "Buchungen als hledger-Journal schreiben")
    p.add_argument("--format", choices=["hledger"], default="hledger", help="Dateiformat")
    p.add_argument("-o", "--output", required=True, help="Zieldatei")
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")
    add(group, "sync", cmd_sync, "Rechnungszahlungen jetzt als Einnahmen buchen")
    group = groups(sub, "datev", "Übergabe an die Steuerkanzlei (DATEV)", "datev_cmd")
    p = add(group, "export", cmd_datev_export, "Buchungen eines Zeitraums als DATEV-Buchungsstapel")
    _range_args(p, "Zieldatei (CSV)")
    p = add(group, "paket", cmd_kanzleipaket, "Kanzleipaket eines Zeitraums als ZIP")
    _range_args(p, "Zieldatei (ZIP)")
    p = add(sub, "kanzleipaket", cmd_kanzleipaket, "Kanzleipaket eines Zeitraums als ZIP")
    _range_args(p, "Zieldatei (ZIP)")
    group = groups(sub, "asset", "Anlagenverzeichnis (AfA)", "asset_cmd")
    p = add(group, "list", cmd_asset_list, "Anlagegüter mit AfA und Buchwert eines Jahres")
    p.add_argument("--year", type=_year, help="Jahr der AfA (Standard: laufendes Jahr)")
