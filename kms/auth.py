"""Logins: users with bcrypt hashes, a persistent back-off, cookie revocation, setup token."""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms.config import get_config, read_or_create_secret, write_secret
from kms.errors import KmsError
from kms.models import KeyValue, LoginAttempt, LoginSession, User
from kms.permissions import Permission, require_permission
from kms.types import utcnow
from kms.validation import validate_email

SESSION_COOKIE = "kms_session"
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (bcrypt 5: refuses) everything beyond 72 bytes
BCRYPT_ROUNDS = 12  # cost factor; the test suite lowers it to stay fast
MIN_PASSWORD_LENGTH = 10
FREE_ATTEMPTS = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
WINDOW = timedelta(hours=24)
# A stranger must not lock the owner out: the tight limit is per (username, address);
# per address alone and per username alone get looser limits that still slow guessing.
CLIENT_FREE_ATTEMPTS = 10
USER_FREE_ATTEMPTS = 50
SETUP_TOKEN_TTL = timedelta(hours=24)
FIRST_OWNER_KEY = "auth.first_owner"
OWNER_EXISTS = "Es gibt bereits einen Inhaber-Zugang. Bitte melden Sie sich an."
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive (the authenticator lower-cases them)."""
    return (username or "").strip().lower()


def check_password_rules(password: str) -> None:
    """Refuse passwords bcrypt cannot store faithfully or that are too weak."""
    if password != password.strip():
        raise KmsError("Das Passwort darf nicht mit Leerzeichen beginnen oder enden.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise KmsError(f"Das Passwort muss mindestens {MIN_PASSWORD_LENGTH} Zeichen lang sein.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise KmsError(
            "Das Passwort ist zu lang: höchstens 72 Bytes (Umlaute und Sonderzeichen zählen "
            "doppelt oder mehr). Bitte wählen Sie ein kürzeres Passwort."
        )


def hash_password(password: str) -> str:
    """bcrypt hash of a password that passed the rules."""
    check_password_rules(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """Check a password against a stored hash; over-long input simply fails."""
    raw = password.encode("utf-8")
    if len(raw) > MAX_PASSWORD_BYTES:
        return False
    return bcrypt.checkpw(raw, password_hash.encode("ascii"))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    is_owner: bool = False,
    role: str | None = None,
) -> User:
    """Create a login; the owner (and a login without a role) is an Inhaber."""
    from kms.permissions import Role

    try:
        role = Role(role or Role.OWNER)
    except ValueError:
        raise KmsError(
            f"Die Rolle „{role}“ gibt es nicht (inhaber, mitarbeiter, steuerberater)."
        ) from None
    if is_owner and role is not Role.OWNER:
        raise KmsError("Der Inhaber-Zugang hat die Rolle Inhaber.")
    if email.strip():
        email = validate_email(email)
    username = normalize_username(username)
    if not USERNAME_RE.match(username):
        raise KmsError(
            "Der Benutzername muss 2–64 Zeichen lang sein und darf nur Kleinbuchstaben, "
            "Ziffern, Punkt, Binde- und Unterstrich enthalten."
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise KmsError(f"Den Benutzernamen „{username}“ gibt es schon.")
    if email.strip():  # optional, but if given it must be usable (setup form, CLI)
        email = validate_email(email)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        email=email.strip(),
        password_hash=hash_password(password),
        is_owner=is_owner,
        role=role.value,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> None:
    """Change a password and revoke that user's cookies."""
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    user.sessions_valid_after = utcnow()


def get_user(session: Session, username: str) -> User:
    """The user with this name, or a German error."""
    user = session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None:
        raise KmsError(f"Einen Benutzer „{username}“ gibt es nicht.")
    return user


def has_users(session: Session) -> bool:
    """True once an owner exists."""
    return (session.scalar(select(func.count(User.id))) or 0) > 0


