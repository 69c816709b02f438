"""Ersteinrichtung: login gate, progress, the owner's own Person, finishing the setup."""

from __future__ import annotations

from sqlalchemy import select

from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.onboarding import onboarding_done
from tests import ui_helpers as ui

TITLE = "Tutorial Ersteinrichtung"


def owner_persons() -> list[Contact]:
    with session_scope(write=False) as session:
        return list(session.scalars(select(Contact).where(Contact.is_owner.is_(True))))


def test_deep_link_before_login_shows_only_the_login_form(owner):
    """/ersteinrichtung without login shows no setup steps, only banner and login form."""
    at = ui.open_page("ersteinrichtung", user=None).run()
    ui.assert_only_login(at, hidden=[TITLE, "Schritten", "Person anlegen"])


def test_logged_in_page_shows_progress(owner):
    """Logged in with only the owner login: one of four steps done, the Besteuerung and the
    Person form shown."""
    at = ui.open_page("ersteinrichtung").run()
    ui.assert_page_shown(at, TITLE)
    assert at.get("progress")[0].proto.text == "1 von 4 Schritten erledigt"
    assert "Person anlegen" in [b.label for b in at.button]
    assert "Besteuerung speichern" in [b.label for b in at.button]


def test_own_person_without_last_name_is_refused_and_kept(owner):
    """The own Person needs a Nachname; the German message names it and the input stays."""
    typed = {"Vorname": "Erika", "E-Mail": "erika@example.org"}
    at = ui.submit("ersteinrichtung", typed, "Person anlegen")
    ui.assert_refused(at, "**Nachname:** Bitte geben Sie einen Nachnamen ein.", typed)
    assert owner_persons() == []


def test_own_person_is_saved_as_owner(db_url, owner):
    """Step 4 saves the owner's Person (SQLite and PostgreSQL); the progress moves on."""
    typed = {"Vorname": "Erika", "Nachname": "Mustermann", "E-Mail": "erika@example.org"}
    at = ui.submit("ersteinrichtung", typed, "Person anlegen")
    assert not at.error, ui.values(at.error)
    [person] = owner_persons()
    assert (person.full_name, person.email) == ("Erika Mustermann", "erika@example.org")
    assert at.get("progress")[0].proto.text == "2 von 4 Schritten erledigt"
    assert "Person anlegen" not in [b.label for b in at.button]


def test_later_marks_setup_done_and_goes_to_start(owner):
    """Später fortsetzen ends the first-run setup and switches to the start page."""
    at = ui.open_page("ersteinrichtung").run()
    ui.click(at, "Später fortsetzen")
    assert onboarding_done()
    ui.assert_page_shown(at, "Übersicht")


def test_unexpected_error_shows_number_not_traceback(owner, monkeypatch):
    """A failing service shows the German message with a Fehlernummer and logs the error."""
    cause = ui.break_function(monkeypatch, "kms.onboarding.steps")
    at = ui.open_page("ersteinrichtung").run()
    ui.assert_unexpected_error(at, "ersteinrichtung", cause)


def test_setup_form_refuses_a_bad_owner_email_and_keeps_the_input():
    """Inhaber-Zugang with "erika@" as e-mail: German message, no login, the input stays."""
    from kms import auth
    from kms.db import ensure_migrated
    from kms.models import User

    ensure_migrated()
    at = ui.open_app(user=None)
    ui.fill(
        at,
        {
            "Einrichtungscode": auth.setup_token(),
            "Ihr Name": "Erika Mustermann",
            "Benutzername": "erika",
            "E-Mail (optional)": "erika@",
            "Passwort": ui.OWNER_PASSWORD,
            "Passwort wiederholen": ui.OWNER_PASSWORD,
        },
    )
    ui.click(at, "Inhaber-Zugang anlegen")
    assert any("E-Mail-Adresse „erika@“ ist ungültig" in e for e in ui.values(at.error))
    assert ui.input_values(at)["E-Mail (optional)"] == "erika@"
    with session_scope(write=False) as session:
        assert session.scalar(select(User.id)) is None


def test_besteuerung_is_a_step_of_the_setup(owner):
    """Step 3 sets the Besteuerung (Kleinunternehmer from a date) right on the tutorial page;
    then the progress moves on and the first invoice draft offers § 19 as its tax option."""
    from datetime import date

    from kms.modules.invoices.service import allowed_tax_options
    from kms.modules.settings.taxation import regimes

    at = ui.open_page("ersteinrichtung").run()
    form = at.get("form")
    [regime] = [f for f in form if f.proto.form.form_id == "onboarding_regime"]
    regime.radio[0].set_value("klein")
    regime.date_input[0].set_value(date(2026, 1, 1))
    ui.click(at, "Besteuerung speichern", within=regime)
    assert not at.exception and not at.error, ui.values(at.error)
    assert at.get("progress")[0].proto.text == "2 von 4 Schritten erledigt"
    assert "Besteuerung speichern" not in [b.label for b in at.button]
    with session_scope(write=False) as session:
        [row] = regimes(session)
        assert (row.kind, row.valid_from) == ("klein", date(2026, 1, 1))
        assert "E" in allowed_tax_options(session, date(2026, 3, 1))  # § 19 UStG
