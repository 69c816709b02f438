"""Wiederkehrende Rechnungen: templates and the ⊕ automatism that issues them once per period.

Nothing of an invoice is computed here: a run hands the template's positions to
`service.save_draft` (checks, line amounts, totals), then `issuing.prepare_issue` /
`issuing.issue` (completeness, number, PDF/XML originals, audit) and, in e-mail mode,
`mailing.send_invoice_mail` — the same code as ▶ Rechnung abschließen and ▶ Per E-Mail senden.

Dates (German practice, § 14 Abs. 4 Nr. 3 and 6 UStG): the Rechnungsdatum is the day the
invoice is really created; an invoice is never back-dated. The Leistungszeitraum
(BT-73/74) is the scheduled period of the run (schedule.Period). After downtime or a
maintenance window the automatism creates every missed period in order, each with its own
Leistungszeitraum, all dated on the day of the catch-up.

Exactly once: every period is created in its own transaction that first inserts the
RecurringRun row (UNIQUE template_id, period_start). A second process creating the same
period meanwhile waits for that row's lock (PostgreSQL) or for the write lock (SQLite)
and then sees the row or hits the constraint: it rolls back and skips that period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms import audit
from kms.db import session_scope
from kms.errors import (
    ConflictError,
    FieldErrors,
    KmsError,
    NotFoundError,
    ValidationError,
    ValidationErrors,
)
from kms.modules.contacts.models import Contact
from kms.modules.invoices import issuing, mailing, service
from kms.modules.invoices.models import Invoice, InvoiceLine
from kms.modules.invoices.recurring import schedule
from kms.modules.invoices.recurring.models import (
    INTERVALS,
    LOG_ERROR,
    LOG_OK,
    MODE_DRAFT,
    MODE_SEND,
    MODES,
    RecurringLog,
    RecurringRun,
    RecurringTemplate,
)
from kms.permissions import Permission, require_permission
from kms.rendering.glyphs import validate_printable
from kms.types import BERLIN, today, utcnow

log = logging.getLogger(__name__)

ENTITY = "recurring_template"
ACTOR = "automatism"
PREVIEW_COUNT = 3

LABELS = {
    "name": "Bezeichnung",
    "contact_id": "Kunde",
    "interval": "Intervall",
    "day_of_month": "Tag im Monat",
    "start_date": "Beginn",
    "end_date": "Ende",
    "max_count": "Anzahl Rechnungen",
    "mode": "Ausführung",
    "payment_term_days": "Zahlungsziel (Tage)",
    "intro_text": "Einleitung",
    "closing_text": "Schlusstext",
    "sepa_mandate_id": "SEPA-Mandat",
    "lines": "Positionen",
}


# --- templates ----------------------------------------------------------------------


def _line_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _stored_line(cleaned: dict[str, Any], raw_tax: str) -> dict[str, Any]:
    """A checked position in the shape save_draft takes again at every run."""
    keys = ("description", "quantity", "unit_code", "unit_price", "discount_kind")
    out = {k: _line_value(cleaned[k]) for k in keys}
    out["discount_value"] = _line_value(cleaned["discount_value"]) or ""
    out["discount_reason"] = cleaned["discount_reason"]
    out["tax"] = raw_tax
    return out


def _int(value: Any, field: str, message: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise ValidationError(field, message) from exc


def _clean(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Check a template's fields; every problem at once, in German."""
    errors = FieldErrors()
    out: dict[str, Any] = {}
    out["name"] = " ".join(str(values.get("name") or "").split())[:200]
    with errors.field("name"):
        if not out["name"]:
            raise ValidationError("name", "Bitte eine Bezeichnung angeben (z. B. Wartungsvertrag).")
        validate_printable(out["name"], field="name")
    contact = None
    with errors.field("contact_id"):
        raw = values.get("contact_id")
        contact = session.get(Contact, int(raw)) if raw not in (None, "") else None
        if contact is None:
            raise ValidationError("contact_id", "Bitte einen Kunden wählen.")
        if contact.archived_at is not None:
            raise ValidationError("contact_id", "Dieser Kunde ist archiviert.")
        out["contact_id"] = contact.id
    with errors.field("interval"):
        interval = str(values.get("interval") or "")
        interval = next((k for k, v in INTERVALS.items() if interval in (k, v)), "")
        if not interval:
            raise ValidationError(
                "interval", "Bitte monatlich, vierteljährlich oder jährlich wählen."
            )
        out["interval"] = interval
    with errors.field("day_of_month"):
        day = _int(values.get("day_of_month"), "day_of_month", "Bitte einen Tag von 1 bis 31.")
        if day is None or not 1 <= day <= 31:
            raise ValidationError("day_of_month", "Bitte einen Tag von 1 bis 31 angeben.")
        out["day_of_month"] = day
    start = values.get("start_date")
    end = values.get("end_date") or None
    with errors.field("start_date"):
        if not isinstance(start, date):
            raise ValidationError("start_date", "Bitte das Datum der ersten Rechnung angeben.")
        out["start_date"] = start
    with errors.field("end_date"):
        if end is not None and isinstance(start, date) and end < start:
            raise ValidationError("end_date", "Das Ende liegt vor dem Beginn.")
        out["end_date"] = end
    with errors.field("max_count"):
        count = _int(values.get("max_count"), "max_count", "Bitte eine ganze Zahl angeben.")
        if count is not None and not 1 <= count <= 1000:
            raise ValidationError("max_count", "Die Anzahl muss zwischen 1 und 1000 liegen.")
        out["max_count"] = count
    with errors.field("mode"):
        mode = str(values.get("mode") or "")
        mode = next((k for k, v in MODES.items() if mode in (k, v)), "")
        if not mode:
            raise ValidationError("mode", "Bitte wählen, was mit den Rechnungen geschieht.")
        if mode == MODE_SEND and contact is not None and not (contact.email or "").strip():
            raise ValidationError(
                "mode",
                "Beim Kunden ist keine E-Mail-Adresse hinterlegt: bitte dort ergänzen oder "
                "„nur ausstellen“ wählen.",
            )
        out["mode"] = mode
    with errors.field("payment_term_days"):
        term = _int(values.get("payment_term_days"), "payment_term_days", "Bitte Tage angeben.")
        if term is None or not 0 <= term <= 365:
            raise ValidationError("payment_term_days", "Das Zahlungsziel muss 0 bis 365 Tage sein.")
        out["payment_term_days"] = term
    for name in ("intro_text", "closing_text"):
        out[name] = str(values.get(name) or "").strip()
        with errors.field(name):
            validate_printable(out[name], field=name)
    with errors.field("sepa_mandate_id"):
        out["sepa_mandate_id"] = service._clean_mandate(
            session, values.get("sepa_mandate_id"), contact
        )
    out["active"] = bool(values.get("active", True))
    allowed = service.allowed_tax_options(session, today())
    lines = []
    for index, raw_line in enumerate(service._non_empty(list(values.get("lines") or [])), 1):
        try:
            cleaned = service._clean_line(raw_line, index, allowed)
        except ValidationErrors as exc:
            for name, message in exc.errors.items():
                errors.add(name, message)
            continue
        key = service.tax_key(InvoiceLine(**_line_fields(cleaned)))
        lines.append(_stored_line(cleaned, key))
    if not lines and not errors.errors and out["active"]:
        errors.add("lines", "Bitte mindestens eine Position angeben (oder die Vorlage pausieren).")
    out["lines"] = lines
    errors.raise_if_any()
    return out