# --- back-off ------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    """Until when a login is refused, and why."""

    until: datetime

    def message(self, now: datetime) -> str:
        seconds = max(1, math.ceil((self.until - now).total_seconds()))
        wait = f"{seconds} Sekunden" if seconds < 120 else f"{(seconds + 59) // 60} Minuten"
        return (
            f"Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie {wait} und versuchen "
            "Sie es dann erneut."
        )


def _failures(
    session: Session, since: datetime, *conds: ColumnElement[bool]
) -> tuple[int, datetime | None]:
    """Failures after the last success within the window: count and newest time."""
    last_ok = session.scalar(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.success.is_(True), *conds)
    )
    start = max(since, last_ok) if last_ok else since
    count, newest = session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.at)).where(
            LoginAttempt.success.is_(False), LoginAttempt.at > start, *conds
        )
    ).one()
    return count, newest


def _delay(failures: int, free: int) -> timedelta | None:
    if failures < free:
        return None
    return min(MAX_DELAY, BASE_DELAY * (2 ** (failures - free)))


def lockout(
    session: Session, username: str, client: str, now: datetime | None = None
) -> Lockout | None:
    """The active lockout for this username from this address, if any."""
    now = now or utcnow()
    username = normalize_username(username)
    since = now - WINDOW
    checks = (
        ((LoginAttempt.username == username, LoginAttempt.client == client), FREE_ATTEMPTS),
        ((LoginAttempt.client == client,), CLIENT_FREE_ATTEMPTS),
        ((LoginAttempt.username == username,), USER_FREE_ATTEMPTS),
    )
    until: datetime | None = None
    for conds, free in checks:
        count, newest = _failures(session, since, *conds)
        delay = _delay(count, free)
        if delay and newest and newest + delay > now:
            until = max(until, newest + delay) if until else newest + delay
    return Lockout(until) if until else None


def record_attempt(
    session: Session, username: str, client: str, success: bool, now: datetime | None = None
) -> None:
    """Remember an attempt; old ones beyond the window are pruned."""
    now = now or utcnow()
    session.add(
        LoginAttempt(
            username=normalize_username(username)[:64], client=client[:64], at=now, success=success
        )
    )
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - 2 * WINDOW))


@functools.cache
def _dummy_hash() -> str:
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


def check_login(
    session: Session, username: str, password: str, client: str, now: datetime | None = None
) -> User | str:
    """The user for a right password, else the German reason; every attempt is recorded.

    The back-off is checked before the password, so a locked-out guesser learns nothing.
    """
    now = now or utcnow()
    locked = lockout(session, username, client, now)
    if locked is not None:
        return locked.message(now)
    user = session.scalar(select(User).where(User.username == normalize_username(username)))
    # An unknown name costs the same bcrypt time as a known one (no user enumeration by timing).
    ok = verify_password(password, user.password_hash if user else _dummy_hash()) and bool(user)
    # A deactivated login is answered like a wrong password (and counts as a failed attempt).
    ok = ok and user is not None and user.active
    record_attempt(session, username, client, ok, now)
    if user is not None and ok:
        return user
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return "Das Passwort ist länger als 72 Bytes; so lange Passwörter vergibt KMS nicht."
    return "Benutzername oder Passwort ist falsch."


def unlock(session: Session, username: str | None = None, client: str | None = None) -> int:
    """Forget failed attempts (for a username and/or address); returns how many."""
    stmt = delete(LoginAttempt).where(LoginAttempt.success.is_(False))
    if username:
        stmt = stmt.where(LoginAttempt.username == normalize_username(username))
    if client:
        stmt = stmt.where(LoginAttempt.client == client)
    result: Any = session.execute(stmt)
    return int(result.rowcount or 0)


# --- sessions ------------------------------------------------------------------------
# The browser's session cookie is set by the server (kms.web), HttpOnly and SameSite=Strict,
# so no script on the page can read it. A login first creates a one-time ticket; the page
# then loads /api/session/<ticket>, whose answer carries the cookie. Only keyed hashes of the
# ticket and of the cookie are stored.

TICKET_LIFETIME = timedelta(minutes=2)
TOUCH_EVERY = timedelta(minutes=1)  # sliding idle timeout: write last_seen at most this often


