"""Fehlermeldungen: saving reports and sending them to support through a real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

import kms
from kms.errors import KmsError, NotFoundError, ValidationErrors
from kms.mail import MailError, MailErrorKind
from kms.modules.bugreports.models import BugReport
from kms.modules.bugreports.service import create_report, list_reports, send_report
from kms.modules.settings.service import save_smtp
from kms.support import set_support_contact, support_contact
from tests.smtp_fixtures import SENDER, RecordingHandler, free_port

SUPPORT = "support@example.org"


def _mail_server(session: Session, host: str, port: int) -> None:
    save_smtp(session, host=host, port=port, security="none", username="", sender_address=SENDER)


@pytest.fixture
def report(session: Session) -> BugReport:
    """A saved report, with support address set (the mail server is up to each test)."""
    set_support_contact(session, name="KMS-Support", email=SUPPORT)
    saved = create_report(
        session,
        title="Speichern klappt nicht",
        description="Beim Speichern einer Person erscheint „Fehler 500“.",
        steps="1. Personen öffnen\n2. Speichern",
        page="personen",
        username="erika",
    )
    session.commit()
    return saved


def _send_like_the_page(session: Session, report_id: int) -> MailError | None:
    """What the page does: keep the report's last_error on failure and commit either way."""
    try:
        send_report(session, report_id)
    except MailError as exc:
        session.commit()
        return exc
    session.commit()
    return None


def _reloaded(session: Session, report_id: int) -> BugReport:
    session.expire_all()
    return session.get(BugReport, report_id)


@pytest.mark.parametrize(
    ("title", "description", "fields"),
    [
        ("", "", {"title", "description"}),
        ("   ", "Beschreibung", {"title"}),
        ("Titel", " \n ", {"description"}),
        ("x" * 201, "Beschreibung", {"title"}),
    ],
)
def test_empty_title_or_description_is_refused(
    session: Session, title: str, description: str, fields: set[str]
) -> None:
    """Missing title and description are reported together, in German, and nothing saved."""
    with pytest.raises(ValidationErrors) as excinfo:
        create_report(session, title=title, description=description)
    assert set(excinfo.value.errors) == fields
    empty = list_reports(session)
    assert (empty.items, empty.total, empty.pages) == ([], 0, 1)


def test_reports_are_listed_newest_first_and_paged(session: Session) -> None:
    """The list pages in SQL and filters by status."""
    for i in range(5):
        create_report(session, title=f"Fehler {i}", description="kaputt")
    session.commit()
    page = list_reports(session, page=2, page_size=2)
    assert (page.total, page.page, page.pages) == (5, 2, 3)
    assert [r.title for r in page.items] == ["Fehler 2", "Fehler 1"]
    assert list_reports(session, status="versendet").items == []
    assert list_reports(session, status="offen").total == 5


def test_a_report_is_sent_to_support_with_its_text_and_version(
    session: Session, report: BugReport, smtp_server: Any
) -> None:
    """Sending marks it "versendet" with a time; the mail carries the text and version.txt."""
    _mail_server(session, smtp_server.host, smtp_server.port)
    assert _send_like_the_page(session, report.id) is None
    sent = _reloaded(session, report.id)
    assert (sent.status, sent.last_error) == ("versendet", "")
    assert sent.sent_at is not None and sent.sent_at >= sent.created_at
    [received] = smtp_server.messages
    assert received.rcpt_tos == [SUPPORT]
    mail = received.message
    assert mail["Subject"] == f"[KMS Fehlermeldung #{report.id}] Speichern klappt nicht"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "Beim Speichern einer Person erscheint „Fehler 500“." in body
    assert "1. Personen öffnen\n2. Speichern" in body
    assert "Betroffene Seite: personen" in body
    assert f"KMS-Version: {kms.__version__}" in body
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "version.txt"
    assert f"kms={kms.__version__}" in attachment.get_content()
    with pytest.raises(KmsError, match="bereits versendet"):
        send_report(session, report.id)


def test_an_unreachable_server_keeps_the_report_for_a_later_resend(
    session: Session, report: BugReport, smtp_server: Any
) -> None:
    """Nobody listening: a German message, the report stays "offen" and sends later."""
    _mail_server(session, "127.0.0.1", free_port())
    error = _send_like_the_page(session, report.id)
    assert error is not None and error.kind == MailErrorKind.UNREACHABLE
    assert "ist nicht erreichbar" in error.message
    kept = _reloaded(session, report.id)
    assert (kept.status, kept.sent_at, kept.last_error) == ("offen", None, error.message)
    _mail_server(session, smtp_server.host, smtp_server.port)
    assert _send_like_the_page(session, report.id) is None
    sent = _reloaded(session, report.id)
    assert (sent.status, sent.last_error) == ("versendet", "")
    assert len(smtp_server.messages) == 1


def test_a_refused_recipient_keeps_the_report_unsent(
    session: Session, report: BugReport, smtp_server_factory: Any
) -> None:
    """The server refusing the support address is explained; nothing is marked sent."""
    server = smtp_server_factory(handler=RecordingHandler(reject_recipients={SUPPORT}))
    _mail_server(session, server.host, server.port)
    error = _send_like_the_page(session, report.id)
    assert error is not None and error.kind == MailErrorKind.RECIPIENT_REJECTED
    assert f"Empfängeradresse „{SUPPORT}“ abgelehnt" in error.message
    assert _reloaded(session, report.id).status == "offen"
    assert server.messages == []


def test_without_a_support_address_sending_explains_how_to_set_one(
    session: Session, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No support e-mail: a German message naming the command; KMS_SUPPORT_EMAIL also works."""
    report = create_report(session, title="Fehler", description="kaputt")
    _mail_server(session, smtp_server.host, smtp_server.port)
    session.commit()
    with pytest.raises(KmsError, match="keine Support-Adresse hinterlegt") as excinfo:
        send_report(session, report.id)
    assert "python -m kms support set --email" in excinfo.value.message
    monkeypatch.setenv("KMS_SUPPORT_EMAIL", SUPPORT)
    assert support_contact()["email"] == SUPPORT
    assert send_report(session, report.id).status == "versendet"
    assert smtp_server.messages[0].rcpt_tos == [SUPPORT]


def test_sending_without_a_mail_server_or_an_unknown_report(
    session: Session, report: BugReport
) -> None:
    """Clear German messages for a missing mail server and a report that is gone."""
    with pytest.raises(KmsError, match="noch kein Mailserver eingerichtet"):
        send_report(session, report.id)
    with pytest.raises(NotFoundError, match="gibt es nicht"):
        send_report(session, report.id + 1000)
