"""Alte Backups löschen keeps the promised set; the banner warns when backups are old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kms.backups.automatisms import daily, watch
from kms.backups.policy import (
    BackupSettings,
    business_days,
    freshness_warning,
    is_stale,
    plan_prune,
)
from kms.backups.service import create_backup, list_backups, save_settings
from kms.backups.store import BackupInfo, backups_dir
from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.notices import USERS, banner

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


def info(hours_ago: float, kind: str = "manual") -> BackupInfo:
    at = NOW - timedelta(hours=hours_ago)
    return BackupInfo(Path(f"b-{hours_ago}-{kind}"), at, kind, False, 1)


def test_prune_keeps_newest_per_day_and_week_and_recent_safety_backups() -> None:
    """7 days, 4 ISO weeks, safety backups of 30 days; everything else goes."""
    hourly = [info(h) for h in range(0, 24 * 60, 6)]
    safety = [info(24 * 10 + 1, "safety"), info(24 * 40 + 1, "safety")]
    plan = plan_prune(hourly + safety, BackupSettings(), NOW)
    kept = {b.name for b in plan.keep}
    days = {b.created_at.date() for b in plan.keep if NOW - b.created_at < timedelta(days=7)}
    assert len(days) == 7
    assert info(0).name in kept
    assert safety[0].name in kept and safety[1].name not in kept
    # newest of each of the last 4 ISO weeks: the 7 days already hold those of this week
    # (Mon 23.–Thu 26.) and of last week (Sun 22.); two older weeks add one each
    weeks = {b.created_at.isocalendar()[:2] for b in plan.keep}
    assert len(weeks) == 4
    assert len(plan.keep) == 7 + 2 + 1
    assert not kept & {b.name for b in plan.delete}
    assert len(plan.keep) + len(plan.delete) == len(hourly) + 2


def test_prune_never_deletes_the_newest_backup() -> None:
    """Even with every rule at zero the newest backup stays."""
    old = [info(24 * 100), info(24 * 200)]
    plan = plan_prune(old, BackupSettings(keep_days=1, keep_weeks=0, keep_safety_days=0), NOW)
    assert [b.name for b in plan.keep] == [old[0].name]


def test_second_backup_of_the_same_second_is_the_newer_one(db_url: str) -> None:
    """ "…Z-manual-2.tar" sorts before "…Z-manual.tar" as text, yet it is the newer backup;
    a backup document of the older one can be deleted, the newer one cannot."""
    for name in (
        "kms-backup-20261126T120000Z-manual.tar",
        "kms-backup-20261126T120000Z-manual-2.tar",
    ):
        (backups_dir() / name).write_bytes(b"x")
    assert [b.name for b in list_backups()] == [
        "kms-backup-20261126T120000Z-manual-2.tar",
        "kms-backup-20261126T120000Z-manual.tar",
    ]
    plan = plan_prune(list_backups(), BackupSettings(keep_days=1, keep_weeks=0), NOW)
    assert [b.name for b in plan.keep] == ["kms-backup-20261126T120000Z-manual-2.tar"]


def test_backup_documents_do_not_count_as_business_days(db_url: str) -> None:
    """A daily backup adds a Backup document each day; that is not business activity, so it
    never shortens the reminder to one day on its own."""
    for _ in range(3):
        create_backup()
    with session_scope(write=False) as s:
        assert business_days(s, datetime.now(UTC)) == 0


def test_banner_warns_without_recent_backup_and_clears_after_one(db_url: str) -> None:
    """No backup → warning; a fresh backup → the warning disappears."""
    with session_scope() as s:
        watch(s, NOW)
    with session_scope(write=False) as s:
        assert any(
            "noch kein Backup" in text for _, text in banner(s, audience=USERS).system_warnings
        )
    create_backup()
    with session_scope() as s:
        watch(s, datetime.now(UTC))
    with session_scope(write=False) as s:
        assert banner(s, audience=USERS).system_warnings == []


def test_daily_work_shortens_the_limit_to_one_day(db_url: str) -> None:
    """Records saved on 3 of the last 7 days: a 2-day-old backup is too old; else it is fine."""
    (backups_dir() / "kms-backup-20261124T100000Z-manual.tar").write_bytes(b"x")
    with session_scope() as s:
        watch(s, NOW)
        assert banner(s, audience=USERS).system_warnings == []
        for days_ago in (0, 1, 4):
            s.add(Contact(last_name="Kunde", created_at=NOW - timedelta(days=days_ago)))
        s.flush()
        assert business_days(s, NOW) == 3
        watch(s, NOW)
        warnings = banner(s, audience=USERS).system_warnings
    assert len(warnings) == 1 and "2 Tage alt" in warnings[0][1]


def test_daily_backup_runs_once_a_day_and_can_be_switched_off(db_url: str) -> None:
    """⊕ makes one automatic backup per day (on by default), none when switched off."""
    now = datetime.now(UTC)
    with session_scope() as s:
        assert "erzeugt" in daily(s, now)
        assert "schon" in daily(s, now)
    assert [b.kind for b in list_backups()] == ["auto"]
    with session_scope() as s:
        save_settings(s, auto_daily=False, keep_days=7, keep_weeks=4, keep_safety_days=30)
    with session_scope() as s:
        assert "ausgeschaltet" in daily(s, now + timedelta(days=2))


def test_overview_figure_gives_the_newest_backups_age(db_url: str) -> None:
    """Übersicht: "noch keins" in orange without a backup; the newest backup's age in
    calendar days (Berlin) with its time and the number of backups; orange once the
    reminder would warn."""
    from kms.backups.overview import overview

    def figure(now: datetime) -> tuple[str, str, bool]:
        with session_scope(write=False) as s:
            [f] = overview(s, now)
        assert (f.label, f.page) == ("Letztes Backup", "dokumente")
        return f.value, f.detail, f.attention

    assert figure(NOW) == ("noch keins", "▶ Backup erzeugen", True)
    (backups_dir() / "kms-backup-20261120T100000Z-manual.tar").write_bytes(b"x")
    (backups_dir() / "kms-backup-20261124T223000Z-auto.tar").write_bytes(b"x")
    # 22:30 UTC on the 24th is 23:30 on the 24th in Berlin; 22:45 UTC is still that day.
    assert figure(datetime(2026, 11, 24, 22, 45, tzinfo=UTC)) == (
        "heute",
        "24.11.2026 23:30 · 2 Backups",
        False,
    )
    assert figure(datetime(2026, 11, 24, 23, 45, tzinfo=UTC))[0] == "gestern"  # 00:45 Berlin
    assert figure(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))[:1] == ("vor 3 Tagen",)
    assert figure(datetime(2026, 12, 2, 12, 0, tzinfo=UTC)) == (
        "vor 8 Tagen",
        "24.11.2026 23:30 · 2 Backups",
        True,
    )


def test_business_days_asks_the_database_once(db_url: str) -> None:
    """All tables and all seven days in one statement (it was one query per table and day)."""
    from sqlalchemy import event

    with session_scope() as s:
        seen: list[str] = []
        event.listen(s.get_bind(), "before_cursor_execute", lambda *a: seen.append(a[2]))
        assert business_days(s, NOW - timedelta(days=400)) == 0
        assert len([q for q in seen if q.lstrip().upper().startswith("SELECT")]) == 1


def test_is_stale_agrees_with_the_warning_and_asks_only_when_it_must(db_url: str) -> None:
    """The Übersicht's yes/no equals "freshness_warning is not None" for every backup age,
    on a busy and on a quiet week; the business days are read only between 1 and 7 days."""
    from sqlalchemy import event

    with session_scope() as s:
        selects: list[str] = []
        event.listen(
            s.get_bind(),
            "before_cursor_execute",
            lambda *a: selects.append(a[2]) if a[2].lstrip().upper().startswith("SELECT") else None,
        )
        for busy in (False, True):
            if busy:
                for days_ago in (0, 1, 4):
                    s.add(Contact(last_name="Kunde", created_at=NOW - timedelta(days=days_ago)))
                s.flush()
            for hours in (None, 2, 24, 25, 47, 24 * 7, 24 * 7 + 1, 24 * 30):
                backups = [] if hours is None else [info(hours)]
                selects.clear()
                stale = is_stale(s, NOW, backups)
                asked = bool(selects)
                assert stale == (freshness_warning(s, NOW, backups) is not None), (busy, hours)
                assert asked == (hours is not None and 24 < hours <= 24 * 7), (busy, hours)
            assert is_stale(s, NOW, [info(47)]) is busy


def test_business_days_counts_berlin_days_and_changes(db_url: str) -> None:
    """Berlin midnight splits days (23:59 and 00:00 are two days); a change to an old record
    counts on the day of the change; activity older than the window does not count."""
    from kms.types import BERLIN

    midnight = datetime(2026, 11, 26, 0, 0, tzinfo=BERLIN)
    old = NOW - timedelta(days=30)
    with session_scope() as s:
        s.add(Contact(last_name="A", created_at=midnight, updated_at=midnight))
        s.add(
            Contact(
                last_name="B",
                created_at=midnight - timedelta(minutes=1),
                updated_at=midnight - timedelta(minutes=1),
            )
        )
        s.add(Contact(last_name="C", created_at=old, updated_at=NOW - timedelta(days=3)))
        s.add(
            Contact(
                last_name="D",
                created_at=NOW - timedelta(days=7),
                updated_at=NOW - timedelta(days=7),
            )
        )
        s.flush()
        assert business_days(s, NOW) == 3


def test_reminder_judges_after_the_daily_backup_of_the_same_tick(db_url: str) -> None:
    """Both ⊕ due at once without any backup: the daily backup runs first, so Hilfe does not
    show "Es gibt noch kein Backup" beside "Tägliches Backup … erzeugt"."""
    from kms.functions import run_due

    results = run_due(datetime.now(UTC))
    assert "erzeugt" in results["backup_daily"]
    assert results["backup_watch"] == "Backups sind aktuell."
    with session_scope(write=False) as s:
        assert banner(s).system_warnings == []


def test_a_new_backup_makes_the_reminder_due_again(db_url: str) -> None:
    """After the reminder warned, any new backup (here by hand) makes it run at the next tick."""
    from kms.functions import run_due
    from kms.models import AutomatismState

    with session_scope() as s:
        save_settings(s, auto_daily=False, keep_days=7, keep_weeks=4, keep_safety_days=30)
    first = run_due(datetime.now(UTC))
    assert first["backup_watch"].startswith("Es gibt noch kein Backup")
    create_backup()
    with session_scope(write=False) as s:
        assert s.get(AutomatismState, "backup_watch").next_run_at <= datetime.now(UTC)
    again = run_due(datetime.now(UTC))
    assert again["backup_watch"] == "Backups sind aktuell."
