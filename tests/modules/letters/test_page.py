"""The Schreiben page through Streamlit's AppTest: write from a template, preview, errors,
mark sent, Serienbrief with progress, and the letters on the contact's detail view."""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT
from kms.db import ensure_migrated, session_scope
from kms.jobs import Job
from kms.modules.contacts.models import Contact, Tag
from kms.modules.letters import service
from kms.modules.letters.models import DRAFT, SENT, Letter
from kms.modules.settings.demo import COMPANY
from kms.modules.settings.service import get_profile, save_profile
from kms.types import today


def unescape(text: str) -> str:
    """What the user reads of Markdown escaped by kms.ui.text.plain."""
    return re.sub(r"\\(.)", r"\1", text)


def texts(elements: Any) -> list[str]:
    return [unescape(str(e.value)) for e in elements]


@pytest.fixture
def setup() -> dict[str, int]:
    """Owner login, Firmendaten, a template and two contacts (one without address)."""
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session,
            username="erika",
            password="Muster-Passwort-2026",
            display_name="Erika Mustermann",
            is_owner=True,
        )
        save_profile(session, version=get_profile(session).version or 0, **COMPANY)
        tag = Tag(name="Newsletter")
        max_ = Contact(
            kind="person",
            salutation="herr",
            first_name="Max",
            last_name="Mustermann",
            street="Beispielweg 7",
            postcode="10115",
            city="Berlin",
            country="DE",
            email="max@example.org",
            search_key="max mustermann berlin",
            tags=[tag],
        )
        lena = Contact(
            kind="person",
            salutation="frau",
            first_name="Lena",
            last_name="Schmidt",
            search_key="lena schmidt",
            tags=[tag],
        )
        session.add_all([max_, lena])
        session.flush()
        template = service.create_template(
            session,
            name="Termin",
            subject="Ihr Termin am {datum}",
            body="hiermit bestätigen wir Ihren Termin, {vorname}.",
        )
        return {"max": max_.id, "lena": lena.id, "template": template.id}


def open_page(script: str = "pages/schreiben.py", **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(script)
    for key, value in query.items():
        at.query_params[key] = value
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    at.session_state["name"] = "Erika Mustermann"
    at.session_state["logout"] = False
    at.session_state["kms_login_at"] = time.time()
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in texts(at.error) if "unerwartet" in e], texts(at.error)


def images(at: AppTest) -> int:
    found = 0
    stack = [at._tree]
    while stack:
        node = stack.pop()
        found += getattr(node, "type", None) == "image"
        stack.extend(getattr(node, "children", {}).values())
    return found


def write_from_template(at: AppTest, ids: dict[str, int]) -> AppTest:
    at.selectbox(key="lf_new_contact").set_value(ids["max"]).run()
    at.selectbox(key="lf_new_template_pick").set_value(ids["template"]).run()
    at.button(key="lf_new_apply").click().run()
    return at


def test_letter_from_template_is_previewed_then_saved(setup: dict[str, int]) -> None:
    """Choosing Max suggests the Anrede; the template fills the form; preview shows page 1."""
    at = write_from_template(open_page(), setup)
    ok(at)
    assert at.text_input(key="lf_new_salutation").value == "Sehr geehrter Herr Mustermann,"
    assert at.text_input(key="lf_new_closing").value == "Mit freundlichen Grüßen"
    assert at.text_input(key="lf_new_subject").value == "Ihr Termin am {datum}"
    before = images(at)
    at.button(key="lf_new_preview_btn").click().run()
    ok(at)
    assert images(at) == before + 1
    assert "PDF herunterladen" in [b.label for b in at.get("download_button")]
    with session_scope(write=False) as session:
        assert session.scalar(select(Letter.id)) is None  # preview saves nothing
    at.button(key="lf_new_save_btn").click().run()
    ok(at)
    when = today().strftime("%d.%m.%Y")  # the German date the letter carries
    assert (
        f"Der Brief „Ihr Termin am {when}“ wurde als Entwurf gespeichert (unter „Briefe“)."
        in texts(at.success)
    )
    with session_scope(write=False) as session:
        letter = session.scalar(select(Letter))
        assert (letter.contact_id, letter.status) == (setup["max"], DRAFT)
    assert at.text_input(key="lf_new_subject").value == ""  # a fresh form for the next letter


def test_bad_input_shows_german_messages_and_keeps_the_form(setup: dict[str, int]) -> None:
    """Empty subject, an unknown placeholder, a recipient without address: listed per field."""
    at = open_page()
    at.selectbox(key="lf_new_contact").set_value(setup["lena"]).run()
    at.text_area(key="lf_new_body").input("Hallo {vorname}, {rabatt} Prozent!").run()
    at.button(key="lf_new_save_btn").click().run()
    ok(at)
    [message] = texts(at.error)
    assert "**Betreff:** Bitte einen Betreff eingeben." in message
    assert "Für Lena Schmidt ist keine vollständige Anschrift hinterlegt" in message
    assert "Unbekannter Platzhalter: {rabatt}" in message
    assert at.text_area(key="lf_new_body").value == "Hallo {vorname}, {rabatt} Prozent!"
    with session_scope(write=False) as session:
        assert session.scalar(select(Letter.id)) is None


