"""Kontakte: create, edit (optimistic locking), find and page in SQL, archive or delete.

Persons and organisations share one table and one set of functions; `kind` tells them apart.
Other modules plug in through the registry: `contact_references` (a referenced contact is
archived, never deleted), `contact_export` (Auskunft) and `contact_panel` (detail view).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from babel import Locale
from sqlalchemy import Select, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms.einvoice.model import EINVOICE_FORMAT_LABELS, EInvoiceFormat
from kms.errors import (
    ConflictError,
    FieldErrors,
    KmsError,
    NotFoundError,
    ValidationError,
    ValidationErrors,
)
from kms.formatting import search_key as search_key  # re-exported: callers import it here
from kms.models import get_value, set_value
from kms.modules.contacts.models import (
    KINDS,
    ROLES,
    SALUTATIONS,
    Contact,
    ContactRole,
    ContactSequence,
    Tag,
    contact_tags,
)
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.rendering.glyphs import validate_printable
from kms.types import utcnow
from kms.validation import (
    optional,
    validate_email,
    validate_leitweg_id,
    validate_phone,
    validate_postcode,
    validate_vat_id,
    validate_website,
)

PERSON_FIELDS = ("salutation", "title", "first_name", "last_name", "job_title", "organisation_id")
ORGANISATION_FIELDS = ("name", "legal_form")
COMMON_FIELDS = (
    "buyer_reference",
    "einvoice_format",
    "customer_number",
    "vat_id",
    "email",
    "phone",
    "website",
    "notes",
    "street",
    "address_extra",
    "postcode",
    "city",
    "country",
    "delivery_street",
    "delivery_extra",
    "delivery_postcode",
    "delivery_city",
    "delivery_country",
)
FIELD_LABELS = {
    "kind": "Art",
    "salutation": "Anrede",
    "title": "Titel",
    "first_name": "Vorname",
    "last_name": "Nachname",
    "job_title": "Funktion",
    "organisation_id": "Organisation",
    "name": "Name der Organisation",
    "legal_form": "Rechtsform",
    "buyer_reference": "Leitweg-ID / Käuferreferenz",
    "einvoice_format": "E-Rechnungsformat",
    "customer_number": "Kundennummer",
    "vat_id": "USt-IdNr.",
    "email": "E-Mail",
    "phone": "Telefon",
    "website": "Website",
    "notes": "Notizen",
    "street": "Straße und Hausnummer",
    "address_extra": "Adresszusatz",
    "postcode": "PLZ",
    "city": "Ort",
    "country": "Land",
    "delivery_street": "Lieferadresse: Straße",
    "delivery_extra": "Lieferadresse: Zusatz",
    "delivery_postcode": "Lieferadresse: PLZ",
    "delivery_city": "Lieferadresse: Ort",
    "delivery_country": "Lieferadresse: Land",
    "roles": "Rollen",
    "tags": "Tags",
}
ARCHIVE_FILTERS = {"active": "nur aktive", "archived": "nur archivierte", "all": "alle"}
NUMBER_FORMAT_KEY = "contacts.customer_number_format"
DEFAULT_NUMBER_FORMAT = "K-{NNNNN}"

_NUMBER_TOKEN = re.compile(r"\{(N{1,12})\}")
_NUMBER_CHARS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./_-]*")


def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → German country name (from Babel's CLDR data)."""
    territories = Locale("de").territories
    return {
        code: name
        for code, name in sorted(territories.items(), key=lambda item: item[1])
        if len(code) == 2 and code.isalpha() and code not in {"EU", "EZ", "UN", "ZZ", "QO"}
    }


# --- validation --------------------------------------------------------------------------------


def _max_length(name: str) -> int | None:
    column = Contact.__table__.columns.get(name)
    return getattr(column.type, "length", None) if column is not None else None


def _country(errors: FieldErrors, data: dict[str, Any], name: str) -> None:
    with errors.field(name):
        code = (data[name] or "DE").upper()
        data[name] = code
        if code not in country_names():
            raise ValidationError(
                name, f"„{code}“ ist kein bekannter Ländercode; bitte ISO-Code angeben, z. B. DE."
            )


