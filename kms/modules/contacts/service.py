"""Kontakte: create, edit (optimistic locking), find and page in SQL."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms.errors import ConflictError, FieldErrors, NotFoundError, ValidationError
from kms.modules.contacts.models import Contact
from kms.validation import optional, validate_email, validate_phone, validate_postcode

PERSON_FIELDS = (
    "first_name",
    "last_name",
    "street",
    "postcode",
    "city",
    "country",
    "email",
    "phone",
    "notes",
)
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def search_key(*parts: str) -> str:
    """Lower-case, umlauts as ae/oe/ue/ss, accents stripped: "MÜLLER" and "Mueller" meet."""
    text = " ".join(p for p in parts if p).lower().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _clean(values: dict[str, Any]) -> dict[str, str]:
    """Validate person fields; all problems are reported together, per field."""
    data = {k: str(values.get(k) or "").strip() for k in PERSON_FIELDS}
    data["country"] = (data["country"] or "DE").upper()
    errors = FieldErrors()
    with errors.field("last_name"):
        if not data["last_name"]:
            raise ValidationError("last_name", "Bitte geben Sie einen Nachnamen ein.")
    with errors.field("country"):
        if len(data["country"]) != 2 or not data["country"].isalpha():
            raise ValidationError("country", "Bitte das Land als ISO-Code angeben, z. B. DE.")
    with errors.field("postcode"):
        data["postcode"] = (
            optional(validate_postcode, data["postcode"], country=data["country"]) or ""
        )
    with errors.field("email"):
        data["email"] = optional(validate_email, data["email"]) or ""
    with errors.field("phone"):
        data["phone"] = optional(validate_phone, data["phone"]) or ""
    errors.raise_if_any()
    return data


def _apply(person: Contact, data: dict[str, str]) -> None:
    for key, value in data.items():
        setattr(person, key, value)
    person.search_key = search_key(
        person.first_name,
        person.last_name,
        person.name,
        person.email,
        person.city,
        person.postcode,
        person.customer_number or "",
    )


def create_person(session: Session, *, is_owner: bool = False, **values: Any) -> Contact:
    """Create a person after validating every field."""
    person = Contact(kind="person", is_owner=is_owner)
    _apply(person, _clean(values))
    session.add(person)
    session.flush()
    return person


def get_person(session: Session, person_id: int) -> Contact:
    """A person by id, or a German error."""
    person = session.get(Contact, person_id)
    if person is None:
        raise NotFoundError("Diese Person gibt es nicht (mehr).")
    return person


def update_person(session: Session, person_id: int, *, version: int, **values: Any) -> Contact:
    """Save changes unless someone else saved the person since `version` was read."""
    person = get_person(session, person_id)
    data = _clean(values)
    if person.version != version:
        raise ConflictError(
            "Diese Person wurde inzwischen von jemand anderem geändert. Ihre Eingaben sind noch "
            "im Formular; bitte laden Sie die Seite neu und übernehmen Sie sie erneut."
        )
    _apply(person, data)
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            "Diese Person wurde gleichzeitig von jemand anderem geändert. Bitte neu laden."
        ) from exc
    return person


@dataclass(frozen=True)
class PersonPage:
    """One page of a person list and the total number of hits."""

    items: list[Contact]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


SORTS = {
    "name": (Contact.last_name, Contact.first_name, Contact.id),
    "ort": (Contact.city, Contact.last_name, Contact.id),
    "neu": (Contact.created_at.desc(), Contact.id.desc()),
}


def list_persons(
    session: Session, *, search: str = "", page: int = 1, page_size: int = 25, sort: str = "name"
) -> PersonPage:
    """Filter, sort and page in SQL; never loads the whole table."""
    stmt = select(Contact).where(Contact.kind == "person")
    terms = search_key(search).split()
    if terms:
        stmt = stmt.where(*[Contact.search_key.contains(t, autoescape=True) for t in terms])
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    items = session.scalars(
        stmt.order_by(*SORTS.get(sort, SORTS["name"]))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return PersonPage(list(items), total, page, page_size)


def owner_person(session: Session) -> Contact | None:
    """The Person record of the business owner, if created during setup."""
    return session.scalar(select(Contact).where(Contact.is_owner.is_(True)).limit(1))


__all__ = ["create_person", "get_person", "list_persons", "owner_person", "update_person"]
