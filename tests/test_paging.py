"""Page and paginate: counted in SQL, one page loaded, a page out of range clamped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, aliased

from kms.modules.bugreports.models import BugReport
from kms.modules.contacts.models import Contact
from kms.paging import Page, clamp, page_count, paginate


def _reports(session: Session, count: int) -> None:
    session.add_all(BugReport(title=f"Fehler {i:02d}", description="kaputt") for i in range(count))
    session.flush()


BY_TITLE = select(BugReport).order_by(BugReport.title)


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    """The SELECT statements the session sends while the block runs."""
    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(" ".join(statement.split()).upper())

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", remember)


def test_page_numbers_and_item_positions() -> None:
    """23 hits at 10 a page are 3 pages; the second shows hits 11 to 20, an empty one 0 to 0."""
    page = Page(items=list(range(10)), total=23, page=2, size=10)
    assert (page.pages, page.first, page.last) == (3, 11, 20)
    last = Page(items=[1, 2, 3], total=23, page=3, size=10)
    assert (last.pages, last.first, last.last) == (3, 21, 23)
    empty: Page[int] = Page(items=[], total=0, page=1, size=10)
    assert (empty.pages, empty.first, empty.last) == (1, 0, 0)
    assert [page_count(n, 10) for n in (0, 1, 10, 11, 20, 21)] == [1, 1, 1, 2, 2, 3]
    assert [clamp(p, 23, 10) for p in (-5, 0, 1, 3, 4, 99)] == [1, 1, 1, 3, 3, 3]


def test_counts_all_hits_and_loads_one_page(session: Session) -> None:
    """The total covers every hit; the items are the asked page in the query's order."""
    _reports(session, 23)
    page = paginate(session, BY_TITLE, page=2, size=10)
    assert (page.total, page.page, page.size, page.pages) == (23, 2, 10, 3)
    assert [r.title for r in page.items] == [f"Fehler {i:02d}" for i in range(10, 20)]
    last = paginate(session, BY_TITLE, page=3, size=10)
    assert [r.title for r in last.items] == ["Fehler 20", "Fehler 21", "Fehler 22"]


@pytest.mark.parametrize(("asked", "shown"), [(0, 1), (-3, 1), (4, 3), (99, 3)])
def test_a_page_out_of_range_is_clamped(session: Session, asked: int, shown: int) -> None:
    """Below 1 shows the first page, beyond the end the last (a filter may shrink the hits)."""
    _reports(session, 23)
    page = paginate(session, BY_TITLE, page=asked, size=10)
    assert page.page == shown
    expected = range(10) if shown == 1 else range(20, 23)
    assert [r.title for r in page.items] == [f"Fehler {i:02d}" for i in expected]


def test_no_hits_give_one_empty_page(session: Session) -> None:
    """An empty result is page 1 of 1, also when a later page was asked for."""
    page = paginate(session, BY_TITLE, page=5, size=10)
    assert (page.items, page.total, page.page, page.pages) == ([], 0, 1, 1)


def test_the_count_runs_in_sql_and_only_the_page_is_read(session: Session) -> None:
    """Two statements: a count without ORDER BY, then the page with LIMIT; 5 of 40 rows load."""
    _reports(session, 40)
    session.commit()
    session.expunge_all()
    with _statements(session) as seen:
        page = paginate(session, BY_TITLE, page=3, size=5)
    assert len(seen) == 2
    count, rows = seen
    assert "COUNT(" in count and "ORDER BY" not in count
    assert "LIMIT" in rows and "OFFSET" in rows and "ORDER BY" in rows
    assert page.total == 40 and len(page.items) == 5
    assert len(session.identity_map) == 5


def test_a_joined_filtered_query_counts_and_orders_its_own_rows(session: Session) -> None:
    """A join and a filter on the joined table narrow the count; its ORDER BY pages stably."""
    acme, other = Contact(kind="organisation", name="Acme"), Contact(kind="organisation", name="B")
    session.add_all([acme, other])
    session.flush()
    session.add_all(
        Contact(kind="person", last_name=f"Person {i:02d}", organisation_id=acme.id)
        for i in range(7)
    )
    session.add_all(
        Contact(kind="person", last_name=f"Fremd {i}", organisation_id=other.id) for i in range(4)
    )
    session.flush()
    org = aliased(Contact)
    query = (
        select(Contact)
        .join(org, Contact.organisation_id == org.id)
        .where(org.name == "Acme")
        .order_by(Contact.last_name.desc(), Contact.id)
    )
    pages = [paginate(session, query, page=n, size=3) for n in (1, 2, 3)]
    assert {(p.total, p.pages) for p in pages} == {(7, 3)}
    names = [c.last_name for p in pages for c in p.items]
    assert names == [f"Person {i:02d}" for i in reversed(range(7))]


def test_a_column_query_pages_plain_values(session: Session) -> None:
    """Selecting one column gives a page of its values."""
    _reports(session, 4)
    page = paginate(
        session, select(BugReport.title).order_by(BugReport.title.desc()), page=1, size=3
    )
    assert (page.items, page.total, page.pages) == (["Fehler 03", "Fehler 02", "Fehler 01"], 4, 2)
