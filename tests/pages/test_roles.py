"""Roles in the UI: navigation per role, deep links to forbidden pages, the Benutzer page,
Mein Zugang, and deactivated logins."""

from __future__ import annotations

import time

import pytest

from kms import auth
from kms.db import session_scope
from kms.permissions import Role
from tests import ui_helpers as ui

STAFF, ADVISER = "max", "stefan"
PASSWORD = "Anderes-Passwort-2026"
NO_PERMISSION = "Keine Berechtigung: Ihre Rolle darf die Seite"

NAVIGATION = {
    STAFF: [
        "Übersicht",
        "Personen",
        "Organisationen",
        "Dokumente",
        "Rechnungen",
        "Leistungen & Artikel",
        "Lastschriften",
        "Wiederkehrende Rechnungen",
        "Angebote an Kunden",
        "Schreiben",
        "Einnahmen/Ausgaben",
        "Konten",
        "Kontoauszüge",
        "Rechnungseingang",
        "Berichte",
        # Zusatzmodule: a locked add-on stays in the navigation (its page explains the licence).
        "Gemeinkosten",
        "Kalkulationsgrundlagen",
        "Angebote",
        "Kapazität",
        "Nachkalkulation",
        "Podcast-Kanäle",
        "Podcast-Episoden",
        "Anbieterplattformen",
        "Podcast-Statistik",
        "Fehlermeldungen",
        "Mein Zugang",
        "Hilfe",
    ],
    ADVISER: [
        "Übersicht",
        "Dokumente",
        "Rechnungen",
        "Leistungen & Artikel",
        "Lastschriften",
        "Wiederkehrende Rechnungen",
        "Angebote an Kunden",
        "Einnahmen/Ausgaben",
        "Konten",
        "Kontoauszüge",
        "Rechnungseingang",
        "Berichte",
        "Gemeinkosten",
        "Kalkulationsgrundlagen",
        "Angebote",
        "Kapazität",
        "Nachkalkulation",
        "Mein Zugang",
        "Hilfe",
    ],
}


@pytest.fixture
def team(owner: str) -> None:
    """The owner erika, the employee max and the tax adviser stefan."""
    with session_scope() as session:
        auth.create_user(session, username=STAFF, password=PASSWORD, role=Role.STAFF)
        auth.create_user(session, username=ADVISER, password=PASSWORD, role=Role.ADVISER)


