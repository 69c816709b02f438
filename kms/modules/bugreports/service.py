"""Fehlermeldungen: store reports, send them to support, keep unsent ones for a retry."""

from __future__ import annotations

import platform
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import kms
from kms.errors import FieldErrors, KmsError, NotFoundError, ValidationError
from kms.mail import Attachment, MailError, build_message, send_message
from kms.modules.bugreports.models import BugReport
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.support import support_contact
from kms.types import utcnow

STATUSES = {"offen": "nicht versendet", "versendet": "versendet"}


def create_report(
    session: Session,
    *,
    title: str,
    description: str,
    steps: str = "",
    page: str = "",
    username: str = "",
) -> BugReport:
    """Save a new report (not yet sent)."""
    require_permission(Permission.BUGREPORTS, session)
    errors = FieldErrors()
    with errors.field("title"):
        if not title.strip():
            raise ValidationError("title", "Bitte geben Sie einen Titel ein.")
        if len(title.strip()) > 200:
            raise ValidationError("title", "Der Titel darf höchstens 200 Zeichen lang sein.")
    with errors.field("description"):
        if not description.strip():
            raise ValidationError("description", "Bitte beschreiben Sie den Fehler.")
    errors.raise_if_any()
    report = BugReport(
        title=title.strip(),
        description=description.strip(),
        steps=steps.strip(),
        page=page.strip(),
        created_by=username,
    )
    session.add(report)
    session.flush()
    return report


def list_reports(
    session: Session, *, status: str | None = None, page: int = 1, page_size: int = 20
) -> Page[BugReport]:
    """Newest first, paged in SQL."""
    stmt = select(BugReport)
    if status:
        stmt = stmt.where(BugReport.status == status)
    stmt = stmt.order_by(BugReport.created_at.desc(), BugReport.id.desc())
    return paginate(session, stmt, page=page, size=page_size)


def _body(report: BugReport) -> str:
    return "\n".join(
        [
            f"Titel: {report.title}",
            f"Betroffene Seite: {report.page or '–'}",
            f"Gemeldet von: {report.created_by or '–'} am {report.created_at:%Y-%m-%d %H:%M} UTC",
            "",
            "Beschreibung:",
            report.description,
            "",
            "Schritte zum Nachvollziehen:",
            report.steps or "–",
            "",
            f"KMS-Version: {kms.__version__}",
        ]
    )


def _version_info() -> bytes:
    return (
        f"kms={kms.__version__}\npython={platform.python_version()}\n"
        f"platform={platform.platform()}\n"
    ).encode()


def send_report(session: Session, report_id: int, **smtp_kwargs: Any) -> BugReport:
    """▶ Fehlermeldung versenden: e-mail to support; on failure the report stays unsent."""
    require_permission(Permission.BUGREPORTS, session)
    from kms.modules.settings.service import smtp_settings

    report = session.get(BugReport, report_id)
    if report is None:
        raise NotFoundError("Diese Fehlermeldung gibt es nicht (mehr).")
    if report.status == "versendet":
        raise KmsError("Diese Fehlermeldung wurde bereits versendet.")
    support = support_contact().get("email")
    if not support:
        raise KmsError(
            "Es ist keine Support-Adresse hinterlegt. Der Betreiber kann sie mit "
            "`python -m kms support set --email …` eintragen."
        )
    settings = smtp_settings(session)
    message = build_message(
        settings=settings,
        to=[support],
        subject=f"[KMS Fehlermeldung #{report.id}] {report.title}",
        body_text=_body(report),
        attachments=[Attachment("version.txt", _version_info(), "text/plain")],
    )
    try:
        send_message(settings, message, **smtp_kwargs)
    except MailError as exc:
        report.last_error = exc.message
        session.flush()
        raise
    report.status = "versendet"
    report.sent_at = utcnow()
    report.last_error = ""
    session.flush()
    return report
