"""Hinweise und Wartungsfenster: Berlin times stored in UTC, the banner, read-only windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import auth
from kms.errors import KmsError, ReadOnlyError
from kms.functions import log_function_run
from kms.models import FunctionRun, KeyValue, LoginAttempt, Notice
from kms.modules.bugreports.models import BugReport
from kms.modules.bugreports.service import create_report
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import create_person, update_person
from kms.modules.settings.models import CompanyProfile
from kms.notices import (
    PUBLIC,
    RESTORE_KEY,
    SYSTEM_WARNINGS_KEY,
    USERS,
    add_notice,
    banner,
    format_local,
    is_read_only,
    list_notices,
    parse_local_time,
    remove_notice,
    set_system_warning,
)
from kms.types import utcnow


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "instant"),
    [
        ("2026-07-01T12:00", utc(2026, 7, 1, 10, 0)),  # summer time, UTC+2
        ("2026-12-01T22:00", utc(2026, 12, 1, 21, 0)),  # winter time, UTC+1
        ("2026-10-25T01:30", utc(2026, 10, 24, 23, 30)),  # before clocks go back
        ("2026-10-25T03:30", utc(2026, 10, 25, 2, 30)),  # after clocks went back
        ("2026-10-25T02:30", utc(2026, 10, 25, 0, 30)),  # twice that night: the first (summer)
        ("2026-03-29T01:30", utc(2026, 3, 29, 0, 30)),  # before clocks go forward
        ("2026-03-29T03:30", utc(2026, 3, 29, 1, 30)),  # after clocks went forward
        ("2026-10-25T02:30+01:00", utc(2026, 10, 25, 1, 30)),  # an explicit offset wins
        ("2026-12-01T22:00Z", utc(2026, 12, 1, 22, 0)),
        (" 2026-12-01 22:00 ", utc(2026, 12, 1, 21, 0)),
    ],
)
def test_times_without_offset_mean_berlin(local: str, instant: datetime) -> None:
    """A time without offset is Europe/Berlin wall-clock time, returned as UTC."""
    parsed = parse_local_time(local)
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["morgen", "2026-13-01T10:00", "", "25.10.2026 01:30"])
def test_unreadable_times_get_a_german_message(value: str) -> None:
    """Anything that is not ISO 8601 is refused with an example of the expected form."""
    with pytest.raises(KmsError, match="keine gültige Zeitangabe"):
        parse_local_time(value)


def test_a_time_skipped_by_the_clock_change_is_refused() -> None:
    """02:30 on 29 March 2026 never happens in Berlin; it is refused, not shifted silently."""
    with pytest.raises(KmsError, match="Sommerzeit springt die Uhr"):
        parse_local_time("2026-03-29T02:30")


def _window(session: Session, start: str | datetime, end: str | datetime, text="Update"):
    notice = add_notice(session, text=text, maintenance=True, start=start, end=end)
    session.commit()
    return notice


def test_window_across_the_autumn_clock_change(session: Session) -> None:
    """01:30 → 03:30 on 25 Oct 2026 lasts three hours and reads back in Berlin time."""
    notice_id = _window(session, "2026-10-25T01:30", "2026-10-25T03:30").id
    session.expire_all()
    stored = session.get(Notice, notice_id)
    assert stored.starts_at == utc(2026, 10, 24, 23, 30)
    assert stored.ends_at == utc(2026, 10, 25, 2, 30)
    assert stored.ends_at - stored.starts_at == timedelta(hours=3)
    assert format_local(stored.starts_at) == "25.10.2026 01:30"
    assert format_local(stored.ends_at) == "25.10.2026 03:30"
    state = banner(session, utc(2026, 10, 20))
    assert state.maintenance_text == (
        "Nächstes Wartungsfenster: 25.10.2026 01:30 bis 25.10.2026 03:30 Uhr. Update"
    )
    # 02:10 UTC is 02:10 winter time, after the repeated hour: still inside the window.
    assert banner(session, utc(2026, 10, 25, 2, 10)).read_only
    assert not banner(session, utc(2026, 10, 25, 2, 30)).read_only


def test_window_across_the_spring_clock_change(session: Session) -> None:
    """01:30 → 03:30 on 29 Mar 2026 lasts one hour and reads back in Berlin time."""
    notice_id = _window(session, "2026-03-29T01:30", "2026-03-29T03:30").id
    session.expire_all()
    stored = session.get(Notice, notice_id)
    assert (stored.starts_at, stored.ends_at) == (utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))
    assert format_local(stored.starts_at) == "29.03.2026 01:30"
    assert format_local(stored.ends_at) == "29.03.2026 03:30"
    active = banner(session, utc(2026, 3, 29, 1, 0))
    assert active.read_only
    assert active.maintenance_text.startswith("Wartung läuft bis 29.03.2026 03:30 Uhr")


WINDOW = {"text": "x", "maintenance": True, "start": "2026-12-01T22:00"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "  "}, "darf nicht leer sein"),
        ({"text": "x", "level": "critical"}, "Unbekannte Stufe"),
        (WINDOW, "braucht Beginn"),
        (WINDOW | {"end": "2026-12-01T21:00"}, "Ende des Wartungsfensters muss nach dem Beginn"),
        (WINDOW | {"end": "2026-12-01T22:00"}, "Ende des Wartungsfensters muss nach dem Beginn"),
        (WINDOW | {"end": "bald"}, "keine gültige Zeitangabe"),
    ],
)
def test_bad_notices_are_refused_and_nothing_is_saved(
    session: Session, fields: dict, message: str
) -> None:
    """Each bad input gets its German message; no row is written."""
    with pytest.raises(KmsError, match=message):
        add_notice(session, **fields)
    assert session.scalar(select(func.count(Notice.id))) == 0


def test_notices_are_listed_and_removed(session: Session) -> None:
    """Windows are listed by start; removing an unknown id says so in German."""
    late = _window(session, "2026-12-02T22:00", "2026-12-02T23:00", "später")
    early = _window(session, "2026-12-01T22:00", "2026-12-01T23:00", "früher")
    assert [n.id for n in list_notices(session)][:2] == [early.id, late.id]
    remove_notice(session, early.id)
    session.commit()
    assert [n.id for n in list_notices(session)] == [late.id]
    with pytest.raises(KmsError, match=f"Hinweis {early.id} gibt es nicht"):
        remove_notice(session, early.id)


# --- banner --------------------------------------------------------------------------------


def test_banner_without_window_says_none_is_planned(session: Session) -> None:
    """No window, or only past ones: "Kein Wartungsfenster geplant." """
    now = utc(2026, 11, 1, 12)
    assert banner(session, now).maintenance_text == "Kein Wartungsfenster geplant."
    _window(session, "2026-10-01T22:00", "2026-10-01T23:00")
    assert banner(session, now).maintenance_text == "Kein Wartungsfenster geplant."
    assert not banner(session, now).read_only


def test_banner_names_the_next_of_several_windows(session: Session) -> None:
    """The banner names the earliest upcoming window, whatever order they were added in."""
    _window(session, "2026-12-20T22:00", "2026-12-20T23:00", "zweites")
    _window(session, "2026-12-10T22:00", "2026-12-10T23:30", "erstes")
    text = banner(session, utc(2026, 12, 1)).maintenance_text
    assert text == "Nächstes Wartungsfenster: 10.12.2026 22:00 bis 10.12.2026 23:30 Uhr. erstes"


def test_banner_warns_from_thirty_minutes_before(session: Session) -> None:
    """From 30 minutes before the start the banner warns with the start time."""
    _window(session, "2026-12-10T22:00", "2026-12-10T23:00", "Datenbank-Update")
    start = utc(2026, 12, 10, 21)
    early = banner(session, start - timedelta(minutes=31))
    assert not early.window_soon
    assert early.maintenance_text.startswith("Nächstes Wartungsfenster")
    soon = banner(session, start - timedelta(minutes=30))
    assert soon.window_soon and not soon.read_only
    assert soon.maintenance_text == (
        "Wartung beginnt um 10.12.2026 22:00 Uhr (10.12.2026 22:00 bis 10.12.2026 23:00 Uhr). "
        "Datenbank-Update"
    )


def test_banner_during_and_after_a_window(session: Session) -> None:
    """During a window KMS is read-only until its end; afterwards it is writable again."""
    _window(session, "2026-12-10T22:00", "2026-12-10T23:00")
    during = banner(session, utc(2026, 12, 10, 21, 30))
    assert during.read_only and is_read_only(session, utc(2026, 12, 10, 21, 30))
    assert during.maintenance_text.startswith(
        "Wartung läuft bis 10.12.2026 23:00 Uhr: KMS ist schreibgeschützt"
    )
    after = banner(session, utc(2026, 12, 10, 22))
    assert not after.read_only
    assert after.maintenance_text == "Kein Wartungsfenster geplant."


def test_plain_notices_show_while_current(session: Session) -> None:
    """A notice shows from its start until its end; one without times always shows."""
    add_notice(session, text="immer", level="warning")
    add_notice(session, text="Dezember", start="2026-12-01T00:00", end="2026-12-31T23:59")
    session.commit()
    assert [n.text for n in banner(session, utc(2026, 11, 15)).notices] == ["immer"]
    assert {n.text for n in banner(session, utc(2026, 12, 15)).notices} == {"immer", "Dezember"}
    assert [n.text for n in banner(session, utc(2027, 1, 15)).notices] == ["immer"]


def test_system_warnings_are_set_and_cleared(session: Session) -> None:
    """An automatism's warning appears in the banner until it is cleared."""
    set_system_warning(session, "probe", "Speicherplatz knapp")
    session.commit()
    assert banner(session, audience=USERS).system_warnings == [("warning", "Speicherplatz knapp")]
    set_system_warning(session, "probe", None)
    session.commit()
    assert banner(session, audience=USERS).system_warnings == []


