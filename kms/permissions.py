"""Roles and permissions: who may do what, checked by every write service.

One mechanism: each write path calls `require_permission(Permission.X, session)`. The acting
user is found the way the audit log names its actor: the logged-in user's username. Pages
do not pass it through every service signature; the UI registers a provider that reads the
logged-in user of the current Streamlit run (page, callback or fragment alike), and code that
runs without a browser says who acts with `acting_as(...)`: the CLI, the automatisms and
demo loading act as the system (all rights), a background job acts as the user who started
it. With neither, every check is refused (fail closed, ASVS 4.0.3 V4.1.5).

The role is read from the database on every check, so a role change or a deactivation takes
effect at the user's next click, without a new login.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from kms.errors import KmsError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Role(StrEnum):
    """The role of a login (stored in users.role)."""

    OWNER = "inhaber"
    STAFF = "mitarbeiter"
    ADVISER = "steuerberater"

    @property
    def label(self) -> str:
        """German name for the UI."""
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.OWNER: "Inhaber", Role.STAFF: "Mitarbeiter", Role.ADVISER: "Steuerberater"}


class Permission(StrEnum):
    """One right; pages, ▶ functions and write services each name the one they need."""

    CONTACTS_READ = "contacts.read"
    CONTACTS_WRITE = "contacts.write"
    DOCUMENTS_READ = "documents.read"
    DOCUMENTS_WRITE = "documents.write"
    INVOICES_READ = "invoices.read"
    INVOICES_WRITE = "invoices.write"
    LETTERS_READ = "letters.read"
    LETTERS_WRITE = "letters.write"
    LEDGER_READ = "ledger.read"
    LEDGER_WRITE = "ledger.write"
    LEDGER_LOCK = "ledger.lock"
    REPORTS = "reports.read"
    EXPORT = "export"
    BUGREPORTS = "bugreports.write"
    SETTINGS = "settings.write"
    USERS = "users.manage"
    BACKUPS = "backups.manage"
    LICENCES = "licences.manage"
    PODCASTS_READ = "podcasts.read"
    PODCASTS_WRITE = "podcasts.write"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.STAFF: frozenset(
        {
            Permission.CONTACTS_READ,
            Permission.CONTACTS_WRITE,
            Permission.DOCUMENTS_READ,
            Permission.DOCUMENTS_WRITE,
            Permission.INVOICES_READ,
            Permission.INVOICES_WRITE,
            Permission.LETTERS_READ,
            Permission.LETTERS_WRITE,
            Permission.LEDGER_READ,
            Permission.LEDGER_WRITE,
            Permission.REPORTS,
            Permission.EXPORT,
            Permission.BUGREPORTS,
            Permission.PODCASTS_READ,
            Permission.PODCASTS_WRITE,
        }
    ),
    # The tax adviser reads; nothing that writes.
    Role.ADVISER: frozenset(
        {
            Permission.REPORTS,
            Permission.EXPORT,
            Permission.DOCUMENTS_READ,
            Permission.INVOICES_READ,
            Permission.LEDGER_READ,
        }
    ),
}


class PermissionDenied(KmsError):
    """The acting user's role does not allow this action."""


DENIED = "Keine Berechtigung: Ihre Rolle „{role}“ darf das nicht ({what})."
NOT_LOGGED_IN = "Keine Berechtigung: Sie sind nicht angemeldet."
INACTIVE = "Keine Berechtigung: Ihr Zugang ist deaktiviert."

