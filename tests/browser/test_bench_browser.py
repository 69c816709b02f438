"""`make bench`'s Chromium rows run end to end: cold start to the login page, the largest
list page against the empty instance, peak RSS."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run as bench
from kms.benchdata import SCALES
from tests.browser_support import need_chromium
from tests.test_bench import TINY


def test_cold_start_and_peak_rss_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One pass: a server started cold shows its login page in Chromium; the list page
    renders on the bench and the empty instance; five logged-in
    sessions visit every page while one of them runs a backup, and the server's peak RSS is
    at least its RSS after start."""
    need_chromium()
    monkeypatch.delenv("KMS_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setattr("kms.benchdata.SCALES", {**SCALES, "small": TINY})
    settings = bench.Settings(runs=1, warmups=0, scale="small")
    instance, empty = bench.prepare(tmp_path, "sqlite", "small")
    archives = bench._archives(instance)
    rows = {row.key: row for row in bench.browser_rows(instance, empty, settings)}
    assert len(bench._archives(instance) - archives) == 1  # the backup during the sessions
    assert set(rows) == {"cold_start.chromium", "list_page.chromium", "server.rss"}
    listed = rows["list_page.chromium"]
    assert listed.value.median > 0 and listed.floor is not None and listed.floor.median > 0
    cold = rows["cold_start.chromium"]
    assert cold.value.median > 0 and cold.floor is not None and cold.floor.median > 0
    rss = rows["server.rss"]
    assert rss.floor is not None and 0 < rss.floor.median <= rss.value.median
