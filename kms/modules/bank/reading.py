"""Reading a statement file: the parsers of kms.modules.bank.formats, plus the generic CSV
column mappings the user saved by name (table bank_csv_mappings)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import ValidationError
from kms.modules.bank.formats import AUTO, GENERIC_KEY, CsvMapping, parse_statement, profiles
from kms.modules.bank.models import CsvMapping as SavedMapping
from kms.modules.bank.statement import Statement, StatementError
from kms.permissions import Permission, require_permission

SAVED = "gespeichert:"  # profile choice prefix of a saved mapping


def profile_choices(session: Session) -> dict[str, str]:
    """Format/profile key → German label ("Automatisch erkennen" first), then the saved
    generic mappings as "gespeichert:<name>"."""
    choices = {key: label for key, label in profiles() if key != GENERIC_KEY}
    for row in saved_mappings(session):
        choices[SAVED + row.name] = f"Eigene Zuordnung: {row.name}"
    return choices


def saved_mappings(session: Session) -> list[SavedMapping]:
    return list(session.scalars(select(SavedMapping).order_by(SavedMapping.name)))


def save_mapping(
    session: Session, name: str, mapping: CsvMapping, *, actor: str = ""
) -> SavedMapping:
    """Save a generic CSV mapping under a name; replaces the one of the same name."""
    require_permission(Permission.LEDGER_WRITE, session)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("name", "Bitte einen Namen für die Zuordnung angeben.")
    if len(name) > 100:
        raise ValidationError("name", "Der Name ist zu lang (höchstens 100 Zeichen).")
    if not mapping.date_column or not (
        mapping.amount_column or (mapping.debit_column and mapping.credit_column)
    ):
        raise ValidationError(
            "mapping",
            "Bitte mindestens die Spalten für Datum und Betrag (oder Soll und Haben) angeben.",
        )
    text = mapping.to_json()
    row = session.scalar(select(SavedMapping).where(SavedMapping.name == name))
    if row is None:
        row = SavedMapping(name=name, created_by=actor, mapping=text)
        session.add(row)
    row.mapping = text
    session.flush()
    audit.record(
        session, entity="bank_csv_mapping", entity_id=row.id, action="saved", actor=actor, name=name
    )
    return row


def read_statement(
    session: Session, data: bytes, filename: str, *, profile: str = AUTO
) -> Statement:
    """Parse a statement file. `profile`: a key of formats.profiles(), the name of a saved
    mapping (with or without the "gespeichert:" prefix), or "" / "auto" to detect."""
    profile = profile or AUTO
    name = profile.removeprefix(SAVED)
    row = session.scalar(select(SavedMapping).where(SavedMapping.name == name))
    if row is not None:
        return parse_statement(data, filename, mapping=CsvMapping.from_json(row.mapping))
    if profile.startswith(SAVED):
        raise StatementError(f"Die gespeicherte Zuordnung „{name}“ gibt es nicht mehr.")
    keys = [key for key, _ in profiles()]
    if profile not in keys:
        raise StatementError(f"Das Format „{profile}“ gibt es nicht (bekannt: {', '.join(keys)}).")
    return parse_statement(data, filename, profile=profile)