# What each permission allows, in German, for the refusal message.
DESCRIPTIONS = {
    Permission.CONTACTS_READ: "Kontakte ansehen",
    Permission.CONTACTS_WRITE: "Kontakte ändern",
    Permission.DOCUMENTS_READ: "Dokumente ansehen",
    Permission.DOCUMENTS_WRITE: "Dokumente ändern",
    Permission.INVOICES_READ: "Rechnungen ansehen",
    Permission.INVOICES_WRITE: "Rechnungen erstellen und ändern",
    Permission.LETTERS_READ: "Schreiben ansehen",
    Permission.LETTERS_WRITE: "Schreiben erstellen und ändern",
    Permission.LEDGER_READ: "Einnahmen und Ausgaben ansehen",
    Permission.LEDGER_WRITE: "Einnahmen und Ausgaben buchen",
    Permission.LEDGER_LOCK: "Zeiträume festschreiben",
    Permission.REPORTS: "Berichte ansehen",
    Permission.EXPORT: "Daten exportieren",
    Permission.BUGREPORTS: "Fehlermeldungen schreiben",
    Permission.SETTINGS: "Einstellungen ändern",
    Permission.USERS: "Benutzer verwalten",
    Permission.BACKUPS: "Backups erzeugen, wiederherstellen und löschen",
    Permission.LICENCES: "Lizenzen verwalten",
    Permission.PODCASTS_READ: "Podcasts ansehen",
    Permission.PODCASTS_WRITE: "Podcasts bearbeiten und veröffentlichen",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a login (by username) or the system (CLI, automatisms: all rights)."""

    username: str
    system: bool = False


SYSTEM = Actor("system", system=True)

_acting: ContextVar[Actor | None] = ContextVar("kms_acting", default=None)
_ui_provider: Callable[[], str | None] | None = None


def set_ui_provider(provider: Callable[[], str | None]) -> None:
    """The UI's way to name the logged-in user of the current Streamlit run (or None)."""
    global _ui_provider
    _ui_provider = provider


@contextmanager
def acting_as(actor: Actor | str) -> Iterator[Actor]:
    """Run the block as `actor` (a username or SYSTEM)."""
    resolved = Actor(actor) if isinstance(actor, str) else actor
    token = _acting.set(resolved)
    try:
        yield resolved
    finally:
        _acting.reset(token)


def current_actor() -> Actor | None:
    """The explicit actor of this context, else the logged-in user of this Streamlit run."""
    actor = _acting.get()
    if actor is not None:
        return actor
    if _ui_provider is not None:
        username = _ui_provider()
        if username:
            return Actor(username)
    return None


F = TypeVar("F", bound=Callable[..., Any])


def carry(function: F) -> F:
    """Wrap `function` to run as today's actor when called later in another thread."""
    actor = current_actor()

    def run(*args: Any, **kwargs: Any) -> Any:
        if actor is None:
            return function(*args, **kwargs)
        with acting_as(actor):
            return function(*args, **kwargs)

    return run  # type: ignore[return-value]


def role_of(session: Session, actor: Actor) -> Role:
    """The actor's role now (SYSTEM: Inhaber); refuses unknown or deactivated logins."""
    from kms.models import User

    if actor.system:
        return Role.OWNER
    row = session.execute(
        select(User.role, User.active).where(User.username == actor.username)
    ).first()
    if row is None:
        raise PermissionDenied(NOT_LOGGED_IN)
    if not row.active:
        raise PermissionDenied(INACTIVE)
    return Role(row.role)


def allowed(role: Role | str, permission: Permission) -> bool:
    """True if the role has the permission (pure lookup, for menus)."""
    return permission in ROLE_PERMISSIONS[Role(role)]


def require_permission(permission: Permission, session: Session | None = None) -> Actor:
    """Refuse with a German PermissionDenied unless the acting user may `permission`.

    Services that have a Session pass it (the role is read inside their transaction);
    services without one (backups) let this open a short read session.
    """
    actor = current_actor()
    if actor is None:
        raise PermissionDenied(NOT_LOGGED_IN)
    if actor.system:
        return actor
    if session is None:
        from kms.db import session_scope

        with session_scope(write=False) as own:
            role = role_of(own, actor)
    else:
        role = role_of(session, actor)
    if not allowed(role, permission):
        raise PermissionDenied(DENIED.format(role=role.label, what=DESCRIPTIONS[permission]))
    return actor


def granted(session: Session) -> frozenset[Permission]:
    """Every permission of the acting user (empty when nobody or a deactivated login acts)."""
    actor = current_actor()
    if actor is None:
        return frozenset()
    try:
        return ROLE_PERMISSIONS[role_of(session, actor)]
    except PermissionDenied:
        return frozenset()


def may(session: Session, permission: Permission) -> bool:
    """True if the acting user may `permission`; never raises (menus, routes)."""
    return permission in granted(session)
