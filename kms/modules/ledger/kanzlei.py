"""Kanzleipaket: everything the tax adviser needs for a period in one ZIP.

Contents (German file names, see README_TEXT): the EÜR and the Anlagenverzeichnis of each
calendar year the period touches, the USt-Voranmeldung of each filing period it touches, the
journal of every booking line, the DATEV Buchungsstapel (one per Wirtschaftsjahr part), and
every Beleg linked to a booking under `Belegarchiv/` with `Belegarchiv/Belegindex.csv`.

The ZIP is streamed to disk: written to a hidden temporary file next to the target (so the
final rename is atomic on the same file system), each Beleg copied in chunks and checked
against its SHA-256 while copying. An existing target is never overwritten unless asked.
The reports are the ledger's own (kms/modules/ledger/reports.py), not recomputed here.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, cast
from zipfile import ZIP_DEFLATED, ZipFile

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.formatting import format_date, neutralise
from kms.modules.ledger import datev, reports, taxkeys
from kms.modules.ledger.models import Account, Booking, Category
from kms.modules.ledger.report_specs import REPORTS
from kms.permissions import Permission, require_permission
from kms.reporting import Period
from kms.reporting_export import to_csv

CHUNK = 1 << 20  # 1 MiB per copy step
Progress = Callable[[float, str], object]
SPECS = {spec.key: spec for spec in REPORTS}
ARCHIVE = "Belegarchiv"
INDEX = f"{ARCHIVE}/Belegindex.csv"

README_TEXT = """Kanzleipaket aus KMS
====================

Zeitraum: {start} bis {end}
Erstellt: {created}

Inhalt
------
EÜR_JJJJ.csv
    Einnahmenüberschussrechnung des Kalenderjahres nach Kennzahlen der Anlage EÜR
    (immer das ganze Jahr, auch wenn der Zeitraum kürzer ist).
Anlagenverzeichnis_JJJJ.csv
    Anlagenverzeichnis (Anlage AVEÜR) des Kalenderjahres mit AfA und Buchwerten.
USt-Voranmeldung_ZEITRAUM.csv
    Umsatzsteuer-Voranmeldung je Voranmeldungszeitraum (Monat oder Quartal), der im
    Zeitraum liegt, nach Kennzahlen.
Journal.csv
    Alle Buchungspositionen des Zeitraums: Datum, Buchung, Konto, Kategorie,
    Steuerschlüssel, Betrag, Netto, Steuer und die Datei des Belegs.
EXTF_Buchungsstapel_VON_BIS.csv
    Die Buchungen im DATEV-Format (EXTF Buchungsstapel, Formatversion 700/13) zum Import
    in DATEV Kanzlei-Rechnungswesen: je Wirtschaftsjahr eine Datei.
Belegarchiv/
    Die Belege (Dateien aus Dokumente), die mit Buchungen des Zeitraums verknüpft sind.
    Belegarchiv/Belegindex.csv ordnet jeder Buchung ihre Datei zu (mit SHA-256).
    Das Belegarchiv ist KEIN DATEV-Import (kein Belegbilderservice, keine
    document.xml): die Dateien sind zum Ansehen und Ablegen.

Alle CSV-Dateien außer der DATEV-Datei: UTF-8 mit BOM, Trennzeichen Semikolon,
Beträge mit Dezimalkomma (Excel-tauglich). Die DATEV-Datei ist nach Vorgabe von DATEV
in Windows-1252 kodiert.
{notes}"""


@dataclass
class PackageResult:
    path: Path
    members: list[str]
    bookings: int
    receipts: int
    warnings: list[str] = field(default_factory=list)


def _months(start: date, end: date) -> Iterator[date]:
    current = start.replace(day=1)
    while current <= end:
        yield current
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)


def filing_periods(session: Session, start: date, end: date) -> list[Period]:
    """The USt-Voranmeldungszeiträume touching `start`..`end` (regularly taxed months only)."""
    from kms.modules.ledger.service import filing_period_of
    from kms.modules.settings.taxation import regime_on

    found: dict[str, Period] = {}
    for month in _months(start, end):
        regime = regime_on(session, month)
        if regime is not None and regime.kind != "regel":
            continue
        kind = filing_period_of(session, month)
        if kind == "monat":
            period = Period.month(month.year, month.month)
        elif kind == "jahr":
            period = Period.year(month.year)
        else:
            period = Period.quarter(month.year, (month.month + 2) // 3)
        found.setdefault(period.code, period)
    return list(found.values())


def _like(period: Period) -> reports.PeriodLike:
    """A reporting Period where the ledger's report functions ask for their protocol."""
    return cast("reports.PeriodLike", period)


