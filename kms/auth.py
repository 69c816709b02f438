"""Logins: users with bcrypt hashes, a persistent back-off, cookie revocation, setup token."""

from __future__ import annotations

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
from kms.models import KeyValue, LoginAttempt, User
from kms.types import utcnow

COOKIE_NAME = "kms_auth"
COOKIE_EXPIRY_DAYS = 1.0
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
) -> User:
    """Create a login; the first one is the owner."""
    username = normalize_username(username)
    if not USERNAME_RE.match(username):
        raise KmsError(
            "Der Benutzername muss 2–64 Zeichen lang sein und darf nur Kleinbuchstaben, "
            "Ziffern, Punkt, Binde- und Unterstrich enthalten."
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise KmsError(f"Den Benutzernamen „{username}“ gibt es schon.")
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        email=email.strip(),
        password_hash=hash_password(password),
        is_owner=is_owner,
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


def credentials(session: Session) -> dict[str, dict[str, dict[str, Any]]]:
    """The credentials mapping streamlit-authenticator expects (hashes only)."""
    users = session.scalars(select(User).order_by(User.id))
    return {
        "usernames": {
            u.username: {
                "name": u.display_name,
                "email": u.email or f"{u.username}@localhost",
                "password": u.password_hash,
                "first_name": u.display_name,
                "last_name": "",
                "roles": ["owner"] if u.is_owner else ["staff"],
                "failed_login_attempts": 0,
                "logged_in": False,
            }
            for u in users
        }
    }


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


def unlock(session: Session, username: str | None = None, client: str | None = None) -> int:
    """Forget failed attempts (for a username and/or address); returns how many."""
    stmt = delete(LoginAttempt).where(LoginAttempt.success.is_(False))
    if username:
        stmt = stmt.where(LoginAttempt.username == normalize_username(username))
    if client:
        stmt = stmt.where(LoginAttempt.client == client)
    result: Any = session.execute(stmt)
    return int(result.rowcount or 0)


# --- cookies -------------------------------------------------------------------------


def cookie_key() -> str:
    """The HS256 key of the login cookie: from KMS_COOKIE_KEY or the secrets dir."""
    config = get_config()
    if config.cookie_key_env:
        if len(config.cookie_key_env.encode()) < 32:
            raise KmsError("KMS_COOKIE_KEY muss mindestens 32 Bytes lang sein.")
        return config.cookie_key_env
    return read_or_create_secret("cookie_key")


def rotate_cookie_key(session: Session) -> None:
    """ "Alle abmelden": a new key invalidates every cookie at once."""
    if get_config().cookie_key_env:
        raise KmsError(
            "Der Cookie-Schlüssel kommt aus KMS_COOKIE_KEY; bitte dort ändern und neu starten."
        )
    write_secret("cookie_key", secrets.token_urlsafe(48))
    session.execute(update(User).values(sessions_valid_after=utcnow()))


def revoke_sessions(session: Session, username: str) -> None:
    """Logout: cookies issued to this user before now stop working."""
    get_user(session, username).sessions_valid_after = utcnow()


def token_is_valid(session: Session, token: dict[str, object]) -> bool:
    """A decoded cookie is valid if its user exists and it was issued after the last logout."""
    username = token.get("username")
    exp = token.get("exp_date")
    if not isinstance(username, str) or not isinstance(exp, int | float):
        return False
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        return False
    issued = exp - COOKIE_EXPIRY_DAYS * 86400
    return issued >= user.sessions_valid_after.timestamp() and exp > utcnow().timestamp()


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
