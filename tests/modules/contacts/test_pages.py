"""Personen and Organisationen pages driven by Streamlit's AppTest (embedded SQLite)."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT
from kms.db import session_scope
from kms.modules.contacts import service
from kms.modules.contacts.models import Contact


@pytest.fixture
def login() -> None:
    """An owner login exists; pages opened with `app()` are logged in as it."""
    with session_scope() as session:
        auth.create_user(
            session,
            username="erika",
            password="sehr-geheim-2026",
            display_name="Erika M.",
            is_owner=True,
        )


def app(script: str, **query: str) -> AppTest:
    # Through app.py, as in the browser: st.navigation knows every page for the sidebar links.
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.switch_page(f"pages/{script}")
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    at.session_state["name"] = "Erika M."
    at.session_state["kms_login_at"] = time.time() + 1
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("error", "success", "info", "warning", "markdown", "caption")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def test_create_person_opens_its_detail_view(login) -> None:
    """Filling the new-person form creates the person and opens it."""
    at = app("personen.py")
    assert not at.exception
    form_inputs = [w for w in at.text_input if w.key and w.key.startswith("new_person_")]
    by_label(form_inputs, "Vorname").input("Erika")
    by_label(form_inputs, "Nachname").input("Müller")
    by_label(form_inputs, "E-Mail").input("erika@example.org")
    next(b for b in at.button if b.label == "Anlegen").click()
    at.run()
    assert not at.exception
    with session_scope(write=False) as s:
        person = s.scalar(select(Contact))
        assert (person.first_name, person.last_name, person.customer_number) == (
            "Erika",
            "Müller",
            "K-00001",
        )
    assert at.query_params["id"] == str(person.id)
    assert "Kundennummer K\\-00001" in texts(at)


def test_invalid_input_shows_german_field_errors_and_keeps_input(login) -> None:
    """A bad e-mail is listed by field label; nothing is saved; the input stays."""
    at = app("personen.py")
    form_inputs = [w for w in at.text_input if w.key and w.key.startswith("new_person_")]
    by_label(form_inputs, "Nachname").input("Müller")
    by_label(form_inputs, "E-Mail").input("erika@")
    next(b for b in at.button if b.label == "Anlegen").click()
    at.run()
    assert "Bitte korrigieren Sie" in at.error[0].value and "E\\-Mail" in at.error[0].value
    assert by_label(at.text_input, "E-Mail").value == "erika@"
    with session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0


def test_search_finds_umlaut_spellings(login) -> None:
    """Searching "MUELLER" lists Müller, not Schmidt."""
    with session_scope() as s:
        service.create_person(s, first_name="Jürgen", last_name="Müller")
        service.create_person(s, first_name="Lena", last_name="Schmidt")
    at = app("personen.py")
    at.text_input(key="person_search").input("MUELLER").run()
    frame = at.dataframe[0].value
    assert list(frame["Name"]) == ["Jürgen Müller"]


def test_edit_conflict_shows_message_and_keeps_input(login) -> None:
    """Saving over a newer version is refused with a clear message; the typed value stays."""
    with session_scope() as s:
        person_id = service.create_person(s, last_name="Mustermann", city="Alt").id
    at = app("personen.py", id=str(person_id))
    assert not at.exception
    city = next(w for w in at.text_input if w.key == f"edit_{person_id}_v1_city")
    with session_scope() as s:  # another browser session saves first
        service.update_contact(s, person_id, version=1, city="Von anderswo")
    city.input("Meine Eingabe")
    next(b for b in at.button if b.label == "Speichern").click()
    at.run()
    assert any("inzwischen von jemand anderem geändert" in e.value for e in at.error)
    assert next(w for w in at.text_input if w.key == f"edit_{person_id}_v1_city").value == (
        "Meine Eingabe"
    )
    with session_scope(write=False) as s:
        assert s.get(Contact, person_id).city == "Von anderswo"
    reload = next(b for b in at.button if b.label.startswith("Neu laden"))
    reload.click()
    at.run()
    assert next(w for w in at.text_input if w.key == f"edit_{person_id}_v2_city").value == (
        "Von anderswo"
    )


def test_delete_asks_for_confirmation_then_deletes(login) -> None:
    """Löschen opens a dialog; only "Endgültig löschen" removes the contact."""
    with session_scope() as s:
        org_id = service.create_organisation(s, name="Musterfirma GmbH").id
    at = app("organisationen.py", id=str(org_id))
    next(b for b in at.button if b.label == "Löschen …").click()
    at.run()
    assert any("endgültig gelöscht" in m.value for m in at.markdown)
    with session_scope(write=False) as s:
        assert s.get(Contact, org_id) is not None
    next(b for b in at.button if b.label == "Endgültig löschen").click()
    at.run()
    assert not at.exception
    with session_scope(write=False) as s:
        assert s.get(Contact, org_id) is None
    assert "id" not in at.query_params


def test_referenced_contact_offers_archive_instead_of_delete(login, invoices_module) -> None:
    """With invoices the dialog explains why and archives instead; the panel lists them."""
    with session_scope() as s:
        person_id = service.create_person(s, last_name="Mustermann", roles=["kunde"]).id
    invoices_module[person_id] = ["RE-2026-0001"]
    at = app("personen.py", id=str(person_id))
    assert any("Rechnungen: RE-2026-0001" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Löschen …").click()
    at.run()
    assert any("Fremdmodul \\(1\\)" in w.value for w in at.warning)
    assert not any(b.label == "Endgültig löschen" for b in at.button)
    next(b for b in at.button if b.label == "Stattdessen archivieren").click()
    at.run()
    with session_scope(write=False) as s:
        assert s.get(Contact, person_id).archived_at is not None


def test_organisation_detail_lists_its_persons(login) -> None:
    """The organisation's detail view links to the persons that belong to it."""
    with session_scope() as s:
        org = service.create_organisation(s, name="Musterfirma GmbH", roles=["kunde"])
        service.create_person(s, last_name="Mustermann", first_name="Max", organisation_id=org.id)
        org_id = org.id
    at = app("organisationen.py", id=str(org_id))
    assert not at.exception
    assert "Personen dieser Organisation" in texts(at)
    assert "Kundennummer K\\-00001" in texts(at)