def _line_fields(cleaned: dict[str, Any]) -> dict[str, Any]:
    names = {c.key for c in InvoiceLine.__table__.columns}
    return {k: v for k, v in cleaned.items() if k in names}


def get_template(session: Session, template_id: int) -> RecurringTemplate:
    template = session.get(RecurringTemplate, template_id)
    if template is None:
        raise NotFoundError("Diese Vorlage gibt es nicht (mehr).")
    return template


def _check_version(template: RecurringTemplate, version: int | None) -> None:
    if version is not None and template.version != version:
        raise ConflictError(
            "Diese Vorlage wurde inzwischen anderswo geändert. Bitte laden Sie die Seite neu."
        )


def save_template(
    session: Session,
    *,
    template_id: int | None = None,
    version: int | None = None,
    actor: str = "",
    **values: Any,
) -> RecurringTemplate:
    """Create or change a template; the positions are checked as an invoice draft's."""
    require_permission(Permission.INVOICES_WRITE, session)
    unknown = set(values) - set(LABELS) - {"active"}
    if unknown:
        raise TypeError(f"save_template() got unexpected fields {sorted(unknown)}")
    template = get_template(session, template_id) if template_id is not None else None
    if template is not None:
        if template.archived_at is not None:
            raise KmsError("Eine archivierte Vorlage kann nicht mehr geändert werden.")
        _check_version(template, version)
    data = _clean(session, values)
    if template is None:
        template = RecurringTemplate(**data)
        session.add(template)
        action = "created"
    else:
        for key, value in data.items():
            setattr(template, key, value)
        action = "updated"
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError("Die Vorlage wurde gleichzeitig geändert. Bitte neu laden.") from exc
    audit.record(session, entity=ENTITY, entity_id=template.id, action=action, actor=actor)
    return template


