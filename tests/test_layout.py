"""The tests mirror the package: each module's tests live in tests/modules/<key>/."""

from pathlib import Path

from kms.config import ROOT

MODULES = ROOT / "kms" / "modules"
TESTS = ROOT / "tests"
# Modules with only a page and no service code of their own; their page tests are in tests/pages.
PAGE_ONLY = {"start", "help"}


def module_keys() -> list[str]:
    return sorted(p.name for p in MODULES.iterdir() if p.is_dir() and (p / "__init__.py").is_file())


def test_every_module_with_code_has_its_test_folder() -> None:
    missing = [
        key
        for key in module_keys()
        if key not in PAGE_ONLY and not any((TESTS / "modules" / key).glob("test_*.py"))
    ]
    assert missing == []


def test_no_module_tests_outside_tests_modules() -> None:
    stray = [key for key in module_keys() if (TESTS / key).exists()]
    assert stray == []


def test_page_only_modules_really_have_no_service_code() -> None:
    for key in PAGE_ONLY:
        files = {p.name for p in (MODULES / key).glob("*.py")}
        assert files <= {"__init__.py", "ui.py"}, key


def test_the_layout_check_sees_the_real_folders() -> None:
    # A guard against a check that passes because it finds nothing.
    assert {"contacts", "invoices", "letters", "ledger"} <= set(module_keys())
    assert Path(TESTS / "modules" / "invoices" / "conftest.py").is_file()
