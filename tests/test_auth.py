"""Login hardening: bcrypt, the persistent back-off, server-side sessions and the setup token."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import bcrypt
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT, get_config, reset_config
from kms.db import dispose_engines, session_scope
from kms.errors import KmsError
from kms.models import LoginAttempt, User
from kms.types import utcnow
from tests.ui_helpers import unescape

PASSWORD = "Sommer-Regen-2026"
OWNER_IP = "198.51.100.7"
STRANGER_IP = "203.0.113.9"


def _owner(session: Session, username: str = "erika") -> User:
    user = auth.create_user(
        session, username=username, password=PASSWORD, display_name="Erika", is_owner=True
    )
    session.commit()
    return user


def _fail(session: Session, username: str, client: str, times: int, at=None) -> None:
    at = at or utcnow()
    for i in range(times):
        auth.record_attempt(session, username, client, False, at + timedelta(seconds=i))
    session.commit()


# --- passwords -----------------------------------------------------------------------------


def test_passwords_are_stored_as_bcrypt_hashes_only(session: Session) -> None:
    """The stored value is a bcrypt hash that verifies; the password itself is nowhere."""
    user = _owner(session)
    assert user.password_hash.startswith("$2b$")
    assert PASSWORD not in user.password_hash
    assert bcrypt.checkpw(PASSWORD.encode(), user.password_hash.encode())
    assert auth.verify_password(PASSWORD, user.password_hash)
    assert not auth.verify_password(PASSWORD + "x", user.password_hash)


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("a" * 72, True),
        ("a" * 73, False),
        ("ä" * 36, True),  # 36 characters, 72 bytes
        ("ä" * 37, False),  # 37 characters, but 74 bytes
        ("Passwort-€" + "x" * 61, False),  # € is three bytes: 73 bytes in 71 characters
    ],
)
def test_passwords_over_72_bytes_are_refused_with_a_clear_message(
    password: str, accepted: bool
) -> None:
    """bcrypt sees only 72 bytes: longer passwords (umlauts count as bytes) are refused."""
    if accepted:
        assert auth.verify_password(password, auth.hash_password(password))
        return
    with pytest.raises(KmsError, match="höchstens 72 Bytes") as excinfo:
        auth.hash_password(password)
    assert "Umlaute" in excinfo.value.message


def test_over_long_password_never_verifies() -> None:
    """A login with more than 72 bytes fails instead of matching on its first 72 bytes."""
    stored = auth.hash_password("a" * 72)
    assert not auth.verify_password("a" * 72 + "b", stored)


@pytest.mark.parametrize(
    ("password", "message"),
    [("kurz", "mindestens 10 Zeichen"), (" mit-leerzeichen ", "Leerzeichen")],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    """Too short or padded passwords get a German message."""
    with pytest.raises(KmsError, match=message):
        auth.hash_password(password)


@pytest.mark.parametrize("username", ["a", "Erika Mustermann", "erika!", "x" * 65])
def test_bad_usernames_are_refused(session: Session, username: str) -> None:
    """Usernames are 2-64 lower-case letters, digits and . _ -."""
    with pytest.raises(KmsError, match="Benutzername"):
        auth.create_user(session, username=username, password=PASSWORD)


def test_usernames_are_unique_and_case_insensitive(session: Session) -> None:
    """ "Erika" and "erika" are the same login."""
    _owner(session)
    with pytest.raises(KmsError, match="gibt es schon"):
        auth.create_user(session, username="Erika", password=PASSWORD)
    assert auth.get_user(session, "ERIKA").username == "erika"


# --- back-off ------------------------------------------------------------------------------


def test_five_failures_lock_with_a_growing_back_off(session: Session) -> None:
    """After 5 failures the wait is 30 s, then doubles with every further failure."""
    t0 = utcnow()
    _fail(session, "erika", OWNER_IP, 4, at=t0)
    assert auth.lockout(session, "erika", OWNER_IP, t0 + timedelta(seconds=4)) is None
    waits = []
    for n in range(5, 9):
        at = t0 + timedelta(seconds=n * 1000)
        auth.record_attempt(session, "erika", OWNER_IP, False, at)
        locked = auth.lockout(session, "erika", OWNER_IP, at)
        assert locked is not None
        waits.append(locked.until - at)
    assert waits == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    message = locked.message(at)
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in message
    assert "4 Minuten" in message
    # Once the wait is over a login may be tried again.
    assert auth.lockout(session, "erika", OWNER_IP, at + timedelta(seconds=241)) is None


def test_back_off_is_capped_at_one_hour(session: Session) -> None:
    """However many failures, nobody waits longer than an hour."""
    t0 = utcnow()
    _fail(session, "erika", OWNER_IP, 30, at=t0)
    newest = t0 + timedelta(seconds=29)
    locked = auth.lockout(session, "erika", OWNER_IP, newest)
    assert locked is not None and locked.until - newest == auth.MAX_DELAY


def test_back_off_survives_a_restart(db_url: str) -> None:
    """The failures live in the database: a fresh engine (a restarted server) still refuses."""
    with session_scope() as session:
        _fail(session, "erika", OWNER_IP, 5)
    dispose_engines()
    reset_config()
    with session_scope() as session:
        assert auth.lockout(session, "erika", OWNER_IP) is not None
        auth.record_attempt(session, "erika", OWNER_IP, False)
    dispose_engines()
    with session_scope() as session:
        locked = auth.lockout(session, "erika", OWNER_IP)
        assert locked is not None
        assert locked.until - utcnow() > timedelta(seconds=30)  # grew to 60 s


def test_a_stranger_cannot_lock_the_owner_out(session: Session) -> None:
    """Failures from another address lock that address only; the owner's stays free."""
    _owner(session)
    _fail(session, "erika", STRANGER_IP, 9)
    assert auth.lockout(session, "erika", STRANGER_IP) is not None
    assert auth.lockout(session, "erika", OWNER_IP) is None