def clean_contact(
    session: Session, kind: str, values: dict[str, Any], *, contact_id: int | None = None
) -> dict[str, Any]:
    """Validate every field of a person or organisation; all problems are reported together."""
    if kind not in KINDS:
        raise ValueError(f"unknown contact kind {kind!r}")
    names = (PERSON_FIELDS if kind == "person" else ORGANISATION_FIELDS) + COMMON_FIELDS
    data: dict[str, Any] = {
        k: " ".join(str(values.get(k) or "").split()) if k != "notes" else str(values.get(k) or "")
        for k in names
        if k != "organisation_id"
    }
    data["notes"] = data["notes"].strip()
    errors = FieldErrors()
    for name, value in data.items():
        if name == "einvoice_format":
            continue  # a key or its German label; clean_einvoice_format decides
        limit = _max_length(name)
        if limit and len(value) > limit:
            errors.add(name, f"Höchstens {limit} Zeichen erlaubt (eingegeben: {len(value)}).")
        elif name != "notes":  # names and addresses are printed on letters and invoices
            with errors.field(name):
                validate_printable(value, field=name)
    if kind == "person":
        if not data["last_name"]:
            errors.add("last_name", "Bitte geben Sie einen Nachnamen ein.")
        if data["salutation"].lower() in SALUTATIONS:
            data["salutation"] = data["salutation"].lower()
        else:
            labels = {v.lower(): k for k, v in SALUTATIONS.items()}
            if data["salutation"].lower() in labels:
                data["salutation"] = labels[data["salutation"].lower()]
            else:
                errors.add("salutation", "Bitte Frau, Herr, divers oder keine Anrede wählen.")
        with errors.field("organisation_id"):
            data["organisation_id"] = _organisation_ref(
                session, values.get("organisation_id"), contact_id
            )
    else:
        if not data["name"]:
            errors.add("name", "Bitte geben Sie den Namen der Organisation ein.")
    with errors.field("buyer_reference"):
        # A Leitweg-ID always starts with its digit coarse part; anything else is a free
        # buyer reference (BT-10), which EN 16931 leaves to the buyer.
        if data["buyer_reference"][:1].isdigit():
            data["buyer_reference"] = validate_leitweg_id(
                data["buyer_reference"], field="buyer_reference"
            )
    with errors.field("einvoice_format"):
        data["einvoice_format"] = clean_einvoice_format(data["einvoice_format"])
    _country(errors, data, "country")
    _country(errors, data, "delivery_country")
    for prefix in ("", "delivery_"):
        with errors.field(f"{prefix}postcode"):
            data[f"{prefix}postcode"] = (
                optional(
                    validate_postcode,
                    data[f"{prefix}postcode"],
                    country=data[f"{prefix}country"],
                    field=f"{prefix}postcode",
                )
                or ""
            )
    for name, validator in (
        ("email", validate_email),
        ("phone", validate_phone),
        ("website", validate_website),
        ("vat_id", validate_vat_id),
    ):
        with errors.field(name):
            data[name] = optional(validator, data[name], field=name) or ""
    with errors.field("customer_number"):
        data["customer_number"] = _customer_number(session, data["customer_number"], contact_id)
    errors.raise_if_any()
    return data


def clean_einvoice_format(value: str) -> str:
    """An EInvoiceFormat value from its key or German label; empty means Factur-X."""
    text = (value or "").strip()
    if not text:
        return EInvoiceFormat.FACTURX.value
    for key, label in EINVOICE_FORMAT_LABELS.items():
        if text.casefold() in (key, label.casefold()):
            return key
    raise ValidationError(
        "einvoice_format",
        "Bitte ein E-Rechnungsformat wählen: " + ", ".join(EINVOICE_FORMAT_LABELS.values()) + ".",
    )


def _organisation_ref(session: Session, value: Any, contact_id: int | None) -> int | None:
    if value in (None, "", 0):
        return None
    try:
        org_id = int(value)
    except (TypeError, ValueError):
        raise ValidationError("organisation_id", "Bitte eine Organisation auswählen.") from None
    org = session.get(Contact, org_id)
    if org is None or org.kind != "organisation" or org_id == contact_id:
        raise ValidationError("organisation_id", "Diese Organisation gibt es nicht (mehr).")
    return org_id


def _customer_number(session: Session, value: str, contact_id: int | None) -> str | None:
    if not value:
        return None
    if not _NUMBER_CHARS.fullmatch(value):
        raise ValidationError(
            "customer_number",
            "Die Kundennummer darf nur Buchstaben, Ziffern, Leerzeichen und . / _ - enthalten.",
        )
    taken = session.scalar(
        select(Contact.id).where(Contact.customer_number == value, Contact.id != (contact_id or 0))
    )
    if taken is not None:
        raise ValidationError("customer_number", f"Die Kundennummer „{value}“ ist schon vergeben.")
    return value


