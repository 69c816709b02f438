"""Ersteinrichtung: the first-run steps as the start page reports them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from kms import auth
from kms.modules.contacts.service import create_person
from kms.modules.settings.service import save_profile
from kms.modules.settings.taxation import set_regime
from kms.onboarding import Steps, mark_done, onboarding_done, steps
from tests.modules.settings.test_service import SOLE_TRADER


def test_steps_follow_what_has_been_set_up(session: Session) -> None:
    """Owner login, company data and the owner's own Person tick off one by one."""
    assert steps(session) == Steps(owner=False, settings=False, person=False, done=False)
    auth.create_user(session, username="erika", password="Sommer-Regen-2026", is_owner=True)
    save_profile(session, version=0, **SOLE_TRADER)
    create_person(session, first_name="Erika", last_name="Mustermann", is_owner=True)
    assert steps(session) == Steps(owner=True, settings=True, person=True, done=False)
    set_regime(session, valid_from=date(2026, 1, 1), kind="regel", cash_basis=False)
    assert steps(session).taxation
    mark_done(session)
    session.commit()
    assert steps(session).done and onboarding_done()
    mark_done(session, False)  # the tutorial reopens it
    session.commit()
    assert not onboarding_done()
