"""The append-only, hash-chained audit log (GoBD: traceable, unalterable records).

Each entry's hash covers a database-independent canonical form (UTC ISO times, Decimal as
text, sorted JSON keys) plus the previous entry's hash, so the chain still verifies after a
backup is restored from SQLite into PostgreSQL or back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Text, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kms.errors import KmsError
from kms.models import Base
from kms.types import utcnow

GENESIS = "0" * 64
# Serialises appends on PostgreSQL; SQLite write sessions already BEGIN IMMEDIATE.
_PG_AUDIT_LOCK = 0x4B4D5341


class AuditEvent(Base):
    """One event (created, issued, sent, paid, cancelled, restored, …); never updated."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), default="")
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def _plain(value: Any) -> Any:
    """JSON-ready, database-independent form of a value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical(data: dict[str, Any]) -> str:
    """Sorted, compact JSON of plain values."""
    return json.dumps(_plain(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(event: AuditEvent) -> str:
    body = canonical(
        {
            "at": event.at,
            "actor": event.actor,
            "entity": event.entity,
            "entity_id": event.entity_id,
            "action": event.action,
            "payload": event.payload,
            "prev": event.prev_hash,
        }
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def head(session: Session) -> str:
    """Hash of the newest entry (GENESIS for an empty log)."""
    last = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return last or GENESIS


def record(
    session: Session,
    *,
    entity: str,
    entity_id: object,
    action: str,
    actor: str = "",
    at: datetime | None = None,
    **payload: Any,
) -> AuditEvent:
    """Append one event to the chain (inside the caller's transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    # Microsecond precision survives both databases, so the hash input round-trips.
    at = (at or utcnow()).astimezone(UTC)
    entry = AuditEvent(
        at=at,
        actor=actor,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        payload=canonical(payload),
        prev_hash=head(session),
    )
    entry.hash = _digest(entry)
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class ChainProblem:
    """Where the chain breaks."""

    event_id: int
    message: str


def verify(session: Session) -> list[ChainProblem]:
    """Recompute every hash in order; an empty list means the chain is intact."""
    problems: list[ChainProblem] = []
    prev = GENESIS
    for entry in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        if entry.prev_hash != prev:
            problems.append(ChainProblem(entry.id, "Verkettung unterbrochen (Eintrag fehlt?)"))
        if _digest(entry) != entry.hash:
            problems.append(ChainProblem(entry.id, "Inhalt verändert (Hash stimmt nicht)"))
        prev = entry.hash
    return problems


def history(session: Session, entity: str, entity_id: object) -> list[AuditEvent]:
    """All events of one record, oldest first (for the record's history view)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
    )


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(*_args: Any) -> None:
    raise KmsError("Einträge im Prüfprotokoll können nicht geändert werden.")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(*_args: Any) -> None:
    raise KmsError("Einträge im Prüfprotokoll können nicht gelöscht werden.")
