"""The login gate: streamlit-authenticator, hardened with KMS's own checks.

The library renders the form and the JWT cookie. KMS wraps two of its seams: the
password check (persistent per-user/per-address back-off, the 72-byte limit) and the
cookie check (cookies issued before the user's last logout are refused). A logged-in
session is also dropped when the user's sessions were revoked elsewhere.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import streamlit as st
import streamlit_authenticator as stauth

from kms import auth
from kms.db import session_scope
from kms.errors import KmsError
from kms.registry import page_by_url
from kms.types import utcnow
from kms.ui.text import plain

log = logging.getLogger(__name__)

FIELDS = {
    "Form name": "Anmelden",
    "Username": "Benutzername",
    "Password": "Passwort",
    "Login": "Anmelden",
}


@dataclass(frozen=True)
class CurrentUser:
    """Who is logged in on this browser session."""

    username: str
    display_name: str


def client_address() -> str:
    """The browser's address as Streamlit sees it (for the back-off)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - odd proxies have no address
        return "unbekannt"
    # AppTest's mocked runtime answers with a mock object, not a string.
    return address if isinstance(address, str) and address else "unbekannt"


def _authenticator() -> Any:
    """One authenticator per browser session, rebuilt when logins or the key change."""
    with session_scope(write=False) as session:
        creds = auth.credentials(session)
    key = auth.cookie_key()
    fingerprint = hashlib.sha256(
        (repr(sorted((u, d["password"]) for u, d in creds["usernames"].items())) + key).encode()
    ).hexdigest()
    cached = st.session_state.get("_kms_authenticator")
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    authenticator = stauth.Authenticate(
        creds, auth.COOKIE_NAME, key, auth.COOKIE_EXPIRY_DAYS, auto_hash=False
    )
    _harden(authenticator)
    st.session_state["_kms_authenticator"] = (fingerprint, authenticator)
    return authenticator


def _harden(authenticator: Any) -> None:
    """Wrap the library's password and cookie checks with KMS's own rules."""
    controller = authenticator.authentication_controller
    original_login = controller.login
    cookies = authenticator.cookie_controller
    original_get_cookie = cookies.get_cookie

    def login(username: str | None = None, password: str | None = None, *a: Any, **kw: Any) -> Any:
        if kw.get("token") is not None or not (username and password):
            return original_login(username, password, *a, **kw)
        client = client_address()
        now = utcnow()
        with session_scope() as session:
            locked = auth.lockout(session, username, client, now)
            if locked is not None:
                st.session_state["kms_login_error"] = locked.message(now)
                return False
            if len(password.encode("utf-8")) > auth.MAX_PASSWORD_BYTES:
                auth.record_attempt(session, username, client, False, now)
                st.session_state["kms_login_error"] = (
                    "Das Passwort ist länger als 72 Bytes; so lange Passwörter vergibt KMS nicht."
                )
                return False
        try:
            ok = bool(original_login(username, password, *a, **kw))
        except Exception as exc:  # noqa: BLE001 - the library raises for odd input
            log.warning("login error: %s", exc)
            ok = False
        with session_scope() as session:
            auth.record_attempt(session, username, client, ok, now)
        if ok:
            st.session_state["kms_login_at"] = now.timestamp()
            # The library renders its cookie component now, but the gate reruns right after
            # a login, which discards it before the browser stores the cookie; set it again
            # at the end of the first undisturbed logged-in run (see set_pending_cookie()).
            st.session_state["_kms_set_cookie"] = True
        return ok

    def get_cookie() -> Any:
        token = original_get_cookie()
        if not token:
            return token
        with session_scope(write=False) as session:
            if not auth.token_is_valid(session, token):
                return None
        st.session_state["kms_login_at"] = token["exp_date"] - auth.COOKIE_EXPIRY_DAYS * 86400
        return token

    controller.login = login
    cookies.get_cookie = get_cookie


def _still_valid(username: str) -> bool:
    """A live session ends when the user's sessions were revoked after its login."""
    login_at = st.session_state.get("kms_login_at")
    if login_at is None:
        return False
    with session_scope(write=False) as session:
        try:
            user = auth.get_user(session, username)
        except KmsError:
            return False
        return login_at >= user.sessions_valid_after.timestamp()


def _clear_session() -> None:
    for key in ("authentication_status", "username", "name", "email", "roles", "kms_login_at"):
        st.session_state.pop(key, None)
    st.session_state["logout"] = True


