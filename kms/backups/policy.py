"""Settings for backups, "Alte Backups löschen", and the freshness watch (⊕)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kms.backups.documents import activity_filter
from kms.backups.errors import BackupError
from kms.backups.store import BackupInfo, delete_archive, exclusive, list_backups
from kms.models import Base, get_value, set_value
from kms.permissions import Permission, require_permission
from kms.registry import import_models

BERLIN = ZoneInfo("Europe/Berlin")
SETTINGS_KEY = "backups.settings"
WARNING_KEY = "backups.stale"


@dataclass(frozen=True)
class BackupSettings:
    """How many backups "Alte Backups löschen" keeps, and whether KMS backs up daily."""

    auto_daily: bool = True
    keep_days: int = 7
    keep_weeks: int = 4
    keep_safety_days: int = 30


def get_settings(session: Session) -> BackupSettings:
    """Stored settings; defaults (daily backup on) for a new instance."""
    stored = get_value(session, SETTINGS_KEY)
    stored = stored if isinstance(stored, dict) else {}
    known = BackupSettings.__dataclass_fields__
    return BackupSettings(**{k: v for k, v in stored.items() if k in known})


def save_settings(
    session: Session, *, auto_daily: bool, keep_days: int, keep_weeks: int, keep_safety_days: int
) -> BackupSettings:
    """Check and store the settings."""
    require_permission(Permission.BACKUPS, session)
    for value, label, low, high in (
        (keep_days, "Tage", 1, 365),
        (keep_weeks, "Wochen", 0, 260),
        (keep_safety_days, "Tage für Sicherungen vor Wiederherstellungen", 0, 3650),
    ):
        if not isinstance(value, int) or not low <= value <= high:
            raise BackupError(f"Aufbewahrung ({label}): bitte eine Zahl von {low} bis {high}.")
    settings = BackupSettings(bool(auto_daily), keep_days, keep_weeks, keep_safety_days)
    set_value(session, SETTINGS_KEY, asdict(settings))
    return settings


@dataclass(frozen=True)
class PrunePlan:
    """Which backups "Alte Backups löschen" keeps and which it deletes."""

    keep: list[BackupInfo]
    delete: list[BackupInfo]


def plan_prune(backups: list[BackupInfo], settings: BackupSettings, now: datetime) -> PrunePlan:
    """Keep the newest backup of each of the last N days and ISO weeks (Berlin time), safety
    backups of the last M days, every retained backup (taken before an add-on's purge) and
    always the newest backup; delete the rest."""
    ordered = sorted(backups, key=lambda b: b.order, reverse=True)
    keep: set[str] = set()
    if ordered:
        keep.add(ordered[0].name)
    today = now.astimezone(BERLIN).date()
    days = {today - timedelta(days=i) for i in range(settings.keep_days)}
    weeks = {(today - timedelta(weeks=i)).isocalendar()[:2] for i in range(settings.keep_weeks)}
    seen_days: set[object] = set()
    seen_weeks: set[object] = set()
    for backup in ordered:  # newest first: the first one of a day or week is its newest
        local = backup.created_at.astimezone(BERLIN).date()
        week = local.isocalendar()[:2]
        if local in days and local not in seen_days:
            keep.add(backup.name)
        if week in weeks and week not in seen_weeks:
            keep.add(backup.name)
        seen_days.add(local)
        seen_weeks.add(week)
        if backup.kind == "retained":  # the only copy of a purged add-on's data
            keep.add(backup.name)
        if backup.kind == "safety" and backup.created_at >= now - timedelta(
            days=settings.keep_safety_days
        ):
            keep.add(backup.name)
    return PrunePlan(
        keep=[b for b in ordered if b.name in keep],
        delete=[b for b in ordered if b.name not in keep],
    )


def prune(plan: PrunePlan) -> int:
    """Delete what the plan lists (never anything else); returns how many were deleted.

    Their documents leave Dokumente in the same step (kms.backups.documents).
    """
    require_permission(Permission.BACKUPS)
    from kms.backups.documents import sync_locked

    keep = {b.name for b in plan.keep}
    count = 0
    with exclusive():
        for backup in plan.delete:
            if backup.name in keep:  # pragma: no cover - plan_prune never does this
                continue
            if backup.path.exists():
                delete_archive(backup.path)
                count += 1
        sync_locked()
    return count


def business_days(session: Session, now: datetime, days: int = 7) -> int:
    """On how many of the last `days` days (Berlin) business records were created or changed.

    One query: every business table's time stamps in the window (index range seeks on the
    created_at/updated_at indexes), each mapped to its day by the Berlin midnights computed
    here (so DST and both databases agree), and only the distinct day numbers come back.
    """
    import_models()
    tables: set[sa.Table] = {
        mapper.local_table  # type: ignore[misc]
        for mapper in Base.registry.mappers
        if getattr(mapper.class_, "__business_data__", False)
    }
    today = now.astimezone(BERLIN).date()
    # starts[i] is the Berlin midnight that begins the day i days ago.
    starts = [
        datetime.combine(today - timedelta(days=i), datetime.min.time(), BERLIN)
        for i in range(days)
    ]
    end = starts[0] + timedelta(days=1)
    parts = []
    for table in sorted(tables, key=lambda t: t.name):
        for name in ("created_at", "updated_at"):
            if name not in table.c:
                continue
            stamp = table.c[name]
            day_index = sa.case(
                *[(stamp >= start, sa.literal(i)) for i, start in enumerate(starts)],
                else_=sa.literal(days),
            )
            parts.append(
                sa.select(day_index.label("day"))
                .select_from(table)
                .where(stamp >= starts[-1], stamp < end, *activity_filter(table))
                .distinct()
            )
    if not parts:
        return 0
    union = sa.union(*parts).subquery()
    found = session.scalars(sa.select(union.c.day).distinct())
    return len({int(day) for day in found if day is not None and int(day) < days})


def is_stale(session: Session, now: datetime, backups: list[BackupInfo]) -> bool:
    """Whether `freshness_warning` would warn, asking for the business days only when the
    answer depends on them (the newest backup is between 1 and 7 days old).

    The Übersicht needs only this yes/no on every rerun: with a daily backup, or none at
    all, it costs no query.
    """
    if not backups:
        return True
    age = now - backups[0].created_at
    if age <= timedelta(days=1):
        return False
    if age > timedelta(days=7):
        return True
    return business_days(session, now) >= 3


def freshness_warning(
    session: Session, now: datetime, backups: list[BackupInfo] | None = None
) -> str | None:
    """The banner text when the newest backup is too old, else None.

    Older than 7 days is always too old; older than 1 day is too old when business
    records were saved on at least 3 of the last 7 days (the manual: weekly, daily when
    invoices, letters, income or expenses are written daily).
    """
    if backups is None:
        backups = list_backups()
    busy = business_days(session, now) >= 3
    limit = timedelta(days=1) if busy else timedelta(days=7)
    if backups and now - backups[0].created_at <= limit:
        return None
    advice = "täglich" if busy else "mindestens wöchentlich"
    if not backups:
        return (
            "Es gibt noch kein Backup. Bitte erzeugen Sie eines unter Kunden → Dokumente → "
            f"„Backup erzeugen“ und sichern Sie {advice}."
        )
    age = (now - backups[0].created_at).days
    return (
        f"Das neueste Backup ist {age} Tag{'e' if age != 1 else ''} alt. Bitte erzeugen Sie "
        f"unter Kunden → Dokumente ein neues Backup; bei Ihrer Arbeitsweise {advice}."
    )
