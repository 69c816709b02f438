"""Übersicht figures of Rechnungen: open, overdue, turnover of the year and drafts, to the cent."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from kms.modules.invoices import issuing, payments
from kms.modules.invoices.overview import overview
from kms.registry import overview_providers
from tests.modules.invoices.conftest import ISSUE_DAY, line

NBSP = "\xa0"


def _figures(session, day):
    session.expire_all()
    return {f.label: (f.value, f.detail, f.attention) for f in overview(session, day)}


def test_empty_instance_shows_zeros(session, seller) -> None:
    """Without invoices every figure is zero, nothing asks for attention."""
    figures = _figures(session, ISSUE_DAY)
    assert figures == {
        "Offene Rechnungen": (f"0,00{NBSP}€", "0 Rechnungen", False),
        "Überfällig": (f"0,00{NBSP}€", "0 Rechnungen", False),
        "Umsatz 2026 (netto)": (f"0,00{NBSP}€", "aus 0 Rechnungen", False),
        "Rechnungsentwürfe": ("0", "keine offenen Entwürfe", False),
    }


def test_figures_follow_payments_due_dates_and_cancellations(session, make_draft, issue) -> None:
    """Open = gross minus payments of standing invoices; overdue by due date; a cancelled
    invoice and its Storno count nowhere; the year's turnover is net; drafts are counted."""
    # Issued a year earlier (numbers ascend with the date): open and overdue, but not
    # part of this year's turnover.
    old = issue(
        make_draft(
            [line("Altauftrag", "1", "1000.00")],
            service_date=date(2025, 6, 2),
            as_of=date(2025, 6, 2),
        ),
        day=date(2025, 6, 2),
    )
    # 3 × 100,00 net + 19 % = 357,00 gross, due 14 days after ISSUE_DAY.
    partly = issue(make_draft([line("Beratung", "3", "100.00")]))
    payments.record_payment(session, partly.id, paid_on=ISSUE_DAY, amount="57,00")
    session.commit()
    # 1 × 24,90 net at 7 % = 26,64 gross; paid in full.
    paid = issue(make_draft([line("Fachbuch", "1", "24.90", "S7", "C62")]))
    payments.record_payment(session, paid.id, paid_on=ISSUE_DAY, amount="26,64")
    session.commit()
    # 2 × 0,3333 net → 0,67 net, 0,13 VAT, 0,80 gross; cancelled again.
    cancelled = issue(make_draft([line("Kleinteil", "2", "0.3333", "S19", "C62")]))
    issuing.cancel(session, cancelled.id, issue_date=ISSUE_DAY)
    session.commit()
    make_draft([line("Entwurf", "1", "5.00")])

    assert [partly.gross_total, paid.gross_total, old.gross_total] == [
        Decimal("357.00"),
        Decimal("26.64"),
        Decimal("1190.00"),
    ]
    before_due = _figures(session, ISSUE_DAY)
    assert before_due["Offene Rechnungen"] == (f"1.490,00{NBSP}€", "2 Rechnungen", False)
    assert before_due["Überfällig"] == (f"1.190,00{NBSP}€", "1 Rechnung", True)
    assert before_due["Umsatz 2026 (netto)"] == (f"324,90{NBSP}€", "aus 2 Rechnungen", False)
    assert before_due["Rechnungsentwürfe"] == ("1", "noch nicht abgeschlossen", False)

    after_due = _figures(session, ISSUE_DAY + timedelta(days=15))
    assert after_due["Offene Rechnungen"] == (f"1.490,00{NBSP}€", "2 Rechnungen", False)
    assert after_due["Überfällig"] == (f"1.490,00{NBSP}€", "2 Rechnungen", True)

    next_year = _figures(session, date(2027, 1, 4))
    assert next_year["Umsatz 2027 (netto)"] == (f"0,00{NBSP}€", "aus 0 Rechnungen", False)


