"""Schreiben: write, preview, save, send and copy letters; templates; Serienbrief.

A letter stores what the user typed (placeholders included) and, while a draft, the PDF of
its current content. Saving a draft re-renders that PDF; sending (by post or e-mail) freezes
it: the bytes move to Dokumente, are the original from then on (read back only after a
SHA-256 check), and every change is refused. A copy becomes a
new draft. Every event goes to the audit log.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms.audit import record
from kms.errors import (
    ConflictError,
    FieldErrors,
    KmsError,
    NotFoundError,
    ValidationError,
    ValidationErrors,
)
from kms.mail import Attachment, SmtpSettings, build_message, send_message
from kms.modules.contacts.models import Contact, ContactRole, Tag
from kms.modules.letters import placeholders
from kms.modules.letters.addressing import (
    address_lines,
    free_address_lines,
    placeholder_values,
    sender_from_profile,
    suggest_closing,
    suggest_salutation,
)
from kms.modules.letters.models import DRAFT, SENT, Letter, LetterTemplate, MailMerge
from kms.modules.settings.service import get_profile, logo_bytes
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.rendering.errors import RenderError
from kms.rendering.glyphs import validate_printable
from kms.rendering.letter import Company, LetterData, render_letter, render_letters_combined
from kms.types import today, utcnow
from kms.validation import validate_email

SUBJECT_MAX = 300
NAME_MAX = 120
LINE_MAX = 200


class LetterLockedError(KmsError):
    """The letter was sent; its PDF is the original and cannot change any more."""


class EmptyPlaceholdersError(KmsError):
    """Placeholders of the letter resolve to nothing; `.names` lists them (without braces)."""

    def __init__(self, names: list[str], recipients: list[str] | None = None) -> None:
        self.names = names
        where = f" (bei {', '.join(recipients)})" if recipients else ""
        super().__init__(
            f"Im Brief bleiben Platzhalter leer, weil der Empfänger dazu nichts hat{where}: "
            f"{placeholders.describe_empty(names)}. An diesen Stellen stünde nichts. Bitte den "
            "Text anpassen oder bestätigen, dass der Brief trotzdem so versendet wird."
        )


# --- sender -------------------------------------------------------------------------------


def sender(session: Session) -> Company:
    """The letterhead from Einstellungen (a German error while it is missing)."""
    profile = get_profile(session)
    return sender_from_profile(profile, logo_bytes(profile) if profile.id else None)


def default_signature(session: Session) -> str:
    """The name under the closing: the contact person from Einstellungen."""
    profile = get_profile(session)
    return profile.contact_name or profile.representative


# --- composing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterInput:
    """What the letter form sends: recipient, texts, date; placeholders still unfilled."""

    contact_id: int | None = None
    free_address: str = ""
    subject: str = ""
    letter_date: date | None = None
    salutation: str = ""
    closing: str = ""
    signature: str = ""
    body: str = ""
    attachments: str = ""
    template_id: int | None = None

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> LetterInput:
        """Take the known keys of a form dict; strings are stripped."""
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        for key, value in known.items():
            if isinstance(value, str):
                known[key] = value.strip() if key not in ("body", "free_address") else value
        return cls(**known)


@dataclass(frozen=True)
class Composed:
    """A checked letter ready to render, plus what the letters table stores beside it."""

    data: LetterData
    contact: Contact | None
    recipient_lines: list[str] = field(default_factory=list)


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise ValidationError("recipient", "Diesen Kontakt gibt es nicht (mehr).")
    return contact


def compose(
    letter: LetterInput, *, contact: Contact | None, company: Company, errors: FieldErrors
) -> Composed | None:
    """Check every field (errors collected per field), fill placeholders, build LetterData."""
    lines: list[str] = []
    with errors.field("recipient"):
        if contact is not None:
            lines = address_lines(contact)
        elif letter.free_address.strip():
            with errors.field("free_address"):
                lines = free_address_lines(letter.free_address)
        else:
            raise ValidationError(
                "recipient",
                "Bitte einen Kontakt als Empfänger wählen oder eine Anschrift eingeben.",
            )
    with errors.field("letter_date"):
        if letter.letter_date is None:
            raise ValidationError("letter_date", "Bitte ein Briefdatum angeben.")
    letter_date = letter.letter_date or today()
    values = placeholder_values(contact, company, letter_date)
    recipient_ok = bool(lines)
    filled: dict[str, str] = {}
    for name, required, limit in (
        ("subject", "Bitte einen Betreff eingeben.", SUBJECT_MAX),
        ("body", "Bitte den Brieftext eingeben.", None),
        ("salutation", None, LINE_MAX),
        ("closing", None, LINE_MAX),
        ("signature", None, LINE_MAX),
        ("attachments", None, None),
    ):
        with errors.field(name):
            text = getattr(letter, name)
            if required and not text.strip():
                raise ValidationError(name, required)
            if limit and len(text) > limit:
                raise ValidationError(name, f"Bitte höchstens {limit} Zeichen.")
            validate_printable(text, field=name)
            if recipient_ok:
                filled[name] = placeholders.fill(text, values, name)
            else:  # which placeholders can be filled depends on the recipient still missing
                placeholders.check(text, name)
    if errors:
        return None
    data = LetterData(
        sender=company,
        recipient=tuple(lines),
        date=letter_date,
        subject=filled["subject"],
        body=filled["body"],
        salutation=filled["salutation"],
        closing=filled["closing"] or "Mit freundlichen Grüßen",
        signature=filled["signature"],
        info=(("Kundennummer", contact.customer_number),)
        if contact is not None and contact.customer_number
        else (),
        attachments=tuple(a.strip() for a in filled["attachments"].splitlines() if a.strip()),
    )
    return Composed(data, contact, lines)


def _compose_checked(session: Session, letter: LetterInput) -> Composed:
    """compose() with the sender and contact loaded; raises ValidationErrors for the form."""
    errors = FieldErrors()
    contact = None
    with errors.field("recipient"):
        if letter.contact_id is not None:
            contact = get_contact(session, letter.contact_id)
    company = None
    with errors.field("sender"):
        company = sender(session)
    composed = compose(letter, contact=contact, company=company, errors=errors) if company else None
    errors.raise_if_any()
    assert composed is not None  # noqa: S101 - no errors means compose returned a letter
    return composed


def _render(data: LetterData) -> bytes:
    """The PDF; renderer refusals become German KmsErrors."""
    try:
        return render_letter(data)
    except RenderError as exc:
        raise KmsError(str(exc)) from exc


def suggestions(session: Session, contact_id: int | None) -> dict[str, str]:
    """Anrede, Grußformel and signature suggested for a recipient (None: free address)."""
    contact = get_contact(session, contact_id) if contact_id is not None else None
    return {
        "salutation": suggest_salutation(contact),
        "closing": suggest_closing(contact),
        "signature": default_signature(session),
    }


def preview_pdf(session: Session, **values: Any) -> bytes:
    """Render the letter as it would be saved, without saving anything."""
    return _render(_compose_checked(session, LetterInput.from_values(values)).data)


# --- letters --------------------------------------------------------------------------------


def _store(letter: Letter, given: LetterInput, composed: Composed, pdf: bytes) -> None:
    letter.contact_id = given.contact_id
    letter.free_address = given.free_address if given.contact_id is None else ""
    letter.subject = given.subject
    letter.letter_date = composed.data.date
    letter.salutation = given.salutation
    letter.closing = given.closing
    letter.signature = given.signature
    letter.body = given.body
    letter.attachments = given.attachments
    letter.template_id = given.template_id
    letter.printed_subject = composed.data.subject[:SUBJECT_MAX]
    letter.recipient_lines = "\n".join(composed.recipient_lines)
    letter.draft_pdf = pdf
    letter.pdf_sha256 = hashlib.sha256(pdf).hexdigest()


def create_letter(session: Session, *, actor: str = "", **values: Any) -> Letter:
    """Check, render and save a new draft; the PDF of its content is stored with it."""
    require_permission(Permission.LETTERS_WRITE, session)
    given = LetterInput.from_values(values)
    composed = _compose_checked(session, given)
    pdf = _render(composed.data)
    letter = Letter(status=DRAFT, created_by=actor)
    _store(letter, given, composed, pdf)
    session.add(letter)
    session.flush()
    record(
        session,
        entity="letter",
        entity_id=letter.id,
        action="created",
        actor=actor,
        sha256=letter.pdf_sha256,
    )
    return letter


def get_letter(session: Session, letter_id: int) -> Letter:
    """A letter by id, or a German error."""
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFoundError("Diesen Brief gibt es nicht (mehr).")
    return letter


def _editable(session: Session, letter_id: int, version: int) -> Letter:
    """The draft with this id, if nobody sent or changed it since `version` was read."""
    letter = get_letter(session, letter_id)
    if letter.is_sent:
        raise LetterLockedError(
            "Dieser Brief wurde bereits versendet und kann nicht mehr geändert werden. "
            "Mit „Als neuen Entwurf kopieren“ entsteht eine bearbeitbare Kopie."
        )
    if letter.version != version:
        raise ConflictError(
            "Dieser Brief wurde inzwischen von jemand anderem geändert. Ihre Eingaben sind noch "
            "im Formular; bitte laden Sie den Brief neu und übernehmen Sie sie erneut."
        )
    return letter


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            "Dieser Brief wurde gleichzeitig von jemand anderem geändert. Bitte neu laden."
        ) from exc


def update_letter(
    session: Session, letter_id: int, *, version: int, actor: str = "", **values: Any
) -> Letter:
    """Save a changed draft (optimistic locking); sent letters are refused."""
    require_permission(Permission.LETTERS_WRITE, session)
    letter = _editable(session, letter_id, version)
    given = LetterInput.from_values(values)
    composed = _compose_checked(session, given)
    _store(letter, given, composed, _render(composed.data))
    _flush(session)
    record(
        session,
        entity="letter",
        entity_id=letter.id,
        action="updated",
        actor=actor,
        sha256=letter.pdf_sha256,
    )
    return letter


def delete_draft(session: Session, letter_id: int, *, version: int, actor: str = "") -> None:
    """Delete a draft; sent letters stay for good."""
    require_permission(Permission.LETTERS_WRITE, session)
    letter = _editable(session, letter_id, version)
    record(
        session,
        entity="letter",
        entity_id=letter.id,
        action="deleted",
        actor=actor,
        subject=letter.printed_subject,
    )
    session.delete(letter)
    _flush(session)


def letter_pdf(session: Session, letter_id: int) -> bytes:
    """The stored PDF: a draft's current one, a sent letter's original from Dokumente
    (checked against its SHA-256; a mismatch is a German error, never other bytes)."""
    return pdf_of(session, get_letter(session, letter_id))


def pdf_of(session: Session, letter: Letter) -> bytes:
    """The PDF of a loaded letter (see letter_pdf)."""
    if letter.is_sent:
        from kms.modules.documents.service import read_verified

        return read_verified(session, letter.document_id, letter.pdf_sha256)
    if letter.draft_pdf is None:  # pragma: no cover - every save stores one
        raise NotFoundError("Zu diesem Brief ist kein PDF gespeichert.")
    return letter.draft_pdf


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def _slug(text: str, limit: int) -> str:
    """ASCII file-name part: "Ihr Angebot für Müller" → "Ihr-Angebot-fuer-Mueller"."""
    folded = unicodedata.normalize("NFKD", text.translate(_UMLAUTS).replace("ß", "ss"))
    ascii_text = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-")


def pdf_filename(letter: Letter) -> str:
    """ "Brief_2026-11-26_Ihr-Angebot.pdf": ASCII, no path separators."""
    slug = _slug(letter.printed_subject, 60) or str(letter.id)
    return f"Brief_{letter.letter_date.isoformat()}_{slug}.pdf"


def _register_document(session: Session, letter: Letter) -> None:
    """The one place a sent letter enters Dokumente (type Brief), linked to its contact."""
    from kms.modules.documents.service import store_generated

    assert letter.draft_pdf is not None  # noqa: S101 - drafts always carry their PDF
    document = store_generated(
        session,
        content=letter.draft_pdf,
        filename=pdf_filename(letter),
        doc_type="letter",
        mime_type="application/pdf",
        contact_ids=(letter.contact_id,) if letter.contact_id else (),
        issued_on=letter.letter_date,
        title=letter.printed_subject,
    )
    letter.document_id = document.id
    letter.draft_pdf = None  # the original lives once, in Dokumente


TEXT_FIELDS = ("subject", "salutation", "body", "closing", "signature", "attachments")


def empty_placeholders(session: Session, letter: Letter) -> list[str]:
    """Placeholders of the letter's texts that are filled with nothing for its recipient."""
    company = sender(session)
    values = placeholder_values(letter.contact, company, letter.letter_date or today())
    return placeholders.empty_in((getattr(letter, f) or "" for f in TEXT_FIELDS), values)


