"""Bank statement parsers: bytes of one file -> kms.modules.bank.statement.Statement.

`parse_statement(data, filename)` detects the format and dispatches:

- CAMT.052/053/054 (XML, by the root namespace) -> `camt.parse_camt`
- a ZIP of such files (as Sparkassen deliver CAMT) -> `archive.parse_zip`, merged
- MT940 (SWIFT text, by its `:20:`/`:25:`/`:61:` tags) -> `mt940.parse_mt940`
- CSV exports of German banks (by the header line) -> `csv_formats.parse_csv`;
  with a `CsvMapping` the generic profile reads any CSV.

Every failure is a StatementError with a German message (empty file, broken XML, DOCTYPE,
unknown format, undecodable text, a line that cannot be read: line number and value).
"""

from __future__ import annotations

import re

from kms.modules.bank.formats.archive import is_zip, parse_zip
from kms.modules.bank.formats.camt import parse_camt
from kms.modules.bank.formats.common import decode
from kms.modules.bank.formats.csv_formats import (
    GENERIC_KEY,
    GENERIC_LABEL,
    PROFILES,
    CsvMapping,
    CsvProfile,
    first_line,
    parse_csv,
    profile_by_key,
)
from kms.modules.bank.formats.mt940 import parse_mt940
from kms.modules.bank.statement import Statement, StatementError

__all__ = [
    "AUTO",
    "FORMATS",
    "CsvMapping",
    "CsvProfile",
    "parse_statement",
    "profiles",
]

AUTO = "auto"
# Every format/profile a user can pick, key -> German label (select box order).
FORMATS: dict[str, str] = {
    AUTO: "Automatisch erkennen",
    "camt": "CAMT.053 / CAMT.052 / CAMT.054 (XML)",
    "mt940": "MT940 (SWIFT)",
    **{profile.key: profile.label for profile in PROFILES},
    GENERIC_KEY: GENERIC_LABEL,
}
_MT940 = re.compile(r"^:(20|25|28C?|60[FM]|61|86):", re.MULTILINE)


def profiles() -> list[tuple[str, str]]:
    """(key, German label) of every format and CSV profile, "auto" first, for a select box."""
    return list(FORMATS.items())


def parse_statement(
    data: bytes,
    filename: str = "",
    *,
    mapping: CsvMapping | None = None,
    profile: str = AUTO,
) -> Statement:
    """Parse one statement file.

    `mapping` reads the file as CSV with the user's column mapping (generic profile).
    `profile` forces a format key from `profiles()`; "auto" detects it. `filename` is
    only used in messages.
    """
    if profile not in FORMATS:
        raise StatementError(f"Unbekanntes Format „{profile}“.")
    named = f"„{filename}“ " if filename else ""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise StatementError(f"Die Datei {named}ist leer.")
    if is_zip(data):
        return parse_zip(
            data,
            lambda content, name: parse_statement(content, name, mapping=mapping, profile=profile),
        )
    if mapping is not None or profile == GENERIC_KEY:
        if mapping is None:
            raise StatementError("Für das allgemeine CSV-Profil fehlt die Spaltenzuordnung.")
        return parse_csv(data, mapping=mapping)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if profile == "camt" or (profile == AUTO and head.startswith(b"<")):
        return parse_camt(data)
    text = decode(data)
    if profile == "mt940" or (profile == AUTO and _looks_like_mt940(text)):
        return parse_mt940(text)
    csv_profile = profile_by_key(profile)
    if profile == AUTO and not _looks_like_csv(text):
        raise StatementError(
            f"Unbekanntes Format: Die Datei {named}ist weder CAMT (XML) noch MT940 noch "
            f"eine CSV-Datei (erste Zeile: „{first_line(text)}“)."
        )
    return parse_csv(data, profile=csv_profile)


def _looks_like_mt940(text: str) -> bool:
    tags = {match.group(1) for match in _MT940.finditer(text[:20000])}
    return "20" in tags and ("61" in tags or "25" in tags)


def _looks_like_csv(text: str) -> bool:
    return any(sep in text[:4000] for sep in (";", ",", "\t"))
