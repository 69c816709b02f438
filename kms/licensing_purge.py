"""⊕ Purge an expired add-on's data once its retention period is over.

Before anything is deleted KMS takes a backup of kind "retained", which "Alte Backups löschen"
never deletes. Only the purge itself is recorded (audit log: entity "licence", action
"purged"); from then on the add-on's state is "gelöscht" until a new licence arrives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import licensing, registry
from kms.audit import AuditEvent, record
from kms.models import Base
from kms.registry import ModuleSpec, tables_of

PURGE_ENTITY = "licence"
PURGE_ACTION = "purged"


def purged_at(session: Session, module: str) -> datetime | None:
    """When the module's data was last purged (audit log), if ever."""
    newest = session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.entity == PURGE_ENTITY,
            AuditEvent.entity_id == module,
            AuditEvent.action == PURGE_ACTION,
        )
    )
    return licensing.aware(newest) if newest is not None else None


def purge_counts(session: Session, spec: ModuleSpec) -> dict[str, int]:
    """Rows per table that a purge of the add-on would delete."""
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in tables_of(spec)
    }


def purge_summary(session: Session, module: str) -> str:
    """German: what a purge of the add-on would delete ("12 Datensätze in 2 Tabellen")."""
    spec = next((s for s in registry.modules() if s.key == module), None)
    counts = purge_counts(session, spec) if spec is not None else {}
    return f"{sum(counts.values())} Datensätze in {len(counts)} Tabellen"


def purge_module(session: Session, spec: ModuleSpec, backup_name: str, now: datetime) -> int:
    """Delete every row of the add-on's tables (children first); record only the purge."""
    own = set(tables_of(spec))
    deleted = 0
    for table in reversed(Base.metadata.sorted_tables):
        if table in own:
            deleted += session.execute(table.delete()).rowcount or 0  # type: ignore[attr-defined]
    record(
        session,
        entity=PURGE_ENTITY,
        entity_id=spec.key,
        action=PURGE_ACTION,
        at=now,
        backup=backup_name,
        rows=deleted,
    )
    session.flush()
    return deleted