def _freeze(
    session: Session, letter: Letter, *, via: str, to: str, actor: str, accept_empty: bool
) -> None:
    """Mark sent: the draft's PDF moves to Dokumente and is the original from now on (no
    re-render, no edit).

    Refused while placeholders resolve to nothing ("für ." in print), unless the user has
    seen them and accepted (`accept_empty`)."""
    assert letter.draft_pdf is not None  # noqa: S101 - drafts always carry their PDF
    empty = empty_placeholders(session, letter)
    if empty and not accept_empty:
        raise EmptyPlaceholdersError(empty)
    letter.status = SENT
    letter.sent_at = utcnow()
    letter.sent_via = via
    letter.sent_to = to
    letter.pdf_sha256 = hashlib.sha256(letter.draft_pdf).hexdigest()
    _register_document(session, letter)
    _flush(session)
    extra: dict[str, Any] = {"empty_placeholders": empty} if empty else {}
    record(
        session,
        entity="letter",
        entity_id=letter.id,
        action="sent",
        actor=actor,
        via=via,
        to=to,
        sha256=letter.pdf_sha256,
        **extra,
    )


def mark_sent(
    session: Session, letter_id: int, *, version: int, actor: str = "", accept_empty: bool = False
) -> Letter:
    """▶ Als versendet markieren: freeze the stored PDF (sent by post)."""
    require_permission(Permission.LETTERS_WRITE, session)
    letter = _editable(session, letter_id, version)
    _freeze(session, letter, via="post", to="", actor=actor, accept_empty=accept_empty)
    return letter


