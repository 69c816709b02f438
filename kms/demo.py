"""Clearly fictitious demo data for every module that exists; safe to run twice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import auth
from kms.config import get_config
from kms.db import session_scope
from kms.errors import KmsError
from kms.models import KeyValue, set_value
from kms.onboarding import mark_done
from kms.registry import resolve, usable_modules

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-kms-2026"  # noqa: S105 - the documented demo login
MARKER_KEY = "demo.loaded"


def _is_empty(session: Session) -> bool:
    """True for a fresh instance, or one that holds only our own earlier demo data."""
    from kms.modules.contacts.models import Contact

    if session.get(KeyValue, MARKER_KEY) is not None:
        return True
    has_contacts = session.scalar(select(Contact.id).limit(1)) is not None
    return not has_contacts and not auth.has_users(session)


def load_demo_data(session: Session) -> list[str]:
    """Every module's demo data and a finished first-run setup, without any login (tests
    and load_demo, which checks first that the instance may get the demo)."""
    loaded: list[str] = []
    for spec in usable_modules(session):
        if spec.demo:
            loaded.append(resolve(spec.demo)(session))
            session.flush()
    mark_done(session)
    return loaded


def load_demo(*, force: bool = False) -> list[str]:
    """Load every module's demo data into a new instance, or again into one the demo made.

    The demo login's password is published, so it never enters an instance that has a real
    owner or real data, not even with `force`; `force` only allows PostgreSQL (a hosted
    database is usually not meant for a demo).
    """
    if not force and not get_config().is_sqlite:
        raise KmsError(
            "Demodaten werden in PostgreSQL nur mit --force geladen (gehostete Instanz?)."
        )
    with session_scope() as session:
        if not _is_empty(session):
            raise KmsError(
                "Diese Instanz enthält bereits Daten oder einen Inhaber-Zugang. Die Demo mit "
                "ihrer öffentlich bekannten Anmeldung lädt KMS nur in eine neue, leere Instanz "
                "(auch nicht mit --force), z. B. mit KMS_DATA_DIR=./demo-data."
            )
        if session.scalar(select(auth.User.id).where(auth.User.username == DEMO_USER)) is None:
            auth.create_user(
                session,
                username=DEMO_USER,
                password=DEMO_PASSWORD,
                display_name="Erika Mustermann (Demo)",
                email="erika@example.org",
                is_owner=not auth.has_users(session),
            )
        from kms.licensing import install_demo

        install_demo(session)  # only in a process started for the demo (KMS_DEMO=1)
        loaded = load_demo_data(session)
        set_value(session, MARKER_KEY, True)
    auth.consume_setup_token()
    return [
        "Demodaten geladen: " + ", ".join(loaded) + ".",
        f"Demo-Anmeldung: Benutzername „{DEMO_USER}“, Passwort „{DEMO_PASSWORD}“",
    ]