def links(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [link.value for link in at.sidebar.get("page_link")]


def functions(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for b in at.sidebar.button if b.label.startswith("▶")]


@pytest.mark.parametrize("username", [STAFF, ADVISER])
def test_navigation_lists_only_the_pages_the_role_may_open(team, demo, username):
    """Mitarbeiter and Steuerberater see no Einstellungen, Benutzer or Tutorial; the tax
    adviser sees neither contacts, letters nor bug reports."""
    at = ui.open_page("start", user=username).run()
    ui.assert_page_shown(at, "Übersicht")
    assert links(at) == NAVIGATION[username]


def test_the_owner_sees_every_page_including_benutzer(team, demo):
    """The Inhaber's navigation has every page, Benutzer among them."""
    at = ui.open_page("start").run()
    assert "Benutzer" in links(at) and "Einstellungen" in links(at)
    assert len(links(at)) == len(NAVIGATION[STAFF]) + 3


def test_functions_in_the_sidebar_follow_the_role(team, demo):
    """Dokumente: the employee gets no ▶ Backup functions; Rechnungen: the tax adviser no ▶
    function at all, the employee all of them."""
    at = ui.open_page("dokumente", user=STAFF).run()
    ui.assert_page_shown(at, "Dokumente")
    assert functions(at) == []
    owner = ui.open_page("dokumente").run()
    assert "▶ Backup erzeugen" in functions(owner)
    adviser = ui.open_page("rechnungen", user=ADVISER).run()
    ui.assert_page_shown(adviser, "Rechnungen")
    assert functions(adviser) == []
    staff = ui.open_page("rechnungen", user=STAFF).run()
    assert "▶ Rechnung abschließen" in functions(staff)


@pytest.mark.parametrize(
    ("username", "url_path"),
    [
        (STAFF, "einstellungen"),
        (STAFF, "benutzer"),
        (STAFF, "ersteinrichtung"),
        (ADVISER, "personen"),
        (ADVISER, "schreiben"),
        (ADVISER, "fehlermeldungen"),
        (ADVISER, "benutzer"),
    ],
)
def test_a_deep_link_to_a_forbidden_page_says_keine_berechtigung(team, username, url_path):
    """A bookmark to a page the role may not open shows a German refusal and no content."""
    at = ui.open_page(url_path, user=username).run()
    assert not at.exception
    [error] = ui.values(at.error)
    assert error.startswith(NO_PERMISSION)
    assert not at.main.text_input and not at.main.button and not at.dataframe
    assert "Abmelden" in [b.label for b in at.sidebar.button]


# --- Benutzer -----------------------------------------------------------------------------


def _user(username: str):  # type: ignore[no-untyped-def]
    with session_scope(write=False) as session:
        user = auth.get_user(session, username)
        session.expunge(user)
        return user


def test_benutzer_lists_users_and_creates_one_with_a_role(team):
    """The owner creates a Steuerberater login; the list shows role and status."""
    at = ui.open_page("benutzer").run()
    ui.assert_page_shown(at, "Benutzer")
    table = at.dataframe[0].value
    assert list(table["Benutzername"]) == ["erika", "max", "stefan"]
    assert list(table["Rolle"]) == ["Inhaber", "Mitarbeiter", "Steuerberater"]
    ui.fill(
        at,
        {
            "Name": "Sabine Beispiel",
            "Benutzername": "sabine",
            "E-Mail": "sabine@example.org",
            "Erstes Passwort": PASSWORD,
            "Erstes Passwort wiederholen": PASSWORD,
        },
    )
    at.selectbox(key="users_new_role").set_value("steuerberater")
    ui.click(at, "Benutzer anlegen")
    assert any("Benutzer „sabine“ angelegt (Steuerberater)" in s for s in ui.values(at.success))
    user = _user("sabine")
    assert (user.role, user.active, user.email) == ("steuerberater", True, "sabine@example.org")
    assert auth.verify_password(PASSWORD, user.password_hash)


def test_benutzer_refuses_a_bad_email_and_keeps_the_input(team):
    """An invalid e-mail address is named in German; nobody is created, the input stays."""
    at = ui.open_page("benutzer").run()
    typed = {
        "Benutzername": "sabine",
        "E-Mail": "sabine@",
        "Erstes Passwort": PASSWORD,
        "Erstes Passwort wiederholen": PASSWORD,
    }
    ui.fill(at, typed)
    ui.click(at, "Benutzer anlegen")
    assert at.error and "E-Mail" in " ".join(ui.values(at.error))
    assert ui.input_values(at)["Benutzername"] == "sabine"
    with session_scope(write=False) as session, pytest.raises(Exception, match="gibt es nicht"):
        auth.get_user(session, "sabine")


def _edit(at, username: str):  # type: ignore[no-untyped-def]
    at.selectbox(key="users_pick").set_value(username)
    return at.run()


def test_benutzer_changes_a_role_and_the_new_role_applies_at_once(team):
    """Max becomes Steuerberater; his next page already lacks Personen."""
    at = _edit(ui.open_page("benutzer").run(), STAFF)
    at.selectbox(key=f"users_role_pick_{STAFF}").set_value("steuerberater")
    ui.click(at, "Rolle speichern")
    assert _user(STAFF).role == "steuerberater"
    max_page = ui.open_page("start", user=STAFF).run()
    assert links(max_page) == NAVIGATION[ADVISER]


def test_benutzer_resets_a_password_only_after_confirmation(team):
    """Without the tick nothing changes; with it the password is replaced and max's sessions
    end."""
    at = _edit(ui.open_page("benutzer").run(), STAFF)
    new = "Zurueckgesetzt-2026"
    tab = at.tabs[1]
    ui.fill(at, {"Neues Passwort": new, "Neues Passwort wiederholen": new}, within=tab)
    ui.click(at, "Passwort zurücksetzen", within=tab)
    assert "Bitte bestätigen Sie das Zurücksetzen mit dem Häkchen." in ui.values(at.warning)
    assert auth.verify_password(PASSWORD, _user(STAFF).password_hash)
    at.checkbox(key=f"users_pw_confirm_{STAFF}").check()
    ui.click(at, "Passwort zurücksetzen", within=at.tabs[1])
    user = _user(STAFF)
    assert auth.verify_password(new, user.password_hash)
    assert user.sessions_valid_after.timestamp() > time.time() - 60


def test_benutzer_deactivates_after_confirmation_and_the_session_ends(team):
    """Deactivating max needs the tick; afterwards his open session ends at the next click and
    the login form refuses him."""
    max_session = ui.open_page("start", user=STAFF).run()
    ui.assert_page_shown(max_session, "Übersicht")
    at = _edit(ui.open_page("benutzer").run(), STAFF)
    ui.click(at, "Deaktivieren", within=at.tabs[2])
    assert _user(STAFF).active
    at.checkbox(key=f"users_off_confirm_{STAFF}").check()
    ui.click(at, "Deaktivieren", within=at.tabs[2])
    assert not _user(STAFF).active
    assert any("ist deaktiviert" in s for s in ui.values(at.success))
    max_session.run()
    assert ui.values(max_session.warning) == [
        "Ihre Sitzung wurde beendet. Bitte melden Sie sich erneut an."
    ]
    assert not max_session.title


def test_a_deactivated_user_cannot_log_in(team):
    """The login form answers a deactivated login like a wrong password."""
    from kms.modules.users import service

    with session_scope() as session:
        service.deactivate(session, STAFF)
    at = ui.open_app(user=None)
    ui.fill(at, {"Benutzername": STAFF, "Passwort": PASSWORD})
    ui.click(at, "Anmelden")
    assert not at.title
    assert ui.values(at.error) == ["Benutzername oder Passwort ist falsch."]


def test_the_owner_cannot_change_or_deactivate_their_own_login(team):
    """Editing oneself offers no role, reset or deactivate; the service refuses as well."""
    at = _edit(ui.open_page("benutzer").run(), ui.OWNER)
    assert any("Das ist Ihr eigener Zugang" in i for i in ui.values(at.info))
    assert not at.tabs
    from kms.modules.users import service
    from kms.permissions import acting_as

    with acting_as(ui.OWNER), session_scope() as session:
        with pytest.raises(Exception, match="eigenen Zugang"):
            service.deactivate(session, ui.OWNER)


def test_the_last_active_owner_keeps_the_role(team):
    """Neither demoting nor deactivating the last active Inhaber is possible; with a second
    Inhaber both work."""
    from kms.errors import KmsError
    from kms.modules.users import service

    for change in (
        lambda s: service.change_role(s, ui.OWNER, "mitarbeiter"),
        lambda s: service.deactivate(s, ui.OWNER),
    ):
        with session_scope() as session, pytest.raises(KmsError, match="letzte aktive Inhaber"):
            change(session)
    assert (_user(ui.OWNER).role, _user(ui.OWNER).active) == ("inhaber", True)
    with session_scope() as session:
        service.change_role(session, STAFF, "inhaber")
    with session_scope() as session:
        service.change_role(session, ui.OWNER, "mitarbeiter")
    assert _user(ui.OWNER).role == "mitarbeiter"


# --- Mein Zugang --------------------------------------------------------------------------


@pytest.mark.parametrize("username", [STAFF, ADVISER])
def test_every_user_changes_their_own_password(team, username):
    """Mein Zugang: a wrong current password is refused; the right one sets the new password,
    and this browser stays logged in."""
    at = ui.open_page("konto", user=username).run()
    ui.assert_page_shown(at, "Mein Zugang")
    new = "Mein-neues-Passwort-2026"
    ui.fill(
        at,
        {
            "Bisheriges Passwort": "falsch-falsch",
            "Neues Passwort": new,
            "Neues Passwort wiederholen": new,
        },
    )
    ui.click(at, "Passwort ändern")
    assert ui.values(at.error) == ["Das bisherige Passwort stimmt nicht."]
    ui.fill(
        at,
        {"Bisheriges Passwort": PASSWORD, "Neues Passwort": new, "Neues Passwort wiederholen": new},
    )
    ui.click(at, "Passwort ändern")
    assert any("Ihr Passwort wurde geändert" in s for s in ui.values(at.success))
    assert auth.verify_password(new, _user(username).password_hash)
    at.run()
    ui.assert_page_shown(at, "Mein Zugang")


def test_own_password_follows_the_strength_rules(team):
    """A short new password is refused with the existing rule's German message."""
    at = ui.open_page("konto", user=STAFF).run()
    ui.fill(
        at,
        {
            "Bisheriges Passwort": PASSWORD,
            "Neues Passwort": "kurz",
            "Neues Passwort wiederholen": "kurz",
        },
    )
    ui.click(at, "Passwort ändern")
    assert any("mindestens 10 Zeichen" in e for e in ui.values(at.error))
    assert auth.verify_password(PASSWORD, _user(STAFF).password_hash)


def test_the_overview_links_only_to_pages_the_role_may_open(team, demo):
    """Übersicht: the tax adviser gets no Kunden or Briefe tiles that would lead to a page
    refusing him; the employee keeps them."""
    adviser = ui.open_page("start", user=ADVISER).run()
    ui.assert_page_shown(adviser, "Übersicht")
    targets = {link.value for link in adviser.main.get("page_link")}
    assert "Zu Rechnungen" in targets
    assert not {"Zu Personen", "Zu Schreiben", "Zur Ersteinrichtung"} & targets
    staff = ui.open_page("start", user=STAFF).run()
    assert {"Zu Personen", "Zu Schreiben"} <= {link.value for link in staff.main.get("page_link")}


def test_read_only_roles_get_no_write_forms(team, demo):
    """The tax adviser's Rechnungen has only the list tab and Dokumente no upload, settings
    or backup section; the employee may draft invoices and upload but not configure."""
    adviser = ui.open_page("rechnungen", user=ADVISER).run()
    assert [t.label for t in adviser.tabs] == ["Rechnungen"]
    staff = ui.open_page("rechnungen", user=STAFF).run()
    assert [t.label for t in staff.tabs] == ["Rechnungen", "Entwurf bearbeiten"]
    docs = ui.open_page("dokumente", user=ADVISER).run()
    ui.assert_page_shown(docs, "Dokumente")
    labels = [e.label for e in docs.expander]
    assert not {"Dokumente hochladen", "Einstellungen für Dokumente"} & set(labels)
    assert "Backup" not in " ".join(ui.values(docs.subheader))
    staff_docs = ui.open_page("dokumente", user=STAFF).run()
    assert "Dokumente hochladen" in [e.label for e in staff_docs.expander]
    assert "Einstellungen für Dokumente" not in [e.label for e in staff_docs.expander]