def default_mail_text(session: Session, letter: Letter) -> str:
    """A short cover text for the e-mail; the letter itself is the attached PDF."""
    profile = get_profile(session)
    salutation = suggest_salutation(letter.contact)
    closing = suggest_closing(letter.contact)
    name = profile.contact_name or profile.company_name
    return (
        f"{salutation}\n\nanbei erhalten Sie unser Schreiben „{letter.printed_subject}“ als PDF."
        f"\n\n{closing}\n{name}\n"
    )


def send_by_email(
    session: Session,
    letter_id: int,
    *,
    version: int,
    to: str,
    text: str,
    actor: str = "",
    accept_empty: bool = False,
    smtp: SmtpSettings | None = None,
    ssl_context: Any = None,
) -> Letter:
    """▶ Per E-Mail senden: mail the stored PDF, then freeze it; on any failure nothing changes."""
    require_permission(Permission.LETTERS_WRITE, session)
    from kms.modules.settings.service import smtp_settings

    letter = _editable(session, letter_id, version)
    errors = FieldErrors()
    with errors.field("to"):
        to = validate_email(to, field="to")
    with errors.field("text"):
        if not text.strip():
            raise ValidationError("text", "Bitte einen kurzen Begleittext eingeben.")
    errors.raise_if_any()
    settings = smtp or smtp_settings(session)
    assert letter.draft_pdf is not None  # noqa: S101 - drafts always carry their PDF
    message = build_message(
        settings=settings,
        to=[to],
        subject=letter.printed_subject,
        body_text=text,
        attachments=[Attachment(pdf_filename(letter), letter.draft_pdf, "application/pdf")],
    )
    # Freeze (and file in Dokumente) first, send last: a MailError propagates and the caller's
    # transaction rolls back, so the letter stays a draft and nothing is filed.
    _freeze(session, letter, via="email", to=to, actor=actor, accept_empty=accept_empty)
    send_message(settings, message, ssl_context=ssl_context)
    return letter


