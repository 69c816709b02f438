"""The restore's load on two processes (kms.backups.parallel), forced on small data."""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kms.backups import parallel
from kms.backups.errors import BackupError
from kms.backups.restore import CONFIRM_WORD, apply_restore, prepare_restore
from kms.backups.service import create_backup
from kms.backups.store import RESTORE_PREFIX, backups_dir
from tests.backups.helpers import (
    archive_members,
    audit_problems,
    db_snapshot,
    file_snapshot,
    make_data,
    rewrite,
    wipe,
)


@pytest.fixture
def merged(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    """Every restore takes the two-process path; each merge's row counts are recorded."""
    monkeypatch.setattr(parallel, "SPLIT_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_cores", lambda: 2)
    seen: list[dict[str, int]] = []
    original = parallel._Side.merge

    def merge(self: parallel._Side, indexes: Any, progress: Any) -> dict[str, int]:
        counts = original(self, indexes, progress)
        seen.append(dict(counts))
        return counts

    monkeypatch.setattr(parallel._Side, "merge", merge)
    return seen


def _largest_part(path: Path) -> str:
    manifest = json.loads(archive_members(path)["manifest.json"])
    sizes = {p["path"]: p["size"] for p in manifest["parts"]}
    return max(manifest["tables"], key=lambda t: (sizes[t["part"]], t["name"]))["name"]


def _with_lines(
    source: Path, target: Path, table: str, change: Callable[[list[bytes]], list[bytes]]
) -> Path:
    """A copy of the archive with one table part's lines changed, hashes and the row
    count in the manifest made to match, so only the load itself can notice."""
    members = archive_members(source)
    del members["manifest.json"]
    key = f"database/{table}.jsonl.gz"
    lines = change(gzip.decompress(members[key]).splitlines())
    members[key] = gzip.compress(b"\n".join(lines) + b"\n")
    parts = [
        {"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for n, d in members.items()
    ]

    def fix(manifest: dict[str, Any]) -> None:
        manifest["parts"] = parts
        for t in manifest["tables"]:
            if t["name"] == table:
                t["rows"] = len(lines)

    return rewrite(source, target, lambda _m: members, fix_manifest=fix)


def _no_restore_left() -> bool:
    return not [p for p in backups_dir().iterdir() if p.name.startswith(RESTORE_PREFIX)]


def test_two_processes_restore_every_row_and_file(
    sqlite_session: Any,
    merged: list[dict[str, int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Started from another directory, the second process still finds the package.
    monkeypatch.chdir(tmp_path)
    make_data()
    rows, files = db_snapshot(), file_snapshot()
    backup = create_backup()
    wipe()
    assert db_snapshot() != rows
    fractions: list[float] = []

    def progress(phase: str, fraction: float) -> None:
        if phase == "Datenbank aufbauen":
            fractions.append(fraction)

    plan = prepare_restore(backup.path, progress=progress)
    apply_restore(plan, confirmation=CONFIRM_WORD, username="erika")

    assert db_snapshot() == rows
    assert file_snapshot() == files
    assert audit_problems() == []
    # The second process loaded the largest table (it always starts with it) and its rows
    # were copied over; the progress of both processes adds up.
    [counts] = merged
    largest = _largest_part(backup.path)
    assert counts[largest] == len(rows[largest]) > 0
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert _no_restore_left()


def _broken_line(lines: list[bytes]) -> list[bytes]:
    return [b'["kaputt', *lines[1:]]


def _doubled_first_row(lines: list[bytes]) -> list[bytes]:
    return [lines[0], *lines]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (_broken_line, BackupError, "unlesbar"),
        (_doubled_first_row, sa.exc.IntegrityError, "UNIQUE"),
    ],
)
def test_a_fault_in_the_second_processs_table_stops_the_restore(
    sqlite_session: Any,
    merged: list[dict[str, int]],
    tmp_path: Path,
    change: Callable[[list[bytes]], list[bytes]],
    error: type[Exception],
    match: str,
) -> None:
    """The largest table goes to the second process; what it runs into arrives here with
    the same error as in one process, and nothing live changes."""
    make_data()
    rows = db_snapshot()
    source = create_backup().path
    broken = _with_lines(source, tmp_path / "broken.tar", _largest_part(source), change)
    with pytest.raises(error, match=match):
        prepare_restore(broken)
    assert merged == []
    assert db_snapshot() == rows
    assert _no_restore_left()


def test_a_reference_to_a_missing_row_is_refused(
    sqlite_session: Any, merged: list[dict[str, int]], tmp_path: Path
) -> None:
    """Foreign keys are checked once all rows are in: a role of a contact that is not in
    the backup is refused with the table named."""
    make_data()
    rows = db_snapshot()
    source = create_backup().path

    def dangling(lines: list[bytes]) -> list[bytes]:
        first = json.loads(lines[0])
        first[0] = 999_999  # contact_roles: contact_id, role
        return [json.dumps(first).encode(), *lines[1:]]

    broken = _with_lines(source, tmp_path / "dangling.tar", "contact_roles", dangling)
    with pytest.raises(BackupError, match=r"Tabelle contact_roles.*verweist auf .*contacts"):
        prepare_restore(broken)
    assert db_snapshot() == rows
    assert _no_restore_left()


def test_a_second_process_that_dies_stops_the_restore(
    sqlite_session: Any, merged: list[dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_data()
    rows = db_snapshot()
    source = create_backup().path
    monkeypatch.setattr(parallel, "COMMAND", [sys.executable, "-c", "import sys; sys.exit(3)"])
    with pytest.raises(RuntimeError, match="exit code 3"):
        prepare_restore(source)
    assert db_snapshot() == rows
    assert _no_restore_left()
