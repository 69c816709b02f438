"""Benutzer: the owner manages logins (create, role, reset password, deactivate); every user
changes their own password. No Streamlit here; the rules live in one place for page and CLI.

Passwords, hashing and the login back-off stay in kms.auth; this module adds who may change
whom. Every change is written to the audit log with the acting user.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import audit, auth
from kms.errors import KmsError
from kms.models import User
from kms.permissions import (
    NOT_LOGGED_IN,
    Permission,
    PermissionDenied,
    Role,
    current_actor,
    require_permission,
)
from kms.types import utcnow

ENTITY = "user"
LAST_OWNER = (
    "„{name}“ ist der letzte aktive Inhaber-Zugang. Legen Sie zuerst einen weiteren Inhaber an "
    "oder geben Sie einem anderen Benutzer die Rolle Inhaber."
)
NOT_YOURSELF = "Ihren eigenen Zugang können Sie nicht {what}; das muss ein anderer Inhaber tun."


def parse_role(value: str) -> Role:
    """A Role from its stored name or German label (case-insensitive), or a German error."""
    key = (value or "").strip().lower()
    for role in Role:
        if key in (role.value, role.label.lower()):
            return role
    choices = ", ".join(r.value for r in Role)
    raise KmsError(f"Die Rolle „{value}“ gibt es nicht. Möglich sind: {choices}.")


def list_users(session: Session) -> list[User]:
    """Every login, active ones first, then by name."""
    require_permission(Permission.USERS, session)
    return list(session.scalars(select(User).order_by(User.active.desc(), User.username)))


def create(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str = "",
    email: str = "",
) -> User:
    """A new login with a role and an initial password (strength rules of kms.auth)."""
    actor = require_permission(Permission.USERS, session)
    user = auth.create_user(
        session,
        username=username,
        password=password,
        display_name=display_name,
        email=email,
        role=parse_role(role),
    )
    _record(session, user, "created", actor.username, role=user.role)
    return user


def change_role(session: Session, username: str, role: Role | str) -> User:
    """Give a login another role; never takes the last active Inhaber's, never one's own."""
    actor = require_permission(Permission.USERS, session)
    user = auth.get_user(session, username)
    new = parse_role(role)
    if user.role == new.value:
        return user
    if _is_self(user):
        raise KmsError(NOT_YOURSELF.format(what="herabstufen oder ändern"))
    _keep_an_owner(session, user)
    old, user.role = user.role, new.value
    # Open sessions get the new role at the next click (roles are read on every check).
    _record(session, user, "role_changed", actor.username, old=old, new=new.value)
    return user


def reset_password(session: Session, username: str, password: str, repeat: str) -> User:
    """Set a new password for a login (the owner tells it to the user); ends their sessions."""
    actor = require_permission(Permission.USERS, session)
    if password != repeat:
        raise KmsError("Die beiden Passwörter stimmen nicht überein.")
    user = auth.get_user(session, username)
    auth.set_password(session, user.username, password)
    auth.unlock(session, user.username)
    _record(session, user, "password_reset", actor.username)
    return user


def deactivate(session: Session, username: str) -> User:
    """Switch a login off: it cannot log in, and its open sessions end at once."""
    actor = require_permission(Permission.USERS, session)
    user = auth.get_user(session, username)
    if not user.active:
        return user
    if _is_self(user):
        raise KmsError(NOT_YOURSELF.format(what="deaktivieren"))
    _keep_an_owner(session, user)
    user.active = False
    user.sessions_valid_after = utcnow()
    _record(session, user, "deactivated", actor.username)
    return user


def reactivate(session: Session, username: str) -> User:
    """Allow a deactivated login again (with its old password and role)."""
    actor = require_permission(Permission.USERS, session)
    user = auth.get_user(session, username)
    if not user.active:
        user.active = True
        _record(session, user, "reactivated", actor.username)
    return user


def change_own_password(session: Session, *, current: str, new: str, repeat: str) -> User:
    """Every user may change their own password, proving the current one first."""
    actor = current_actor()
    if actor is None or actor.system:
        raise PermissionDenied(NOT_LOGGED_IN)
    user = auth.get_user(session, actor.username)
    if not user.active:
        raise PermissionDenied("Keine Berechtigung: Ihr Zugang ist deaktiviert.")
    if not current or not auth.verify_password(current, user.password_hash):
        raise KmsError("Das bisherige Passwort stimmt nicht.")
    if new != repeat:
        raise KmsError("Die beiden neuen Passwörter stimmen nicht überein.")
    if new == current:
        raise KmsError("Das neue Passwort muss sich vom bisherigen unterscheiden.")
    auth.set_password(session, user.username, new)
    _record(session, user, "password_changed", actor.username)
    return user


def _is_self(user: User) -> bool:
    actor = current_actor()
    return actor is not None and not actor.system and actor.username == user.username


def _keep_an_owner(session: Session, user: User) -> None:
    """Refuse a change that would leave no active Inhaber (nobody could manage KMS)."""
    if user.role != Role.OWNER.value or not user.active:
        return
    others = session.scalar(
        select(func.count(User.id)).where(
            User.role == Role.OWNER.value, User.active.is_(True), User.id != user.id
        )
    )
    if not others:
        raise KmsError(LAST_OWNER.format(name=user.username))


def _record(session: Session, user: User, action: str, actor: str, **payload: Any) -> None:
    audit.record(
        session, entity=ENTITY, entity_id=user.username, action=action, actor=actor, **payload
    )