def clean_roles(roles: Iterable[str]) -> set[str]:
    """Role keys from keys or German labels ("Kunde", "Inhaber/in"); unknown ones are refused."""
    by_label = {label.casefold(): key for key, label in ROLES.items()}
    by_label |= {"inhaber": "inhaber", "inhaberin": "inhaber", "kundin": "kunde"}
    out: set[str] = set()
    for role in roles:
        text = str(role).strip().casefold()
        if not text:
            continue
        key = text if text in ROLES else by_label.get(text)
        if key is None:
            raise ValidationError(
                "roles",
                f"Unbekannte Rolle „{role}“ (möglich: {', '.join(ROLES.values())}).",
            )
        out.add(key)
    return out


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tag names without blanks and without case-insensitive duplicates."""
    seen: dict[str, str] = {}
    for tag in tags:
        name = " ".join(str(tag).split())
        if not name:
            continue
        if len(name) > 60:
            raise ValidationError("tags", f"Das Tag „{name[:20]}…“ ist länger als 60 Zeichen.")
        seen.setdefault(name.casefold(), name)
    return list(seen.values())


# --- customer numbers --------------------------------------------------------------------------


def customer_number_format(session: Session) -> str:
    """The format for new customer numbers, e.g. "K-{NNNNN}" (a setting)."""
    return str(get_value(session, NUMBER_FORMAT_KEY) or DEFAULT_NUMBER_FORMAT)


def check_number_format(fmt: str) -> str:
    """A format holds exactly one {N…} counter (width = number of N) and optionally {JJJJ}."""
    fmt = fmt.strip()
    if len(_NUMBER_TOKEN.findall(fmt)) != 1:
        raise ValidationError(
            "format", "Das Format braucht genau einen Zähler wie {NNNNN} (fünfstellig)."
        )
    sample = render_customer_number(fmt, 1, 2026)
    if not _NUMBER_CHARS.fullmatch(sample) or "{" in sample or len(sample) > 30:
        raise ValidationError(
            "format",
            "Erlaubt sind Buchstaben, Ziffern, . / _ - sowie {NNNNN} und {JJJJ}; "
            "die Nummer darf höchstens 30 Zeichen lang sein.",
        )
    return fmt


def set_customer_number_format(session: Session, fmt: str) -> str:
    """Store a new customer-number format after checking it."""
    require_permission(Permission.CONTACTS_WRITE, session)
    fmt = check_number_format(fmt)
    set_value(session, NUMBER_FORMAT_KEY, fmt)
    session.flush()
    return fmt


def render_customer_number(fmt: str, value: int, year: int) -> str:
    """Fill the counter (zero-padded to its width) and the year into the format."""
    text = fmt.replace("{JJJJ}", str(year))
    return _NUMBER_TOKEN.sub(lambda m: str(value).zfill(len(m.group(1))), text)


def _sequence_key(fmt: str, year: int) -> str:
    # A format with the year starts counting anew every year.
    return f"customer-{year}" if "{JJJJ}" in fmt else "customer"


def _locked_sequence(session: Session, key: str) -> ContactSequence:
    """The counter row, locked until commit (FOR UPDATE; SQLite write sessions are exclusive)."""
    stmt = select(ContactSequence).where(ContactSequence.key == key).with_for_update()
    seq = session.scalar(stmt)
    if seq is None:
        try:
            with session.begin_nested():
                session.add(ContactSequence(key=key, next_value=1))
        except IntegrityError:
            pass  # another transaction created it first; lock theirs
        seq = session.scalars(stmt.execution_options(populate_existing=True)).one()
    return seq


def next_customer_number(session: Session) -> str:
    """Take the next free customer number; concurrent callers wait for the counter row."""
    fmt = customer_number_format(session)
    year = utcnow().year
    seq = _locked_sequence(session, _sequence_key(fmt, year))
    while True:
        candidate = render_customer_number(fmt, seq.next_value, year)
        seq.next_value += 1
        # Numbers typed in by hand may already hold a value the counter reaches later.
        if session.scalar(select(Contact.id).where(Contact.customer_number == candidate)) is None:
            session.flush()
            return candidate


def preview_customer_number(session: Session, fmt: str | None = None) -> str:
    """The number the next new customer would get (without taking it)."""
    fmt = fmt or customer_number_format(session)
    year = utcnow().year
    seq = session.get(ContactSequence, _sequence_key(fmt, year))
    return render_customer_number(fmt, seq.next_value if seq else 1, year)


# --- create, read, update ----------------------------------------------------------------------


def _tag_objects(session: Session, names: list[str]) -> list[Tag]:
    if not names:
        return []
    folded = {n.casefold(): n for n in names}
    existing = {
        t.name.casefold(): t
        for t in session.scalars(select(Tag).where(func.lower(Tag.name).in_(list(folded))))
    }
    out = []
    for key, name in folded.items():
        tag = existing.get(key)
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
        out.append(tag)
    return out


def _refresh_keys(contact: Contact) -> None:
    org_name = contact.organisation.name if contact.organisation is not None else ""
    contact.search_key = search_key(
        contact.first_name,
        contact.last_name,
        contact.name,
        contact.email,
        contact.city,
        contact.postcode,
        contact.customer_number or "",
        org_name,
    )[:1000]
    if contact.kind == "organisation":
        contact.sort_key = search_key(contact.name)[:300]
    else:
        contact.sort_key = search_key(contact.last_name, contact.first_name)[:300]


def _apply(
    session: Session,
    contact: Contact,
    data: dict[str, Any],
    roles: set[str] | None,
    tags: list[str] | None,
) -> None:
    # No autoflush: a half-filled new row must not be inserted by the lookups below.
    with session.no_autoflush:
        _assign(session, contact, data, roles, tags)


def _assign(
    session: Session,
    contact: Contact,
    data: dict[str, Any],
    roles: set[str] | None,
    tags: list[str] | None,
) -> None:
    for key, value in data.items():
        setattr(contact, key, value)
    if "organisation_id" in data:
        contact.organisation = (
            session.get(Contact, data["organisation_id"]) if data["organisation_id"] else None
        )
    if roles is not None:
        current = {r.role: r for r in contact.roles}
        contact.roles = [current.get(r) or ContactRole(role=r) for r in sorted(roles)]
    if tags is not None:
        contact.tags = _tag_objects(session, tags)
    if contact.customer_number is None and "kunde" in contact.role_keys:
        contact.customer_number = next_customer_number(session)
    _refresh_keys(contact)


def _flush(session: Session) -> None:
    """Flush; a customer number taken concurrently becomes a field error, not a traceback."""
    try:
        session.flush()
    except IntegrityError as exc:
        if "customer_number" in str(exc.orig):
            raise ValidationError(
                "customer_number", "Diese Kundennummer wurde gerade anderweitig vergeben."
            ) from exc
        raise


def create_contact(
    session: Session,
    *,
    kind: str = "person",
    roles: Iterable[str] = (),
    tags: Iterable[str] = (),
    is_owner: bool = False,
    **values: Any,
) -> Contact:
    """Create a person or organisation after validating every field.

    A customer number is drawn from the counter when the contact has the role Kunde and none
    was given.
    """
    require_permission(Permission.CONTACTS_WRITE, session)
    errors = FieldErrors()
    data = _collect(errors, lambda: clean_contact(session, kind, values))
    role_set: set[str] = set()
    with errors.field("roles"):
        role_set = clean_roles(roles) | ({"inhaber"} if is_owner else set())
    tag_names: list[str] = []
    with errors.field("tags"):
        tag_names = clean_tags(tags)
    errors.raise_if_any()
    contact = Contact(kind=kind, is_owner=is_owner)
    session.add(contact)
    _apply(session, contact, data, role_set, tag_names)
    _flush(session)
    return contact


def _collect(errors: FieldErrors, clean: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a validation and record its per-field errors in `errors` (then returns {})."""
    try:
        return clean()
    except ValidationErrors as exc:
        for name, message in exc.errors.items():
            errors.add(name, message)
    except ValidationError as exc:
        errors.add(exc.field, exc.message)
    return {}


