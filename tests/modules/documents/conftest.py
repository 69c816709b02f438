"""Fixtures for the Dokumente tests: contacts to link, the store's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kms.modules.contacts.service import create_person


def stored_files() -> list[Path]:
    """Every file in the document store (temp files included)."""
    from kms.modules.documents.storage import root

    return sorted(p for p in root().rglob("*") if p.is_file())


@pytest.fixture
def contacts(session: Session) -> list[int]:
    """Two committed persons to link documents to."""
    ids = [
        create_person(session, first_name="Erika", last_name="Mustermann").id,
        create_person(session, first_name="Max", last_name="Mustermann").id,
    ]
    session.commit()
    return ids
