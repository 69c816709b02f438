"""kms.server: what the server process does before the first page is asked for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kms.config import ROOT

# A fresh interpreter: which modules the warm-up imports, and which the first run of the
# login page (app.py, nobody logged in) still has to import after it.
PROBE = """
import json, sys
import kms.server
before = set(sys.modules)
kms.server.warm_first_page()
warmed = sorted(set(sys.modules) - before)
from streamlit.testing.v1 import AppTest
before = set(sys.modules)
app = AppTest.from_file("app.py", default_timeout=60)
app.run()
late = sorted(set(sys.modules) - before)
print(json.dumps({"warmed": warmed, "late": late, "exceptions": len(app.exception)}))
"""


def test_warm_up_imports_what_the_login_page_waited_for_and_nothing_of_kms(
    kms_env: Path,
) -> None:
    """The login page's first run no longer imports numpy or PIL (about a quarter second of
    the cold start), and the warm-up thread imports no KMS module (so it never holds an
    import lock a page's script thread needs)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == 0
    warmed = {name.partition(".")[0] for name in result["warmed"]}
    late = {name.partition(".")[0] for name in result["late"]}
    assert {"numpy", "PIL"} <= warmed
    assert "kms" not in warmed
    assert not {"numpy", "PIL"} & late
