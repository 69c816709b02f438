"""One page of a list: the shared result type of every paged list, and paging in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """The items of one page, the number of hits over all pages, and where the page lies."""

    items: list[T]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        """How many pages the hits fill; an empty list still has one (empty) page."""
        return page_count(self.total, self.size)

    @property
    def first(self) -> int:
        """The 1-based number of the first item on this page among all hits (0 when empty)."""
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        """The 1-based number of the last item on this page among all hits (0 when empty)."""
        return (self.page - 1) * self.size + len(self.items) if self.items else 0


def page_count(total: int, size: int) -> int:
    """Pages needed for `total` hits, `size` per page: at least one."""
    return max(1, -(-total // max(1, size)))


def clamp(page: int, total: int, size: int) -> int:
    """The page to show when `page` was asked for: below 1 is 1, beyond the end the last."""
    return min(max(1, page), page_count(total, size))


def count(session: Session, query: Select[Any]) -> int:
    """The number of rows `query` returns, counted in SQL (its ORDER BY dropped)."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def paginate(session: Session, query: Select[T], *, page: int, size: int) -> Page[T]:
    """Count the hits of `query` in SQL and load the one page asked for (clamped to the hits).

    `query` selects one entity or column and carries its ORDER BY; only the page's rows are read.
    """
    size = max(1, size)
    total = count(session, query)
    page = clamp(page, total, size)
    items = list(session.scalars(query.offset((page - 1) * size).limit(size)))
    return Page(items, total, page, size)