def _digest(value: str) -> str:
    """HMAC-SHA-256 under the instance key: a new key ("Alle abmelden") voids every cookie."""
    return hmac.new(cookie_key().encode(), value.encode("utf-8"), hashlib.sha256).hexdigest()


def session_limits() -> tuple[timedelta, timedelta]:
    """(idle timeout, absolute lifetime) of a login session, from the settings."""
    config = get_config()
    return timedelta(minutes=config.session_idle_minutes), timedelta(hours=config.session_max_hours)


def session_alive(
    user: User, created_at: datetime, last_seen_at: datetime, now: datetime | None = None
) -> bool:
    """An active login's session: unrevoked (not older than the user's last logout), not
    idle too long, not too old. A deactivated login's sessions end at once."""
    now = now or utcnow()
    idle, max_age = session_limits()
    return (
        user.active
        and created_at >= user.sessions_valid_after
        and now - last_seen_at <= idle
        and now - created_at <= max_age
    )


def start_session(
    session: Session, username: str, client: str, now: datetime | None = None
) -> tuple[int, str]:
    """After a login: a new session row and the one-time ticket that fetches its cookie."""
    now = now or utcnow()
    user = get_user(session, username)
    _idle, max_age = session_limits()
    session.execute(delete(LoginSession).where(LoginSession.created_at < now - max_age))
    ticket = secrets.token_urlsafe(32)
    row = LoginSession(
        user_id=user.id,
        ticket_hash=_digest(ticket),
        client=client[:64],
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    session.flush()
    return row.id, ticket


def redeem_ticket(
    session: Session, ticket: str, client: str, now: datetime | None = None
) -> str | None:
    """Exchange a fresh ticket, once, from the address that logged in, for the cookie value."""
    now = now or utcnow()
    row = session.scalar(select(LoginSession).where(LoginSession.ticket_hash == _digest(ticket)))
    if row is None:
        return None
    row.ticket_hash = None  # spent, whatever happens next
    if row.client != client[:64] or now - row.created_at > TICKET_LIFETIME:
        return None
    user = session.get(User, row.user_id)
    if user is None or not session_alive(user, row.created_at, row.last_seen_at, now):
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = _digest(token)
    row.last_seen_at = now
    return token


@dataclass(frozen=True)
class LiveSession:
    """A session cookie that is still good: whose it is, since when, last seen when."""

    session_id: int
    username: str
    display_name: str
    created_at: datetime
    last_seen_at: datetime

    def needs_touch(self, now: datetime) -> bool:
        """True when the idle deadline should be moved on (a write, at most once a minute)."""
        return now - self.last_seen_at >= TOUCH_EVERY


def find_session(session: Session, token: str, now: datetime | None = None) -> LiveSession | None:
    """The live session of a cookie value, else None (reads only)."""
    if not token:
        return None
    now = now or utcnow()
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token)))
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None:
        return None
    if not session_alive(user, row.created_at, row.last_seen_at, now):
        return None
    return LiveSession(row.id, user.username, user.display_name, row.created_at, row.last_seen_at)


def session_user(session: Session, token: str, now: datetime | None = None) -> str | None:
    """The username of a live session cookie, sliding its idle timeout; else None.

    Reads first: only a session not seen for TOUCH_EVERY costs a write.
    """
    now = now or utcnow()
    live = find_session(session, token, now)
    if live is not None and live.needs_touch(now):
        touch_session(session, live.session_id, now)
    return live.username if live is not None else None


def touch_session(session: Session, session_id: int, now: datetime | None = None) -> None:
    """Activity: slide the idle timeout."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id)
        .values(last_seen_at=now or utcnow())
    )


def ticket_pending(session: Session, ticket: str, now: datetime | None = None) -> bool:
    """True while a ticket is neither redeemed nor expired (the page keeps offering it)."""
    now = now or utcnow()
    created = session.scalar(
        select(LoginSession.created_at).where(LoginSession.ticket_hash == _digest(ticket))
    )
    return created is not None and now - created <= TICKET_LIFETIME


def cookie_key() -> str:
    """The instance's signing key: from KMS_COOKIE_KEY or the secrets dir."""
    config = get_config()
    if config.cookie_key_env:
        if len(config.cookie_key_env.encode()) < 32:
            raise KmsError("KMS_COOKIE_KEY muss mindestens 32 Bytes lang sein.")
        return config.cookie_key_env
    return read_or_create_secret("cookie_key")