def copy_as_draft(session: Session, letter_id: int, *, actor: str = "") -> Letter:
    """▶ Als neuen Entwurf kopieren: a new, editable letter dated today."""
    require_permission(Permission.LETTERS_WRITE, session)
    original = get_letter(session, letter_id)
    values = {
        k: getattr(original, k) for k in LetterInput.__dataclass_fields__ if k != "letter_date"
    }
    copy = create_letter(session, actor=actor, letter_date=today(), **values)
    copy.copied_from_id = original.id
    session.flush()
    record(
        session,
        entity="letter",
        entity_id=copy.id,
        action="copied",
        actor=actor,
        source=original.id,
    )
    return copy


def edit_values(letter: Letter) -> dict[str, Any]:
    """The stored input of a letter, as the form shows it."""
    return {k: getattr(letter, k) for k in LetterInput.__dataclass_fields__}


def list_letters(
    session: Session,
    *,
    contact_id: int | None = None,
    status: str = "",
    search: str = "",
    mail_merge_id: int | None = None,
    page: int = 1,
    page_size: int = 25,
) -> Page[Letter]:
    """Newest first; filtered and paged in SQL. The PDF column is not loaded (deferred)."""
    stmt = select(Letter)
    if contact_id is not None:
        stmt = stmt.where(Letter.contact_id == contact_id)
    if status:
        stmt = stmt.where(Letter.status == status)
    if mail_merge_id is not None:
        stmt = stmt.where(Letter.mail_merge_id == mail_merge_id)
    for term in search.lower().split():
        # autoescape: "%" and "_" typed by the user are matched literally, not as wildcards.
        stmt = stmt.where(
            func.lower(Letter.printed_subject).contains(term, autoescape=True)
            | func.lower(Letter.recipient_lines).contains(term, autoescape=True)
        )
    return paginate(
        session,
        stmt.order_by(Letter.letter_date.desc(), Letter.id.desc()),
        page=page,
        size=page_size,
    )


