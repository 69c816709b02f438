"""Hinweise und Wartungsfenster: operator notices, maintenance windows, read-only mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from kms.errors import KmsError, ReadOnlyError
from kms.formatting import format_datetime
from kms.models import Notice, get_value, set_value
from kms.permissions import Permission, require_permission
from kms.types import BERLIN, utcnow

WARN_BEFORE = timedelta(minutes=30)
LEVELS = ("info", "warning")
RESTORE_KEY = "instance.read_only"
SYSTEM_WARNINGS_KEY = "banner.system_warnings"

# Who may read a banner line. The login page and every deep link show the banner to anyone
# who opens the address, so only the operator's notices and maintenance windows are PUBLIC;
# what a module's automatism finds (overdue invoice numbers, turnover, backups) names business
# data and is shown to logged-in USERS only.
Audience = Literal["public", "users"]
PUBLIC: Audience = "public"
USERS: Audience = "users"
AUDIENCES: tuple[Audience, ...] = (PUBLIC, USERS)


def parse_local_time(value: str) -> datetime:
    """Parse ISO 8601; a time without offset means Europe/Berlin. Returns aware UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise KmsError(
            f"„{value}“ ist keine gültige Zeitangabe (erwartet z. B. 2026-12-01T22:00)."
        ) from exc
    if parsed.tzinfo is None:
        # zoneinfo resolves the ambiguous hour at the end of DST with fold=0 (summer time).
        local = parsed.replace(tzinfo=BERLIN)
        # A time in the gap when clocks spring forward would silently move by an hour.
        if local.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None) != parsed:
            raise KmsError(
                f"„{value}“ gibt es in deutscher Zeit nicht: bei der Umstellung auf die "
                "Sommerzeit springt die Uhr von 2:00 auf 3:00 Uhr. Bitte eine andere Uhrzeit "
                "angeben."
            )
        parsed = local
    return parsed.astimezone(UTC)


# The CLI's name for the one German date-time format.
format_local = format_datetime


def add_notice(
    session: Session,
    *,
    text: str,
    level: str = "info",
    maintenance: bool = False,
    start: str | datetime | None = None,
    end: str | datetime | None = None,
) -> Notice:
    """Create a notice or maintenance window after checking its fields."""
    require_permission(Permission.SETTINGS, session)
    text = (text or "").strip()
    if not text:
        raise KmsError("Der Hinweistext darf nicht leer sein.")
    if level not in LEVELS:
        raise KmsError(f"Unbekannte Stufe „{level}“ (erlaubt: info, warning).")
    starts = parse_local_time(start) if isinstance(start, str) else start
    ends = parse_local_time(end) if isinstance(end, str) else end
    if maintenance:
        if starts is None or ends is None:
            raise KmsError("Ein Wartungsfenster braucht Beginn (--start) und Ende (--end).")
        if ends <= starts:
            raise KmsError("Das Ende des Wartungsfensters muss nach dem Beginn liegen.")
    notice = Notice(
        text=text, level=level, is_maintenance=maintenance, starts_at=starts, ends_at=ends
    )
    session.add(notice)
    session.flush()
    return notice


def remove_notice(session: Session, notice_id: int) -> None:
    """Delete a notice or window by id."""
    require_permission(Permission.SETTINGS, session)
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise KmsError(f"Hinweis {notice_id} gibt es nicht.")
    session.delete(notice)


def list_notices(session: Session) -> list[Notice]:
    """All notices: those without a start first, then by start time (alike on both databases)."""
    return list(session.scalars(select(Notice).order_by(Notice.starts_at.nulls_first(), Notice.id)))


@dataclass
class Banner:
    """What the banner shows on every page."""

    notices: list[Notice] = field(default_factory=list)
    system_warnings: list[tuple[str, str]] = field(default_factory=list)
    next_window: Notice | None = None
    active_window: Notice | None = None
    window_soon: bool = False
    restore_running: bool = False

    @property
    def read_only(self) -> bool:
        return self.active_window is not None or self.restore_running

    @property
    def maintenance_text(self) -> str:
        """The sentence about maintenance that the banner always carries."""
        if self.active_window is not None:
            _start, end = span(self.active_window)
            return (
                f"Wartung läuft bis {format_local(end)} Uhr: KMS ist schreibgeschützt, "
                f"Änderungen können erst danach gespeichert werden. {self.active_window.text}"
            )
        if self.next_window is None:
            return "Kein Wartungsfenster geplant."
        start, end = span(self.next_window)
        when = f"{format_local(start)} bis {format_local(end)} Uhr"
        if self.window_soon:
            return f"Wartung beginnt um {format_local(start)} Uhr ({when}). {self.next_window.text}"
        return f"Nächstes Wartungsfenster: {when}. {self.next_window.text}"


