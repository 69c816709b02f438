"""SEPA-Lastschrift: mandates per customer, and ▶ Lastschriftdatei erzeugen (pain.008).

A debit is only collected once the bank booked it. Creating the file records a run
(status "erstellt") and nothing else; confirming the run ("von der Bank gebucht") records
the payments and moves each mandate from FRST to RCUR; discarding it frees the invoices
for the next file. The XML is built by the maintained `sepaxml` library (MIT) and checked
against the pain.008 XSD it ships.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms import audit
from kms.errors import ConflictError, FieldErrors, KmsError, ValidationError
from kms.formatting import format_date
from kms.modules.contacts.models import Contact
from kms.modules.invoices.models import (
    KIND_INVOICE,
    RUN_CONFIRMED,
    RUN_CREATED,
    RUN_DISCARDED,
    SCHEMES,
    SEQUENCE_FIRST,
    SEQUENCE_RECURRING,
    Invoice,
    SepaMandate,
    SepaRun,
    SepaRunItem,
)
from kms.modules.settings.models import CompanyProfile
from kms.permissions import Permission, require_permission
from kms.types import today, utcnow
from kms.validation import validate_bic, validate_iban

# pain.008.001.08: the version of the Deutsche Kreditwirtschaft's DFÜ-Abkommen Anlage 3
# (3.7, since November 2023) that German banks take; sepaxml ships its XSD.
SCHEMA = "pain.008.001.08"
ENTITY = "sepa_mandate"
RUN_ENTITY = "sepa_run"
# A mandate unused for 36 months expires (SEPA rulebook); it needs a new signature.
EXPIRY_MONTHS = 36
# DK's RestrictedIdentificationSEPA2 for the Mandatsreferenz: no spaces, no umlauts.
_REFERENCE = re.compile(r"[A-Za-z0-9+?/\-:().,']{1,35}")
CONFLICT = "Das Mandat wurde inzwischen anderswo geändert. Bitte die Seite neu laden."


# --- mandates -----------------------------------------------------------------------


def validate_reference(value: str, *, field: str = "reference") -> str:
    """A Mandatsreferenz: 1–35 characters of the SEPA character set, without spaces."""
    text = str(value or "").strip()
    if not text:
        raise ValidationError(field, "Bitte eine Mandatsreferenz angeben.")
    if len(text) > 35:
        raise ValidationError(field, "Die Mandatsreferenz darf höchstens 35 Zeichen lang sein.")
    if not _REFERENCE.fullmatch(text):
        raise ValidationError(
            field,
            f"Die Mandatsreferenz „{text}“ enthält unzulässige Zeichen. Erlaubt sind A–Z, "
            "a–z, 0–9 und + ? / - : ( ) . , ' – keine Leerzeichen und keine Umlaute.",
        )
    return text


def _clean(session: Session, values: dict[str, Any], mandate: SepaMandate | None) -> dict:
    errors = FieldErrors()
    out: dict[str, Any] = {}
    contact = None
    with errors.field("contact_id"):
        raw = values.get("contact_id", mandate.contact_id if mandate else None)
        contact = session.get(Contact, int(raw)) if raw else None
        if contact is None:
            raise ValidationError("contact_id", "Bitte einen Kunden wählen.")
        out["contact_id"] = contact.id
    with errors.field("reference"):
        out["reference"] = validate_reference(values.get("reference") or "")
        clash = session.scalar(
            select(SepaMandate.id).where(
                func.upper(SepaMandate.reference) == out["reference"].upper()
            )
        )
        if clash is not None and (mandate is None or clash != mandate.id):
            raise ValidationError(
                "reference", f"Die Mandatsreferenz „{out['reference']}“ ist schon vergeben."
            )
    with errors.field("signed_on"):
        signed = values.get("signed_on")
        if not isinstance(signed, date):
            raise ValidationError("signed_on", "Bitte das Datum der Unterschrift angeben.")
        if signed > today():
            raise ValidationError(
                "signed_on", "Das Mandat kann nicht in der Zukunft unterschrieben sein."
            )
        out["signed_on"] = signed
    with errors.field("scheme"):
        scheme = str(values.get("scheme") or "CORE")
        if scheme not in SCHEMES:
            raise ValidationError("scheme", "Bitte CORE (Basislastschrift) oder B2B wählen.")
        consumer = contact is not None and contact.kind == "person" and contact.organisation is None
        if scheme == "B2B" and consumer:
            raise ValidationError(
                "scheme",
                "Die Firmenlastschrift (B2B) gibt es nur mit Unternehmen, nicht mit "
                "Verbrauchern. Bitte CORE wählen.",
            )
        out["scheme"] = scheme
    with errors.field("iban"):
        out["iban"] = validate_iban(str(values.get("iban") or ""))
    with errors.field("bic"):
        bic = str(values.get("bic") or "").strip()
        out["bic"] = validate_bic(bic, iban=out.get("iban")) if bic else ""
    with errors.field("debtor_name"):
        name = " ".join(str(values.get("debtor_name") or "").split())
        if not name and contact is not None:
            name = contact.display_name
        if not name:
            raise ValidationError("debtor_name", "Bitte den Namen des Kontoinhabers angeben.")
        if len(name) > 70:
            raise ValidationError(
                "debtor_name", "Der Kontoinhaber darf höchstens 70 Zeichen lang sein."
            )
        out["debtor_name"] = name
    out["one_off"] = bool(values.get("one_off", mandate.one_off if mandate else False))
    errors.raise_if_any()
    return out


def create_mandate(session: Session, *, actor: str = "", **values: Any) -> SepaMandate:
    """Record a signed mandate (contact_id, reference, signed_on, scheme, iban, bic,
    debtor_name, one_off); the first debit under it is an FRST, or the single OOFF of a
    one-off mandate."""
    require_permission(Permission.INVOICES_WRITE, session)
    mandate = SepaMandate(**_clean(session, values, None))
    session.add(mandate)
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=mandate.id,
        action="created",
        actor=actor,
        reference=mandate.reference,
        contact_id=mandate.contact_id,
    )
    return mandate


def update_mandate(
    session: Session, mandate_id: int, *, version: int, actor: str = "", **values: Any
) -> SepaMandate:
    """Change a mandate; reference, IBAN, date, scheme and customer only while nothing was
    collected under it (afterwards a changed mandate is a new mandate)."""
    require_permission(Permission.INVOICES_WRITE, session)
    mandate = get_mandate(session, mandate_id)
    if mandate.version != version:
        raise ConflictError(CONFLICT)
    data = _clean(session, {"contact_id": mandate.contact_id, **values}, mandate)
    if mandate.last_used_on is not None:
        for name in ("reference", "iban", "signed_on", "scheme", "one_off", "contact_id"):
            if data[name] != getattr(mandate, name):
                raise ValidationError(
                    name,
                    "Unter diesem Mandat wurde schon eingezogen: Mandatsreferenz, IBAN, Datum, "
                    "Art und Kunde bleiben. Für eine Änderung bitte ein neues Mandat einholen "
                    "und anlegen (und dieses widerrufen).",
                )
    for key, value in data.items():
        setattr(mandate, key, value)
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(CONFLICT) from exc
    audit.record(session, entity=ENTITY, entity_id=mandate.id, action="updated", actor=actor)
    return mandate


def revoke_mandate(
    session: Session, mandate_id: int, *, version: int, revoked_on: date, actor: str = ""
) -> SepaMandate:
    """The customer revoked the mandate: no further debits under it."""
    require_permission(Permission.INVOICES_WRITE, session)
    mandate = get_mandate(session, mandate_id)
    if mandate.version != version:
        raise ConflictError(CONFLICT)
    if mandate.revoked_on is not None:
        raise KmsError(f"Das Mandat {mandate.reference} ist bereits widerrufen.")
    if revoked_on < mandate.signed_on:
        raise ValidationError("revoked_on", "Der Widerruf liegt vor der Unterschrift.")
    mandate.revoked_on = revoked_on
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(CONFLICT) from exc
    audit.record(
        session, entity=ENTITY, entity_id=mandate.id, action="revoked", actor=actor,
        revoked_on=revoked_on,
    )  # fmt: skip
    return mandate


def get_mandate(session: Session, mandate_id: int) -> SepaMandate:
    mandate = session.get(SepaMandate, mandate_id)
    if mandate is None:
        raise KmsError("Dieses Mandat gibt es nicht (mehr).")
    return mandate


def mandates(session: Session, *, contact_id: int | None = None) -> list[SepaMandate]:
    """All mandates (of one customer), newest first."""
    query = select(SepaMandate).order_by(SepaMandate.signed_on.desc(), SepaMandate.id.desc())
    if contact_id is not None:
        query = query.where(SepaMandate.contact_id == contact_id)
    return list(session.scalars(query))


def expired(mandate: SepaMandate, day: date) -> bool:
    """Unused for 36 months (since signature or last debit): no longer valid."""
    last = mandate.last_used_on or mandate.signed_on
    months = (day.year - last.year) * 12 + day.month - last.month - (day.day < last.day)
    return months >= EXPIRY_MONTHS


def mandate_problem(session: Session, mandate_id: int, contact_id: int, day: date) -> str | None:
    """Why an invoice of `contact_id` cannot be collected under the mandate (or None)."""
    mandate = session.get(SepaMandate, mandate_id)
    if mandate is None:
        return "Das gewählte SEPA-Mandat gibt es nicht (mehr)."
    if mandate.contact_id != contact_id:
        return f"Das Mandat {mandate.reference} gehört zu einem anderen Kunden."
    if mandate.revoked_on is not None:
        revoked = format_date(mandate.revoked_on)
        return f"Das Mandat {mandate.reference} wurde am {revoked} widerrufen."
    if mandate.used_up:
        return (
            f"Das Einmalmandat {mandate.reference} wurde schon eingezogen; für eine weitere "
            "Lastschrift ist ein neues Mandat nötig."
        )
    if expired(mandate, day):
        return (
            f"Das Mandat {mandate.reference} wurde 36 Monate nicht genutzt und ist verfallen; "
            "bitte ein neues Mandat einholen."
        )
    return None


def direct_debit_snapshot(session: Session, mandate_id: int) -> dict[str, Any]:
    """What an issued invoice freezes about its debit (printed and in the e-invoice)."""
    mandate = get_mandate(session, mandate_id)
    profile = session.scalar(select(CompanyProfile).limit(1))
    return {
        "mandate_reference": mandate.reference,
        "creditor_id": profile.creditor_id if profile else "",
        "debtor_iban": mandate.iban,
        "debtor_name": mandate.debtor_name,
        "scheme": mandate.scheme,
    }


# --- collection dates ---------------------------------------------------------------


def easter_sunday(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month = (h + l_ - 7 * m + 90) // 25
    return date(year, month, (h + l_ - 7 * m + 33 * month + 19) % 32)


def target_holiday(day: date) -> bool:
    """TARGET2 closing days: weekends, 1 January, Good Friday, Easter Monday, 1 May,
    25 and 26 December (no SEPA settlement on them)."""
    if day.weekday() >= 5:
        return True
    if (day.month, day.day) in {(1, 1), (5, 1), (12, 25), (12, 26)}:
        return True
    sunday = easter_sunday(day.year)
    return day in (sunday - timedelta(days=2), sunday + timedelta(days=1))


def next_business_day(day: date) -> date:
    while target_holiday(day):
        day += timedelta(days=1)
    return day


def earliest_collection_date(day: date) -> date:
    """The first collection date a file handed in on `day` may request: one TARGET
    business day later (D-1 for CORE and B2B, FRST and RCUR alike since November 2016)."""
    return next_business_day(next_business_day(day) + timedelta(days=1))


# --- the run ------------------------------------------------------------------------


@dataclass(frozen=True)
class DueDebit:
    """One invoice to collect: amount open, mandate, FRST or RCUR."""

    invoice_id: int
    number: str
    customer: str
    due_date: date
    amount: Decimal
    mandate_id: int
    reference: str
    sequence: str
    problem: str = ""


def _filed(session: Session) -> tuple[set[int], set[int]]:
    """Invoices and mandates in a file that is not discarded (created or booked)."""
    rows = session.execute(
        select(SepaRunItem.invoice_id, SepaRunItem.mandate_id)
        .join(SepaRun, SepaRun.id == SepaRunItem.run_id)
        .where(SepaRun.status != RUN_DISCARDED)
    ).all()
    return {row.invoice_id for row in rows}, {row.mandate_id for row in rows}


def notice_problem(issue_date: date | None, collection_date: date, notice_days: int) -> str:
    """Why the invoice (the Vorabankündigung) came too late for `collection_date`, or ""."""
    if issue_date is None:
        return "Die Rechnung ist noch nicht abgeschlossen; die Vorabankündigung fehlt."
    earliest = issue_date + timedelta(days=notice_days)
    if collection_date >= earliest:
        return ""
    return (
        f"Vorabankündigung zu kurz: Rechnung vom {format_date(issue_date)}, Einzug am "
        f"{format_date(collection_date)}. Angekündigt werden muss {notice_days} Tage vorher; "
        f"einziehbar frühestens am {format_date(earliest)}."
    )


def due_debits(
    session: Session,
    start: date,
    end: date,
    *,
    day: date | None = None,
    collection_date: date | None = None,
) -> list[DueDebit]:
    """Issued, unpaid invoices with a mandate, due from `start` to `end`, not yet in a
    file; each with a problem text when its mandate forbids collecting it or its invoice
    (the pre-notification) was issued less than the notice period before the collection
    date (`collection_date`, else the announced due date).

    Sequence type: a mandate without a booked (confirmed) debit is FRST for its first
    collectable debit and RCUR for any further one in the same list; a one-off mandate is
    OOFF for one debit only (none while another is in an open or booked file)."""
    from kms.modules.invoices.config import get_settings
    from kms.modules.invoices.service import open_amount

    day = day or today()
    notice_days = get_settings(session).sepa_notice_days
    busy, filed_mandates = _filed(session)
    query = (
        select(Invoice)
        .where(
            Invoice.kind == KIND_INVOICE,
            Invoice.issued_at.is_not(None),
            Invoice.sepa_mandate_id.is_not(None),
            Invoice.due_date >= start,
            Invoice.due_date <= end,
        )
        .order_by(Invoice.due_date, Invoice.number)
    )
    out = []
    mandates_ = {m.id: m for m in session.scalars(select(SepaMandate))}
    # mandates whose first (or only) debit is already taken: in this list or, one-off, filed
    first_taken = {i for i in filed_mandates if mandates_[i].one_off}
    for invoice in session.scalars(query):
        amount = open_amount(session, invoice)
        if invoice.id in busy or amount <= 0 or invoice.sepa_mandate_id is None:
            continue
        mandate = mandates_[invoice.sepa_mandate_id]
        contact = session.get(Contact, invoice.contact_id)
        due = invoice.due_date or start
        problem = mandate_problem(session, mandate.id, invoice.contact_id, day) or notice_problem(
            invoice.issue_date, collection_date or due, notice_days
        )
        sequence = mandate.sequence
        if not problem and mandate.id in first_taken:
            if mandate.one_off:
                problem = (
                    f"Das Einmalmandat {mandate.reference} erlaubt nur eine Lastschrift; "
                    "für diese Rechnung ist ein neues Mandat nötig."
                )
            elif sequence == SEQUENCE_FIRST:
                sequence = SEQUENCE_RECURRING
        if not problem:
            first_taken.add(mandate.id)
        out.append(
            DueDebit(
                invoice_id=invoice.id,
                number=invoice.number or "",
                customer=contact.display_name if contact else "",
                due_date=due,
                amount=amount,
                mandate_id=mandate.id,
                reference=mandate.reference,
                sequence=sequence,
                problem=problem,
            )
        )
    return out


def cents(amount: Decimal) -> int:
    """Decimal euros to integer cents, refusing anything finer than a cent."""
    value = amount * 100
    if value != value.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(value)


def _creditor(session: Session) -> CompanyProfile:
    profile = session.scalar(select(CompanyProfile).limit(1))
    if profile is None or not profile.company_name:
        raise KmsError("Bitte zuerst die Firmendaten speichern (Einstellungen → Firmendaten).")
    if not profile.creditor_id:
        raise KmsError(
            "Für Lastschriften fehlt Ihre Gläubiger-Identifikationsnummer "
            "(Einstellungen → Firmendaten → Gläubiger-ID)."
        )
    if not profile.iban:
        raise KmsError("Für Lastschriften fehlt Ihre IBAN (Einstellungen → Firmendaten → Bank).")
    return profile


def build_pain008(
    profile: CompanyProfile,
    debits: list[tuple[DueDebit, SepaMandate]],
    collection_date: date,
    end_to_end: list[str],
) -> tuple[str, bytes]:
    """The pain.008 XML (message id, bytes), validated against the XSD by sepaxml."""
    from sepaxml import SepaDD
    from sepaxml.validation import ValidationError as XsdError

    schemes = {mandate.scheme for _debit, mandate in debits}
    if len(schemes) != 1:
        raise KmsError("Basis- (CORE) und Firmenlastschriften (B2B) gehören in getrennte Dateien.")
    config: dict[str, Any] = {
        "name": profile.company_name,
        "IBAN": profile.iban,
        "batch": True,
        "creditor_id": profile.creditor_id,
        "currency": "EUR",
        "instrument": schemes.pop(),
    }
    if profile.bic:
        config["BIC"] = profile.bic
    sepa = SepaDD(config, schema=SCHEMA, clean=True)
    for (debit, mandate), e2e in zip(debits, end_to_end, strict=True):
        payment: dict[str, Any] = {
            "name": mandate.debtor_name,
            "IBAN": mandate.iban,
            "amount": cents(debit.amount),
            "type": debit.sequence,
            "collection_date": collection_date,
            "mandate_id": mandate.reference,
            "mandate_date": mandate.signed_on,
            "description": f"Rechnung {debit.number}",
            "endtoend_id": e2e,
        }
        if mandate.bic:
            payment["BIC"] = mandate.bic
        sepa.add_payment(payment)
    try:
        xml = sepa.export(validate=True)
    except XsdError as exc:
        raise KmsError(
            "Die Lastschriftdatei entspricht nicht dem pain.008-Schema; bitte Namen und "
            f"Kontodaten der Mandate prüfen ({exc.__cause__})."
        ) from exc
    return sepa.msg_id, xml


def create_run(
    session: Session,
    *,
    start: date,
    end: date,
    collection_date: date,
    actor: str = "",
    day: date | None = None,
) -> SepaRun:
    """▶ Lastschriftdatei erzeugen: one pain.008 of the due debits from `start` to `end`."""
    require_permission(Permission.INVOICES_WRITE, session)
    day = day or today()
    profile = _creditor(session)
    if end < start:
        raise ValidationError("end", "Das Ende des Zeitraums liegt vor seinem Beginn.")
    earliest = earliest_collection_date(day)
    if collection_date < earliest:
        raise ValidationError(
            "collection_date",
            f"Das Einzugsdatum muss mindestens einen Bankarbeitstag nach der Einreichung "
            f"liegen: frühestens {format_date(earliest)}.",
        )
    if target_holiday(collection_date):
        raise ValidationError(
            "collection_date",
            f"Am {format_date(collection_date)} wird nicht gebucht (Wochenende oder "
            f"TARGET-Feiertag); nächster Bankarbeitstag: "
            f"{format_date(next_business_day(collection_date))}.",
        )
    if end > collection_date:
        raise ValidationError(
            "end",
            "Angekündigt ist der Einzug zum Fälligkeitstag; Rechnungen, die erst nach dem "
            "Einzugsdatum fällig werden, dürfen nicht früher eingezogen werden. Bitte das Ende "
            "des Zeitraums höchstens auf das Einzugsdatum legen.",
        )
    found = due_debits(session, start, end, day=day, collection_date=collection_date)
    debits = [d for d in found if not d.problem]
    if not debits:
        raise KmsError("Im gewählten Zeitraum sind keine Lastschriften fällig.")
    pairs = [(d, get_mandate(session, d.mandate_id)) for d in debits]
    schemes = {m.scheme for _d, m in pairs}
    if len(schemes) > 1:  # one file per scheme: CORE first, B2B in a second run
        pairs = [(d, m) for d, m in pairs if m.scheme == "CORE"]
    end_to_end = [f"KMS-{d.number}"[:35] for d, _m in pairs]
    message_id, xml = build_pain008(profile, pairs, collection_date, end_to_end)
    total = sum((d.amount for d, _m in pairs), Decimal("0.00"))
    run = SepaRun(
        message_id=message_id,
        collection_date=collection_date,
        count=len(pairs),
        total=total,
        filename=f"lastschrift-{collection_date.isoformat()}-{message_id[-12:]}.xml",
        xml=xml.decode("utf-8"),
        created_by=actor,
    )
    run.items = [
        SepaRunItem(
            invoice_id=d.invoice_id,
            mandate_id=m.id,
            amount=d.amount,
            sequence=d.sequence,
            end_to_end_id=e2e,
        )
        for (d, m), e2e in zip(pairs, end_to_end, strict=True)
    ]
    session.add(run)
    session.flush()
    audit.record(
        session,
        entity=RUN_ENTITY,
        entity_id=run.id,
        action="created",
        actor=actor,
        message_id=message_id,
        collection_date=collection_date,
        count=run.count,
        total=total,
    )
    return run


def _open_run(session: Session, run_id: int, version: int) -> SepaRun:
    run = session.get(SepaRun, run_id)
    if run is None:
        raise KmsError("Diese Lastschriftdatei gibt es nicht (mehr).")
    if run.version != version:
        raise ConflictError("Die Lastschriftdatei wurde inzwischen anderswo bearbeitet.")
    if run.status != RUN_CREATED:
        raise KmsError("Diese Lastschriftdatei ist bereits abgeschlossen.")
    return run


def confirm_run(
    session: Session, run_id: int, *, version: int, booked_on: date, actor: str = ""
) -> SepaRun:
    """The bank booked the file: record each debit as payment, mandates become RCUR."""
    require_permission(Permission.INVOICES_WRITE, session)
    from kms.modules.invoices.payments import record_payment

    run = _open_run(session, run_id, version)
    if booked_on < run.collection_date:
        raise ValidationError("booked_on", "Die Bank bucht frühestens am Einzugsdatum der Datei.")
    for item in run.items:
        record_payment(
            session,
            item.invoice_id,
            paid_on=booked_on,
            amount=item.amount,
            method="lastschrift",
            note=f"SEPA-Lastschrift {run.message_id}"[:200],
            actor=actor,
        )
        mandate = get_mandate(session, item.mandate_id)
        if mandate.last_used_on is None or mandate.last_used_on < booked_on:
            mandate.last_used_on = booked_on
    run.status = RUN_CONFIRMED
    run.settled_at = utcnow()
    session.flush()
    audit.record(
        session, entity=RUN_ENTITY, entity_id=run.id, action="confirmed", actor=actor,
        booked_on=booked_on,
    )  # fmt: skip
    return run


def discard_run(session: Session, run_id: int, *, version: int, actor: str = "") -> SepaRun:
    """The file was not handed in (or the bank refused it): its invoices are due again."""
    require_permission(Permission.INVOICES_WRITE, session)
    run = _open_run(session, run_id, version)
    run.status = RUN_DISCARDED
    run.settled_at = utcnow()
    session.flush()
    audit.record(session, entity=RUN_ENTITY, entity_id=run.id, action="discarded", actor=actor)
    return run


def runs(session: Session, *, limit: int = 50) -> list[SepaRun]:
    return list(session.scalars(select(SepaRun).order_by(SepaRun.id.desc()).limit(limit)))
