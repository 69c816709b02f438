"""Extension points of backups: monotonic counters and the audit log.

A module declares its counter in its ModuleSpec (``backup_counter="pkg.module.COUNTER"``,
a MonotonicCounter); the restore reads them through the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class MonotonicCounter:
    """Counters that must never go backwards across a restore (e.g. invoice numbers).

    `read(session)` returns {counter name: last issued value}; after a restore KMS calls
    `write(session, merged)` with max(value before the restore, value in the backup) for
    every name, so a number already sent to a customer is never issued twice.
    """

    name: str
    read: Callable[[Session], dict[str, int]] = field(compare=False)
    write: Callable[[Session, dict[str, int]], None] = field(compare=False)


class AuditProvider(Protocol):
    """The append-only, hash-chained audit log (registered by the audit module)."""

    def head(self, session: Session) -> str | None:
        """The hash of the newest audit entry (None for an empty log)."""

    def record(self, session: Session, event: str, details: dict[str, Any]) -> None:
        """Append one entry."""


AUDIT: list[AuditProvider] = []


def counters() -> list[MonotonicCounter]:
    """The counters every registered module declares."""
    from kms.registry import backup_counters

    return backup_counters()


def register_audit(provider: AuditProvider) -> None:
    """Register the audit log; there is at most one."""
    AUDIT[:] = [provider]


def read_counters(session: Session) -> dict[str, dict[str, int]]:
    """Every provider's counters: {provider name: {counter: value}}."""
    return {c.name: dict(c.read(session)) for c in counters()}


def merge_counters(session: Session, before: dict[str, dict[str, int]]) -> dict[str, int]:
    """Raise every counter to max(before, now); returns the counters that were raised."""
    raised: dict[str, int] = {}
    for counter in counters():
        old = before.get(counter.name, {})
        now = dict(counter.read(session))
        merged = {k: max(old.get(k, v), v) for k, v in now.items()}
        merged.update({k: v for k, v in old.items() if k not in merged})
        changed = {k: v for k, v in merged.items() if now.get(k) != v}
        if changed:
            counter.write(session, merged)
            raised.update({f"{counter.name}.{k}": v for k, v in changed.items()})
    return raised


def audit_head(session: Session) -> str | None:
    """The audit chain's head, or None while no audit module is registered."""
    return AUDIT[0].head(session) if AUDIT else None


def audit_anchor(session: Session) -> dict[str, Any] | None:
    """The newest audit entry as {"id", "hash"} for the manifest (None if unknown)."""
    anchor = getattr(AUDIT[0], "anchor", None) if AUDIT else None
    return anchor(session) if anchor is not None else None


def audit_record(session: Session, event: str, details: dict[str, Any]) -> bool:
    """Write to the audit log if one is registered; False otherwise."""
    if not AUDIT:
        return False
    AUDIT[0].record(session, event, details)
    return True


class _KmsAuditLog:
    """Adapter from the backups module's AuditProvider protocol to kms.audit."""

    def head(self, session: Session) -> str | None:
        from kms.audit import GENESIS, head

        value = head(session)
        return None if value == GENESIS else value

    def anchor(self, session: Session) -> dict[str, Any] | None:
        from kms.audit import head_entry

        entry = head_entry(session)
        return None if entry is None else entry.to_dict()

    def record(self, session: Session, event: str, details: dict[str, Any]) -> None:
        from kms.audit import reanchor, record

        if event.startswith("backup.restore"):
            # The log was just replaced by the backup's: the anchor follows it, not forward.
            reanchor(session)
        payload = dict(details)
        # Who did it belongs in the entry's actor, as for every other audit event.
        actor = payload.pop("user", None) or ""
        record(
            session,
            entity="backup",
            entity_id=str(payload.get("source") or payload.get("file") or ""),
            action=event,
            actor=actor,
            **payload,
        )


register_audit(_KmsAuditLog())
