"""Personen: login gate, list, German field errors that keep the input, saving, maintenance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.notices import add_notice
from kms.types import utcnow
from tests import ui_helpers as ui

GOOD = {
    "Vorname": "Paula",
    "Nachname": "Probe",
    "Straße und Hausnummer": "Testweg 4",
    "PLZ": "10115",
    "Ort": "Berlin",
    "E-Mail": "paula.probe@example.org",
    "Telefon": "+49 30 5550123",
}


def contacts_named(last_name: str) -> list[Contact]:
    with session_scope(write=False) as session:
        return list(session.scalars(select(Contact).where(Contact.last_name == last_name)))


def test_deep_link_before_login_shows_only_the_login_form(owner, demo):
    """/personen without login shows the banner and the login form, none of the persons."""
    at = ui.open_page("personen", user=None).run()
    ui.assert_only_login(at, hidden=["Personen", "Mustermann", "example.org", "Musterstadt"])


def test_logged_in_page_lists_persons(owner, demo):
    """Logged in, Personen shows its title, the banner and the demo persons from the database."""
    at = ui.open_page("personen").run()
    ui.assert_page_shown(at, "Personen")
    table = at.dataframe[0].value
    assert "Max Mustermann" in set(table["Name"])
    assert "Zürich" in set(table["Ort"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"Nachname": ""}, "**Nachname:** Bitte geben Sie einen Nachnamen ein."),
        ({"E-Mail": "paula.example.org"}, "**E-Mail:** Die E-Mail-Adresse „paula.example.org“ ist"),
        ({"PLZ": "1011"}, "**PLZ:** Die Postleitzahl „1011“ ist für DE ungültig (fünf Ziffern)"),
    ],
    ids=["empty-last-name", "bad-email", "bad-postcode-de"],
)
def test_bad_input_is_refused_in_german_and_kept(owner, changes, message):
    """A bad field gets a German message naming it; nothing is saved, everything typed stays."""
    typed = GOOD | changes
    at = ui.submit("personen", typed, "Anlegen", tab=1)
    ui.assert_refused(at, "Bitte korrigieren Sie:\n- " + message, typed)
    with session_scope(write=False) as session:
        assert session.scalar(select(func.count(Contact.id))) == 0


def test_good_person_is_saved(db_url, owner):
    """A valid person is saved with every field (on SQLite and PostgreSQL) and opened."""
    at = ui.submit("personen", GOOD, "Anlegen", tab=1)
    assert not at.error, ui.values(at.error)
    [saved] = contacts_named("Probe")
    assert (
        saved.first_name,
        saved.street,
        saved.postcode,
        saved.city,
        saved.email,
        saved.phone,
        saved.country,
    ) == (
        "Paula",
        "Testweg 4",
        "10115",
        "Berlin",
        "paula.probe@example.org",
        "+49 30 5550123",
        "DE",
    )
    # The new person's detail view opens: its id in the URL, its name as the heading.
    assert at.query_params["id"] == str(saved.id)
    assert ui.values(at.main.subheader) == ["Paula Probe"]


def test_edit_saves_changes(owner, demo):
    """A person's detail view shows the stored row in its form; saving changes the row."""
    [before] = [c for c in contacts_named("Mustermann") if c.first_name == "Max"]
    at = ui.open_page("personen")
    at.query_params["id"] = str(before.id)
    at.run()
    prefix = f"edit_{before.id}_v{before.version}"
    city = at.text_input(key=f"{prefix}_city")
    assert city.value == before.city != "Potsdam"
    city.input("Potsdam")
    at.text_input(key=f"{prefix}_postcode").input("14467")
    ui.click(at, "Speichern")
    assert not at.error, ui.values(at.error)
    [saved] = [c for c in contacts_named("Mustermann") if c.first_name == "Max"]
    assert (saved.postcode, saved.city) == ("14467", "Potsdam")
    assert saved.version > before.version


@pytest.mark.parametrize("window_starts", ["before-opening", "while-typing"])
def test_saving_during_maintenance_keeps_the_input(owner, window_starts):
    """In a maintenance window (already running, or starting while the user types) saving is
    refused with the read-only message; nothing is saved and the input stays."""

    def start_window() -> None:
        now = utcnow()
        with session_scope() as session:
            add_notice(
                session,
                text="Update auf Version 2.",
                maintenance=True,
                start=now - timedelta(minutes=5),
                end=now + timedelta(hours=1),
            )

    if window_starts == "before-opening":
        start_window()
    at = ui.open_page("personen").run()
    ui.fill(at, GOOD, within=at.tabs[1])
    if window_starts == "while-typing":
        start_window()
    at = ui.click(at, "Anlegen", within=at.tabs[1])
    ui.assert_page_shown(at, "Personen", banner="Wartung läuft bis")
    ui.assert_refused(at, "KMS ist schreibgeschützt. Ihre Eingaben bleiben im Formular", GOOD)
    assert contacts_named("Probe") == []


def test_unexpected_error_shows_number_not_traceback(owner, monkeypatch):
    """A failing service shows the German message with a Fehlernummer and logs the error."""
    cause = ui.break_function(monkeypatch, "kms.modules.contacts.service.list_contacts")
    at = ui.open_page("personen").run()
    ui.assert_unexpected_error(at, "personen", cause)