def datev_parts(session: Session, start: date, end: date) -> list[tuple[date, date]]:
    """`start`..`end` cut at the Wirtschaftsjahr boundaries."""
    settings = datev.get_settings(session)
    parts = []
    current = start
    while current <= end:
        _, fy_end = datev.fiscal_year_of(settings, current)
        last = min(fy_end, end)
        parts.append((current, last))
        current = date.fromordinal(last.toordinal() + 1)
    return parts


_UNSAFE = re.compile(r"[^\w.\-]+")


def _safe_name(text: str) -> str:
    name = _UNSAFE.sub("_", text).strip("._") or "Beleg"
    return name[-80:]


JOURNAL_HEADER = (
    "Buchung", "Position", "Datum", "Art", "Konto", "Gegenkonto (Geldtransit)", "Gegenüber",
    "Belegnummer", "Kategorie", "Steuerschlüssel", "Betrag", "Netto", "Steuer",
    "Nicht abziehbar", "Text", "Festgeschrieben", "Beleg-Datei",
)  # fmt: skip


def _money(value: Any) -> str:
    return f"{value:.2f}".replace(".", ",")


@contextmanager
def _csv_member(zf: ZipFile, name: str) -> Iterator[Any]:
    """A CSV member (UTF-8 with BOM, `;`, CRLF) written row by row into the ZIP."""
    with zf.open(name, "w", force_zip64=True) as raw:
        raw.write(codecs.BOM_UTF8)
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        yield csv.writer(text, delimiter=";", lineterminator="\r\n")
        text.flush()
        text.detach()


def _copy_receipt(zf: ZipFile, name: str, document: Any) -> str:
    """Copy a stored file into the ZIP in chunks; its SHA-256 must match the stored one."""
    from kms.modules.documents import service as documents

    digest = hashlib.sha256()
    with documents.open_stream(document) as src, zf.open(name, "w", force_zip64=True) as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != document.blob.sha256:
        raise documents.ChecksumMismatch(
            f"Die gespeicherte Datei „{document.filename}“ (Dokument {document.id}) stimmt "
            "nicht mehr mit ihrer Prüfsumme überein; das Kanzleipaket wurde deshalb nicht "
            "erstellt. Bitte wenden Sie sich an den Support."
        )
    return digest.hexdigest()


def build(
    session: Session,
    start: date,
    end: date,
    target: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    created: datetime | None = None,
    exported_by: str = "KMS",
) -> PackageResult:
    """Write the Kanzleipaket for `start`..`end` to `target` (a .zip path)."""
    require_permission(Permission.LEDGER_READ, session)
    require_permission(Permission.DOCUMENTS_READ, session)  # the Belegarchiv
    from kms.types import utcnow

    if end < start:
        raise KmsError("Das Ende des Zeitraums liegt vor seinem Anfang.")
    target = Path(target)
    if target.exists() and not overwrite:
        raise KmsError(
            f"Die Datei {target} gibt es schon; sie wird nicht überschrieben "
            "(ausdrücklich überschreiben: --force)."
        )
    if not target.parent.is_dir():
        raise KmsError(f"Das Verzeichnis {target.parent} gibt es nicht.")
    created = created or utcnow()
    report = progress or (lambda fraction, message: None)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with ZipFile(tmp, "w", compression=ZIP_DEFLATED, allowZip64=True) as zf:
            result = _write(session, zf, start, end, created, exported_by, report)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    result.path = target
    report(1.0, "Kanzleipaket fertig.")
    return result


