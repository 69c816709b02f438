"""docs/security.md stays true: every test it names as proof exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
# `tests/x.py::test_name`, `x.py::test_name` (relative to tests/), or `::test_name` after a
# file named earlier in the same cell.
REFERENCE = re.compile(r"`(?:tests/)?([\w/]+\.py)?::(test_\w+)`")
FILE = re.compile(r"`(?:tests/)?([\w/]+\.py)")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_every_named_proof_exists() -> None:
    """Each `file::test` in a proof cell is a test function in that file under tests/."""
    missing = []
    for line in (ROOT / "docs" / "security.md").read_text(encoding="utf-8").splitlines():
        for cell in line.split("|"):
            current = None
            for match in re.finditer(r"`[^`]+`", cell):
                token = match.group(0)
                ref = REFERENCE.fullmatch(token)
                named = FILE.match(token)
                if ref:
                    current = ref.group(1) or current
                    if current is None:
                        continue
                    path = ROOT / "tests" / current
                    if not path.is_file() or ref.group(2) not in _tests_in(path):
                        missing.append(f"{current}::{ref.group(2)}")
                elif named and named.group(1).endswith(".py") and "/" in named.group(1) + "/":
                    current = named.group(1)
    assert missing == []
