"""app.py and the login gate: first-run setup, login, navigation to every page, logout."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kms import auth
from kms.config import ROOT, get_config
from kms.db import ensure_migrated, session_scope
from kms.models import User
from kms.registry import SECTIONS, page_by_url, pages
from tests import ui_helpers as ui

DEEP_LINKS = [None, *[p.url_path for p in pages()]]
SETUP_FIELDS = [
    "Einrichtungscode",
    "Ihr Name",
    "Benutzername",
    "E-Mail (optional)",
    "Passwort",
    "Passwort wiederholen",
]
SETUP = {
    "Ihr Name": "Erika Mustermann",
    "Benutzername": "erika",
    "Passwort": ui.OWNER_PASSWORD,
    "Passwort wiederholen": ui.OWNER_PASSWORD,
}


def user_count() -> int:
    with session_scope(write=False) as session:
        return session.scalar(select(func.count(User.id))) or 0


@pytest.fixture
def fresh() -> None:
    """A migrated database without any login."""
    ensure_migrated()


@pytest.mark.parametrize("url_path", DEEP_LINKS)
def test_without_any_user_every_url_shows_the_setup_form(fresh, url_path):
    """Before the owner exists every URL shows only the banner and the setup form."""
    at = ui.open_page(url_path, user=None).run()
    assert not at.exception
    assert ui.values(at.subheader) == ["Willkommen bei KMS – Ersteinrichtung"]
    assert [w.label for w in at.text_input] == SETUP_FIELDS
    assert not at.title
    assert len(at.sidebar) == 0
    assert ui.BANNER_NONE in ui.banner_text(at)


def test_wrong_setup_code_creates_nothing(fresh):
    """A wrong Einrichtungscode is refused in German; no login is created, the input stays,
    and the console's code still works."""
    token = auth.setup_token()  # `kms serve` prints it at start
    at = ui.open_app(user=None)
    ui.fill(at, SETUP | {"Einrichtungscode": "geraten"})
    ui.click(at, "Inhaber-Zugang anlegen")
    [error] = ui.values(at.error)
    assert error.startswith("Der Einrichtungscode stimmt nicht.")
    assert ui.input_values(at)["Benutzername"] == "erika"
    assert user_count() == 0
    assert auth.check_setup_token(token)


@pytest.mark.parametrize("url_path", [None, "personen"], ids=["app", "bookmark"])
def test_right_setup_code_creates_the_owner_and_opens_the_tutorial(fresh, url_path):
    """The console's code creates the owner, spends the code and opens the Ersteinrichtung."""
    at = ui.open_app(user=None) if url_path is None else ui.open_page(url_path, user=None).run()
    ui.fill(at, SETUP | {"Einrichtungscode": auth.setup_token()})
    ui.click(at, "Inhaber-Zugang anlegen")
    ui.assert_page_shown(at, "Tutorial Ersteinrichtung")
    with session_scope(write=False) as session:
        user = auth.get_user(session, "erika")
        assert (user.is_owner, user.display_name) == (True, "Erika Mustermann")
    assert not (get_config().secrets_dir / "setup_token").exists()
    # Creating the owner is a login: the tutorial offers the ticket for the session cookie,
    # so the first reload keeps the new owner logged in.
    [image] = _ticket_images(at)
    assert image.startswith('<img src="/api/session/')


def test_before_login_app_shows_only_the_login_form(owner, demo):
    """With logins present, app.py shows the banner and the login form and nothing else."""
    at = ui.open_page(None, user=None).run()
    ui.assert_only_login(at, hidden=["Übersicht", "Mustermann", "Musterfirma"])


def test_wrong_password_is_refused_in_german(owner):
    """A wrong password gets the German message; the user stays logged out."""
    at = ui.open_app(user=None)
    ui.fill(at, {"Benutzername": ui.OWNER, "Passwort": "falsches-Passwort"})
    ui.click(at, "Anmelden")
    assert ui.values(at.error) == ["Benutzername oder Passwort ist falsch."]
    assert not at.title
    assert "authentication_status" not in at.session_state


