"""The one server process: it runs automatisms with no browser open and serves /api/status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import kms
from kms.config import ROOT
from kms.db import session_scope
from kms.models import FunctionRun
from tests.smtp_fixtures import free_port

STARTUP_SECONDS = 60


def _get(url: str) -> tuple[int, str, bytes] | None:
    """Status, content type and body of a GET, or None while nobody listens."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local test URL
            return response.status, response.headers["Content-Type"], response.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@pytest.fixture
def server(db_url: str, kms_env: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`python -m kms serve` with the scheduler on (every second) on this test's database."""
    port = int(os.environ.get("KMS_TEST_SERVER_PORT") or free_port())
    env = os.environ | {
        "KMS_DATA_DIR": str(kms_env),
        "KMS_DATABASE_URL": db_url,
        "KMS_SCHEDULER": "1",
        "KMS_SCHEDULER_INTERVAL": "1",
    }
    log = (kms_env.parent / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kms", "serve", "--port", str(port), "--address", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _automatism_runs(db_url: str) -> dict[str, set[str]]:
    """Finished automatism runs so far: key -> the statuses they ended with."""
    with session_scope(db_url, write=False) as session:
        rows = session.execute(
            select(FunctionRun.key, FunctionRun.status).where(
                FunctionRun.kind == "automatism", FunctionRun.finished_at.is_not(None)
            )
        )
        runs: dict[str, set[str]] = {}
        for key, status in rows:
            runs.setdefault(key, set()).add(status)
        return runs


# Fast foundation automatisms, due at once on a fresh instance. The slower ones (documents
# sweeper, daily backup, …) may still be running or not have started: the test does not wait.
EXPECTED = ("kleinunternehmer_watch", "maintenance_switch")


def test_server_runs_automatisms_without_a_browser(server, db_url: str, kms_env: Path) -> None:
    """With nobody connected, the server's scheduler runs the automatisms within seconds."""
    from kms.registry import automatisms

    assert set(EXPECTED) <= {a.key for a in automatisms()}
    proc, port = server
    deadline = time.monotonic() + STARTUP_SECONDS
    runs: dict[str, set[str]] = {}
    while time.monotonic() < deadline and proc.poll() is None:
        runs = _automatism_runs(db_url)
        if set(EXPECTED) <= set(runs):
            break
        time.sleep(0.5)
    output = (kms_env.parent / "server.log").read_text()
    assert proc.poll() is None, output
    assert {key: runs.get(key) for key in EXPECTED} == {key: {"ok"} for key in EXPECTED}, output
    # Without an owner the console shows the one-time setup code.
    assert "Einrichtungscode" in output

    status = _get(f"http://127.0.0.1:{port}/api/status")
    assert status is not None, output
    code, content_type, body = status
    assert (code, content_type) == (200, "application/json")
    assert json.loads(body) == {"version": kms.__version__, "read_only": False}
