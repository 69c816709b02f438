"""The public service API of backups (no Streamlit): one import for pages, CLI and tests."""

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
    "plan_prune",
    "prepare_restore",
    "prune",
    "save_settings",
    "verify_backup",
]
