"""Kontakte (minimal): create, umlaut-proof search, paging in SQL, optimistic locking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from kms.db import get_engine
from kms.errors import ConflictError, NotFoundError, ValidationErrors
from kms.modules.contacts.service import (
    create_person,
    get_person,
    list_persons,
    search_key,
    update_person,
)

PEOPLE = [
    ("Jürgen", "Müller", "München"),
    ("Anna", "Mueller", "Berlin"),
    ("Max", "MÜLLER", "Köln"),
    ("Erika", "Mustermann", "Musterstadt"),
    ("Lena", "Schmidt", "Müllheim"),
    ("Kim", "Muller", "Genève"),  # no umlaut: a different name
]


@pytest.fixture
def people(session: Session) -> None:
    for first, last, city in PEOPLE:
        create_person(session, first_name=first, last_name=last, city=city)
    session.commit()


def _names(page) -> list[str]:
    return [p.display_name for p in page.items]


def test_a_person_is_created_with_clean_fields(session: Session) -> None:
    """Fields are trimmed and normalised; the person can be read back by id."""
    person = create_person(
        session,
        first_name=" Erika ",
        last_name="Mustermann",
        email="Erika@Example.ORG",
        postcode="12345",
        country="de",
    )
    session.commit()
    session.expire_all()
    stored = get_person(session, person.id)
    assert (stored.first_name, stored.email, stored.country) == (
        "Erika",
        "Erika@example.org",
        "DE",
    )
    assert (stored.kind, stored.version) == ("person", 1)
    with pytest.raises(NotFoundError, match="gibt es nicht"):
        get_person(session, person.id + 1000)


def test_bad_person_fields_are_reported_together(session: Session) -> None:
    """Missing last name, bad postcode, e-mail and country come back at once."""
    with pytest.raises(ValidationErrors) as excinfo:
        create_person(session, last_name="", postcode="1", email="x@", country="Deutschland")
    assert set(excinfo.value.errors) == {"last_name", "country", "email"}
    with pytest.raises(ValidationErrors) as excinfo:
        create_person(session, last_name="Muster", postcode="1234", country="DE")
    assert set(excinfo.value.errors) == {"postcode"}
    assert list_persons(session).total == 0


@pytest.mark.parametrize("term", ["müller", "MÜLLER", "Mueller", "mueller", "MUELLER"])
def test_search_finds_mueller_however_it_is_typed(
    session: Session, people: None, term: str
) -> None:
    """Umlaut and ue spellings, any case, meet; "Muller" and "Müllheim" stay apart."""
    assert sorted(_names(list_persons(session, search=term))) == [
        "Anna Mueller",
        "Jürgen Müller",
        "Max MÜLLER",
    ]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("jürgen münchen", ["Jürgen Müller"]),  # every word must match
        ("KÖLN", ["Max MÜLLER"]),
        ("geneve", ["Kim Muller"]),  # accents folded
        ("muell", ["Anna Mueller", "Jürgen Müller", "Lena Schmidt", "Max MÜLLER"]),
        ("100%", []),  # wildcards are literal
        ("m_ller", []),
        ("", [p[0] + " " + p[1] for p in sorted(PEOPLE, key=lambda p: (p[1], p[0]))]),
    ],
)
def test_search_terms(session: Session, people: None, term: str, expected: list[str]) -> None:
    """Search by name and town, word by word, with LIKE wildcards taken literally."""
    result = list_persons(session, search=term)
    assert sorted(_names(result)) == sorted(expected)
    assert result.total == len(expected)


def test_search_key_folds_umlauts_case_and_accents() -> None:
    """ "MÜLLER", "Müller" and "Mueller" share one key; ß becomes ss."""
    assert search_key("MÜLLER") == search_key("Müller") == search_key("Mueller") == "mueller"
    assert search_key("Straße", "Zürich", "Léa") == "strasse zuerich lea"


@pytest.fixture
def statements(db_url: str) -> Iterator[list[str]]:
    """The SQL statements sent to the database during the test."""
    seen: list[str] = []
    engine = get_engine(db_url)

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_lists_are_paged_in_sql(session: Session, statements: list[str]) -> None:
    """Page 3 of 25 persons holds the last five, fetched with LIMIT/OFFSET."""
    for i in range(25):
        create_person(session, first_name=f"Person{i:02d}", last_name="Muster")
    session.commit()
    statements.clear()
    page = list_persons(session, page=3, page_size=10)
    assert (page.total, page.pages, len(page.items)) == (25, 3, 5)
    assert _names(page) == [f"Person{i:02d} Muster" for i in range(20, 25)]
    [rows_query] = [
        s
        for s in statements
        if s.startswith("SELECT") and "contacts.last_name" in s.split("FROM")[0]
    ]
    assert "LIMIT" in rows_query and "OFFSET" in rows_query
    assert list_persons(session, page=0, page_size=10).page == 1
    # A page beyond the end (e.g. after deletions elsewhere) shows the last page.
    beyond = list_persons(session, page=9, page_size=10)
    assert (beyond.page, _names(beyond)) == (3, _names(page))


def test_sorting_by_town_and_newest(session: Session, people: None) -> None:
    """The list sorts by name, by town, or newest first."""
    by_town = list_persons(session, sort="ort")
    assert [p.city for p in by_town.items][:3] == ["Berlin", "Genève", "Köln"]
    newest = list_persons(session, sort="neu")
    assert newest.items[0].display_name == "Kim Muller"


def test_updating_with_a_stale_version_is_refused(session: Session) -> None:
    """A second editor with an old form gets a ConflictError; the first edit stays."""
    person = create_person(session, first_name="Erika", last_name="Mustermann")
    session.commit()
    updated = update_person(
        session, person.id, version=1, first_name="Erika", last_name="Musterfrau"
    )
    session.commit()
    assert updated.version == 2
    with pytest.raises(ConflictError, match="inzwischen von jemand anderem geändert"):
        update_person(session, person.id, version=1, first_name="Erika", last_name="Beispiel")
    session.rollback()
    session.expire_all()
    stored = get_person(session, person.id)
    assert (stored.last_name, stored.version) == ("Musterfrau", 2)
    assert [p.display_name for p in list_persons(session, search="musterfrau").items] == [
        "Erika Musterfrau"
    ]
