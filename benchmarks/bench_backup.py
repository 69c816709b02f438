"""Backup and restore of a large instance, against tar + a raw database dump.

Run with `make bench` (pytest benchmarks --benchmark-only). Size by environment:
KMS_BENCH_CONTACTS (default 50000) and KMS_BENCH_MB of files (default 200). Reports the
time of `create_backup()` and of prepare+apply restore as a ratio to the baseline: a
plain `tar` of the data dir plus a raw dump (sqlite3 backup API, or pg_dump if present).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from kms.config import get_config, reset_config
from kms.db import dispose_engines, ensure_migrated, get_engine

CONTACTS = int(os.environ.get("KMS_BENCH_CONTACTS", "50000"))
MEGABYTES = int(os.environ.get("KMS_BENCH_MB", "200"))


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data dir with many contacts and MEGABYTES of incompressible files."""
    data = tmp_path_factory.mktemp("bench") / "data"
    saved = {k: os.environ.get(k) for k in ("KMS_DATA_DIR", "KMS_DATABASE_URL", "KMS_SCHEDULER")}
    os.environ.update(KMS_DATA_DIR=str(data), KMS_SCHEDULER="0")
    os.environ.pop("KMS_DATABASE_URL", None)
    reset_config()
    dispose_engines()
    ensure_migrated()
    from kms.modules.contacts.models import Contact

    rows = [
        {
            "kind": "person",
            "first_name": "Erika",
            "last_name": f"Mustermann {i}",
            "email": f"erika{i}@example.org",
            "city": "Köln",
            "postcode": "50667",
            "search_key": f"erika mustermann {i}",
        }
        for i in range(CONTACTS)
    ]
    with get_engine().begin() as conn:
        conn.execute(sa.insert(Contact.__table__), rows)
    docs = get_config().files_dir / "dokumente"
    docs.mkdir(parents=True)
    for i in range(MEGABYTES // 2):
        (docs / f"scan-{i:04d}.pdf").write_bytes(os.urandom(2 << 20))
    yield data
    dispose_engines()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_config()


def baseline(data: Path, out: Path) -> float:
    """Seconds for `tar` of the data dir (without backups) plus a raw database dump."""
    started = time.perf_counter()
    url = get_config().database_url
    if url.startswith("sqlite"):
        src = sqlite3.connect(data / "kms.sqlite3")
        dst = sqlite3.connect(out / "raw.sqlite3")
        src.backup(dst)
        src.close()
        dst.close()
    elif shutil.which("pg_dump"):
        subprocess.run(["pg_dump", "-f", str(out / "raw.sql"), url], check=True)  # noqa: S603,S607
    with tarfile.open(out / "plain.tar", "w") as tar:
        tar.add(data, arcname="data", filter=lambda m: None if "/backups" in m.name else m)
    return time.perf_counter() - started


def test_backup_and_restore_against_tar(instance: Path, benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Backup and restore take a small multiple of tar + raw dump (printed, in extra_info)."""
    from kms.backups.service import apply_restore, create_backup, prepare_restore

    base = baseline(instance, tmp_path)
    timings: dict[str, float] = {}

    def backup_and_restore() -> None:
        started = time.perf_counter()
        backup = create_backup()
        timings["backup"] = time.perf_counter() - started
        started = time.perf_counter()
        plan = prepare_restore(backup.path)
        apply_restore(plan, confirmation="WIEDERHERSTELLEN")
        timings["restore"] = time.perf_counter() - started

    benchmark.pedantic(backup_and_restore, rounds=1, iterations=1)
    benchmark.extra_info.update(
        contacts=CONTACTS,
        megabytes=MEGABYTES,
        baseline_s=round(base, 2),
        backup_s=round(timings["backup"], 2),
        restore_s=round(timings["restore"], 2),
        backup_ratio=round(timings["backup"] / base, 2),
        restore_ratio=round(timings["restore"] / base, 2),
    )
    print(  # the benchmark's report
        f"\n{CONTACTS} contacts, {MEGABYTES} MB files: tar + raw dump {base:.1f} s; "
        f"backup {timings['backup']:.1f} s (×{timings['backup'] / base:.1f}); "
        f"restore incl. safety backup {timings['restore']:.1f} s "
        f"(×{timings['restore'] / base:.1f})"
    )
    assert timings["backup"] > 0 and timings["restore"] > 0
