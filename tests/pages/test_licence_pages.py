"""A locked add-on's page: stays reachable, shows the licence state and the instance id."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from kms import licensing, registry
from kms.db import session_scope
from tests import ui_helpers as ui


@pytest.fixture
def hilfe_is_an_add_on(monkeypatch: pytest.MonkeyPatch) -> str:
    """The module of the Hilfe page is registered as a licensed add-on; returns its key."""
    original = registry.modules()
    owner = next(s for s in original if any(p.url_path == "hilfe" for p in s.pages))
    patched = tuple(replace(s, licensed=True) if s is owner else s for s in original)
    monkeypatch.setattr(registry, "modules", lambda: patched)
    monkeypatch.delenv(licensing.DEMO_ENV, raising=False)
    return owner.key


def test_a_locked_add_on_page_explains_the_licence(owner: str, hilfe_is_an_add_on: str) -> None:
    at = ui.open_page("hilfe").run()
    ui.assert_page_shown(at, "Hilfe")
    assert not at.table  # the page's content does not run
    warnings = [w.value for w in at.warning]
    assert any("ist nicht lizenziert" in w for w in warnings), warnings
    with session_scope(write=False) as session:
        instance = licensing.stored_instance_id(session)
    assert instance is not None
    assert [c.value for c in at.code] == [instance]
    from kms.ui.licence import LOCK_ICON, locked_pages

    assert "hilfe" in locked_pages()
    # it stays in the navigation, with a lock instead of its icon
    icons = {link.proto.label: link.proto.icon for link in at.sidebar.get("page_link")}
    assert icons["Hilfe"] == LOCK_ICON
    assert icons["Einstellungen"] == ":material/settings:"


def test_with_a_licence_the_page_runs(
    owner: str, hilfe_is_an_add_on: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    with session_scope() as session:
        token = licensing.issue(
            private,
            module=hilfe_is_an_add_on,
            licensee="Musterfirma",
            instance=licensing.instance_id(session),
            valid_from=date(2020, 1, 1),
            valid_until=date(2099, 12, 31),
        )
        licensing.install(session, token)
    at = ui.open_page("hilfe").run()
    ui.assert_page_shown(at, "Hilfe")
    assert at.table  # functions and automatisms
    assert not at.code
    icons = {link.proto.label: link.proto.icon for link in at.sidebar.get("page_link")}
    assert icons["Hilfe"] != ":material/lock:"
    from kms import registry
    from kms.ui.licence import locked_pages

    # Only the pages of the other, unlicensed add-ons stay locked.
    others = {
        page.url_path
        for spec in registry.modules()
        if spec.licensed and spec.key != hilfe_is_an_add_on
        for page in spec.pages
    }
    assert "hilfe" not in locked_pages()
    assert locked_pages() == others


def test_einstellungen_shows_the_instance_id_and_installs_a_licence(
    owner: str, hilfe_is_an_add_on: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tab Lizenzen: instance id, each add-on's state; a bad key gets a German error."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    at = ui.open_page("einstellungen").run()
    tab = at.tabs[4]
    with session_scope(write=False) as session:
        instance = licensing.stored_instance_id(session)
    assert [c.value for c in tab.code] == [instance]
    assert list(tab.dataframe[0].value["Status"]) == ["nicht lizenziert"] * len(
        licensing.licensed_modules()
    )
    tab.text_area(key="licence_token").input("kein.schluessel").run()
    ui.click(at, "Lizenz installieren", within=at.tabs[4])
    assert any("kein gültiger" in e.value for e in at.error)
    token = licensing.issue(
        private,
        module=hilfe_is_an_add_on,
        licensee="Musterfirma",
        instance=str(instance),
        valid_from=date(2020, 1, 1),
        valid_until=date(2099, 12, 31),
    )
    at.tabs[4].text_area(key="licence_token").input(token).run()
    ui.click(at, "Lizenz installieren", within=at.tabs[4])
    assert any("gültig bis 31.12.2099" in s.value for s in at.success)
    with session_scope(write=False) as session:
        assert licensing.state(session, hilfe_is_an_add_on).usable
