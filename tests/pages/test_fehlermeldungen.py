"""Fehlermeldungen: login gate, the report form, and ▶ Fehlermeldung versenden over real SMTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kms.db import session_scope
from kms.modules.bugreports import SEND, service
from kms.modules.bugreports.models import BugReport
from kms.modules.settings.service import save_smtp
from kms.support import set_support_contact
from tests import ui_helpers as ui
from tests.smtp_fixtures import HOST, SENDER, free_port

SUPPORT = "support@example.org"
TITLE = "Druckvorschau bleibt leer"


def reports() -> list[BugReport]:
    with session_scope(write=False) as session:
        return list(session.scalars(select(BugReport).order_by(BugReport.id)))


@pytest.fixture
def report(owner) -> int:
    """One unsent report, a support address, and the id of the report."""
    with session_scope() as session:
        set_support_contact(session, email=SUPPORT)
        created = service.create_report(
            session, title=TITLE, description="Nach dem Klick passiert nichts.", username=owner
        )
        return created.id


def use_mail_server(port: int) -> None:
    """Einstellungen → Mailserver: a plain SMTP server on 127.0.0.1:`port`."""
    with session_scope() as session:
        save_smtp(
            session, host=HOST, port=port, security="none", username="", sender_address=SENDER
        )


def send_dialog():  # type: ignore[no-untyped-def]
    """Fehlermeldungen with the ▶ function clicked: the send dialog is open."""
    at = ui.open_page("fehlermeldungen").run()
    ui.click(at, f"▶ {SEND.label}", within=at.sidebar)
    return at


def test_deep_link_before_login_shows_only_the_login_form(report):
    """/fehlermeldungen without login shows neither reports nor the ▶ function."""
    at = ui.open_page("fehlermeldungen", user=None).run()
    ui.assert_only_login(at, hidden=["Fehlermeldungen", TITLE, "Funktionen", SEND.label])


def test_logged_in_page_lists_reports_and_the_function(report):
    """Logged in: title, banner, the report list and ▶ Fehlermeldung versenden in the sidebar."""
    at = ui.open_page("fehlermeldungen").run()
    ui.assert_page_shown(at, "Fehlermeldungen")
    assert f"▶ {SEND.label}" in [b.label for b in at.sidebar.button]
    table = at.dataframe[0].value
    assert list(table["Titel"]) == [TITLE]
    assert list(table["Status"]) == ["nicht versendet"]


def test_empty_title_is_refused_and_kept(owner):
    """A report without Titel gets the German message; the description typed stays."""
    typed = {"Titel": "  ", "Beschreibung": "Der Export bricht ab."}
    at = ui.submit("fehlermeldungen", typed, "Speichern")
    ui.assert_refused(at, "**Titel:** Bitte geben Sie einen Titel ein.", typed)
    assert reports() == []


def test_good_report_is_saved(db_url, owner):
    """A report with title and description is saved unsent (SQLite and PostgreSQL)."""
    at = ui.open_page("fehlermeldungen").run()
    ui.fill(at, {"Titel": TITLE, "Beschreibung": "Nach dem Klick passiert nichts."})
    at.selectbox[0].set_value("Personen")
    ui.click(at, "Speichern")
    [saved] = reports()
    assert ui.values(at.success) == [
        f"Fehlermeldung #{saved.id} gespeichert. Versenden Sie sie mit ▶ Fehlermeldung "
        "versenden in der Seitenleiste."
    ]
    assert (saved.title, saved.page, saved.status, saved.created_by) == (
        TITLE,
        "Personen",
        "offen",
        owner,
    )


def test_sidebar_function_opens_the_send_dialog(report):
    """Clicking ▶ Fehlermeldung versenden sets its flag and opens the dialog; Abbrechen closes."""
    at = send_dialog()
    assert at.session_state[f"fn_open_{SEND.key}"] is True
    choice = [s for s in at.selectbox if s.label == "Fehlermeldung"]
    assert [s.value for s in choice] == [report]
    assert "Jetzt versenden" in [b.label for b in at.button]
    ui.click(at, "Abbrechen")
    assert f"fn_open_{SEND.key}" not in at.session_state
    assert "Jetzt versenden" not in [b.label for b in at.button]


def test_sending_marks_the_report_sent(report, smtp_server):
    """Jetzt versenden delivers the report to support over SMTP and marks it versendet."""
    use_mail_server(smtp_server.port)
    at = send_dialog()
    ui.click(at, "Jetzt versenden")
    assert ui.values(at.success) == ["Die Fehlermeldung wurde an den Support gesendet."]
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [SUPPORT]
    assert mail.message["Subject"] == f"[KMS Fehlermeldung #{report}] {TITLE}"
    [sent] = reports()
    assert sent.status == "versendet" and sent.sent_at is not None


def test_server_down_shows_german_error_and_keeps_report_unsent(report):
    """With no mail server listening the dialog says so in German; the report stays unsent."""
    use_mail_server(free_port())
    at = send_dialog()
    ui.click(at, "Jetzt versenden")
    [error] = ui.values(at.error)
    assert error.startswith("Nicht versendet: ")
    assert "Die Meldung bleibt gespeichert und kann erneut versendet werden." in error
    assert not at.success
    [kept] = reports()
    assert kept.status == "offen" and kept.sent_at is None
    assert kept.last_error and kept.last_error in error


def test_unexpected_error_shows_number_not_traceback(owner, monkeypatch):
    """A failing service shows the German message with a Fehlernummer and logs the error."""
    cause = ui.break_function(monkeypatch, "kms.modules.bugreports.service.list_reports")
    at = ui.open_page("fehlermeldungen").run()
    ui.assert_unexpected_error(at, "fehlermeldungen", cause)
