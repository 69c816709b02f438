"""Lists page in SQL: the cost of one page must not grow with the table.

Run with `make bench`. KMS_BENCH_LIST_CONTACTS (default 50000) contacts are bulk-inserted
into an embedded SQLite database; each benchmark opens one page the way the Personen list
does (count + one page), first page, a deep page, and a search.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from kms.config import reset_config
from kms.db import dispose_engines, ensure_migrated, get_engine, session_factory

CONTACTS = int(os.environ.get("KMS_BENCH_LIST_CONTACTS", "50000"))
TOWNS = ["Berlin", "München", "Köln", "Hamburg", "Musterstadt", "Zürich", "Wien"]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A database with CONTACTS persons (one in a thousand named Müller)."""
    from kms.modules.contacts.models import Contact
    from kms.modules.contacts.service import search_key

    data = tmp_path_factory.mktemp("bench-lists") / "data"
    saved = {k: os.environ.get(k) for k in ("KMS_DATA_DIR", "KMS_DATABASE_URL", "KMS_SCHEDULER")}
    os.environ.update(KMS_DATA_DIR=str(data), KMS_SCHEDULER="0")
    os.environ.pop("KMS_DATABASE_URL", None)
    reset_config()
    dispose_engines()
    ensure_migrated()
    rows = []
    for i in range(CONTACTS):
        last = "Müller" if i % 1000 == 0 else f"Mustermann{i:06d}"
        town = TOWNS[i % len(TOWNS)]
        rows.append(
            {
                "kind": "person",
                "first_name": "Erika",
                "last_name": last,
                "city": town,
                "email": f"p{i}@example.org",
                "postcode": f"{10000 + i % 89999}",
                "search_key": search_key("Erika", last, f"p{i}@example.org", town),
                "sort_key": search_key(last, "Erika"),
            }
        )
    with get_engine().begin() as conn:
        conn.execute(insert(Contact), rows)
    s = session_factory(write=False)()
    yield s
    s.close()
    dispose_engines()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_config()


def _page(session: Session, **kwargs: object) -> int:
    from kms.modules.contacts.service import list_contacts

    result = list_contacts(session, kind="person", page_size=25, **kwargs)
    assert len(result.items) <= 25
    return result.total


def test_first_page(benchmark, session: Session) -> None:  # type: ignore[no-untyped-def]
    """The first page of the Personen list (count + 25 rows)."""
    assert benchmark(_page, session, page=1) == CONTACTS


def test_deep_page(benchmark, session: Session) -> None:  # type: ignore[no-untyped-def]
    """A page near the end of the list."""
    assert benchmark(_page, session, page=CONTACTS // 25 - 1) == CONTACTS


def test_search(benchmark, session: Session) -> None:  # type: ignore[no-untyped-def]
    """Search "mueller" finds the Müllers (umlaut-folded search key) and pages them."""
    assert benchmark(_page, session, search="mueller") == CONTACTS // 1000
