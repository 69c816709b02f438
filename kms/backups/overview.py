"""The backup figure of the Übersicht page: how old the newest backup is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kms.formatting import count_noun, format_datetime
from kms.registry import Figure
from kms.types import BERLIN, utcnow


def overview(session: Session, now: datetime | None = None) -> list[Figure]:
    """The newest backup's age; orange when the backup reminder would warn."""
    from kms.backups.policy import is_stale
    from kms.backups.store import list_backups

    now = now or utcnow()
    backups = list_backups()
    attention = is_stale(session, now, backups)  # what freshness_warning decides, cheaper
    if not backups:
        return [Figure("Letztes Backup", "noch keins", "▶ Backup erzeugen", "dokumente", attention)]
    newest = backups[0].created_at
    # Calendar days in Germany: a backup from 23:30 is "gestern" at 00:45.
    days = (now.astimezone(BERLIN).date() - newest.astimezone(BERLIN).date()).days
    age = {0: "heute", 1: "gestern"}.get(days, f"vor {count_noun(days, 'Tag', 'Tagen')}")
    return [
        Figure(
            "Letztes Backup",
            age,
            f"{format_datetime(newest)} · {count_noun(len(backups), 'Backup', 'Backups')}",
            page="dokumente",
            attention=attention,
        )
    ]