# --- templates ------------------------------------------------------------------------------


def _clean_template(values: Mapping[str, Any]) -> dict[str, str]:
    data = {k: str(values.get(k) or "") for k in ("name", "subject", "body", "attachments")}
    data["name"], data["subject"] = data["name"].strip(), data["subject"].strip()
    errors = FieldErrors()
    with errors.field("name"):
        if not data["name"]:
            raise ValidationError("name", "Bitte der Vorlage einen Namen geben.")
        if len(data["name"]) > NAME_MAX:
            raise ValidationError("name", f"Bitte höchstens {NAME_MAX} Zeichen.")
    with errors.field("subject"):
        if not data["subject"]:
            raise ValidationError("subject", "Bitte einen Betreff eingeben.")
        if len(data["subject"]) > SUBJECT_MAX:
            raise ValidationError("subject", f"Bitte höchstens {SUBJECT_MAX} Zeichen.")
        placeholders.check(data["subject"], "subject")
    with errors.field("body"):
        if not data["body"].strip():
            raise ValidationError("body", "Bitte den Brieftext eingeben.")
        placeholders.check(data["body"], "body")
    with errors.field("attachments"):
        placeholders.check(data["attachments"], "attachments")
    errors.raise_if_any()
    return data


def _name_taken(session: Session, name: str, own_id: int | None) -> None:
    other = session.scalar(select(LetterTemplate.id).where(LetterTemplate.name == name))
    if other is not None and other != own_id:
        raise ValidationErrors({"name": f"Eine Vorlage „{name}“ gibt es schon."})


def create_template(session: Session, *, actor: str = "", **values: Any) -> LetterTemplate:
    """A new Vorlage; unknown placeholders are refused with their names."""
    require_permission(Permission.LETTERS_WRITE, session)
    data = _clean_template(values)
    _name_taken(session, data["name"], None)
    template = LetterTemplate(**data)
    session.add(template)
    try:
        session.flush()
    except IntegrityError as exc:  # pragma: no cover - a concurrent save with the same name
        raise ValidationError("name", f"Eine Vorlage „{data['name']}“ gibt es schon.") from exc
    record(session, entity="letter_template", entity_id=template.id, action="created", actor=actor)
    return template