def _write(
    session: Session,
    zf: ZipFile,
    start: date,
    end: date,
    created: datetime,
    exported_by: str,
    report: Progress,
) -> PackageResult:
    result = PackageResult(path=Path(), members=[], bookings=0, receipts=0)
    notes: list[str] = []

    def member(name: str, content: bytes) -> None:
        zf.writestr(name, content)
        result.members.append(name)

    report(0.02, "Berichte (EÜR, Anlagenverzeichnis, USt-Voranmeldungen) …")
    for year in range(start.year, end.year + 1):
        period = Period.year(year)
        member(f"EÜR_{year}.csv", to_csv(SPECS["euer"], reports.euer(session, _like(period))))
        avuer = reports.anlage_avuer(session, _like(period))
        member(f"Anlagenverzeichnis_{year}.csv", to_csv(SPECS["anlage_avuer"], avuer))
    for period in filing_periods(session, start, end):
        df = reports.ustva(session, _like(period))
        member(f"USt-Voranmeldung_{period.code}.csv", to_csv(SPECS["ustva"], df))

    report(0.1, "DATEV-Buchungsstapel …")
    settings = datev.get_settings(session)
    if settings.advisor_number is None or settings.client_number is None:
        notes.append(
            "Die DATEV-Datei fehlt: Berater-Nr. und Mandanten-Nr. sind in KMS noch nicht "
            "eingetragen (Einnahmen/Ausgaben → Einstellungen → DATEV)."
        )
    else:
        for part_start, part_end in datev_parts(session, start, end):
            exported = datev.export(
                session, part_start, part_end, created=created, exported_by=exported_by
            )
            member(
                f"EXTF_Buchungsstapel_{part_start:%Y%m%d}_{part_end:%Y%m%d}.csv", exported.content
            )
            result.warnings.extend(exported.warnings)

    report(0.15, "Journal und Belege …")
    bookings = list(
        session.scalars(
            select(Booking)
            .where(Booking.booking_date >= start, Booking.booking_date <= end)
            .order_by(Booking.booking_date, Booking.id)
        )
    )
    result.bookings = len(bookings)
    files = _write_receipts(session, zf, bookings, result, report)
    _write_journal(session, zf, bookings, files)
    result.members.append("Journal.csv")
    result.warnings.extend(notes)
    readme = README_TEXT.format(
        start=format_date(start),
        end=format_date(end),
        created=created.strftime("%d.%m.%Y %H:%M UTC"),
        notes=("\nHinweise\n--------\n" + "\n".join(f"- {n}" for n in notes) + "\n")
        if notes
        else "",
    )
    member("README.txt", readme.replace("\n", "\r\n").encode("utf-8"))
    return result


def _write_receipts(
    session: Session,
    zf: ZipFile,
    bookings: list[Booking],
    result: PackageResult,
    report: Progress,
) -> dict[int, str]:
    """Copy each linked document once; write the index. Returns document id → member name."""
    from kms.modules.documents import service as documents

    accounts = {a.id: a.name for a in session.scalars(select(Account))}
    files: dict[int, tuple[str, str]] = {}
    linked = [b for b in bookings if b.document_id is not None]
    # ZipFile writes one member at a time: the (small) index rows wait until the files are in.
    rows: list[list[Any]] = []
    for number, booking in enumerate(linked, start=1):
        if booking.document_id is None:  # pragma: no cover - filtered above
            continue
        if booking.document_id not in files:
            document = documents.get_document(session, booking.document_id)
            name = (
                f"{ARCHIVE}/{booking.booking_date:%Y-%m-%d}_D{document.id}_"
                f"{_safe_name(document.filename)}"
            )
            sha = _copy_receipt(zf, name, document)
            files[booking.document_id] = (name, sha)
            result.members.append(name)
            result.receipts += 1
        name, sha = files[booking.document_id]
        rows.append(
            [booking.id, format_date(booking.booking_date), booking.kind_label,
             neutralise(accounts.get(booking.account_id, "")),
             neutralise(booking.counterparty), neutralise(booking.receipt_number),
             _money(booking.total), booking.document_id, name.removeprefix(f"{ARCHIVE}/"), sha]
        )  # fmt: skip
        report(0.15 + 0.8 * number / len(linked), f"Beleg {number} von {len(linked)} …")
    with _csv_member(zf, INDEX) as writer:
        writer.writerow(
            ["Buchung", "Datum", "Art", "Konto", "Gegenüber", "Belegnummer", "Betrag",
             "Dokument", "Datei", "SHA-256"]
        )  # fmt: skip
        writer.writerows(rows)
    result.members.append(INDEX)
    return {doc_id: name for doc_id, (name, _) in files.items()}


