"""docs/modules.md stays true: its example module passes registry.check(), every field is named."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kms.registry import ModuleSpec

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "modules.md"
# A file's path in backticks and a colon, then its code block.
FILE_BLOCK = re.compile(r"^`([\w/.]+\.py)`:\n\n```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

CHECK = """
import sys
from pathlib import Path

scratch = Path(sys.argv[1])
import kms.config
import kms.modules

kms.modules.__path__.append(str(scratch / "kms" / "modules"))
kms.config.ROOT = scratch
from kms import registry

registry.MODULE_PATHS = (*registry.MODULE_PATHS, "kms.modules.notes")
spec = next(s for s in registry.modules() if s.key == "notes")
assert [s.key for s in registry.modules()].index("notes") > [
    s.key for s in registry.modules()
].index("contacts")
print(registry.check() or "OK")
"""


def example_files() -> dict[str, str]:
    return dict(FILE_BLOCK.findall(DOC.read_text()))


def check_in_scratch_copy(scratch: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Write the example's files beside a copy of pages/ and run registry.check() there."""
    shutil.copytree(ROOT / "pages", scratch / "pages")
    for name, code in files.items():
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_text(code)
    return subprocess.run(
        [sys.executable, "-c", CHECK, str(scratch)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_example_module_passes_the_registry_check(tmp_path: Path) -> None:
    """The four files of the worked example make a module that check() accepts as it is."""
    files = example_files()
    assert set(files) == {
        "kms/modules/notes/__init__.py",
        "kms/modules/notes/models.py",
        "kms/modules/notes/service.py",
        "pages/notizen.py",
    }
    result = check_in_scratch_copy(tmp_path, files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "OK"


def test_without_its_contact_hooks_the_example_is_refused(tmp_path: Path) -> None:
    """The check is real: the same module without contact_export fails it."""
    files = example_files()
    init = files["kms/modules/notes/__init__.py"]
    files["kms/modules/notes/__init__.py"] = re.sub(r"\n\s*contact_export=[^\n]*", "", init)
    result = check_in_scratch_copy(tmp_path, files)
    assert "the spec lacks contact_export" in result.stdout


def test_every_module_spec_field_is_explained() -> None:
    """The field table names each ModuleSpec field, so a new field needs its line."""
    table = {
        match.group(1) for match in re.finditer(r"^\| `(\w+)` \|", DOC.read_text(), re.MULTILINE)
    }
    assert table == {field.name for field in dataclasses.fields(ModuleSpec)}
