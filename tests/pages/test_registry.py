"""The page registry matches the files: every script exists and every page file is registered."""

from __future__ import annotations

from kms.config import ROOT
from kms.registry import check, pages


def test_registry_check_passes():
    """kms.registry.check() finds no problem (sections, keys, scripts)."""
    assert check() == []


def test_every_registered_script_exists_and_url_paths_are_unique():
    """Each PageSpec points at an existing page script, under a URL path of its own."""
    specs = pages()
    assert all((ROOT / p.script).is_file() for p in specs)
    assert len({p.url_path for p in specs}) == len(specs)


def test_every_page_file_is_registered():
    """No script in pages/ is left out of the registry (it would be unreachable)."""
    files = {f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py")}
    assert files == {p.script for p in pages()}


def test_every_page_runs_through_run_page_with_its_own_url_path():
    """Each page script hands its registered url_path to run_page (the login gate)."""
    for page in pages():
        source = (ROOT / page.script).read_text()
        assert f'run_page("{page.url_path}", render)' in source, page.script


def test_a_module_with_contact_foreign_keys_must_declare_references_and_export():
    """check() refuses a module whose tables refer to contacts without both contact hooks."""
    from dataclasses import replace

    from kms.registry import contact_hook_problems, modules

    letters = next(spec for spec in modules() if spec.key == "letters")
    assert contact_hook_problems((letters,)) == []
    problems = contact_hook_problems((replace(letters, contact_references=None),))
    assert problems == [
        "module 'letters': tables letters refer to contacts but the spec lacks contact_references"
    ]
    problems = contact_hook_problems(
        (replace(letters, contact_references=None, contact_export=None),)
    )
    assert "contact_references and contact_export" in problems[0]


def test_no_page_may_take_the_root_entrys_path(monkeypatch):
    """app.py serves "/" through an extra navigation entry under ROOT_PATH; a page registered
    under that path would collide with it, and check() says so."""
    from dataclasses import replace

    from kms import registry

    start = registry.page_by_url("start")
    assert start is not None
    clash = replace(start, url_path=registry.ROOT_PATH)
    monkeypatch.setattr(registry, "pages", lambda: [clash])
    assert f"{start.script}: url_path 'app' is the root entry's" in registry.check(imports=False)