def test_import_preview_shows_row_errors_and_imports_nothing(login) -> None:
    """The import panel previews the file, lists errors by row and keeps the button disabled."""
    at = app("organisationen.py")
    next(b for b in at.button if b.label == "▶ Import (CSV)").click()
    at.run()
    data = "Firma;Nachname;E-Mail\nMusterfirma GmbH;Muster;muster@example.org\n;Bad;bad@\n"
    at.file_uploader[0].set_value(("kontakte.csv", data.encode(), "text/csv"))
    at.run()
    assert not at.exception
    assert "Zeile 3\\: E\\-Mail\\:" in at.error[0].value
    assert len(at.dataframe[0].value) == 2
    go = next(b for b in at.button if b.label.endswith("Zeilen importieren"))
    assert go.disabled
    at.file_uploader[0].set_value(
        ("kontakte.csv", data.replace("bad@", "b@example.org").encode(), "text/csv")
    )
    at.run()
    go = next(b for b in at.button if b.label.endswith("Zeilen importieren"))
    assert not go.disabled
    go.click()
    at.run()
    assert any("2 Personen und 1 Organisationen importiert" in m.value for m in at.success)


def test_import_refuses_a_file_that_is_not_csv_in_german(login) -> None:
    """The uploader takes any file (Streamlit's own type filter answers in English); a file
    that is not .csv or .txt gets a German message and nothing is read or imported."""
    at = app("organisationen.py")
    next(b for b in at.button if b.label == "▶ Import (CSV)").click()
    at.run()
    assert list(at.file_uploader[0].proto.type) == []
    page = b"<html><body>Firma;E-Mail</body></html>"
    at.file_uploader[0].set_value(("kontakte.html", page, "text/html"))
    at.run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert "kontakte\\.html" in error and "nur CSV-Dateien (.csv oder .txt)" in error, error
    assert not at.dataframe
    assert not [b for b in at.button if b.label.endswith("Zeilen importieren")]