def current_user() -> CurrentUser | None:
    """The logged-in user of this session (after the gate ran), else None."""
    if st.session_state.get("authentication_status") and st.session_state.get("username"):
        return CurrentUser(st.session_state["username"], st.session_state.get("name") or "")
    return None


def gate() -> CurrentUser | None:
    """Show setup or login when needed; return the logged-in user or None."""
    with session_scope(write=False) as session:
        has_users = auth.has_users(session)
    if not has_users:
        with _form_column():
            _setup_form()
        return None
    user = current_user()
    if user is not None:
        if _still_valid(user.username):
            return user
        _clear_session()
        st.warning("Ihre Sitzung wurde beendet. Bitte melden Sie sich erneut an.")
    # The library draws a cookie component only when it builds the authenticator, and that
    # component reruns the page once it answers. A slot that exists on every run keeps the
    # login form in its place, so nothing typed before that rerun is lost.
    with st.container():
        authenticator = _authenticator()
    st.session_state.pop("kms_login_error", None)
    with _form_column():
        authenticator.login(location="main", fields=FIELDS, key="kms_login")
        user = current_user()
        if user is not None:
            st.session_state["logout"] = False
            st.rerun()
        message = st.session_state.pop("kms_login_error", None)
        if message:
            st.error(plain(message))
        elif st.session_state.get("authentication_status") is False:
            st.error("Benutzername oder Passwort ist falsch.")
    return None


def set_pending_cookie() -> None:
    """Store the login cookie once after a login; call it after the page's content.

    The cookie component answers the browser with a rerun of its own and is not drawn
    again in that rerun. Drawn last, its disappearance moves nothing: drawn above the
    page, every element below it would be rebuilt, closing an expander or a drop-down
    list the user has just opened.
    """
    if current_user() is not None and st.session_state.pop("_kms_set_cookie", False):
        _authenticator().cookie_controller.set_cookie()


def _form_column() -> Any:
    """A readable width for the login and setup forms on the wide page layout."""
    return st.columns([2, 3, 2])[1]


def _setup_form() -> None:
    """First run: create the owner; needs the one-time code printed on the console."""
    st.subheader("Willkommen bei KMS – Ersteinrichtung")
    st.write(
        "Legen Sie zuerst Ihren Inhaber-Zugang an. Den Einrichtungscode finden Sie in der "
        "Konsole, in der KMS gestartet wurde (oder mit `python -m kms setup-token`)."
    )
    with st.form("kms_setup"):
        token = st.text_input("Einrichtungscode")
        display_name = st.text_input("Ihr Name", placeholder="Erika Mustermann")
        username = st.text_input("Benutzername", placeholder="erika")
        email = st.text_input("E-Mail (optional)")
        password = st.text_input("Passwort", type="password")
        repeat = st.text_input("Passwort wiederholen", type="password")
        submitted = st.form_submit_button("Inhaber-Zugang anlegen", type="primary")
    if not submitted:
        return
    try:
        with session_scope() as session:
            user = auth.create_owner_with_token(
                session,
                token=token,
                username=username,
                password=password,
                password_repeat=repeat,
                display_name=display_name,
                email=email,
            )
            username, name = user.username, user.display_name
    except KmsError as exc:
        st.error(plain(exc.message))
        return
    auth.consume_setup_token()
    st.session_state.update(
        authentication_status=True,
        username=username,
        name=name,
        logout=False,
        kms_login_at=datetime.now(UTC).timestamp(),
    )
    # The new owner continues with the first-run steps, whatever URL showed the setup form.
    tutorial = page_by_url("ersteinrichtung")
    if tutorial is None:  # pragma: no cover - the help module is always registered
        st.rerun()
    st.switch_page(tutorial.script)


def logout(user: CurrentUser) -> None:
    """Log out here and revoke this user's outstanding cookies everywhere."""
    with session_scope() as session:
        auth.revoke_sessions(session, user.username)
    cached = st.session_state.get("_kms_authenticator")
    if cached is not None:
        try:
            cached[1].cookie_controller.delete_cookie()
        except Exception:
            log.debug("cookie delete failed", exc_info=True)
    _clear_session()


def logout_everyone() -> None:
    """ "Alle abmelden": rotate the cookie key and revoke every session."""
    with session_scope() as session:
        auth.rotate_cookie_key(session)
    _clear_session()