def get_template(session: Session, template_id: int) -> LetterTemplate:
    """A template by id, or a German error."""
    template = session.get(LetterTemplate, template_id)
    if template is None:
        raise NotFoundError("Diese Vorlage gibt es nicht (mehr).")
    return template


def update_template(
    session: Session, template_id: int, *, version: int, actor: str = "", **values: Any
) -> LetterTemplate:
    """Save a changed Vorlage (optimistic locking)."""
    require_permission(Permission.LETTERS_WRITE, session)
    template = get_template(session, template_id)
    data = _clean_template(values)
    if template.version != version:
        raise ConflictError(
            "Diese Vorlage wurde inzwischen von jemand anderem geändert. Bitte neu laden."
        )
    _name_taken(session, data["name"], template.id)
    for key, value in data.items():
        setattr(template, key, value)
    _flush(session)
    record(session, entity="letter_template", entity_id=template.id, action="updated", actor=actor)
    return template


def delete_template(session: Session, template_id: int, *, version: int, actor: str = "") -> None:
    """Delete a Vorlage; letters written from it keep their text."""
    require_permission(Permission.LETTERS_WRITE, session)
    template = get_template(session, template_id)
    if template.version != version:
        raise ConflictError("Diese Vorlage wurde inzwischen geändert. Bitte neu laden.")
    record(
        session,
        entity="letter_template",
        entity_id=template.id,
        action="deleted",
        actor=actor,
        name=template.name,
    )
    session.delete(template)
    session.flush()


def list_templates(session: Session) -> list[LetterTemplate]:
    """All Vorlagen by name (a short list by nature)."""
    return list(session.scalars(select(LetterTemplate).order_by(LetterTemplate.name)))


# --- Serienbrief ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientFilter:
    """Which contacts get the Serienbrief: a tag, a role and/or a kind (all optional)."""

    tag: str = ""
    role: str = ""
    kind: str = ""

    def describe(self) -> str:
        """German summary for the report, e.g. "Schlagwort „Newsletter“, Rolle Kunde"."""
        from kms.modules.contacts.models import KINDS, ROLES

        parts = []
        if self.tag:
            parts.append(f"Schlagwort „{self.tag}“")
        if self.role:
            parts.append(f"Rolle {ROLES.get(self.role, self.role)}")
        if self.kind:
            parts.append(KINDS.get(self.kind, self.kind) + "en")
        return ", ".join(parts) or "alle Kontakte"


def _sort_name() -> Any:
    """Organisations by name, persons by last name, in one alphabet."""
    return func.coalesce(func.nullif(Contact.name, ""), Contact.last_name)


def recipients_query(flt: RecipientFilter) -> Select[Any]:
    """Active contacts matching the filter, ordered by name (filtered in SQL)."""
    stmt = select(Contact).where(Contact.archived_at.is_(None))
    if flt.tag:
        stmt = stmt.where(Contact.tags.any(Tag.name == flt.tag))
    if flt.role:
        stmt = stmt.where(
            select(ContactRole.contact_id)
            .where(ContactRole.contact_id == Contact.id, ContactRole.role == flt.role)
            .exists()
        )
    if flt.kind:
        stmt = stmt.where(Contact.kind == flt.kind)
    return stmt.order_by(_sort_name(), Contact.first_name, Contact.id)


def count_recipients(session: Session, flt: RecipientFilter) -> int:
    """How many contacts the filter selects."""
    return session.scalar(select(func.count()).select_from(recipients_query(flt).subquery())) or 0


def tag_names(session: Session) -> list[str]:
    """Every tag, for the filter's choice."""
    return list(session.scalars(select(Tag.name).order_by(Tag.name)))