def test_module_warnings_are_for_logged_in_users_only(session: Session) -> None:
    """Before login (the public banner) a module's warning never shows; operator notices,
    windows and warnings raised for the public do; logged-in users see everything."""
    add_notice(session, text="Neue Version ab Montag")
    add_notice(
        session, text="Update", maintenance=True, start="2026-12-20T22:00", end="2026-12-20T23:00"
    )
    set_system_warning(session, "invoices_overdue", "2 Rechnungen sind überfällig: RE-2026-0003")
    set_system_warning(session, "disk", "Speicher fast voll", audience=PUBLIC)
    session.commit()
    now = utc(2026, 12, 1)

    public = banner(session, now)  # the default is the cautious one
    assert public.system_warnings == [("warning", "Speicher fast voll")]
    assert [n.text for n in public.notices] == ["Neue Version ab Montag"]
    assert public.next_window is not None
    assert banner(session, now, audience=PUBLIC).system_warnings == public.system_warnings

    users = banner(session, now, audience=USERS)
    assert sorted(text for _, text in users.system_warnings) == [
        "2 Rechnungen sind überfällig: RE-2026-0003",
        "Speicher fast voll",
    ]
    assert [n.text for n in users.notices] == ["Neue Version ab Montag"]


def test_warnings_stored_without_an_audience_stay_private(session: Session) -> None:
    """A warning written before audiences existed (no key in its JSON) is a module warning."""
    session.add(
        KeyValue(
            key=SYSTEM_WARNINGS_KEY,
            value={"invoices_overdue": {"level": "warning", "text": "RE-2026-0004 überfällig"}},
        )
    )
    session.commit()
    assert banner(session).system_warnings == []
    assert banner(session, audience=USERS).system_warnings == [
        ("warning", "RE-2026-0004 überfällig")
    ]


