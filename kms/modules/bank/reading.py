"""Reading a statement file: the parsers of kms.modules.bank.formats, plus the generic CSV
column mappings the user saved by name (table bank_csv_mappings)."""

from __future__ import annotations

import inspect
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import ValidationError
from kms.modules.bank.models import CsvMapping
from kms.modules.bank.statement import Statement, StatementError
from kms.permissions import Permission, require_permission

AUTO = ""  # "Automatisch erkennen"


def _formats() -> Any:
    from kms.modules.bank import formats

    if not hasattr(formats, "parse_statement"):
        raise StatementError(
            "Das Einlesen von Kontoauszügen ist in dieser Version nicht verfügbar."
        )
    return formats


def profile_choices() -> dict[str, str]:
    """CSV profile key → German label, "" first (Automatisch erkennen)."""
    choices = {AUTO: "Automatisch erkennen"}
    try:
        formats = _formats()
    except StatementError:
        return choices
    profiles = getattr(formats, "profiles", None)
    if profiles is None:
        return choices
    raw = profiles()
    items = (
        raw.items()
        if isinstance(raw, dict)
        else [
            (getattr(p, "key", str(p)), getattr(p, "label", getattr(p, "key", str(p)))) for p in raw
        ]
    )
    for key, label in items:
        choices[str(key)] = str(label)
    return choices


def saved_mappings(session: Session) -> list[CsvMapping]:
    return list(session.scalars(select(CsvMapping).order_by(CsvMapping.name)))


def save_mapping(session: Session, name: str, mapping: Any, *, actor: str = "") -> CsvMapping:
    """Save a generic CSV mapping (an object with to_json()) under a name; replaces one of
    the same name."""
    require_permission(Permission.LEDGER_WRITE, session)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("name", "Bitte einen Namen für die Zuordnung angeben.")
    if len(name) > 100:
        raise ValidationError("name", "Der Name ist zu lang (höchstens 100 Zeichen).")
    text = mapping.to_json() if hasattr(mapping, "to_json") else str(mapping)
    row = session.scalar(select(CsvMapping).where(CsvMapping.name == name))
    if row is None:
        row = CsvMapping(name=name, created_by=actor, mapping=text)
        session.add(row)
    row.mapping = text
    session.flush()
    audit.record(session, entity="bank_csv_mapping", entity_id=row.id, action="saved",
                 actor=actor, name=name)  # fmt: skip
    return row


def load_mapping(session: Session, name: str) -> Any:
    row = session.scalar(select(CsvMapping).where(CsvMapping.name == name))
    if row is None:
        return None
    return _formats().CsvMapping.from_json(row.mapping)


def read_statement(
    session: Session, data: bytes, filename: str, *, profile: str = AUTO, mapping: Any = None
) -> Statement:
    """Parse a statement file. `profile` is a CSV profile key or the name of a saved
    mapping; "" detects the format."""
    formats = _formats()
    parse = formats.parse_statement
    if mapping is None and profile:
        mapping = load_mapping(session, profile)
        if mapping is None:
            if "profile" not in inspect.signature(parse).parameters:
                known = ", ".join(k for k in profile_choices() if k)
                raise StatementError(
                    f"Das CSV-Profil „{profile}“ gibt es nicht"
                    + (f" (bekannt: {known})." if known else ".")
                )
            return parse(data, filename, profile=profile)  # type: ignore[no-any-return]
    return parse(data, filename, mapping=mapping)  # type: ignore[no-any-return]
