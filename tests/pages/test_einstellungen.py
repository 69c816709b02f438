"""Einstellungen: login gate, Firmendaten with German field errors, saving, mail server."""

from __future__ import annotations

from sqlalchemy import select

from kms.db import session_scope
from kms.models import KeyValue
from kms.modules.settings import service
from kms.modules.settings.demo import COMPANY
from tests import ui_helpers as ui

TEXT_FIELDS = {
    "Firmenname": COMPANY["company_name"],
    "Inhaber/in bzw. Geschäftsführer/in": COMPANY["representative"],
    "Straße und Hausnummer": COMPANY["street"],
    "PLZ": COMPANY["postcode"],
    "Ort": COMPANY["city"],
    "Ansprechperson": COMPANY["contact_name"],
    "Telefon": COMPANY["phone"],
    "E-Mail": COMPANY["email"],
    "Steuernummer": COMPANY["tax_number"],
    "IBAN": COMPANY["iban"],
    "BIC": COMPANY["bic"],
}


def submit_company(changes: dict[str, str], legal_form: str = "Einzelunternehmen"):  # type: ignore[no-untyped-def]
    """Fill the Firmendaten form with valid ui.values plus `changes` and submit it."""
    at = ui.open_page("einstellungen").run()
    at.tabs[0].selectbox[0].set_value(legal_form)
    ui.fill(at, TEXT_FIELDS | changes, within=at.tabs[0])
    return ui.click(at, "Firmendaten speichern", within=at.tabs[0])


def saved_profile():  # type: ignore[no-untyped-def]
    with session_scope(write=False) as session:
        return service.get_profile(session)


def test_deep_link_before_login_shows_only_the_login_form(owner, demo):
    """/einstellungen without login shows no company data, only banner and login form."""
    at = ui.open_page("einstellungen", user=None).run()
    ui.assert_only_login(at, hidden=["Einstellungen", "Musterfirma", "DE02120300000000202051"])


def test_logged_in_page_shows_the_stored_company(owner, demo):
    """Logged in, Einstellungen shows title, banner and the stored Firmendaten in the form."""
    at = ui.open_page("einstellungen").run()
    ui.assert_page_shown(at, "Einstellungen")
    assert [t.label for t in at.tabs] == [
        "Firmendaten",
        "Besteuerung",
        "Mailserver",
        "Sicherheit",
        "Lizenzen",
    ]
    assert ui.input_values(at)["Firmenname"] == COMPANY["company_name"]


def test_bad_iban_is_refused_and_kept(owner):
    """A wrong IBAN check digit gets a German message; nothing saved, all input kept."""
    bad = "DE02120300000000202052"
    at = submit_company({"IBAN": bad})
    ui.assert_refused(at, f"**IBAN:** Die IBAN „{bad}“ ist ungültig", TEXT_FIELDS | {"IBAN": bad})
    assert saved_profile().id is None


def test_gmbh_needs_register_court(owner):
    """A GmbH without Registergericht is refused (§ 35a GmbHG) with the field named."""
    at = submit_company({"Handelsregisternummer": "HRB 12345"}, legal_form="GmbH")
    typed = TEXT_FIELDS | {"Handelsregisternummer": "HRB 12345"}
    ui.assert_refused(
        at,
        "**Registergericht:** Bitte das Registergericht angeben: für die Rechtsform GmbH "
        "Pflicht (§ 35a GmbHG).",
        typed,
    )
    assert at.tabs[0].selectbox[0].value == "GmbH"
    assert saved_profile().id is None


def test_good_company_data_is_saved(db_url, owner):
    """Valid Firmendaten are saved (SQLite and PostgreSQL), confirmed, and shown again."""
    at = submit_company(
        {"Registergericht": "Amtsgericht Musterstadt", "Handelsregisternummer": "HRB 12345"},
        legal_form="GmbH",
    )
    assert not at.error, ui.values(at.error)
    assert ui.values(at.success) == ["Firmendaten gespeichert."]
    profile = saved_profile()
    assert (profile.company_name, profile.legal_form, profile.register_court) == (
        COMPANY["company_name"],
        "GmbH",
        "Amtsgericht Musterstadt",
    )
    assert profile.iban == COMPANY["iban"]


def test_mail_server_is_saved_with_encrypted_password(owner):
    """The mail server form saves host and sender; the password is stored encrypted."""
    at = ui.open_page("einstellungen").run()
    mail = at.tabs[2]
    ui.fill(
        at,
        {
            "Mailserver": "smtp.example.org",
            "Benutzername": "buero",
            "Passwort": "Sehr-geheim-42",
            "Absenderadresse": "buero@example.org",
        },
        within=mail,
    )
    ui.click(at, "Mailserver speichern", within=at.tabs[2])
    assert ui.values(at.success) == [
        "Mailserver gespeichert. Das Passwort wird verschlüsselt abgelegt."
    ]
    with session_scope(write=False) as session:
        form = service.get_smtp_form(session)
        raw = session.scalar(select(KeyValue.value).where(KeyValue.key == service.SMTP_KEY))
    assert (form.host, form.sender_address, form.has_password) == (
        "smtp.example.org",
        "buero@example.org",
        True,
    )
    assert "Sehr-geheim-42" not in str(raw)


def test_unexpected_error_shows_number_not_traceback(owner, monkeypatch):
    """A failing service shows the German message with a Fehlernummer and logs the error."""
    cause = ui.break_function(monkeypatch, "kms.modules.settings.service.get_profile")
    at = ui.open_page("einstellungen").run()
    ui.assert_unexpected_error(at, "einstellungen", cause)


def test_saved_besteuerung_replaces_the_missing_hint(owner):
    """Saving the first Besteuerung: "Besteuerung gespeichert." and the new row, and no longer
    "Noch keine Besteuerung hinterlegt." on the same screen."""
    at = ui.open_page("einstellungen").run()
    tab = at.tabs[1]
    assert "Noch keine Besteuerung hinterlegt." in ui.values(tab.warning)
    ui.click(at, "Besteuerung speichern", within=tab)
    tab = at.tabs[1]
    assert not at.exception
    assert "Besteuerung gespeichert." in ui.values(tab.success)
    assert "Noch keine Besteuerung hinterlegt." not in ui.values(at.warning)
    assert tab.dataframe[0].value["Besteuerung"].tolist() == ["Regelbesteuerung"]


def test_during_the_setup_einstellungen_lead_back_to_the_tutorial(owner):
    """Until the Ersteinrichtung is finished, Einstellungen (and the "Firmendaten gespeichert."
    message) link back to it; afterwards the link is gone."""
    from kms.onboarding import mark_done

    at = submit_company({})
    assert "Firmendaten gespeichert." in ui.values(at.success)
    links = [
        p for p in at.get("page_link") if p.proto.label == "Zurück zum Tutorial Ersteinrichtung"
    ]
    assert len(links) == 2 and links[0].proto.page == "ersteinrichtung"
    with session_scope() as session:
        mark_done(session)
    at = ui.open_page("einstellungen").run()
    assert not [
        p for p in at.get("page_link") if "Tutorial" in p.proto.label and "Zurück" in p.proto.label
    ]
