"""The input layer: query parameters, control characters, LIKE wildcards, one upload limit."""

from __future__ import annotations

import time
import tomllib
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT
from kms.db import session_scope
from kms.modules.contacts.models import Contact
from kms.modules.documents import service as documents
from tests.ui_helpers import UNEXPECTED, everything

NUL_NAME = "Mus\x00ter\x1b[31m GmbH"


@pytest.fixture
def app_on_db(db_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Open a page through app.py, logged in, on the test's database (SQLite or PostgreSQL)."""
    with session_scope(db_url) as session:
        auth.create_user(
            session,
            username="erika",
            password="sehr-geheim-2026",
            display_name="Erika M.",
            is_owner=True,
        )

    def open_(script: str, **query: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.switch_page(f"pages/{script}")
        at.session_state["authentication_status"] = True
        at.session_state["username"] = "erika"
        at.session_state["name"] = "Erika M."
        at.session_state["kms_login_at"] = time.time() + 1
        for key, value in query.items():
            at.query_params[key] = value
        return at.run()

    return open_


@pytest.mark.parametrize(
    "raw", ["99999999999999999999", "-1", "0", "1e3", "abc", "１２", "2147483648", ""]
)
def test_a_bad_id_in_the_url_shows_the_list(app_on_db, raw: str) -> None:  # type: ignore[no-untyped-def]
    """/personen?id=… with a huge, negative, non-numeric or non-ASCII value shows the list,
    never "unerwarteter Fehler"."""
    at = app_on_db("personen.py", id=raw)
    assert not at.exception
    assert UNEXPECTED not in everything(at)
    assert at.text_input(key="person_search") is not None


def test_nul_and_escape_characters_typed_anywhere_are_removed(app_on_db, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """A NUL typed into the search or a name field (PostgreSQL refuses NUL in text) is
    stripped before the page sees it: the search runs, the contact is saved without it."""
    at = app_on_db("organisationen.py")
    at.text_input(key="organisation_search").input("Mus\x00ter").run()
    assert not at.exception and UNEXPECTED not in everything(at)
    assert at.text_input(key="organisation_search").value == "Muster"
    name = next(
        w
        for w in at.text_input
        if w.key and w.key.startswith("new_organisation_") and w.label.startswith("Name")
    )
    name.input(NUL_NAME)
    next(b for b in at.button if b.label == "Anlegen").click()
    at.run()
    assert not at.exception and UNEXPECTED not in everything(at)
    with session_scope(db_url, write=False) as s:
        assert s.scalars(select(Contact.name)).all() == ["Muster[31m GmbH"]


def test_clean_text_keeps_line_breaks_only_where_they_belong() -> None:
    """One-line fields lose every control character (tabs and breaks become spaces); text
    areas keep line breaks and tabs; printable Unicode is untouched."""
    from kms.validation import clean_text

    assert clean_text("A\x00B\x07C\x7fD\x85E") == "ABCDE"
    assert clean_text("Zeile 1\r\nZeile\t2") == "Zeile 1 Zeile 2"
    assert clean_text("Zeile 1\r\nZeile\t2\x00", multiline=True) == "Zeile 1\nZeile\t2"
    assert clean_text("Grüße – ÄÖÜ ß €") == "Grüße – ÄÖÜ ß €"


def test_letter_search_treats_percent_and_underscore_literally(session: Session) -> None:
    """Searching "100%" finds "100% Rabatt", not "1000 Dank"; "a_b" does not match "axb"."""
    from kms.modules.letters import service as letters
    from kms.modules.settings.demo import COMPANY
    from kms.modules.settings.service import get_profile, save_profile

    save_profile(session, version=get_profile(session).version or 0, **COMPANY)

    def subjects(search: str) -> list[str]:
        return sorted(
            letter.subject for letter in letters.list_letters(session, search=search).items
        )

    for subject in ("100% Rabatt", "1000 Dank", "Betreff a_b", "Betreff axb"):
        letters.create_letter(
            session,
            free_address="Max Mustermann\nHauptstr. 1\n12345 Musterstadt",
            subject=subject,
            body="Text",
            letter_date=date(2026, 11, 26),
        )
    session.commit()
    assert subjects("100%") == ["100% Rabatt"]
    assert subjects("a_b") == ["Betreff a_b"]
    assert subjects("%") == ["100% Rabatt"]


def test_one_upload_limit_for_widget_service_and_server(session: Session) -> None:
    """The uploader's "20.0 MB" is 20,000,000 bytes, the service refuses 20,000,001, and
    server.maxUploadSize equals the highest limit a user may set."""
    from kms.formatting import MEGABYTE

    assert MEGABYTE == 1_000_000
    limit = documents.max_upload_mb(session) * MEGABYTE
    assert limit == 20_000_000
    with pytest.raises(documents.FileRefused, match="erlaubt sind höchstens 20 MB"):
        documents.upload(session, content=b"x" * (limit + 1), filename="gross.txt")
    assert documents.upload(session, content=b"x" * limit, filename="genau.txt").document
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == documents.HARD_MAX_UPLOAD_MB