def set_active(
    session: Session, template_id: int, active: bool, *, version: int | None = None, actor: str = ""
) -> RecurringTemplate:
    """Pause or resume. Periods that fell into the pause are not invoiced afterwards: a
    resumed template starts with the first period from the day of resuming on."""
    require_permission(Permission.INVOICES_WRITE, session)
    template = get_template(session, template_id)
    _check_version(template, version)
    if active and not template.lines:
        raise KmsError("Die Vorlage hat keine Positionen: bitte zuerst Positionen angeben.")
    if template.archived_at is not None:
        raise KmsError("Eine archivierte Vorlage kann nicht fortgesetzt werden.")
    if active and not template.active:
        template.resumed_on = today()
    template.active = active
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=template.id,
        action="resumed" if active else "paused",
        actor=actor,
    )
    return template


def delete_template(session: Session, template_id: int, *, actor: str = "") -> str:
    """Delete a template; one with runs is archived instead (its invoices refer to it).

    Returns "deleted" or "archived"."""
    require_permission(Permission.INVOICES_WRITE, session)
    template = get_template(session, template_id)
    has_runs = session.scalar(
        select(RecurringRun.id).where(RecurringRun.template_id == template_id).limit(1)
    )
    if has_runs is None:
        session.delete(template)
        action = "deleted"
    else:
        template.active = False
        template.archived_at = utcnow()
        action = "archived"
    session.flush()
    audit.record(session, entity=ENTITY, entity_id=template_id, action=action, actor=actor)
    return action


@dataclass(frozen=True)
class TemplateRow:
    id: int
    version: int
    name: str
    customer: str
    interval: str
    day_of_month: int
    mode: str
    active: bool
    archived: bool
    net: Decimal
    gross: Decimal
    runs: int
    next_dates: list[date]


def invoice_lines(template: RecurringTemplate) -> list[InvoiceLine]:
    """The template's positions as (unsaved) invoice lines, for totals and the editor."""
    out = []
    for number, raw in enumerate(template.lines, start=1):
        option = service.TAX_OPTIONS[raw["tax"]]
        value = raw.get("discount_value")
        out.append(
            InvoiceLine(
                position=number,
                description=raw["description"],
                quantity=Decimal(raw["quantity"]),
                unit_code=raw["unit_code"],
                unit_price=Decimal(raw["unit_price"]),
                tax_category=option.category.value,
                tax_rate=option.rate,
                discount_kind=raw.get("discount_kind") or "",
                discount_value=Decimal(value) if value else None,
                discount_reason=raw.get("discount_reason") or "",
            )
        )
    return out


def totals(template: RecurringTemplate) -> tuple[Decimal, Decimal, Decimal]:
    """(net, VAT, gross) of one run, computed as an invoice's (a draft never saved)."""
    invoice = Invoice()
    invoice.lines.extend(invoice_lines(template))
    return service.compute_totals(invoice)


def rule_of(template: RecurringTemplate) -> schedule.Rule:
    return schedule.Rule(
        template.interval,
        template.day_of_month,
        template.start_date,
        template.end_date,
        template.max_count,
    )


def _open(template: RecurringTemplate, period: schedule.Period, done: set[date]) -> bool:
    """Not yet invoiced and not fallen into a pause."""
    resumed = template.resumed_on
    return period.start not in done and (resumed is None or period.start >= resumed)


def _done_periods(session: Session, template_id: int) -> set[date]:
    stmt = select(RecurringRun.period_start).where(RecurringRun.template_id == template_id)
    return set(session.scalars(stmt))


