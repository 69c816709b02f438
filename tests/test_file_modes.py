"""Everything under data/ is readable by its owner only (0700 / 0600), whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from kms.config import ROOT


def _modes(data: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(data.stat().st_mode)}
    for path in data.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(data))] = stat.S_IMODE(path.stat().st_mode)
    return found


def _loose(modes: dict[str, int], data: Path) -> dict[str, str]:
    return {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }


def _run(data: Path, script: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KMS_DATA_DIR": str(data),
        "KMS_DATABASE_URL": f"sqlite:///{data / 'kms.sqlite3'}",
        "KMS_SCHEDULER": "0",
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


CREATE_ALL = """
    import os
    os.umask(0o022)  # a typical loose umask of a shell or service manager
    from kms.cli import main
    assert main(["db", "upgrade"]) == 0
    from kms.db import session_scope
    from kms.modules.documents import service
    from kms.permissions import SYSTEM, acting_as
    with acting_as(SYSTEM), session_scope() as session:  # a script acts as the system
        service.upload(session, content=b"%PDF-1.4 Hallo", filename="a.pdf")
    assert main(["backup", "create"]) == 0
    from kms import auth
    auth.setup_token()
"""


def test_a_new_instance_is_private_even_with_a_loose_umask(tmp_path: Path) -> None:
    """Database, documents, backups and secrets are created 0600 in 0700 directories."""
    data = tmp_path / "data"
    done = _run(data, CREATE_ALL)
    assert done.returncode == 0, done.stderr[-3000:]
    modes = _modes(data)
    assert "kms.sqlite3" in modes
    assert any(name.startswith("backups/") and name.endswith(".tar") for name in modes)
    assert any(name.startswith("files/documents/") and name.endswith(".pdf") for name in modes)
    assert _loose(modes, data) == {}


def test_an_existing_world_readable_instance_is_fixed_at_start_and_logged_once(
    tmp_path: Path,
) -> None:
    """Files left 0644 in 0755 directories become 0600/0700 at the next start; the fix is
    logged by that start only."""
    data = tmp_path / "data"
    assert _run(data, CREATE_ALL).returncode == 0
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert _loose(_modes(data), data)
    first = _run(data, "from kms.cli import main; main(['db', 'upgrade'])")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("access restricted to the owner") == 1
    assert _loose(_modes(data), data) == {}
    second = _run(data, "from kms.cli import main; main(['db', 'upgrade'])")
    assert "access restricted" not in second.stderr