def create_person(session: Session, **values: Any) -> Contact:
    """Create a person (see create_contact)."""
    return create_contact(session, kind="person", **values)


def create_organisation(session: Session, **values: Any) -> Contact:
    """Create an organisation (see create_contact)."""
    return create_contact(session, kind="organisation", **values)


def get_contact(session: Session, contact_id: int, *, kind: str | None = None) -> Contact:
    """A contact by id (optionally only of one kind), or a German error."""
    contact = session.get(Contact, contact_id)
    if contact is None or (kind is not None and contact.kind != kind):
        what = {"person": "Diese Person", "organisation": "Diese Organisation"}.get(
            kind or "", "Diesen Kontakt"
        )
        raise NotFoundError(f"{what} gibt es nicht (mehr).")
    return contact


def get_person(session: Session, person_id: int) -> Contact:
    """A person by id, or a German error."""
    return get_contact(session, person_id, kind="person")


def contact_values(contact: Contact) -> dict[str, Any]:
    """The editable field values of a contact (what a form shows)."""
    names = (PERSON_FIELDS if contact.kind == "person" else ORGANISATION_FIELDS) + COMMON_FIELDS
    values = {name: getattr(contact, name) for name in names}
    values["customer_number"] = contact.customer_number or ""
    return values


def update_contact(
    session: Session,
    contact_id: int,
    *,
    version: int,
    roles: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
    **values: Any,
) -> Contact:
    """Save changes unless someone else saved the contact since `version` was read.

    Fields not given keep their value; `roles`/`tags` None keeps them too. Nothing is written
    when anything is invalid or when the version is stale (ConflictError).
    """
    require_permission(Permission.CONTACTS_WRITE, session)
    contact = get_contact(session, contact_id)
    if contact.anonymised_at is not None:
        raise ConflictError("Dieser Kontakt wurde anonymisiert und kann nicht bearbeitet werden.")
    merged = contact_values(contact) | values
    errors = FieldErrors()
    data = _collect(
        errors, lambda: clean_contact(session, contact.kind, merged, contact_id=contact_id)
    )
    role_set = None
    with errors.field("roles"):
        role_set = clean_roles(roles) if roles is not None else None
        if role_set is not None and contact.is_owner:
            role_set.add("inhaber")
    tag_names = None
    with errors.field("tags"):
        tag_names = clean_tags(tags) if tags is not None else None
    errors.raise_if_any()
    conflict = _conflict_text(contact)
    if contact.version != version:
        raise ConflictError(conflict)
    # The UPDATE carries "WHERE version = :read" (version_id_col): a save that slips in between
    # the check above and this flush is caught as StaleDataError.
    _apply(session, contact, data, role_set, tag_names)
    try:
        _flush(session)
    except StaleDataError as exc:
        raise ConflictError(conflict) from exc
    return contact


