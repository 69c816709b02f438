"""⊕ Purge an expired add-on's data once its retention period is over.

Before anything is deleted KMS takes a backup of kind "retained", which "Alte Backups löschen"
never deletes; it holds the add-on's rows and its stored files (ModuleSpec.files), which are
deleted too. Only the purge itself is recorded (audit log: entity "licence", action
"purged"); from then on the add-on's state is "gelöscht" until a new licence arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import LargeBinary, Text, cast, func, select
from sqlalchemy.orm import Session

from kms import licensing, registry
from kms.audit import AuditEvent, record
from kms.formatting import count_noun, format_size
from kms.models import Base
from kms.registry import ModuleSpec, files_of, tables_of

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


@dataclass(frozen=True)
class PurgeScope:
    """What a purge of an add-on would delete: rows per table, its stored files, sizes."""

    rows: dict[str, int]
    row_bytes: int
    files: list[Path]
    file_bytes: int

    @property
    def row_count(self) -> int:
        return sum(self.rows.values())

    def describe(self) -> str:
        """German: "12 Datensätze in 2 Tabellen, 3 Dateien; zusammen 10,8 MB"."""
        return (
            f"{count_noun(self.row_count, 'Datensatz', 'Datensätze')} in "
            f"{count_noun(len(self.rows), 'Tabelle', 'Tabellen')}, "
            f"{count_noun(len(self.files), 'Datei', 'Dateien')}; zusammen "
            f"{format_size(self.row_bytes + self.file_bytes)}"
        )


def _text_size(column: Any) -> Any:
    """The stored size of a column's values in SQL (bytes of binary, characters of text)."""
    binary = isinstance(column.type, LargeBinary) or isinstance(
        getattr(column.type, "impl", None), LargeBinary
    )
    return func.coalesce(func.sum(func.length(column if binary else cast(column, Text))), 0)


def table_size(session: Session, table: Any) -> int:
    """Roughly the bytes of a table's rows: the length of every value, summed in SQL."""
    sizes = session.execute(select(*(_text_size(c) for c in table.columns))).one()
    return sum(int(size or 0) for size in sizes)


def purge_scope(session: Session, spec: ModuleSpec) -> PurgeScope:
    """Rows per table, their size, and the stored files a purge of the add-on would delete."""
    tables = tables_of(spec)
    files = [path for path in files_of(session, spec) if path.is_file()]
    return PurgeScope(
        rows={
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in tables
        },
        row_bytes=sum(table_size(session, table) for table in tables),
        files=files,
        file_bytes=sum(path.stat().st_size for path in files),
    )


def purge_summary(session: Session, module: str) -> str:
    """German: what a purge of the add-on would delete, with counts and sizes."""
    spec = next((s for s in registry.modules() if s.key == module), None)
    if spec is None:
        return PurgeScope({}, 0, [], 0).describe()
    return purge_scope(session, spec).describe()


def purge_module(
    session: Session, spec: ModuleSpec, backup_name: str, now: datetime, files: int = 0
) -> int:
    """Delete every row of the add-on's tables (children first); record only the purge
    (`files`: how many stored files the caller deletes once this is committed)."""
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
        files=files,
    )
    session.flush()
    return deleted
