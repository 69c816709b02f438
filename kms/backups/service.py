"""The public service API of backups (no Streamlit): one import for pages, CLI and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kms.backups.create import create_backup
from kms.backups.errors import BackupError, PassphraseRequired, WrongPassphrase
from kms.backups.policy import (
    BackupSettings,
    PrunePlan,
    get_settings,
    plan_prune,
    prune,
    save_settings,
)
from kms.backups.restore import (
    CONFIRM_WORD,
    Loss,
    RestorePlan,
    RestoreResult,
    apply_restore,
    discard_plan,
    prepare_restore,
    verify_backup,
)
from kms.backups.store import BackupInfo, find_backup, list_backups

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kms.audit import Anchor


def newest_audit_anchor(session: Session) -> tuple[BackupInfo, Anchor] | None:
    """The audit anchor in the manifest of the newest unencrypted backup made since the last
    restore (a restore legitimately drops entries that later backups still name)."""
    from sqlalchemy import func, select

    from kms.audit import Anchor, AuditEvent
    from kms.backups.archive import read_archive

    restored = session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.entity == "backup", AuditEvent.action.startswith("backup.restore")
        )
    )
    for info in list_backups():
        if restored is not None and info.created_at <= restored.replace(microsecond=0):
            return None
        if info.encrypted:
            continue
        anchor = Anchor.from_dict(read_archive(info.path).manifest.audit_anchor)
        return None if anchor is None else (info, anchor)
    return None


__all__ = [
    "CONFIRM_WORD",
    "BackupError",
    "BackupInfo",
    "BackupSettings",
    "Loss",
    "PassphraseRequired",
    "PrunePlan",
    "RestorePlan",
    "RestoreResult",
    "WrongPassphrase",
    "apply_restore",
    "create_backup",
    "discard_plan",
    "find_backup",
    "get_settings",
    "list_backups",
    "newest_audit_anchor",
    "plan_prune",
    "prepare_restore",
    "prune",
    "save_settings",
    "verify_backup",
]