def test_an_unknown_audience_is_a_programming_error(session: Session) -> None:
    """A typo in the audience must not fall back to showing everything or nothing silently."""
    with pytest.raises(ValueError, match="audience"):
        banner(session, audience="everyone")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="audience"):
        set_system_warning(session, "x", "y", audience="all")  # type: ignore[arg-type]


# --- read-only guard -----------------------------------------------------------------------


def _active_window(session: Session) -> Notice:
    """A window that is running right now (the guard checks the real clock)."""
    now = utcnow()
    return _window(session, now - timedelta(minutes=5), now + timedelta(hours=1))


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_business_inserts_are_refused_during_a_window(session: Session) -> None:
    """A new Contact or CompanyProfile raises ReadOnlyError in German; the rollback is clean."""
    window = _active_window(session)
    for record in (Contact(last_name="Mustermann"), CompanyProfile(company_name="Musterfirma")):
        session.add(record)
        with pytest.raises(ReadOnlyError) as excinfo:
            session.flush()
        assert excinfo.value.message.startswith(
            f"Wartungsfenster bis {format_local(window.ends_at)} Uhr: KMS ist schreibgeschützt."
        )
        session.rollback()
        assert _count(session, type(record)) == 0
    with pytest.raises(ReadOnlyError):
        create_person(session, last_name="Mustermann")
    session.rollback()
    assert _count(session, Contact) == 0