def _conflict_text(contact: Contact) -> str:
    what = "Diese Person" if contact.kind == "person" else "Diese Organisation"
    return (
        f"{what} wurde inzwischen von jemand anderem geändert; Ihre Änderungen wurden nicht "
        "gespeichert. Ihre Eingaben stehen noch im Formular: bitte „Neu laden“, die aktuellen "
        "Daten prüfen und Ihre Änderungen erneut eintragen."
    )


def update_person(session: Session, person_id: int, *, version: int, **values: Any) -> Contact:
    """Save a person's changes with optimistic locking (see update_contact)."""
    get_person(session, person_id)
    return update_contact(session, person_id, version=version, **values)


# --- lists -------------------------------------------------------------------------------------


SORTS = {
    "name": (Contact.sort_key, Contact.id),
    "nummer": (Contact.customer_number, Contact.id),
    "ort": (Contact.city, Contact.sort_key, Contact.id),
    "neu": (Contact.created_at.desc(), Contact.id.desc()),
}
SORT_LABELS = {"name": "Name", "nummer": "Kundennummer", "ort": "Ort", "neu": "Neueste zuerst"}


def filtered(
    *,
    kind: str | None = None,
    search: str = "",
    role: str | None = None,
    tag: str | None = None,
    archived: str = "active",
    organisation_id: int | None = None,
) -> Select[Any]:
    """The SELECT of contacts matching the list filters (shared by lists and exports)."""
    stmt = select(Contact)
    if kind:
        stmt = stmt.where(Contact.kind == kind)
    for term in search_key(search).split():
        stmt = stmt.where(Contact.search_key.contains(term, autoescape=True))
    if role:
        stmt = stmt.where(
            exists().where(ContactRole.contact_id == Contact.id, ContactRole.role == role)
        )
    if tag:
        stmt = stmt.where(
            exists()
            .where(contact_tags.c.contact_id == Contact.id)
            .where(contact_tags.c.tag_id == Tag.id, Tag.name == tag)
        )
    if archived == "active":
        stmt = stmt.where(Contact.archived_at.is_(None))
    elif archived == "archived":
        stmt = stmt.where(Contact.archived_at.is_not(None))
    if organisation_id is not None:
        stmt = stmt.where(Contact.organisation_id == organisation_id)
    return stmt