def span(notice: Notice) -> tuple[datetime, datetime]:
    """Start and end of a maintenance window (both are required for windows)."""
    if notice.starts_at is None or notice.ends_at is None:  # pragma: no cover - add_notice checks
        raise KmsError(f"Wartungsfenster {notice.id} hat keinen Beginn oder kein Ende.")
    return notice.starts_at, notice.ends_at


def banner(session: Session, now: datetime | None = None, *, audience: Audience = PUBLIC) -> Banner:
    """Collect current notices, the next or active window, and the system warnings that
    `audience` may read (PUBLIC, the default, gets no module warnings)."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown banner audience {audience!r}")
    now = now or utcnow()
    rows = session.scalars(
        select(Notice)
        .where(or_(Notice.ends_at.is_(None), Notice.ends_at > now))
        .order_by(Notice.starts_at.nulls_first(), Notice.id)
    )
    result = Banner()
    for notice in rows:
        if notice.is_maintenance:
            start, end = span(notice)
            if start <= now < end:
                result.active_window = result.active_window or notice
            elif start > now and result.next_window is None:
                result.next_window = notice
        elif notice.starts_at is None or notice.starts_at <= now:
            result.notices.append(notice)
    if result.next_window is not None:
        result.window_soon = span(result.next_window)[0] - now <= WARN_BEFORE
    result.restore_running = bool(_get(session, RESTORE_KEY))
    warnings = _get(session, SYSTEM_WARNINGS_KEY) or {}
    result.system_warnings = [
        (w["level"], w["text"])
        for _, w in sorted(warnings.items())
        # Warnings stored before audiences existed carry none: they are module warnings.
        if audience == USERS or w.get("audience", USERS) == PUBLIC
    ]
    return result


def is_read_only(session: Session, now: datetime | None = None) -> bool:
    """True during a maintenance window or a running restore."""
    return banner(session, now).read_only


def set_system_warning(
    session: Session,
    key: str,
    text: str | None,
    level: str = "warning",
    *,
    audience: Audience = USERS,
) -> None:
    """Show (or with text=None clear) a warning that an automatism raises in the banner;
    by default only logged-in users see it (see PUBLIC/USERS)."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown banner audience {audience!r}")
    warnings = dict(get_value(session, SYSTEM_WARNINGS_KEY) or {})
    if text:
        warnings[key] = {"level": level, "text": text, "audience": audience}
    else:
        warnings.pop(key, None)
    set_value(session, SYSTEM_WARNINGS_KEY, warnings)


def has_system_warning(session: Session, key: str) -> bool:
    """Whether the banner shows the warning `key` right now."""
    return key in (_get(session, SYSTEM_WARNINGS_KEY) or {})


def _get(session: Session, key: str) -> Any:
    with session.no_autoflush:
        return get_value(session, key)


# Sessions that opt out (the guard's own queries, restore itself) set this flag.
SKIP_GUARD = "kms_skip_read_only_guard"


@event.listens_for(Session, "before_flush")
def _refuse_business_writes(session: Session, _ctx: Any, _instances: Any) -> None:
    """During maintenance or restore no business record may be inserted, changed or deleted."""
    if session.info.get(SKIP_GUARD):
        return
    touched = [*session.new, *session.dirty, *session.deleted]
    if not any(getattr(obj, "__business_data__", False) for obj in touched):
        return
    session.info[SKIP_GUARD] = True
    try:
        state = banner(session)
    finally:
        session.info.pop(SKIP_GUARD, None)
    if state.restore_running:
        raise ReadOnlyError(
            "Gerade wird eine Datensicherung wiederhergestellt. Speichern ist kurz nicht "
            "möglich; Ihre Eingaben bleiben im Formular erhalten."
        )
    if state.active_window is not None:
        raise ReadOnlyError(
            "Wartungsfenster bis "
            f"{format_local(span(state.active_window)[1])} Uhr: KMS ist schreibgeschützt. "
            "Ihre Eingaben bleiben im Formular erhalten; bitte speichern Sie danach erneut."
        )


def maintenance_switch(session: Session, now: datetime) -> str:
    """⊕ Switch read-only mode on at the start of a window and off at its end (logged)."""
    state = banner(session, now)
    active = state.active_window is not None
    was = bool(get_value(session, "maintenance.active"))
    set_value(session, "maintenance.active", active)
    if active and not was:
        return "Wartungsfenster begonnen: KMS ist schreibgeschützt."
    if was and not active:
        return "Wartungsfenster beendet: KMS ist wieder beschreibbar."
    return "Wartungsmodus aktiv." if active else "Kein Wartungsfenster aktiv."