def test_business_changes_and_deletes_are_refused_during_a_window(session: Session) -> None:
    """An existing contact can be neither changed nor deleted while the window runs."""
    person = create_person(session, first_name="Erika", last_name="Mustermann")
    session.commit()
    _active_window(session)
    with pytest.raises(ReadOnlyError):
        update_person(session, person.id, version=person.version, last_name="Musterfrau")
    session.rollback()
    session.delete(session.get(Contact, person.id))
    with pytest.raises(ReadOnlyError):
        session.commit()
    session.rollback()
    session.expire_all()
    assert session.get(Contact, person.id).last_name == "Mustermann"


def test_infrastructure_still_saves_during_a_window(session: Session) -> None:
    """Login attempts, notices, function runs and bug reports are saved while read-only."""
    _active_window(session)
    auth.record_attempt(session, "erika", "198.51.100.7", False)
    add_notice(session, text="Wartung dauert länger")
    create_report(session, title="Fehler", description="Beim Speichern")
    session.commit()
    log_function_run("probe", "erika", "ok", "erledigt")
    assert _count(session, LoginAttempt) == 1
    assert _count(session, Notice) == 2
    assert _count(session, BugReport) == 1
    assert _count(session, FunctionRun) == 1


def test_writes_work_again_after_the_window(session: Session) -> None:
    """Once the window is over the same insert succeeds."""
    now = utcnow()
    _window(session, now - timedelta(hours=2), now - timedelta(seconds=1))
    create_person(session, last_name="Mustermann")
    session.commit()
    assert _count(session, Contact) == 1


def test_a_running_restore_blocks_business_writes(session: Session) -> None:
    """The instance read-only flag refuses business writes with its own message."""
    session.add(KeyValue(key=RESTORE_KEY, value=True))
    session.commit()
    assert banner(session).read_only
    with pytest.raises(ReadOnlyError, match="Datensicherung wiederhergestellt"):
        create_person(session, last_name="Mustermann")
    session.rollback()
    session.get(KeyValue, RESTORE_KEY).value = False
    session.commit()
    create_person(session, last_name="Mustermann")
    session.commit()
    assert _count(session, Contact) == 1


def test_a_future_window_does_not_block(session: Session) -> None:
    """A planned window blocks nothing before it starts."""
    _window(session, utcnow() + timedelta(minutes=10), utcnow() + timedelta(hours=1))
    create_person(session, last_name="Mustermann", country="DE")
    session.commit()
    assert _count(session, Contact) == 1
