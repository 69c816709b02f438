"""A restore that would open locked months again names them in its preview (GoBD)."""

from __future__ import annotations

from datetime import date

from kms import periods
from kms.backups import restore
from kms.backups.create import create_backup
from kms.backups.restore import prepare_restore
from kms.db import ensure_migrated, session_scope


def test_restore_preview_names_the_locked_months_it_would_drop(db_url: str) -> None:
    ensure_migrated(db_url)
    with session_scope() as s:
        periods.lock_month(s, date(2026, 1, 1))
    backup = create_backup().path
    with session_scope() as s:
        periods.lock_month(s, date(2026, 2, 1))
        periods.lock_month(s, date(2026, 3, 1))
    plan = prepare_restore(backup)
    try:
        by_table = {loss.table: loss for loss in plan.losses}
        assert by_table["period_locks"].label == (
            "Festgeschriebene Zeiträume (GoBD): Februar 2026, März 2026 wären wieder offen"
        )
    finally:
        restore.discard_plan(plan)