def test_one_address_guessing_many_usernames_is_limited(session: Session) -> None:
    """Ten failures from one address lock that address for every username."""
    for i in range(10):
        _fail(session, f"user{i}", STRANGER_IP, 1)
    # Each username saw only one failure, yet the address as a whole is now locked.
    assert auth.lockout(session, "user0", STRANGER_IP) is not None
    assert auth.lockout(session, "someone-new", STRANGER_IP) is not None
    assert auth.lockout(session, "someone-new", OWNER_IP) is None


def test_a_username_attacked_from_many_addresses_gets_a_loose_limit(session: Session) -> None:
    """Fifty failures for one username from fifty addresses slow down that username too."""
    for i in range(49):
        _fail(session, "erika", f"10.0.0.{i}", 1)
    assert auth.lockout(session, "erika", OWNER_IP) is None
    _fail(session, "erika", "10.0.1.1", 1)
    assert auth.lockout(session, "erika", OWNER_IP) is not None
    assert auth.lockout(session, "max", OWNER_IP) is None


def test_a_successful_login_resets_the_count(session: Session) -> None:
    """Failures before a success no longer count."""
    t0 = utcnow()
    _fail(session, "erika", OWNER_IP, 4, at=t0)
    auth.record_attempt(session, "erika", OWNER_IP, True, t0 + timedelta(seconds=10))
    _fail(session, "erika", OWNER_IP, 4, at=t0 + timedelta(seconds=20))
    assert auth.lockout(session, "erika", OWNER_IP, t0 + timedelta(seconds=30)) is None


def test_failures_older_than_the_window_are_forgotten(session: Session) -> None:
    """Failures a day old do not count; records beyond two days are pruned."""
    old = utcnow() - timedelta(days=3)
    _fail(session, "erika", OWNER_IP, 5, at=old)
    assert auth.lockout(session, "erika", OWNER_IP, old + timedelta(seconds=5)) is not None
    assert auth.lockout(session, "erika", OWNER_IP) is None
    auth.record_attempt(session, "erika", OWNER_IP, False)
    session.commit()
    pruned = select(LoginAttempt.id).where(LoginAttempt.at < old + auth.WINDOW)
    assert session.scalar(pruned) is None


def test_unlock_lifts_the_back_off(session: Session) -> None:
    """`unlock` forgets failures by username, by address, or both."""
    _fail(session, "erika", OWNER_IP, 5)
    _fail(session, "max", STRANGER_IP, 5)
    assert auth.unlock(session, "ERIKA") == 5
    assert auth.lockout(session, "erika", OWNER_IP) is None
    assert auth.lockout(session, "max", STRANGER_IP) is not None
    assert auth.unlock(session, client=STRANGER_IP) == 5
    assert auth.lockout(session, "max", STRANGER_IP) is None
    assert auth.unlock(session) == 0


# --- cookies -------------------------------------------------------------------------------


def _cookie(session: Session, username: str = "erika", client: str = OWNER_IP, at=None) -> str:
    """Log in and redeem the ticket as the browser does; returns the cookie value."""
    _session_id, ticket = auth.start_session(session, username, client, at)
    token = auth.redeem_ticket(session, ticket, client, at)
    assert token is not None
    session.commit()
    return token