def test_anonymise_needs_confirmation(login) -> None:
    """▶ Anonymisieren opens a dialog; the button works only after the confirmation tick."""
    with session_scope() as s:
        person_id = service.create_person(s, last_name="Mustermann", email="e@example.org").id
    at = app("personen.py", id=str(person_id))
    next(b for b in at.button if b.label == "▶ Anonymisieren (Art. 17 DSGVO)").click()
    at.run()
    go = next(b for b in at.button if b.label == "Endgültig anonymisieren")
    assert go.disabled
    at.checkbox(key="anon_ok").check().run()
    next(b for b in at.button if b.label == "Endgültig anonymisieren").click()
    at.run()
    with session_scope(write=False) as s:
        stored = s.get(Contact, person_id)
        assert stored.anonymised_at is not None and stored.email == ""


def _contact_with_a_letter_draft() -> int:
    from kms.modules.letters import service as letters
    from kms.modules.settings.demo import COMPANY
    from kms.modules.settings.service import get_profile, save_profile

    with session_scope() as s:
        save_profile(s, version=get_profile(s).version or 0, **COMPANY)
        person = service.create_person(
            s,
            last_name="Mustermann",
            first_name="Erika",
            street="Musterstraße 1",
            postcode="12345",
            city="Musterstadt",
        )
        letters.create_letter(
            s,
            contact_id=person.id,
            subject="Entwurf",
            letter_date=date(2026, 12, 1),
            body="Ein Entwurf.",
        )
        return person.id


def test_contact_with_only_a_letter_draft_is_archived_not_deleted_in_the_service() -> None:
    """A letter draft refers to its recipient: delete is refused in German, archive works."""
    from kms.errors import KmsError

    person_id = _contact_with_a_letter_draft()
    with session_scope() as s, pytest.raises(KmsError, match=r"Schreiben: 1.*Archivieren"):
        service.delete_contact(s, person_id)
    with session_scope(write=False) as s:
        assert s.get(Contact, person_id) is not None


def test_contact_with_only_a_letter_draft_offers_archive_on_the_page(login) -> None:
    """The delete dialog names the letter and offers archiving instead of a database error."""
    person_id = _contact_with_a_letter_draft()
    at = app("personen.py", id=str(person_id))
    next(b for b in at.button if b.label == "Löschen …").click()
    at.run()
    assert not at.exception
    assert any("Schreiben \\(1\\)" in w.value for w in at.warning)
    assert not any(b.label == "Endgültig löschen" for b in at.button)
    assert "unerwartet" not in texts(at).lower()


def test_organisation_form_sets_einvoice_format_and_explains_buyer_reference(login) -> None:
    """The form offers the e-invoice format next to the Leitweg-ID, explains in German why
    XRechnung needs it (BR-DE-15), and saves both; a bad Leitweg-ID is a field error."""
    at = app("organisationen.py")
    assert not at.exception
    assert "BR-DE-15" in texts(at) and "Leitweg-ID" in texts(at)
    form_inputs = [w for w in at.text_input if w.key and w.key.startswith("new_organisation_")]
    by_label(form_inputs, "Name der Organisation").input("Stadtverwaltung Musterstadt")
    by_label(form_inputs, "Leitweg-ID / Käuferreferenz").input("04011000-12345-99")
    fmt = next(w for w in at.selectbox if w.key == "new_organisation_einvoice_format")
    fmt.set_value("xrechnung_ubl")
    next(b for b in at.button if b.label == "Anlegen").click()
    at.run()
    assert "Leitweg" in at.error[0].value  # wrong check digits
    with session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
    form_inputs = [w for w in at.text_input if w.key and w.key.startswith("new_organisation_")]
    by_label(form_inputs, "Leitweg-ID / Käuferreferenz").input("04011000-12345-03")
    next(b for b in at.button if b.label == "Anlegen").click()
    at.run()
    assert not at.exception
    with session_scope(write=False) as s:
        org = s.scalar(select(Contact))
        assert (org.einvoice_format, org.buyer_reference) == ("xrechnung_ubl", "04011000-12345-03")
    assert "XRechnung \\(UBL\\-XML\\)" in texts(at) or "XRechnung (UBL-XML)" in texts(at)
