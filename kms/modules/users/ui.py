"""Streamlit parts of Benutzer (the owner's user management) and Mein Zugang (own password)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_datetime
from kms.modules.users import service
from kms.permissions import ROLE_LABELS, Role
from kms.ui import auth as ui_auth
from kms.ui.forms import CHOOSE, labels_of, saving
from kms.ui.page import PageContext
from kms.ui.text import plain

ROLE_HELP = (
    "**Inhaber**: alles. **Mitarbeiter**: Kunden, Dokumente, Rechnungen und Schreiben, "
    "Berichte; keine Einstellungen, Benutzer, Backups oder Lizenzen. **Steuerberater**: nur "
    "lesen – Berichte, Exporte, Dokumente und Rechnungen."
)
ROLE_OPTIONS = {role.value: ROLE_LABELS[role] for role in Role}
DONE = "users_done"


def _users_table() -> list[tuple[str, str, str, bool]]:
    """(username, label, role, active) of every login, after showing them as a table."""
    with session_scope(write=False) as session:
        users = service.list_users(session)
        rows = [
            {
                "Benutzername": u.username,
                "Name": u.display_name,
                "E-Mail": u.email or "–",
                "Rolle": ROLE_OPTIONS.get(u.role, u.role),
                "Status": "aktiv" if u.active else "deaktiviert",
                "Angelegt": format_datetime(u.created_at),
            }
            for u in users
        ]
        choices = [(u.username, u.display_name, u.role, u.active) for u in users]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    return choices


def _create_form() -> None:
    labels = {"username": "Benutzername", "email": "E-Mail", "password": "Passwort"}
    with st.expander("Neuer Benutzer", icon=":material/person_add:"):
        with st.form("users_create", clear_on_submit=False):
            c1, c2 = st.columns(2)
            name = c1.text_input("Name", placeholder="Max Mustermann", key="users_new_name")
            username = c2.text_input("Benutzername", placeholder="max", key="users_new_username")
            email = c1.text_input("E-Mail", placeholder="max@example.org", key="users_new_email")
            role = c2.selectbox(
                "Rolle",
                list(ROLE_OPTIONS),
                index=1,
                format_func=labels_of(ROLE_OPTIONS),
                key="users_new_role",
                placeholder=CHOOSE,
                help=ROLE_HELP,
            )
            password = c1.text_input("Erstes Passwort", type="password", key="users_new_pw")
            repeat = c2.text_input(
                "Erstes Passwort wiederholen", type="password", key="users_new_pw2"
            )
            submitted = st.form_submit_button("Benutzer anlegen", type="primary")
    if not submitted:
        return
    if password != repeat:
        st.error("Die beiden Passwörter stimmen nicht überein.")
        return
    with saving(labels) as result, session_scope() as session:
        user = service.create(
            session,
            username=username,
            password=password,
            role=role,
            display_name=name,
            email=email,
        )
        created = user.username
    if result["ok"]:
        st.session_state[DONE] = (
            f"Benutzer „{created}“ angelegt ({ROLE_OPTIONS[role]}). Teilen Sie das erste "
            "Passwort auf einem sicheren Weg mit; es lässt sich unter „Mein Zugang“ ändern."
        )
        st.rerun()


def _edit(choices: list[tuple[str, str, str, bool]], me: str) -> None:
    st.subheader("Benutzer bearbeiten")
    labels = {
        name: f"{name} – {display} ({ROLE_OPTIONS.get(role, role)}"
        + ("" if active else ", deaktiviert")
        + ")"
        # One's own login last: the picker opens on someone the owner can change.
        for name, display, role, active in sorted(choices, key=lambda c: c[0] == me)
    }
    username = st.selectbox(
        "Benutzer",
        list(labels),
        format_func=labels_of(labels),
        key="users_pick",
        placeholder=CHOOSE,
    )
    if username is None:
        return
    _name, _display, role, active = next(c for c in choices if c[0] == username)
    if username == me:
        st.info(
            "Das ist Ihr eigener Zugang: Rolle und Status ändert ein anderer Inhaber; Ihr "
            "Passwort ändern Sie unter „Mein Zugang“."
        )
        return
    tab_role, tab_password, tab_status = st.tabs(
        ["Rolle ändern", "Passwort zurücksetzen", "Deaktivieren" if active else "Reaktivieren"]
    )
    with tab_role, st.form(f"users_role_{username}"):
        new_role = st.selectbox(
            "Neue Rolle",
            list(ROLE_OPTIONS),
            index=list(ROLE_OPTIONS).index(role) if role in ROLE_OPTIONS else 0,
            format_func=labels_of(ROLE_OPTIONS),
            key=f"users_role_pick_{username}",
            placeholder=CHOOSE,
            help=ROLE_HELP,
        )
        if st.form_submit_button("Rolle speichern"):
            with saving() as result, session_scope() as session:
                service.change_role(session, username, new_role)
            if result["ok"]:
                st.session_state[DONE] = (
                    f"„{username}“ hat jetzt die Rolle {ROLE_OPTIONS[new_role]}; das gilt ab "
                    "dem nächsten Klick."
                )
                st.rerun()
    with tab_password, st.form(f"users_reset_{username}"):
        password = st.text_input("Neues Passwort", type="password", key=f"users_pw_{username}")
        repeat = st.text_input(
            "Neues Passwort wiederholen", type="password", key=f"users_pw2_{username}"
        )
        confirm = st.checkbox(
            f"Ja, das Passwort von „{username}“ ersetzen und alle Anmeldungen dieses Benutzers "
            "beenden.",
            key=f"users_pw_confirm_{username}",
        )
        if st.form_submit_button("Passwort zurücksetzen"):
            if not confirm:
                st.warning("Bitte bestätigen Sie das Zurücksetzen mit dem Häkchen.")
            else:
                with saving() as result, session_scope() as session:
                    service.reset_password(session, username, password, repeat)
                if result["ok"]:
                    st.session_state[DONE] = (
                        f"Das Passwort von „{username}“ wurde zurückgesetzt; seine Anmeldungen "
                        "sind beendet."
                    )
                    st.rerun()
    with tab_status, st.form(f"users_status_{username}"):
        if active:
            st.write(
                f"„{plain(username)}“ kann sich danach nicht mehr anmelden; offene Sitzungen "
                "enden sofort. Gespeicherte Daten bleiben erhalten."
            )
            confirm = st.checkbox(
                f"Ja, „{username}“ deaktivieren.", key=f"users_off_confirm_{username}"
            )
            if st.form_submit_button("Deaktivieren", type="primary"):
                if not confirm:
                    st.warning("Bitte bestätigen Sie das Deaktivieren mit dem Häkchen.")
                else:
                    with saving() as result, session_scope() as session:
                        service.deactivate(session, username)
                    if result["ok"]:
                        st.session_state[DONE] = f"„{username}“ ist deaktiviert."
                        st.rerun()
        elif st.form_submit_button("Reaktivieren"):
            with saving() as result, session_scope() as session:
                service.reactivate(session, username)
            if result["ok"]:
                st.session_state[DONE] = f"„{username}“ kann sich wieder anmelden."
                st.rerun()


def render_users_page(ctx: PageContext) -> None:
    """The Benutzer page: list, ▸ Neuer Benutzer, Benutzer bearbeiten."""
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(plain(done))
    st.caption(ROLE_HELP)
    choices = _users_table()
    _create_form()
    _edit(choices, ctx.user.username)


def render_account_page(ctx: PageContext) -> None:
    """Mein Zugang: who I am, my role, and the form to change my own password."""
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(plain(done))
    with session_scope(write=False) as session:
        from kms import auth

        user = auth.get_user(session, ctx.user.username)
        role = ROLE_OPTIONS.get(user.role, user.role)
        name, email = user.display_name, user.email
    st.write(
        f"Angemeldet als **{plain(ctx.user.username)}** ({plain(name)}), Rolle **{role}**"
        + (f", E-Mail {plain(email)}" if email else "")
        + "."
    )
    st.subheader("Passwort ändern")
    with st.form("account_password", clear_on_submit=True):
        current = st.text_input("Bisheriges Passwort", type="password", key="account_pw_old")
        new = st.text_input(
            "Neues Passwort",
            type="password",
            key="account_pw_new",
            help="Mindestens 10 Zeichen, höchstens 72 Bytes, ohne Leerzeichen am Anfang oder Ende.",
        )
        repeat = st.text_input(
            "Neues Passwort wiederholen", type="password", key="account_pw_repeat"
        )
        submitted = st.form_submit_button("Passwort ändern", type="primary")
    if not submitted:
        return
    with saving() as result, session_scope() as session:
        service.change_own_password(session, current=current, new=new, repeat=repeat)
    if result["ok"]:
        ui_auth.renew_session()  # this browser stays logged in; every other session ends
        st.session_state[DONE] = (
            "Ihr Passwort wurde geändert. Anmeldungen auf anderen Geräten wurden beendet."
        )
        st.rerun()