def test_invoices_register_their_figures_for_the_start_page(session: Session) -> None:
    assert ("Rechnungen", overview) in [(t, f) for t, f in overview_providers(session)]


def test_figures_are_reused_until_invoices_or_payments_change(session, make_draft, issue) -> None:
    """The sums are computed once while nothing changes, and follow every kind of write: a
    payment, a new and a deleted draft, an issued invoice; a rolled-back payment never
    reaches the cache, not even when a later payment takes its id."""
    from sqlalchemy import update

    from kms import querycache
    from kms.modules.invoices import service
    from kms.modules.invoices.models import Payment

    invoice = issue(make_draft([line("Beratung", "3", "100.00")]))  # 357,00 gross
    querycache.clear()

    def open_figure() -> tuple[str, str]:
        session.commit()
        value, detail, _ = _figures(session, ISSUE_DAY)["Offene Rechnungen"]
        return value, detail

    assert open_figure() == (f"357,00{NBSP}€", "1 Rechnung")
    assert open_figure() == (f"357,00{NBSP}€", "1 Rechnung")
    assert querycache.stats() == {"hits": 1, "misses": 1}

    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="57,00")
    assert _figures(session, ISSUE_DAY)["Offene Rechnungen"][0] == f"300,00{NBSP}€"
    session.rollback()  # computed inside the writing transaction: not stored
    assert open_figure() == (f"357,00{NBSP}€", "1 Rechnung")
    payments.record_payment(session, invoice.id, paid_on=ISSUE_DAY, amount="157,00")
    assert open_figure() == (f"200,00{NBSP}€", "1 Rechnung")
    # A bulk UPDATE through the session skips the flush: the cache stays out of it as well.
    session.execute(update(Payment).where(Payment.id == -1).values(note=""))
    counted = querycache.stats()
    assert _figures(session, ISSUE_DAY)["Offene Rechnungen"][0] == f"200,00{NBSP}€"
    assert querycache.stats() == counted  # neither looked up nor stored
    session.rollback()

    draft = make_draft([line("Entwurf", "1", "5.00")])
    assert _figures(session, ISSUE_DAY)["Rechnungsentwürfe"][0] == "1"
    service.delete_draft(session, draft.id)
    session.commit()
    assert _figures(session, ISSUE_DAY)["Rechnungsentwürfe"][0] == "0"
    issue(make_draft([line("Beratung", "1", "100.00")]))  # 119,00 gross
    assert open_figure() == (f"319,00{NBSP}€", "2 Rechnungen")


def test_list_sums_are_reused_per_filter_and_never_for_searches(session, make_draft, issue) -> None:
    """The Rechnungen list's count and sums come from the cache per status and year only; a
    search or a customer (alone or with a status) is always counted afresh."""
    from kms import querycache
    from kms.modules.invoices import service

    first = issue(make_draft([line("Beratung", "3", "100.00")]))  # 357,00
    issue(make_draft([line("Fachbuch", "1", "24.90", "S7", "C62")]))  # 26,64
    session.commit()
    querycache.clear()

    def listed(**filters) -> tuple[int, Decimal, Decimal]:
        page = service.list_invoices(session, day=ISSUE_DAY, **filters)
        session.commit()
        return page.page.total, page.sum_gross, page.sum_open

    assert listed(status="offen") == (2, Decimal("383.64"), Decimal("383.64"))
    assert listed(status="offen", search=first.number) == (1, Decimal("357.00"), Decimal("357.00"))
    assert listed(status="offen", contact_id=first.contact_id)[0] == 2
    assert listed(status="offen") == (2, Decimal("383.64"), Decimal("383.64"))
    assert listed(year=2026) == (2, Decimal("383.64"), Decimal("383.64"))
    assert listed(year=2025) == (0, Decimal("0.00"), Decimal("0.00"))
    assert querycache.stats() == {"hits": 1, "misses": 3}