def next_dates(
    session: Session, template: RecurringTemplate, count: int = PREVIEW_COUNT
) -> list[date]:
    """The next run dates that have no invoice yet (overdue ones first: they come at once)."""
    done = _done_periods(session, template.id) if template.id else set()
    out: list[date] = []
    for period in schedule.periods(rule_of(template)):
        if _open(template, period, done):
            out.append(period.start)
            if len(out) == count:
                break
    return out


def list_templates(session: Session, *, archived: bool = False) -> list[TemplateRow]:
    """The templates (active and paused; or the archived ones) with their next dates."""
    require_permission(Permission.INVOICES_READ, session)
    stmt = select(RecurringTemplate).order_by(RecurringTemplate.name, RecurringTemplate.id)
    if archived:
        stmt = stmt.where(RecurringTemplate.archived_at.is_not(None))
    else:
        stmt = stmt.where(RecurringTemplate.archived_at.is_(None))
    rows = []
    for template in session.scalars(stmt):
        contact = session.get(Contact, template.contact_id)
        net, _tax, gross = totals(template)
        rows.append(
            TemplateRow(
                id=template.id,
                version=template.version,
                name=template.name,
                customer=contact.display_name if contact else "",
                interval=INTERVALS[template.interval],
                day_of_month=template.day_of_month,
                mode=MODES[template.mode],
                active=template.active,
                archived=template.archived_at is not None,
                net=net,
                gross=gross,
                runs=len(_done_periods(session, template.id)),
                next_dates=[] if template.archived_at else next_dates(session, template),
            )
        )
    return rows


@dataclass(frozen=True)
class LogRow:
    created_at: datetime
    template: str
    period_start: date | None
    status: str
    message: str
    invoice_id: int | None


def run_log(session: Session, *, limit: int = 100) -> list[LogRow]:
    """The newest entries of the run log: created invoices and errors."""
    require_permission(Permission.INVOICES_READ, session)
    stmt = (
        select(RecurringLog, RecurringTemplate.name)
        .outerjoin(RecurringTemplate, RecurringTemplate.id == RecurringLog.template_id)
        .order_by(RecurringLog.id.desc())
        .limit(limit)
    )
    return [
        LogRow(e.created_at, name or "", e.period_start, e.status, e.message, e.invoice_id)
        for e, name in session.execute(stmt)
    ]


# --- the automatism ------------------------------------------------------------------


class _AlreadyDone(Exception):
    """Another process created this period first."""


@dataclass
class Outcome:
    created: list[str]
    errors: list[str]
    skipped: int = 0

    def summary(self) -> str:
        parts = []
        if self.created:
            shown = ", ".join(self.created[:5])
            more = f" und {len(self.created) - 5} weitere" if len(self.created) > 5 else ""
            parts.append(f"{len(self.created)} erstellt: {shown}{more}")
        if self.errors:
            parts.append(f"{len(self.errors)} Fehler (siehe Ausführungsprotokoll)")
        if not parts:
            return "Keine fälligen wiederkehrenden Rechnungen."
        return "Wiederkehrende Rechnungen: " + "; ".join(parts) + "."


def _message(exc: KmsError) -> str:
    if isinstance(exc, issuing.IssueRefused):
        return " ".join(issuing.describe_refusal(exc))
    if isinstance(exc, ValidationErrors):
        return " ".join(exc.errors.values())
    return exc.message


def _write_log(
    url: str | None,
    template_id: int,
    period: date | None,
    status: str,
    message: str,
    invoice_id: int | None = None,
) -> None:
    """Add a log entry; an error already logged last for that period is not repeated."""
    with session_scope(url) as session:
        last = session.scalar(
            select(RecurringLog)
            .where(RecurringLog.template_id == template_id)
            .order_by(RecurringLog.id.desc())
            .limit(1)
        )
        if (
            status == LOG_ERROR
            and last is not None
            and (last.status, last.period_start, last.message) == (status, period, message)
        ):
            return
        session.add(
            RecurringLog(
                template_id=template_id,
                period_start=period,
                status=status,
                message=message[:4000],
                invoice_id=invoice_id,
            )
        )