def _alive(session: Session, token: str, at=None) -> bool:
    session.expire_all()  # read revocations back from the database
    user = auth.session_user(session, token, at)
    session.commit()
    return user is not None


def test_a_ticket_is_redeemed_once_from_the_login_address_and_only_while_fresh(
    session: Session,
) -> None:
    """The one-time ticket gives one cookie: not twice, not to another address, not late."""
    _owner(session)
    _id, ticket = auth.start_session(session, "erika", OWNER_IP)
    assert auth.ticket_pending(session, ticket)
    assert auth.redeem_ticket(session, ticket, STRANGER_IP) is None
    assert auth.redeem_ticket(session, ticket, OWNER_IP) is None  # spent by the stranger's try
    _id, ticket = auth.start_session(session, "erika", OWNER_IP)
    token = auth.redeem_ticket(session, ticket, OWNER_IP)
    assert token and not auth.ticket_pending(session, ticket)
    assert auth.redeem_ticket(session, ticket, OWNER_IP) is None
    now = utcnow()
    _id, late = auth.start_session(session, "erika", OWNER_IP, now)
    assert auth.redeem_ticket(session, late, OWNER_IP, now + auth.TICKET_LIFETIME * 2) is None
    assert auth.redeem_ticket(session, "erfunden", OWNER_IP) is None


def test_only_hashes_of_tickets_and_cookies_are_stored(session: Session) -> None:
    """The database holds neither the ticket nor the cookie value."""
    from kms.models import LoginSession

    _owner(session)
    _id, ticket = auth.start_session(session, "erika", OWNER_IP)
    token = auth.redeem_ticket(session, ticket, OWNER_IP)
    session.commit()
    row = session.scalars(select(LoginSession)).one()
    stored = repr([getattr(row, c.key) for c in LoginSession.__table__.columns])
    assert token and ticket not in stored and token not in stored


def test_logout_revokes_earlier_cookies_only(session: Session) -> None:
    """A session started before revoke_sessions is refused; one started afterwards works."""
    _owner(session).sessions_valid_after = utcnow() - timedelta(hours=1)
    before = _cookie(session)
    assert _alive(session, before)
    auth.revoke_sessions(session, "erika")
    session.commit()
    after = _cookie(session, at=utcnow() + timedelta(seconds=1))
    assert not _alive(session, before)
    assert _alive(session, after, utcnow() + timedelta(seconds=2))


def test_set_password_revokes_cookies(session: Session) -> None:
    """Changing the password ends the user's other sessions."""
    _owner(session).sessions_valid_after = utcnow() - timedelta(hours=1)
    before = _cookie(session)
    auth.set_password(session, "erika", "Neues-Passwort-2026")
    session.commit()
    assert not _alive(session, before)
    new_hash = auth.get_user(session, "erika").password_hash
    assert auth.verify_password("Neues-Passwort-2026", new_hash)