def start_mail_merge(
    session: Session,
    *,
    template_id: int,
    flt: RecipientFilter,
    letter_date: date,
    actor: str = "",
) -> int:
    """▶ Serienbrief: check; the work starts in the background when `session` commits."""
    require_permission(Permission.LETTERS_WRITE, session)
    from kms.jobs import start_job

    template = get_template(session, template_id)
    sender(session)  # the letterhead must exist before any work starts
    total = count_recipients(session, flt)
    if total == 0:
        raise ValidationError("filter", "Zu diesem Filter gibt es keine Kontakte.")
    return start_job(
        session,
        "serienbrief",
        run_mail_merge,
        total=total,
        username=actor,
        params={
            "template_id": template.id,
            "tag": flt.tag,
            "role": flt.role,
            "kind": flt.kind,
            "letter_date": letter_date.isoformat(),
            "actor": actor,
        },
    )


@dataclass
class _MergeLetter:
    contact_id: int
    given: LetterInput
    composed: Composed
    pdf: bytes


def _merge_one(given: LetterInput, contact: Contact, company: Company) -> _MergeLetter | str:
    """One recipient's letter, or the German reason why they are skipped."""
    errors = FieldErrors()
    composed = compose(given, contact=contact, company=company, errors=errors)
    if composed is None:
        return " ".join(errors.errors.values())
    try:
        return _MergeLetter(contact.id, given, composed, _render(composed.data))
    except KmsError as exc:
        return exc.message


def run_mail_merge(
    job: Any,
    *,
    template_id: int,
    tag: str = "",
    role: str = "",
    kind: str = "",
    letter_date: str,
    actor: str = "",
) -> str:
    """The worker: one letter per recipient, skipped ones reported, then one combined PDF.

    Rendering happens outside any write transaction (progress updates must get through on
    SQLite); all letters and the run are written together at the end, so a failure leaves
    no half Serienbrief behind.
    """
    from kms.db import session_scope

    flt = RecipientFilter(tag, role, kind)
    when = date.fromisoformat(letter_date)
    with session_scope(write=False) as session:
        template = get_template(session, template_id)
        template_name = template.name
        base = {
            "subject": template.subject,
            "body": template.body,
            "attachments": template.attachments,
            "signature": default_signature(session),
        }
        company = sender(session)
        ids = list(session.scalars(recipients_query(flt).with_only_columns(Contact.id)))
    job.progress(0, total=len(ids), message=f"0 von {len(ids)} Briefen")
    made: list[_MergeLetter] = []
    skipped: list[dict[str, Any]] = []
    for number, contact_id in enumerate(ids, 1):
        with session_scope(write=False) as session:
            contact = session.get(Contact, contact_id)
            if contact is not None:
                given = LetterInput(
                    contact_id=contact_id,
                    letter_date=when,
                    salutation=suggest_salutation(contact),
                    closing=suggest_closing(contact),
                    template_id=template_id,
                    **base,
                )
                outcome = _merge_one(given, contact, company)
                if isinstance(outcome, str):
                    skipped.append(
                        {"contact_id": contact_id, "name": contact.display_name, "reason": outcome}
                    )
                else:
                    made.append(outcome)
        job.progress(number, message=f"{number} von {len(ids)} Briefen")
    combined = render_letters_combined([m.pdf for m in made]) if made else None
    with session_scope() as session:
        merge = MailMerge(
            job_id=job.job_id,
            template_id=template_id,
            template_name=template_name,
            filter_text=flt.describe(),
            letter_date=when,
            letter_count=len(made),
            skipped=skipped,
            combined_pdf=combined,
            created_by=actor,
        )
        session.add(merge)
        session.flush()
        for item in made:
            letter = Letter(status=DRAFT, created_by=actor, mail_merge_id=merge.id)
            _store(letter, item.given, item.composed, item.pdf)
            session.add(letter)
        session.flush()
        record(
            session,
            entity="mail_merge",
            entity_id=merge.id,
            action="created",
            actor=actor,
            letters=len(made),
            skipped=len(skipped),
            template=template_name,
        )
        merge_id = merge.id
    job.result(mail_merge_id=merge_id, letters=len(made), skipped=len(skipped))
    text = f"{len(made)} Briefe erzeugt"
    if skipped:
        text += f", {len(skipped)} Empfänger übersprungen (ohne verwendbare Anschrift)"
    return text + "."


