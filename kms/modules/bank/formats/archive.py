"""ZIP archives of statements (Sparkassen and Volksbanken deliver CAMT.053 as one ZIP with an
XML file per statement): each member is parsed and the statements of one account merged.

Bounded against zip bombs: at most MAX_MEMBERS files, each at most MAX_MEMBER_BYTES and all
together at most MAX_TOTAL_BYTES uncompressed; nested archives are not opened.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date

from kms.modules.bank.statement import Statement, StatementError

MAX_MEMBERS = 1000
MAX_MEMBER_BYTES = 50 << 20  # 50 MiB
MAX_TOTAL_BYTES = 200 << 20  # 200 MiB
_SUFFIXES = (".xml", ".sta", ".mt940", ".940", ".txt")


def is_zip(data: bytes) -> bool:
    """True for the bytes of a ZIP archive."""
    return data.startswith(b"PK\x03\x04")


def parse_zip(data: bytes, parse: Callable[[bytes, str], Statement]) -> Statement:
    """Every statement file in the archive parsed with `parse` and merged into one Statement."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = sorted(
            (
                info
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(_SUFFIXES)
            ),
            key=lambda info: info.filename,
        )
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise StatementError("Die ZIP-Datei ist beschädigt und kann nicht gelesen werden.") from exc
    if not members:
        raise StatementError("Die ZIP-Datei enthält keine Kontoauszüge (XML oder MT940).")
    if len(members) > MAX_MEMBERS:
        raise StatementError(f"Die ZIP-Datei enthält mehr als {MAX_MEMBERS} Dateien.")
    if any(info.file_size > MAX_MEMBER_BYTES for info in members) or (
        sum(info.file_size for info in members) > MAX_TOTAL_BYTES
    ):
        raise StatementError("Die ZIP-Datei ist entpackt zu groß.")
    statements = []
    for info in members:
        try:
            with archive.open(info) as member:
                content = member.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
            raise StatementError(
                f"Die Datei „{info.filename}“ in der ZIP-Datei ist beschädigt oder verschlüsselt."
            ) from exc
        if len(content) > MAX_MEMBER_BYTES or is_zip(content):
            raise StatementError(
                f"Die Datei „{info.filename}“ in der ZIP-Datei wird nicht gelesen."
            )
        try:
            statements.append(parse(content, info.filename))
        except StatementError as exc:
            raise StatementError(f"{info.filename}: {exc.message}") from exc
    return merge_statements(statements, [info.filename for info in members])


def merge_statements(statements: list[Statement], names: list[str]) -> Statement:
    """One Statement from several of one account (`names` in the same order), by period."""
    ibans = {s.account_iban for s in statements if s.account_iban}
    if len(ibans) > 1:
        raise StatementError(
            f"Die ZIP-Datei enthält Auszüge mehrerer Konten ({', '.join(sorted(ibans))}); "
            "bitte je Konto eine Datei einlesen."
        )
    named = sorted(
        zip(statements, names, strict=True),
        key=lambda pair: (pair[0].period_from or date.min, pair[1]),
    )
    ordered = [statement for statement, _ in named]
    lines = [line for statement in ordered for line in statement.lines]
    starts = [s.period_from for s in ordered if s.period_from]
    ends = [s.period_to for s in ordered if s.period_to]
    return Statement(
        format=ordered[0].format,
        account_iban=next(iter(ibans), ""),
        lines=tuple(replace(line, line_no=number) for number, line in enumerate(lines, 1)),
        currency=ordered[0].currency,
        period_from=min(starts) if starts else None,
        period_to=max(ends) if ends else None,
        opening_balance=ordered[0].opening_balance,
        closing_balance=ordered[-1].closing_balance,
        warnings=tuple(
            f"{name}: {warning}" for statement, name in named for warning in statement.warnings
        ),
    )
