"""The login gate: KMS's own login form and a session cookie the browser's scripts never see.

A login (or the owner's first-run setup) starts a server-side session and a one-time ticket.
The page then loads `/api/session/<ticket>` as an invisible image; that answer sets the
HttpOnly, SameSite=Strict cookie (kms.web). A new browser session (reload, second tab) finds
the cookie in the WebSocket handshake (`st.context.cookies`), so no component and no extra
rerun is involved in reading or writing it. Sessions end when revoked (logout, "Alle
abmelden", a new password), after the idle timeout, and after the absolute lifetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kms import auth
from kms.db import session_scope
from kms.errors import KmsError
from kms.models import User
from kms.registry import page_by_url
from kms.types import utcnow
from kms.ui.text import plain

TICKET_URL = "/api/session/{ticket}"


@dataclass(frozen=True)
class CurrentUser:
    """Who is logged in on this browser session."""

    username: str
    display_name: str


def client_address() -> str:
    """The address of this session's connection (for the back-off and the ticket).

    This is the peer of the WebSocket, or the address a proxy listed in KMS_TRUSTED_PROXIES
    forwarded (uvicorn resolves that, see kms.server). `st.context.ip_address` would hide
    loopback addresses, which is exactly where a reverse proxy connects from.
    """
    ctx = get_script_run_ctx()
    try:
        client = runtime.get_instance().get_client(ctx.session_id) if ctx else None
        context = client.client_context if client is not None else None
        address = context.remote_ip if context is not None else None
    except Exception:  # noqa: BLE001 - no runtime (AppTest) or an odd transport
        return "unbekannt"
    # AppTest's mocked runtime answers with a mock object, not a string.
    return address if isinstance(address, str) and address else "unbekannt"


def _start_session(user: User, session: Any) -> None:
    """A fresh login: a server-side session and the ticket that fetches its cookie."""
    now = utcnow()
    session_id, ticket = auth.start_session(session, user.username, client_address(), now)
    st.session_state.update(
        authentication_status=True,
        username=user.username,
        name=user.display_name,
        kms_login_at=now.timestamp(),
        kms_seen_at=now.timestamp(),
        kms_touched_at=now.timestamp(),
        kms_session_id=session_id,
        _kms_ticket=ticket,
    )


def _still_valid(username: str) -> bool:
    """A live session ends when revoked after its login, idle too long, or too old."""
    login_at = st.session_state.get("kms_login_at")
    if login_at is None:
        return False
    now = utcnow()
    seen_at = datetime.fromtimestamp(st.session_state.get("kms_seen_at", now.timestamp()), UTC)
    with session_scope(write=False) as session:
        try:
            user = auth.get_user(session, username)
        except KmsError:
            return False
        started = datetime.fromtimestamp(login_at, UTC)
        if not auth.session_alive(user, started, seen_at, now):
            return False
    session_id = st.session_state.get("kms_session_id")
    touched = datetime.fromtimestamp(st.session_state.get("kms_touched_at", 0), UTC)
    if session_id is not None and now - touched >= auth.TOUCH_EVERY:
        # Activity here keeps the cookie alive for a reload or a download, too.
        with session_scope() as session:
            auth.touch_session(session, session_id, now)
        st.session_state["kms_touched_at"] = now.timestamp()
    st.session_state["kms_seen_at"] = now.timestamp()
    return True


def resume_from_cookie() -> CurrentUser | None:
    """A new browser session with a live session cookie is logged in without a form.

    The cookie is the one the WebSocket connection started with; after "Abmelden" or
    "Alle abmelden" it is revoked, so asking again is harmless. Draws nothing.
    """
    if current_user() is not None:
        return current_user()
    try:
        token = st.context.cookies.get(auth.SESSION_COOKIE)
    except Exception:  # noqa: BLE001 - no client context (AppTest)
        return None
    if not isinstance(token, str) or not token:
        return None
    with session_scope(write=False) as session:
        live = auth.find_session(session, token)
    if live is None:
        return None
    st.session_state.update(
        authentication_status=True,
        username=live.username,
        name=live.display_name,
        kms_login_at=live.created_at.timestamp(),
        kms_seen_at=utcnow().timestamp(),
        kms_session_id=live.session_id,
    )
    return current_user()


def _clear_session() -> None:
    for key in (
        "authentication_status",
        "username",
        "name",
        "kms_login_at",
        "kms_seen_at",
        "kms_touched_at",
        "kms_session_id",
        "_kms_ticket",
    ):
        st.session_state.pop(key, None)


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
    else:
        user = resume_from_cookie()
        if user is not None:
            return user
    with _form_column():
        _login_form()
    return None


def _login_form() -> None:
    """Username and password; the back-off and the password check live in kms.auth."""
    with st.form("kms_login"):
        st.subheader("Anmelden")
        username = st.text_input("Benutzername", autocomplete="username")
        password = st.text_input("Passwort", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Anmelden", type="primary")
    if not submitted:
        return
    with session_scope() as session:
        result = auth.check_login(session, username or "", password or "", client_address())
        if isinstance(result, User):
            _start_session(result, session)
            message = None
        else:
            message = result
    if message is None:
        st.rerun()
    st.error(message)


def set_pending_cookie() -> None:
    """Let the browser fetch its session cookie once; call it after the page's content.

    The ticket is loaded as an invisible image below everything else, so nothing on the page
    moves when it is gone in a later run. It stays until the server saw it redeemed.
    """
    ticket = st.session_state.get("_kms_ticket")
    if ticket is None or current_user() is None:
        return
    with session_scope(write=False) as session:
        pending = auth.ticket_pending(session, ticket)
    if not pending:
        st.session_state.pop("_kms_ticket", None)
        return
    st.html(f'<img src="{TICKET_URL.format(ticket=ticket)}" alt="" width="1" height="1">')


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
            # The new owner stays logged in across a reload, like after any login.
            _start_session(user, session)
    except KmsError as exc:
        st.error(plain(exc.message))
        return
    auth.consume_setup_token()
    # The new owner continues with the first-run steps, whatever URL showed the setup form.
    tutorial = page_by_url("ersteinrichtung")
    if tutorial is None:  # pragma: no cover - the help module is always registered
        st.rerun()
    st.switch_page(tutorial.script)


def renew_session() -> None:
    """Keep this browser logged in after its own password change ended every session: a new
    server-side session, and the ticket that fetches its new cookie, as after a login."""
    with session_scope() as session:
        _start_session(auth.get_user(session, st.session_state["username"]), session)


def logout(user: CurrentUser) -> None:
    """Log out here and end this user's sessions in every browser."""
    with session_scope() as session:
        auth.revoke_sessions(session, user.username)
    _clear_session()


def logout_everyone() -> None:
    """ "Alle abmelden": rotate the key and end every session of every user."""
    with session_scope() as session:
        auth.rotate_cookie_key(session)
    _clear_session()