def _draft(ids: dict[str, int]) -> int:
    with session_scope() as session:
        return service.create_letter(
            session,
            contact_id=ids["max"],
            subject="Angebot",
            letter_date=date(2026, 11, 26),
            salutation="{briefanrede}",
            body="unser Angebot.",
        ).id


def test_marking_sent_asks_first_then_freezes(setup: dict[str, int]) -> None:
    """The dialog asks; after confirming the edit form is gone and Dokumente has the letter."""
    letter_id = _draft(setup)
    at = open_page()
    at.selectbox(key="letters_pick").set_value(letter_id).run()
    ok(at)
    assert at.button(key=f"lf_{letter_id}_save_btn")  # drafts are editable
    at.button(key="letters_btn_sent").click().run()
    ok(at)
    assert any("endgültig" in t for t in texts(at.markdown))
    at.button(key="letters_sent_yes").click().run()
    ok(at)
    assert "„Angebot“ ist als versendet markiert." in texts(at.success)
    assert any(t.startswith("Versendet am") for t in texts(at.info))
    assert not [b for b in at.button if b.key == f"lf_{letter_id}_save_btn"]
    with session_scope(write=False) as session:
        letter = session.get(Letter, letter_id)
        assert letter.status == SENT and letter.document_id is not None


def test_mail_merge_runs_with_progress_and_lists_skipped(setup: dict[str, int]) -> None:
    """▶ Serienbrief starts a job; its result offers the print PDF and names Lena as skipped."""
    at = open_page()
    at.sidebar.button(key="fn_letters.serienbrief").click().run()
    ok(at)
    at.selectbox(key="merge_tag").set_value("Newsletter").run()
    assert "2 Kontakte ausgewählt (Schlagwort „Newsletter“)." in texts(at.caption)
    at.button(key="merge_start").click().run()
    ok(at)
    job_id = at.session_state["letters_merge_job"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with session_scope(write=False) as session:
            if not session.get(Job, job_id).is_active:
                break
        time.sleep(0.1)
    at.run()
    ok(at)
    assert any("1 Briefe erzeugt, 1 Empfänger übersprungen" in t for t in texts(at.caption))
    labels = [b.label for b in at.get("download_button")]
    assert "Gesamt-PDF zum Drucken (1 Briefe)" in labels
    assert any("1 Empfänger wurden übersprungen" in t for t in texts(at.warning))


def test_contact_detail_view_lists_the_letters(setup: dict[str, int]) -> None:
    """Opening Max on Personen shows his letter under Schreiben with a PDF download."""
    _draft(setup)
    at = open_page("pages/personen.py", id=str(setup["max"]))
    ok(at)
    assert "#### Schreiben" in texts(at.markdown)
    assert any("Angebot" in t and "26.11.2026 · Entwurf" in t for t in texts(at.markdown))


def test_deleting_a_draft_asks_first(setup: dict[str, int]) -> None:
    """A draft is deleted only after confirming; cancelling keeps it."""
    letter_id = _draft(setup)
    at = open_page()
    at.selectbox(key="letters_pick").set_value(letter_id).run()
    at.button(key="letters_btn_delete").click().run()
    ok(at)
    at.button(key="letters_delete_no").click().run()
    with session_scope(write=False) as session:
        assert session.get(Letter, letter_id) is not None
    at.button(key="letters_btn_delete").click().run()
    at.button(key="letters_delete_yes").click().run()
    ok(at)
    assert "Der Entwurf wurde gelöscht." in texts(at.success)
    with session_scope(write=False) as session:
        assert session.get(Letter, letter_id) is None


def test_marking_sent_lists_empty_placeholders_and_asks(setup: dict[str, int]) -> None:
    """{firma} of a person stays empty: the dialog names it; without the tick the letter is
    not sent (German error, still a draft); ticked, it is marked sent."""
    with session_scope() as session:
        letter_id = service.create_letter(
            session,
            contact_id=setup["max"],
            subject="Entwürfe",
            letter_date=date(2026, 11, 26),
            body="die drei Entwürfe für {firma}.",
        ).id
    at = open_page()
    at.selectbox(key="letters_pick").set_value(letter_id).run()
    at.button(key="letters_btn_sent").click().run()
    ok(at)
    assert any("{firma} (Organisation des Empfängers)" in t for t in texts(at.warning))
    at.button(key="letters_sent_yes").click().run()
    ok(at)
    assert any("Platzhalter leer" in t for t in texts(at.error)), texts(at.error)
    with session_scope(write=False) as session:
        assert session.get(Letter, letter_id).status == DRAFT
    at.checkbox(key="letters_sent_accept_empty").check().run()
    at.button(key="letters_sent_yes").click().run()
    ok(at)
    assert "„Entwürfe“ ist als versendet markiert." in texts(at.success)
    with session_scope(write=False) as session:
        assert session.get(Letter, letter_id).status == SENT
