"""Key figures of Rechnungen for the Übersicht page: open and overdue amounts, turnover, drafts.

Everything is summed in SQL over the derived status (kms.modules.invoices.service), so the
figures agree with the list's filters and sums to the cent. The sums are reused while
invoices and payments are unchanged (kms.querycache), so a rerun of the Übersicht does not
aggregate every invoice again.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kms import querycache
from kms.formatting import count_noun, format_money
from kms.modules.invoices.models import Invoice, Payment
from kms.modules.invoices.service import (
    OPEN_STATUSES,
    STANDING_STATUSES,
    status_source,
    today,
)
from kms.registry import Figure
from kms.types import from_cents, raw_cents


def _invoices(count: int) -> str:
    return count_noun(count, "Rechnung", "Rechnungen")


def _by_status(session: Session, day: date) -> dict[str, tuple[int, int, int, int]]:
    """Per derived status: count, open cents, net cents and count issued in `day`'s year."""
    facts = status_source(day)
    in_year = Invoice.issue_date.between(date(day.year, 1, 1), date(day.year, 12, 31))
    per_invoice = (
        select(
            facts.status.label("status"),
            facts.open.label("open_cents"),
            case((in_year, raw_cents(Invoice.net_total)), else_=0).label("year_net_cents"),
            case((in_year, 1), else_=0).label("in_year"),
        )
        .select_from(facts.source)
        .subquery()
    )
    rows = session.execute(
        select(
            per_invoice.c.status,
            func.count(),
            func.coalesce(func.sum(per_invoice.c.open_cents), 0),
            func.coalesce(func.sum(per_invoice.c.year_net_cents), 0),
            func.coalesce(func.sum(per_invoice.c.in_year), 0),
        ).group_by(per_invoice.c.status)
    ).all()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def overview(session: Session, day: date | None = None) -> list[Figure]:
    """Offene Posten, Überfällig, Umsatz (netto) of the current year and Entwürfe."""
    day = day or today()
    by_status = querycache.cached(
        session,
        ("invoices.overview", day),
        (Invoice.__table__, Payment.__table__),
        lambda: _by_status(session, day),
    )

    def total(statuses: tuple[str, ...], index: int) -> int:
        return sum(by_status.get(s, (0, 0, 0, 0))[index] for s in statuses)

    open_count, overdue_count = total(OPEN_STATUSES, 0), total(("ueberfaellig",), 0)
    year_net: Decimal = from_cents(total(STANDING_STATUSES, 2))
    drafts = total(("entwurf",), 0)
    return [
        Figure(
            "Offene Rechnungen",
            format_money(from_cents(total(OPEN_STATUSES, 1))),
            _invoices(open_count),
            page="rechnungen",
        ),
        Figure(
            "Überfällig",
            format_money(from_cents(total(("ueberfaellig",), 1))),
            _invoices(overdue_count),
            page="rechnungen",
            attention=overdue_count > 0,
        ),
        Figure(
            f"Umsatz {day.year} (netto)",
            format_money(year_net),
            f"aus {_invoices(total(STANDING_STATUSES, 3))}",
            page="rechnungen",
        ),
        Figure(
            "Rechnungsentwürfe",
            str(drafts),
            "noch nicht abgeschlossen" if drafts else "keine offenen Entwürfe",
            page="rechnungen",
        ),
    ]