@pytest.mark.parametrize(
    ("url_path", "title"), [(None, "Übersicht"), ("einstellungen", "Einstellungen")]
)
def test_first_login_click_opens_the_requested_page(owner, demo, url_path, title):
    """One ui.click on Anmelden with the right password logs in and shows the requested page."""
    at = ui.open_app(user=None) if url_path is None else ui.open_page(url_path, user=None).run()
    ui.fill(at, {"Benutzername": ui.OWNER, "Passwort": ui.OWNER_PASSWORD})
    ui.click(at, "Anmelden")
    ui.assert_page_shown(at, title)


def _main_layout(at) -> list[tuple[str, str]]:
    return [(type(e).__name__, str(getattr(e, "type", ""))) for e in at.main.children.values()]


def _ticket_images(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.proto.body for e in at.main.children.values() if type(e).__name__ == "Html"]


def test_login_form_draws_no_component_that_could_rerun_the_page(owner):
    """Before login no custom component (no cookie reader) is drawn: nothing reruns the
    page behind the user's back, so the form keeps what was typed."""
    at = ui.open_page("einstellungen", user=None).run()
    first = _main_layout(at)
    assert ("UnknownElement", "component_instance") not in first
    at.run()
    assert _main_layout(at) == first
    assert [w.label for w in at.text_input] == ["Benutzername", "Passwort"]


@pytest.mark.parametrize("url_path", ["einstellungen", "dokumente", "rechnungen"])
def test_login_offers_its_cookie_ticket_last_and_only_until_redeemed(owner, url_path):
    """After login the page ends with one invisible image that fetches the session cookie;
    once the server redeemed the ticket it is gone, and everything above keeps its place."""
    at = ui.open_page(url_path, user=None).run()
    ui.fill(at, {"Benutzername": ui.OWNER, "Passwort": ui.OWNER_PASSWORD})
    ui.click(at, "Anmelden")
    first = _main_layout(at)
    [image] = _ticket_images(at)
    match = re.fullmatch(r'<img src="/api/session/([\w-]+)" alt="" width="1" height="1">', image)
    assert match, image
    assert first[-1][0] == "Html"
    at.run()  # not redeemed yet: the same image again, nothing moved
    assert _main_layout(at) == first and _ticket_images(at) == [image]
    with session_scope() as session:
        assert auth.redeem_ticket(session, match.group(1), "unbekannt") is not None
    at.run()
    second = _main_layout(at)
    assert _ticket_images(at) == []
    assert first[: len(second)] == second == first[:-1]


def test_default_page_is_the_setup_until_it_is_done(owner):
    """Logged in before the Ersteinrichtung is finished, app.py opens the tutorial."""
    at = ui.open_page(None).run()
    ui.assert_page_shown(at, "Tutorial Ersteinrichtung")


@pytest.mark.parametrize(
    ("logged_in", "onboarded", "root"),
    [(False, False, "start"), (True, True, "start"), (True, False, "ersteinrichtung")],
)
def test_every_page_answers_to_its_own_path_and_the_root_url_to_the_chosen_page(
    owner, logged_in, onboarded, root
):
    """A reload or bookmark of a page's URL asks Streamlit for the page by its path, and only
    an entry with exactly that path answers; Streamlit serves its default entry at "/" with
    the path "". Had a registry page been the default, /start would have been no page's path,
    and Streamlit's English "Page not found" dialog made the login form inert whenever that
    message reached the browser before app.py's own rerun (a busy server). So every page
    keeps its path, and one extra entry serves "/" with the page app.py chose."""
    from kms import onboarding

    if onboarded:
        with session_scope() as session:
            onboarding.mark_done(session)
    at = ui.open_page(None, user=ui.OWNER if logged_in else None).run()
    registered = list(at._registered_pages.values())  # what st.navigation told the server
    paths = [info["url_pathname"] for info in registered]
    assert sorted(paths) == sorted(["", *[page.url_path for page in pages()]])
    [home] = [info for info in registered if info["url_pathname"] == ""]
    assert Path(home["script_path"]) == ROOT / page_by_url(root).script
    # Links to a script resolve to its first entry: the page's own path, not the empty href.
    assert paths[-1] == ""