def _create_period(
    url: str | None, template_id: int, period: schedule.Period, day: date
) -> tuple[int, str, str]:
    """Create one period's invoice (or draft) in one transaction with its run row.

    Returns (invoice id, label, mode); raises _AlreadyDone or a KmsError (nothing kept)."""
    with session_scope(url) as session:
        taken = session.scalar(
            select(RecurringRun.id).where(
                RecurringRun.template_id == template_id,
                RecurringRun.period_start == period.start,
            )
        )
        if taken is not None:
            raise _AlreadyDone()
        template = get_template(session, template_id)
        if not template.active or template.archived_at is not None:
            raise _AlreadyDone()
        run = RecurringRun(
            template_id=template_id, period_start=period.start, period_end=period.end
        )
        session.add(run)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _AlreadyDone() from exc
        if not template.lines:
            raise KmsError("Die Vorlage hat keine Positionen; es wurde keine Rechnung erstellt.")
        draft = service.save_draft(
            session,
            contact_id=template.contact_id,
            period_start=period.start,
            period_end=period.end,
            payment_term_days=template.payment_term_days,
            intro_text=template.intro_text,
            closing_text=template.closing_text,
            sepa_mandate_id=template.sepa_mandate_id,
            lines=[dict(line) for line in template.lines],
            as_of=day,
            actor=ACTOR,
        )
        invoice: Invoice = draft
        if template.mode != MODE_DRAFT:
            prepared = issuing.prepare_issue(session, draft.id, issue_date=day)
            invoice = issuing.issue(session, prepared, actor=ACTOR)
        run.invoice_id = invoice.id
        session.flush()
        return invoice.id, invoice.label, template.mode


def _send(url: str | None, invoice_id: int) -> None:
    """E-mail an issued invoice with the texts of the settings; records the Sending."""
    with session_scope(url) as session:
        invoice = service.get_invoice(session, invoice_id)
        draft = mailing.mail_draft(session, invoice_id)
        mailing.send_invoice_mail(
            session,
            invoice_id,
            to=draft.to,
            subject=draft.subject,
            body=draft.body,
            with_xrechnung=invoice.xrechnung,
            actor=ACTOR,
        )
        run = session.scalar(select(RecurringRun).where(RecurringRun.invoice_id == invoice_id))
        if run is not None:
            run.sent_at = utcnow()


def create_due(now: datetime | None = None, *, url: str | None = None) -> Outcome:
    """⊕ Create every due, not yet created period of every active template, in order.

    Each period has its own transaction; a failing template is logged and the others go on.
    Runs as the system (the automatism); it uses its own sessions, never the caller's."""
    now = now or utcnow()
    day = now.astimezone(BERLIN).date()
    with session_scope(url, write=False) as session:
        templates = list(
            session.scalars(
                select(RecurringTemplate)
                .where(RecurringTemplate.active.is_(True))
                .where(RecurringTemplate.archived_at.is_(None))
                .order_by(RecurringTemplate.id)
            )
        )
        work = [
            (t.id, [p for p in schedule.due(rule_of(t), day) if _open(t, p, done)])
            for t in templates
            for done in [_done_periods(session, t.id)]
        ]
    outcome = Outcome(created=[], errors=[])
    for template_id, missing in work:
        for period in missing:
            try:
                invoice_id, label, mode = _create_period(url, template_id, period, day)
            except _AlreadyDone:
                outcome.skipped += 1
                continue
            except KmsError as exc:
                message = _message(exc)
                outcome.errors.append(message)
                _write_log(url, template_id, period.start, LOG_ERROR, message)
                break  # later periods wait: they must not overtake the failed one
            outcome.created.append(label)
            text = f"{label} erstellt (Leistungszeitraum {_period_text(period)})."
            if mode == MODE_SEND:
                try:
                    _send(url, invoice_id)
                    text += " Per E-Mail versendet."
                except KmsError as exc:
                    message = f"{label} erstellt, aber nicht versendet: {_message(exc)}"
                    outcome.errors.append(message)
                    _write_log(url, template_id, period.start, LOG_ERROR, message, invoice_id)
                    continue
            _write_log(url, template_id, period.start, LOG_OK, text, invoice_id)
    return outcome


def _period_text(period: schedule.Period) -> str:
    from kms.formatting import format_date

    return f"{format_date(period.start)}–{format_date(period.end)}"


def automatism(_session: Session, now: datetime) -> str:
    """The AutomatismSpec's entry: never touches the scheduler's session (its own per period)."""
    return create_due(now).summary()