def list_contacts(
    session: Session,
    *,
    sort: str = "name",
    page: int = 1,
    page_size: int = 25,
    **filters: Any,
) -> Page[Contact]:
    """Filter (see `filtered`), sort and page in SQL; never loads the whole table."""
    stmt = filtered(**filters).order_by(*SORTS.get(sort, SORTS["name"]))
    return paginate(session, stmt, page=page, size=page_size)


def list_persons(session: Session, **kwargs: Any) -> Page[Contact]:
    """A page of persons (see list_contacts)."""
    return list_contacts(session, kind="person", **kwargs)


def tag_names(session: Session) -> list[str]:
    """Every tag name, sorted (for filters and the tag picker)."""
    return list(session.scalars(select(Tag.name).order_by(func.lower(Tag.name))))


def organisation_choices(session: Session, *, limit: int = 2000) -> dict[int, str]:
    """id → name of active organisations, for picking a person's organisation."""
    rows = session.execute(
        select(Contact.id, Contact.name)
        .where(Contact.kind == "organisation", Contact.archived_at.is_(None))
        .order_by(Contact.sort_key)
        .limit(limit)
    )
    return {row.id: row.name for row in rows}


def members(session: Session, organisation_id: int) -> list[Contact]:
    """The persons that belong to an organisation."""
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.organisation_id == organisation_id, Contact.kind == "person")
            .order_by(Contact.sort_key)
        )
    )


def owner_person(session: Session) -> Contact | None:
    """The Person record of the business owner, if created during setup."""
    return session.scalar(select(Contact).where(Contact.is_owner.is_(True)).limit(1))


# --- archive and delete ------------------------------------------------------------------------


def reference_counts(session: Session, contact_id: int) -> dict[str, int]:
    """Module title → number of its records that refer to the contact (only non-zero ones)."""
    from kms.registry import contact_reference_counters

    counts: dict[str, int] = {}
    member_count = session.scalar(
        select(func.count()).select_from(Contact).where(Contact.organisation_id == contact_id)
    )
    if member_count:
        counts["Zugeordnete Personen"] = int(member_count)
    for title, counter in contact_reference_counters():
        count = int(counter(session, contact_id) or 0)
        if count:
            counts[title] = counts.get(title, 0) + count
    return counts


def archive_contact(session: Session, contact_id: int, *, archived: bool = True) -> Contact:
    """Archive (or restore) a contact: hidden from lists and pickers, its references intact."""
    require_permission(Permission.CONTACTS_WRITE, session)
    contact = get_contact(session, contact_id)
    contact.archived_at = (contact.archived_at or utcnow()) if archived else None
    session.flush()
    return contact


def delete_contact(session: Session, contact_id: int) -> str:
    """Delete a contact nothing refers to; returns its name. Referenced ones must be archived."""
    require_permission(Permission.CONTACTS_WRITE, session)
    contact = get_contact(session, contact_id)
    if contact.is_owner:
        raise KmsError("Ihre eigene Person (Inhaber/in) kann nicht gelöscht werden.")
    counts = reference_counts(session, contact_id)
    if counts:
        detail = ", ".join(f"{title}: {count}" for title, count in counts.items())
        raise KmsError(
            f"„{contact.display_name}“ wird noch verwendet ({detail}) und kann deshalb nicht "
            "gelöscht werden. Archivieren Sie den Kontakt stattdessen; Verweise bleiben gültig."
        )
    name = contact.display_name
    session.delete(contact)
    session.flush()
    return name


__all__ = [
    "FIELD_LABELS",
    "SORTS",
    "archive_contact",
    "clean_contact",
    "create_contact",
    "create_organisation",
    "create_person",
    "delete_contact",
    "get_contact",
    "get_person",
    "list_contacts",
    "list_persons",
    "members",
    "next_customer_number",
    "owner_person",
    "reference_counts",
    "search_key",
    "update_contact",
    "update_person",
]