def test_idle_timeout_slides_with_activity_and_the_lifetime_is_absolute(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each use moves the idle deadline on; after the absolute lifetime the cookie is dead."""
    monkeypatch.setenv("KMS_SESSION_IDLE_MINUTES", "30")
    monkeypatch.setenv("KMS_SESSION_MAX_HOURS", "2")
    reset_config()
    start = utcnow()
    _owner(session).sessions_valid_after = start - timedelta(hours=1)
    token = _cookie(session, at=start)
    # Used every 25 minutes: alive well past the idle timeout of 30 minutes …
    for minutes in range(25, 120, 25):
        assert _alive(session, token, start + timedelta(minutes=minutes)), minutes
    # … but not after two hours, however busy.
    assert not _alive(session, token, start + timedelta(minutes=121))
    idle = _cookie(session, at=start)
    assert not _alive(session, idle, start + timedelta(minutes=31))


@pytest.mark.parametrize("value", ["0", "-5", "viele", "1.5"])
def test_bad_session_settings_are_refused_in_german(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """KMS_SESSION_IDLE_MINUTES must be a whole number above zero."""
    monkeypatch.setenv("KMS_SESSION_IDLE_MINUTES", value)
    reset_config()
    with pytest.raises(ValueError, match="ganze Zahl größer 0"):
        get_config()
    monkeypatch.delenv("KMS_SESSION_IDLE_MINUTES")
    reset_config()


def test_unknown_or_forged_cookies_are_refused(session: Session) -> None:
    """Only a cookie the server issued belongs to a session."""
    _owner(session)
    assert not _alive(session, "")
    assert not _alive(session, "x" * 43)


def test_wrong_or_unknown_login_records_an_attempt_and_says_so_in_german(
    session: Session,
) -> None:
    """check_login returns the user for the right password, else a German reason."""
    _owner(session)
    assert isinstance(auth.check_login(session, "Erika", PASSWORD, OWNER_IP), User)
    wrong = auth.check_login(session, "erika", "falsch-falsch", OWNER_IP)
    unknown = auth.check_login(session, "niemand", PASSWORD, OWNER_IP)
    assert wrong == unknown == "Benutzername oder Passwort ist falsch."
    clients = session.scalars(select(LoginAttempt.client)).all()
    assert clients == [OWNER_IP] * 3


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cookie_key_is_random_private_and_stable() -> None:
    """The key is ≥32 random bytes in a 0600 file, and the same on every call."""
    key = auth.cookie_key()
    path = get_config().secrets_dir / "cookie_key"
    assert len(key.encode()) >= 32
    assert path.read_text() == key
    assert _mode(path) == 0o600
    assert _mode(get_config().secrets_dir) == 0o700
    assert auth.cookie_key() == key


def test_every_instance_gets_its_own_cookie_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two data directories never share a key."""
    first = auth.cookie_key()
    monkeypatch.setenv("KMS_DATA_DIR", str(tmp_path / "other"))
    reset_config()
    assert auth.cookie_key() != first


def test_short_cookie_key_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """KMS_COOKIE_KEY under 32 bytes is refused; a long one is used as is."""
    monkeypatch.setenv("KMS_COOKIE_KEY", "x" * 31)
    reset_config()
    with pytest.raises(KmsError, match="mindestens 32 Bytes"):
        auth.cookie_key()
    monkeypatch.setenv("KMS_COOKIE_KEY", "k" * 32)
    reset_config()
    assert auth.cookie_key() == "k" * 32


def test_rotating_the_cookie_key_logs_everyone_out(session: Session) -> None:
    """ "Alle abmelden" writes a new 0600 key file and refuses every earlier cookie."""
    users = [_owner(session), auth.create_user(session, username="max", password=PASSWORD)]
    for user in users:
        user.sessions_valid_after = utcnow() - timedelta(hours=1)
    session.commit()
    old_key = auth.cookie_key()
    tokens = [_cookie(session, name) for name in ("erika", "max")]
    assert all(_alive(session, t) for t in tokens)
    auth.rotate_cookie_key(session)
    session.commit()
    path = get_config().secrets_dir / "cookie_key"
    assert path.read_text() != old_key
    assert len(path.read_text().encode()) >= 32
    assert _mode(path) == 0o600
    assert auth.cookie_key() == path.read_text()
    assert not any(_alive(session, t) for t in tokens)


def test_rotation_refuses_a_key_from_the_environment(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key set by the operator cannot be rotated from inside KMS."""
    monkeypatch.setenv("KMS_COOKIE_KEY", "k" * 40)
    reset_config()
    with pytest.raises(KmsError, match="KMS_COOKIE_KEY"):
        auth.rotate_cookie_key(session)


# --- setup token ---------------------------------------------------------------------------


def _create_owner(session: Session, token: str) -> User:
    return auth.create_owner_with_token(
        session,
        token=token,
        username="erika",
        password=PASSWORD,
        password_repeat=PASSWORD,
        display_name="Erika Mustermann",
    )


def test_owner_creation_in_the_browser_needs_the_setup_token(session: Session) -> None:
    """A wrong code gets a German message and creates nobody; the right one creates the owner."""
    token = auth.setup_token()
    assert len(token) >= 16
    assert _mode(get_config().secrets_dir / "setup_token") == 0o600
    for wrong in ("", "falsch", token[:-1]):
        with pytest.raises(KmsError, match="Einrichtungscode stimmt nicht"):
            _create_owner(session, wrong)
    assert not auth.has_users(session)
    user = _create_owner(session, f"  {token} ")
    assert user.is_owner
    assert auth.has_users(session)


def test_setup_token_works_only_while_no_user_exists(session: Session) -> None:
    """Once a login exists, even the right code creates no further owner."""
    token = auth.setup_token()
    auth.create_user(session, username="max", password=PASSWORD)
    with pytest.raises(KmsError, match="bereits einen Inhaber-Zugang"):
        _create_owner(session, token)


def test_mismatched_password_repeat_is_refused(session: Session) -> None:
    """The two password fields must agree."""
    with pytest.raises(KmsError, match="stimmen nicht überein"):
        auth.create_owner_with_token(
            session,
            token=auth.setup_token(),
            username="erika",
            password=PASSWORD,
            password_repeat=PASSWORD + "!",
            display_name="Erika",
        )


def test_the_setup_code_expires_after_24_hours(session: Session) -> None:
    """A code older than 24 hours is refused with a German hint to the console; the next
    one the console shows works."""
    token = auth.setup_token()
    path = get_config().secrets_dir / "setup_token"
    old = time.time() - auth.SETUP_TOKEN_TTL.total_seconds() - 60
    os.utime(path, (old, old))
    assert not auth.check_setup_token(token)
    with pytest.raises(KmsError, match="Einrichtungscode ist abgelaufen"):
        _create_owner(session, token)
    assert not auth.has_users(session)
    fresh = auth.setup_token()
    assert fresh != token
    assert _create_owner(session, fresh).is_owner


def test_concurrent_setup_submissions_create_one_owner(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions of one code at the same moment (different usernames) create exactly
    one owner; the other gets the German "bereits" message, on PostgreSQL and SQLite."""
    token = auth.setup_token()
    both_checked = threading.Barrier(2)
    real_hash = auth.hash_password

    def hash_after_both_checked(password: str) -> str:
        # Both requests have passed "no user yet" when they hash; on SQLite the second one
        # is still waiting for the write lock, so the barrier times out there.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait(timeout=3)
        return real_hash(password)

    monkeypatch.setattr(auth, "hash_password", hash_after_both_checked)
    outcomes: dict[str, str] = {}

    def submit(username: str) -> None:
        try:
            with session_scope(db_url) as s:
                auth.create_owner_with_token(
                    s,
                    token=token,
                    username=username,
                    password=PASSWORD,
                    password_repeat=PASSWORD,
                    display_name=username,
                )
            outcomes[username] = "created"
        except KmsError as exc:
            outcomes[username] = exc.message

    threads = [threading.Thread(target=submit, args=(name,)) for name in ("erika", "eve")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == sorted(["created", auth.OWNER_EXISTS])
    with session_scope(db_url, write=False) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1


def test_consumed_setup_token_is_gone() -> None:
    """After the owner exists the old code no longer matches and its file is deleted."""
    token = auth.setup_token()
    auth.consume_setup_token()
    assert not (get_config().secrets_dir / "setup_token").exists()
    assert not auth.check_setup_token(token)


# --- the browser path ----------------------------------------------------------------------


def _submit_setup(at: AppTest, token: str) -> AppTest:
    """Fill the first-run form of a fresh session and submit it once."""
    values = {
        "Einrichtungscode": token,
        "Ihr Name": "Erika Mustermann",
        "Benutzername": "erika",
        "Passwort": PASSWORD,
        "Passwort wiederholen": PASSWORD,
    }
    for field in at.text_input:
        if field.label in values:
            field.input(values[field.label])
    return at.button(key="FormSubmitter:kms_setup-Inhaber-Zugang anlegen").click().run()


def test_browser_setup_needs_the_token_and_consumes_it() -> None:
    """The first-run form refuses a wrong code in German, then creates the owner at once."""
    # AppTest learns the page st.navigation chose only on its next run (a browser is settled
    # by app.py's own rerun); that the real first click counts is proven in
    # tests/browser/test_browser.py (scenario B).
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run().run()
    token = auth.setup_token()
    _submit_setup(at, "falsch")
    # Shown as plain text (kms.ui.text.plain escapes Markdown), read as the user sees it.
    assert [unescape(e.value) for e in at.error] == [
        "Der Einrichtungscode stimmt nicht. Er steht in der Konsole, in der KMS gestartet "
        "wurde, oder wird mit `python -m kms setup-token` angezeigt."
    ]
    with session_scope() as session:
        assert not auth.has_users(session)
    _submit_setup(at, token)
    assert not at.exception and not at.error
    assert at.session_state["username"] == "erika"
    with session_scope() as session:
        assert auth.get_user(session, "erika").is_owner
    assert not (get_config().secrets_dir / "setup_token").exists()
    assert not auth.check_setup_token(token)


@pytest.mark.parametrize("email", ["erika@", "erika at example.org", "@example.org"])
def test_owner_email_is_validated_when_given(session: Session, email: str) -> None:
    """The optional e-mail of a login (setup form, CLI) is checked: German error, no user."""
    from kms.errors import ValidationError

    with pytest.raises(ValidationError, match=r"E-Mail-Adresse .* ist ungültig"):
        auth.create_user(session, username="erika", password="Sommer-Regen-2026", email=email)
    assert not auth.has_users(session)
    user = auth.create_user(
        session, username="erika", password="Sommer-Regen-2026", email=" erika@Example.ORG "
    )
    assert user.email == "erika@example.org"
