"""The pure libraries must stay importable without the UI and database stacks."""

import subprocess
import sys
from pathlib import Path


def test_modules_stay_free_of_ui_and_database_imports():
    """kms.validation and kms.mail import neither streamlit nor sqlalchemy."""
    code = (
        "import sys, kms.mail, kms.validation; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('streamlit', 'sqlalchemy')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    assert result.stdout.strip() == "[]"


# The layers, lowest first. A file may import its own layer and the layers below, never above.
CORE = {
    "kms",
    "kms.config",
    "kms.db",
    "kms.errors",
    "kms.formatting",
    "kms.models",
    "kms.secretbox",
    "kms.types",
    "kms.validation",
}
# Platform services: shared by every module, importing no module (named here where the default
# below would not make the layer obvious).
PLATFORM = {"kms.reporting", "kms.reporting_export", "kms.reports"}
# Entry points sit above everything: they wire the layers together (the demo and the
# benchmark instance fill every module's tables).
ENTRY = {"kms.__main__", "kms.benchdata", "kms.cli", "kms.demo", "kms.server"}
# kms.onboarding reads the company profile and the owner's contact: the Ersteinrichtung is
# business data, so it ranks with the modules.
MODULE_LEVEL = {"kms.onboarding"}
LAYERS = ("core", "platform", "modules", "ui", "entry")


def layer_of(module: str) -> str:
    """core → platform services → modules → ui/pages → entry points."""
    if module in CORE:
        return "core"
    if module in PLATFORM:
        return "platform"
    if module in ENTRY or module.startswith("kms.migrations"):
        return "entry"
    if module.startswith("kms.ui") or module.endswith(".ui") or module.endswith(".routes"):
        return "ui"
    if module in MODULE_LEVEL or module.startswith(("kms.modules.", "kms.backups")):
        return "modules"
    return "platform"


def kms_imports(path: Path) -> set[str]:
    """Every kms module a file imports, also inside functions (lazy imports count too)."""
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "kms" or name.startswith("kms.")}


def test_imports_point_down_the_layers_only():
    """The core never imports a module, platform services never a module or the UI, modules
    never the UI (their ui.py is the UI), and nothing imports an entry point."""
    root = Path(__file__).parents[1]
    upward = []
    for path in sorted((root / "kms").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        own = LAYERS.index(layer_of(module))
        for target in kms_imports(path):
            if LAYERS.index(layer_of(target)) > own:
                upward.append(f"{module} ({layer_of(module)}) imports {target}")
    assert upward == []


def test_the_layer_rule_sees_lazy_imports_of_a_higher_layer(tmp_path: Path):
    """The scan finds an import inside a function, as the old kms.db → kms.backups one was."""
    source = tmp_path / "db.py"
    source.write_text("def after_start():\n    from kms.backups.journal import recover\n")
    assert kms_imports(source) == {"kms.backups.journal"}
    assert layer_of("kms.db") == "core" and layer_of("kms.backups.journal") == "modules"


def test_every_today_and_now_comes_from_kms_types():
    """Business dates are German dates: no date.today() or datetime.now() outside kms.types."""
    import re

    root = Path(__file__).parents[1]
    pattern = re.compile(r"\bdate\.today\(\)|\bdatetime\.now\(|\.utcnow\(\)")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted((root / "kms").rglob("*.py"))
        if path.name != "types.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line) and "kms.types" not in line
    ]
    assert offenders == []