def test_every_page_opens_through_the_navigation(owner, demo):
    """After login app.py's navigation opens every registered page, each with its title."""
    at = ui.open_page(None).run()
    ui.assert_page_shown(at, "Übersicht")
    links = [link.value for link in at.sidebar.get("page_link")]
    # The sidebar groups pages by section, in the manual's order of sections.
    assert links == [p.title for section in SECTIONS for p in pages() if p.section == section]
    for page in pages():
        at.switch_page(page.script).run()
        ui.assert_page_shown(at, page.title)


def test_revoked_session_must_log_in_again(owner):
    """A session started before "Alle abmelden" ends with a German notice and the login form."""
    at = ui.open_page("start")
    at.session_state["kms_login_at"] = time.time() - 3600
    with session_scope() as session:
        auth.revoke_sessions(session, ui.OWNER)
    at.run()
    assert ui.values(at.warning) == ["Ihre Sitzung wurde beendet. Bitte melden Sie sich erneut an."]
    assert not at.title
    assert [w.label for w in at.text_input] == ["Benutzername", "Passwort"]


@pytest.mark.parametrize(
    ("idle", "age"), [(31 * 60, 3600), (60, 12 * 3600 + 60)], ids=["idle", "too-old"]
)
def test_idle_or_too_old_session_must_log_in_again(owner, idle, age):
    """30 minutes without a click, or 12 hours after login however busy: the next click
    ends the session with the German notice and shows the login form."""
    at = ui.open_page("start")
    at.session_state["kms_login_at"] = time.time() - age
    at.session_state["kms_seen_at"] = time.time() - idle
    at.run()
    assert ui.values(at.warning) == ["Ihre Sitzung wurde beendet. Bitte melden Sie sich erneut an."]
    assert not at.title
    assert [w.label for w in at.text_input] == ["Benutzername", "Passwort"]


def test_logout_returns_to_the_login_form(owner):
    """Abmelden ends the session here: the next run shows only the login form."""
    at = ui.open_page("start").run()
    ui.click(at, "Abmelden", within=at.sidebar)
    assert not at.title
    assert [w.label for w in at.text_input] == ["Benutzername", "Passwort"]
    assert len(at.sidebar) == 0


def test_banner_keeps_business_data_behind_the_login(owner, demo):
    """After ⊕ Überfällige Rechnungen ran, the login page and every deep link show the operator's
    notice and the maintenance sentence but no invoice number; after login the warning shows."""
    from kms.functions import run_automatism
    from kms.notices import USERS, add_notice, banner
    from kms.registry import automatisms

    [overdue] = [a for a in automatisms() if a.key == "invoices_overdue"]
    assert run_automatism(overdue, force=True)
    with session_scope() as session:
        add_notice(session, text="Heute Abend neue Version")
        [(_, warning)] = [
            (level, text)
            for level, text in banner(session, audience=USERS).system_warnings
            if "überfällig" in text
        ]
    numbers = re.findall(r"RE-\d{4}-\d{4}", warning)
    assert numbers, warning  # the demo has overdue invoices, so the check below can fail
    for url_path in DEEP_LINKS:
        at = ui.open_page(url_path, user=None).run()
        shown = ui.everything(at)
        assert "Heute Abend neue Version" in ui.banner_text(at), url_path
        assert "überfällig" not in shown, url_path
        for number in numbers:
            assert number not in shown, (url_path, number)
    at = ui.open_page("start").run()
    assert warning in ui.banner_text(at)
