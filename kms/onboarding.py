"""Ersteinrichtung: which first-run steps are done (owner login, Einstellungen, Besteuerung,
own Person)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.models import get_value, set_value
from kms.permissions import Permission, require_permission

DONE_KEY = "onboarding.done"


@dataclass(frozen=True)
class Steps:
    """Progress through the first-run steps."""

    owner: bool
    settings: bool
    person: bool
    done: bool
    taxation: bool = False  # a Besteuerung (Regel/Klein from a date) exists


def steps(session: Session) -> Steps:
    """Look up what has been set up so far."""
    from kms.auth import has_users
    from kms.modules.contacts.models import Contact as Person
    from kms.modules.settings.models import CompanyProfile, TaxRegime

    profile = session.scalar(select(CompanyProfile).limit(1))
    person = session.scalar(select(Person.id).where(Person.is_owner.is_(True)).limit(1))
    return Steps(
        owner=has_users(session),
        settings=bool(profile and profile.company_name and profile.city),
        person=person is not None,
        done=bool(get_value(session, DONE_KEY)),
        taxation=session.scalar(select(TaxRegime.id).limit(1)) is not None,
    )


def mark_done(session: Session, done: bool = True) -> None:
    """Finish (or, for the tutorial, reopen) the first-run setup."""
    require_permission(Permission.SETTINGS, session)
    set_value(session, DONE_KEY, done)


def onboarding_done() -> bool:
    """True once the owner finished (or skipped) the first-run setup."""
    with session_scope(write=False) as session:
        return bool(get_value(session, DONE_KEY))