def rotate_cookie_key(session: Session) -> None:
    """ "Alle abmelden": a new key, and every session of every user ends at once."""
    require_permission(Permission.USERS, session)
    if get_config().cookie_key_env:
        raise KmsError(
            "Der Cookie-Schlüssel kommt aus KMS_COOKIE_KEY; bitte dort ändern und neu starten."
        )
    write_secret("cookie_key", secrets.token_urlsafe(48))
    session.execute(update(User).values(sessions_valid_after=utcnow()))
    session.execute(delete(LoginSession))


def revoke_sessions(session: Session, username: str) -> None:
    """Logout: every session this user started before now ends, in every browser."""
    user = get_user(session, username)
    user.sessions_valid_after = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


# --- first-run setup -----------------------------------------------------------------


def _setup_token_path() -> Path:
    return get_config().secrets_dir / "setup_token"


def setup_token_expires() -> datetime | None:
    """When the current setup code stops working (None if there is none)."""
    try:
        written = _setup_token_path().stat().st_mtime
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(written, UTC) + SETUP_TOKEN_TTL


def setup_token(*, renew: bool = False) -> str:
    """The one-time code needed to create the owner in the browser (valid SETUP_TOKEN_TTL).

    An expired code is replaced by a new one; `renew` replaces it in any case.
    """
    expires = setup_token_expires()
    if not renew and expires is not None and expires > utcnow():
        return _setup_token_path().read_text().strip()
    value = secrets.token_urlsafe(12)
    write_secret("setup_token", value)
    return value


def check_setup_token(candidate: str) -> bool:
    """Constant-time comparison with the stored, unexpired setup code (never creates one)."""
    expires = setup_token_expires()
    if expires is None or expires <= utcnow():
        return False
    stored = _setup_token_path().read_text().strip()
    return hmac.compare_digest((candidate or "").strip().encode(), stored.encode())


def consume_setup_token() -> None:
    """The token is spent once the owner exists."""
    _setup_token_path().unlink(missing_ok=True)


def create_owner_with_token(
    session: Session,
    *,
    token: str,
    username: str,
    password: str,
    password_repeat: str,
    display_name: str,
    email: str = "",
) -> User:
    """Browser setup: needs the console's token, works only while no user exists."""
    if has_users(session):
        raise KmsError(OWNER_EXISTS)
    expires = setup_token_expires()
    if expires is not None and expires <= utcnow():
        raise KmsError(
            "Der Einrichtungscode ist abgelaufen (er gilt 24 Stunden). Einen neuen zeigt "
            "`python -m kms setup-token` in der Konsole an."
        )
    if not check_setup_token(token):
        raise KmsError(
            "Der Einrichtungscode stimmt nicht. Er steht in der Konsole, in der KMS gestartet "
            "wurde, oder wird mit `python -m kms setup-token` angezeigt."
        )
    if password != password_repeat:
        raise KmsError("Die beiden Passwörter stimmen nicht überein.")
    user = create_user(
        session,
        username=username,
        password=password,
        display_name=display_name,
        email=email,
        is_owner=True,
    )
    # Two submissions of one code at the same moment both saw "no user yet": the key row
    # lets only the first commit (the second waits on its primary key, then fails), on
    # PostgreSQL as on SQLite, where BEGIN IMMEDIATE already serialises the two.
    session.add(KeyValue(key=FIRST_OWNER_KEY, value=user.username))
    try:
        session.flush()
    except IntegrityError as exc:
        raise KmsError(OWNER_EXISTS) from exc
    return user