def get_mail_merge(session: Session, merge_id: int) -> MailMerge:
    """A Serienbrief run by id, or a German error."""
    merge = session.get(MailMerge, merge_id)
    if merge is None:
        raise NotFoundError("Diesen Serienbrief gibt es nicht (mehr).")
    return merge


def mail_merge_for_job(session: Session, job_id: int) -> MailMerge | None:
    """The Serienbrief a finished job produced."""
    return session.scalar(select(MailMerge).where(MailMerge.job_id == job_id))


def mail_merge_zip(session: Session, merge_id: int) -> bytes:
    """One PDF per recipient, zipped (streamed letter by letter from the database; sent
    letters' originals from Dokumente, hash-checked)."""
    from kms.modules.documents.service import read_verified

    get_mail_merge(session, merge_id)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        rows = session.execute(
            select(
                Letter.id,
                Letter.draft_pdf,
                Letter.document_id,
                Letter.pdf_sha256,
                Letter.recipient_lines,
            )
            .where(Letter.mail_merge_id == merge_id)
            .order_by(Letter.id)
            .execution_options(yield_per=50)
        )
        for letter_id, draft, document_id, sha256, lines in rows:
            who = _slug((lines.splitlines() or ["Brief"])[0], 50) or "Brief"
            pdf = draft if document_id is None else read_verified(session, document_id, sha256)
            archive.writestr(f"{letter_id:05d}_{who}.pdf", pdf or b"")
    return out.getvalue()


def mark_mail_merge_sent(
    session: Session, merge_id: int, *, actor: str = "", accept_empty: bool = False
) -> int:
    """Mark every still unsent letter of a Serienbrief as sent by post; returns how many.
    Refused (naming the recipients) while placeholders stay empty, unless accepted."""
    require_permission(Permission.LETTERS_WRITE, session)
    get_mail_merge(session, merge_id)
    letters = session.scalars(
        select(Letter).where(Letter.mail_merge_id == merge_id, Letter.status == DRAFT)
    ).all()
    if not accept_empty:
        empty = {letter.id: empty_placeholders(session, letter) for letter in letters}
        if any(empty.values()):
            names = list(dict.fromkeys(n for found in empty.values() for n in found))
            who = [(ln.recipient_lines.splitlines() or ["?"])[0] for ln in letters if empty[ln.id]]
            raise EmptyPlaceholdersError(names, who)
    for letter in letters:
        _freeze(session, letter, via="post", to="", actor=actor, accept_empty=True)
    return len(letters)


__all__ = [
    "EmptyPlaceholdersError",
    "LetterInput",
    "LetterLockedError",
    "RecipientFilter",
    "copy_as_draft",
    "count_recipients",
    "create_letter",
    "create_template",
    "delete_draft",
    "delete_template",
    "empty_placeholders",
    "get_letter",
    "get_mail_merge",
    "get_template",
    "letter_pdf",
    "list_letters",
    "list_templates",
    "mail_merge_for_job",
    "mail_merge_zip",
    "mark_mail_merge_sent",
    "mark_sent",
    "pdf_filename",
    "preview_pdf",
    "send_by_email",
    "start_mail_merge",
    "suggestions",
    "update_letter",
]


def find_contacts(session: Session, *, search: str = "", limit: int = 50) -> list[tuple[int, str]]:
    """(id, label) of active contacts matching `search`, for the recipient picker (SQL-side)."""
    from kms.modules.contacts.service import search_key

    stmt = select(Contact).where(Contact.archived_at.is_(None))
    for term in search_key(search).split():
        stmt = stmt.where(Contact.search_key.contains(term, autoescape=True))
    stmt = stmt.order_by(_sort_name(), Contact.first_name, Contact.id).limit(limit)
    return [(c.id, contact_label(c)) for c in session.scalars(stmt)]


def contact_label(contact: Contact) -> str:
    """ "Max Mustermann, Berlin" / "Anna Beispiel (Beispiel Handels GmbH)" for pickers."""
    label = contact.display_name or contact.name or f"Kontakt {contact.id}"
    if contact.kind == "person" and contact.organisation is not None:
        label += f" ({contact.organisation.name})"
    town = contact.city or (contact.organisation.city if contact.organisation else "")
    return f"{label}, {town}" if town else label