def _write_journal(
    session: Session, zf: ZipFile, bookings: list[Booking], files: dict[int, str]
) -> None:
    from kms.periods import locked_months

    accounts = {a.id: a.name for a in session.scalars(select(Account))}
    categories = {c.id: c.name for c in session.scalars(select(Category))}
    locked = set(locked_months(session))
    with _csv_member(zf, "Journal.csv") as writer:
        writer.writerow(JOURNAL_HEADER)
        for booking in bookings:
            for line in booking.lines:
                writer.writerow(
                    [booking.id, line.position, format_date(booking.booking_date),
                     booking.kind_label, neutralise(accounts.get(booking.account_id, "")),
                     neutralise(accounts.get(booking.transfer_account_id or 0, "")),
                     neutralise(booking.counterparty), neutralise(booking.receipt_number),
                     neutralise(categories.get(line.category_id or 0, "")),
                     taxkeys.label(line.tax_key, booking.booking_date),
                     _money(line.amount), _money(line.net), _money(line.tax),
                     _money(line.nondeductible), neutralise(line.text),
                     "ja" if booking.booking_date.replace(day=1) in locked else "nein",
                     files.get(booking.document_id or 0, "").removeprefix(f"{ARCHIVE}/")]
                )  # fmt: skip


def default_name(start: date, end: date) -> str:
    return f"Kanzleipaket_{start:%Y-%m-%d}_{end:%Y-%m-%d}.zip"


def open_for_download(path: Path) -> IO[bytes]:
    """The finished package opened for streaming (the caller closes it)."""
    return open(path, "rb")


# --- packages built in the app, downloaded through /api/ledger/kanzleipaket/<token> ---------

KEEP_HOURS = 24
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def exports_dir() -> Path:
    """data/exports/kanzlei: outside files/ (not a document, not part of a backup)."""
    from kms.config import PRIVATE_DIR, get_config

    path = get_config().data_dir / "exports" / "kanzlei"
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def prune_exports(now: datetime | None = None) -> int:
    """Delete packages older than KEEP_HOURS (the page builds a new one when asked)."""
    from kms.types import utcnow

    limit = (now or utcnow()).timestamp() - KEEP_HOURS * 3600
    removed = 0
    for path in exports_dir().iterdir():
        if path.is_dir() and path.stat().st_mtime < limit:
            for child in path.iterdir():
                child.unlink(missing_ok=True)
            path.rmdir()
            removed += 1
    return removed


def build_for_download(
    session: Session,
    start: date,
    end: date,
    *,
    progress: Progress | None = None,
    exported_by: str = "KMS",
) -> tuple[str, PackageResult]:
    """Build into a fresh directory named by an unguessable token; returns (token, result)."""
    import secrets

    prune_exports()
    token = secrets.token_urlsafe(24)
    folder = exports_dir() / token
    folder.mkdir(mode=0o700)
    try:
        result = build(
            session, start, end, folder / default_name(start, end), progress=progress,
            exported_by=exported_by,
        )  # fmt: skip
    except BaseException:
        folder.rmdir()
        raise
    return token, result


def find_export(token: str) -> Path | None:
    """The package built under `token`, or None (unknown, malformed or pruned)."""
    if not _TOKEN.match(token or ""):
        return None
    folder = exports_dir() / token
    if not folder.is_dir():
        return None
    zips = sorted(folder.glob("Kanzleipaket_*.zip"))
    return zips[0] if zips else None


# --- ▶ Kanzleipaket as a background job (kms.jobs): leaving the page does not stop it ----

JOB_KIND = "kanzleipaket"


def start_package_job(session: Session, start: date, end: date, *, actor: str = "") -> int:
    """Check the request and queue the build; it starts when `session` commits."""
    require_permission(Permission.LEDGER_READ, session)
    from kms.jobs import start_job

    require_permission(Permission.DOCUMENTS_READ, session)
    if end < start:
        raise KmsError("Das Ende des Zeitraums liegt vor seinem Anfang.")
    return start_job(
        session, JOB_KIND, run_package_job, total=1000, username=actor,
        params={"start": start.isoformat(), "end": end.isoformat(), "actor": actor},
    )  # fmt: skip


def run_package_job(job: Any, *, start: str, end: str, actor: str = "") -> str:
    """The worker: build the package for download; its token and figures go to the result."""
    from kms.db import session_scope
    from kms.formatting import format_size

    with session_scope(write=False) as session:
        token, result = build_for_download(
            session, date.fromisoformat(start), date.fromisoformat(end),
            progress=lambda fraction, message: job.step(message, fraction),
            exported_by=actor or "KMS",
        )  # fmt: skip
    size = result.path.stat().st_size
    job.result(
        token=token, bookings=result.bookings, receipts=result.receipts, size=size,
        warnings=result.warnings,
    )  # fmt: skip
    return (
        f"Kanzleipaket mit {result.bookings} Buchungen und {result.receipts} Belegen "
        f"({format_size(size)})."
    )
