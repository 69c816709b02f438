"""The aggregate-join SQL behind the overdue automatism, the Rechnungen list and the Übersicht
returns exactly what a plain Python walk over every invoice and payment says.

The instance is a small bench-data instance (full, two-part and partial payments,
Stornorechnungen, invoices due on the very day) plus drafts and an overpayment made through
the real services, checked on several days around due dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.benchdata import Scale, generate
from kms.db import session_factory
from kms.formatting import count_noun, format_money
from kms.modules.contacts.models import Contact
from kms.modules.invoices import payments, service
from kms.modules.invoices.models import Invoice, Payment
from kms.modules.invoices.overview import overview
from tests.modules.invoices.conftest import line

TODAY = date(2026, 6, 15)
TINY = Scale(contacts=40, invoices=400, lines=1000, payments=240, documents=5, letters=5, years=2)
STANDING = ("offen", "teilweise", "ueberfaellig", "bezahlt")


@dataclass
class Ref:
    """One invoice as the Python reference sees it."""

    id: int
    number: str | None
    kind: str
    issued: bool
    issue_date: date | None
    due_date: date | None
    gross: Decimal
    net: Decimal
    paid: Decimal
    cancelled: bool
    customer: str
    search: str

    def status(self, day: date) -> str:
        if not self.issued:
            return "entwurf"
        if self.kind == "storno":
            return "storno"
        if self.cancelled:
            return "storniert"
        if self.paid >= self.gross:
            return "bezahlt"
        if self.due_date is not None and self.due_date < day:
            return "ueberfaellig"
        if self.paid > 0:
            return "teilweise"
        return "offen"

    def open(self, day: date) -> Decimal:
        if self.status(day) in ("offen", "teilweise", "ueberfaellig"):
            return self.gross - self.paid
        return Decimal("0.00")


def reference(session: Session) -> list[Ref]:
    """Every invoice with its payments and cancellation, computed row by row in Python."""
    paid: dict[int, Decimal] = {}
    for p in session.scalars(select(Payment)):
        paid[p.invoice_id] = paid.get(p.invoice_id, Decimal("0.00")) + (
            p.amount - p.overpayment + p.skonto
        )
    invoices = list(session.scalars(select(Invoice)))
    cancelled = {i.cancels_id for i in invoices if i.cancels_id}
    contacts = {c.id: c for c in session.scalars(select(Contact))}
    return [
        Ref(
            id=i.id,
            number=i.number,
            kind=i.kind,
            issued=i.issued_at is not None,
            issue_date=i.issue_date,
            due_date=i.due_date,
            gross=i.gross_total,
            net=i.net_total,
            paid=paid.get(i.id, Decimal("0.00")),
            cancelled=i.id in cancelled,
            customer=contacts[i.contact_id].display_name,
            search=" ".join(
                [i.search_key, (i.number or "").lower(), contacts[i.contact_id].search_key]
            ),
        )
        for i in invoices
    ]


def list_order(refs: list[Ref]) -> list[Ref]:
    """Drafts on top, then newest Rechnungsdatum first, then highest id."""
    issued = sorted((r for r in refs if r.issued), key=lambda r: (r.issue_date, r.id), reverse=True)
    drafts = sorted((r for r in refs if not r.issued), key=lambda r: r.id, reverse=True)
    return drafts + issued


@pytest.fixture
def instance(db_url: str) -> Iterator[Session]:
    """A tiny bench-data instance plus drafts and an overpayment through the services."""
    generate(TINY, today=TODAY)
    session = session_factory(db_url)()
    try:
        contact_id = session.scalar(select(Contact.id).order_by(Contact.id).limit(1))
        for n in range(3):
            service.save_draft(
                session, contact_id=contact_id, lines=[line(f"Entwurf {n}")], as_of=TODAY
            )
        unpaid = [r for r in reference(session) if r.status(TODAY) == "ueberfaellig"]
        target = unpaid[0]
        payments.record_payment(
            session,
            target.id,
            paid_on=min(TODAY, date.today()),
            amount=target.gross + Decimal("5.00"),
            overpayment=True,
        )
        session.commit()
        yield session
    finally:
        session.rollback()
        session.close()


def _days(refs: list[Ref]) -> list[date]:
    """Today plus the edges of a due date: the day itself (not yet overdue) and the next."""
    due = sorted({r.due_date for r in refs if r.due_date and r.kind == "rechnung"})
    edge = due[len(due) // 2]
    return [TODAY, edge, edge + timedelta(days=1)]


def test_instance_has_every_case(instance: Session) -> None:
    """The data holds partial, full and overpaid invoices, Stornos, drafts and overdue ones."""
    refs = reference(instance)
    statuses = {r.status(TODAY) for r in refs}
    assert statuses == {
        "entwurf",
        "storno",
        "storniert",
        "bezahlt",
        "ueberfaellig",
        "teilweise",
        "offen",
    }


def test_overdue_invoices_match_the_python_reference(instance: Session) -> None:
    """Same invoices in the same order (due date, id); a due date of today is not overdue."""
    refs = reference(instance)
    for day in _days(refs):
        expected = sorted(
            (r for r in refs if r.status(day) == "ueberfaellig"), key=lambda r: (r.due_date, r.id)
        )
        got = payments.overdue_invoices(instance, day)
        assert [(o.id, o.number, o.due_date) for o in got] == [
            (r.id, r.number, r.due_date) for r in expected
        ]
        assert all(o.due_date < day for o in got)


@pytest.mark.parametrize(
    "status", [None, "entwurf", "offen", "teilweise", "bezahlt", "ueberfaellig", "storniert"]
)
def test_list_pages_and_sums_match_the_python_reference(instance: Session, status) -> None:
    """Count, sums, and first, middle and last page of every status filter agree to the cent."""
    refs = reference(instance)
    for day in _days(refs):
        chosen = [r for r in refs if status is None or r.status(day) == status]
        ordered = list_order(chosen)
        found = service.list_invoices(instance, status=status, day=day, page_size=20)
        assert found.page.total == len(chosen)
        standing = ("offen", "teilweise", "ueberfaellig", "bezahlt")
        assert found.sum_gross == sum(
            (r.gross for r in chosen if r.status(day) in standing), Decimal("0.00")
        )
        assert found.sum_open == sum((r.open(day) for r in chosen), Decimal("0.00"))
        pages = found.page.pages
        for number in sorted({1, (pages + 1) // 2, pages}):
            rows = service.list_invoices(
                instance, status=status, day=day, page=number, page_size=20
            ).page.items
            expected = ordered[(number - 1) * 20 : number * 20]
            assert [(r.id, r.status, r.open, r.gross, r.customer) for r in rows] == [
                (e.id, e.status(day), e.open(day), e.gross, e.customer) for e in expected
            ]


@pytest.mark.parametrize("search", ["müller", "RE-2026-00", "beratung muster", "kein treffer"])
def test_search_matches_the_python_reference(instance: Session, search: str) -> None:
    """A search finds the same invoices with the same sums as a substring walk in Python."""
    from kms.modules.contacts.service import search_key

    refs = reference(instance)
    terms = search_key(search).split()
    chosen = [r for r in refs if all(t in r.search for t in terms)]
    found = service.list_invoices(instance, search=search, day=TODAY, page_size=500)
    assert sorted(r.id for r in found.page.items) == sorted(r.id for r in chosen)
    assert found.page.total == len(chosen)
    assert found.sum_open == sum((r.open(TODAY) for r in chosen), Decimal("0.00"))
    assert found.sum_gross == sum(
        (r.gross for r in chosen if r.status(TODAY) in STANDING), Decimal("0.00")
    )


def test_one_customers_list_matches_the_python_reference(instance: Session) -> None:
    """The contact panel's list (one customer, sums over per-row subqueries) agrees too."""
    refs = reference(instance)
    by_contact = {}
    for invoice in instance.scalars(select(Invoice)):
        by_contact.setdefault(invoice.contact_id, []).append(invoice.id)
    contact_id = max(by_contact, key=lambda c: len(by_contact[c]))
    chosen = [r for r in refs if r.id in set(by_contact[contact_id])]
    found = service.list_invoices(instance, contact_id=contact_id, day=TODAY, page_size=500)
    assert [r.id for r in found.page.items] == [r.id for r in list_order(chosen)]
    assert [r.status for r in found.page.items] == [r.status(TODAY) for r in list_order(chosen)]
    assert found.sum_open == sum((r.open(TODAY) for r in chosen), Decimal("0.00"))
    assert found.sum_gross == sum(
        (r.gross for r in chosen if r.status(TODAY) in STANDING), Decimal("0.00")
    )


def test_single_invoice_status_agrees_with_the_list(instance: Session) -> None:
    """status_of (per-row subqueries) and the list (aggregate join) never disagree."""
    refs = reference(instance)
    listed = {
        r.id: r.status
        for r in service.list_invoices(instance, day=TODAY, page_size=1000).page.items
    }
    for ref in refs[::7]:
        invoice = instance.get(Invoice, ref.id)
        assert service.status_of(instance, invoice, TODAY) == listed[ref.id] == ref.status(TODAY)


def test_overview_matches_the_python_reference(instance: Session) -> None:
    """Offene Rechnungen, Überfällig, Umsatz of the year and Entwürfe equal the Python sums."""
    refs = reference(instance)
    day = TODAY
    open_refs = [r for r in refs if r.status(day) in ("offen", "teilweise", "ueberfaellig")]
    overdue = [r for r in refs if r.status(day) == "ueberfaellig"]
    standing_year = [
        r
        for r in refs
        if r.status(day) in ("offen", "teilweise", "ueberfaellig", "bezahlt")
        and r.issue_date is not None
        and r.issue_date.year == day.year
    ]
    figures = {f.label: (f.value, f.detail) for f in overview(instance, day)}

    def invoices(n: int) -> str:
        return count_noun(n, "Rechnung", "Rechnungen")

    assert figures["Offene Rechnungen"] == (
        format_money(sum((r.open(day) for r in open_refs), Decimal("0.00"))),
        invoices(len(open_refs)),
    )
    assert figures["Überfällig"] == (
        format_money(sum((r.open(day) for r in overdue), Decimal("0.00"))),
        invoices(len(overdue)),
    )
    assert figures[f"Umsatz {day.year} (netto)"] == (
        format_money(sum((r.net for r in standing_year), Decimal("0.00"))),
        f"aus {invoices(len(standing_year))}",
    )
    assert figures["Rechnungsentwürfe"][0] == str(sum(1 for r in refs if not r.issued))


def _statements(session: Session) -> list[str]:
    """Collects the SQL statements a session's engine runs (for query-shape assertions)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    return seen


def test_overdue_invoices_reads_no_positions(instance: Session) -> None:
    """One statement, and no invoice objects with their lines (the automatism's old cost)."""
    instance.expire_all()
    seen = _statements(instance)
    assert payments.overdue_invoices(instance, TODAY)
    selects = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1
    assert "invoice_lines" not in selects[0]
    assert "invoice_payments" in selects[0]


def test_a_complete_number_finds_exactly_that_invoice(instance: Session) -> None:
    """A complete invoice number (typed in any case) is looked up by the unique index and
    still combines with other words; part of a number stays a substring search."""
    refs = [r for r in reference(instance) if r.number]
    target = refs[len(refs) // 2]
    for typed in (target.number, target.number.lower()):
        found = service.list_invoices(instance, search=typed, day=TODAY)
        assert [r.id for r in found.page.items] == [target.id]
        assert found.sum_gross == (target.gross if target.status(TODAY) in STANDING else 0)
    assert service.list_invoices(instance, search=f"{target.number} kein-treffer").page.total == 0
    prefix = target.number[:-1]
    expected = sorted(r.id for r in refs if prefix.lower() in r.search)
    found = service.list_invoices(instance, search=prefix, day=TODAY, page_size=500)
    assert sorted(r.id for r in found.page.items) == expected and len(expected) > 1


def test_a_search_by_number_is_one_statement_that_agrees_with_the_reference(
    instance: Session,
) -> None:
    """Searching one complete number answers with a single indexed statement (no count, no
    sums, no number check), with the status, open amount, customer and sums of the Python
    reference, for an invoice of every status; a page beyond the hits shows the hit."""
    refs = [r for r in reference(instance) if r.number]
    one_of_each: dict[str, Ref] = {}
    for ref in refs:
        one_of_each.setdefault(ref.status(TODAY), ref)
    assert {"offen", "teilweise", "ueberfaellig", "bezahlt", "storniert", "storno"} <= set(
        one_of_each
    )
    seen = _statements(instance)
    for ref in one_of_each.values():
        seen.clear()
        found = service.list_invoices(instance, search=f"  {ref.number.lower()} ", day=TODAY)
        assert len(seen) == 1 and "invoices.number IN" in seen[0]
        assert [(r.id, r.status, r.open, r.gross, r.customer) for r in found.page.items] == [
            (ref.id, ref.status(TODAY), ref.open(TODAY), ref.gross, ref.customer)
        ]
        assert (found.page.total, found.page.page) == (1, 1)
        assert found.sum_open == ref.open(TODAY)
        assert found.sum_gross == (ref.gross if ref.status(TODAY) in STANDING else 0)
        # Beyond the hits: the last page, as the general path clamps.
        assert service.list_invoices(instance, search=ref.number, page=3).page.page == 1
    # A word with digits that numbers no invoice costs the one extra statement and then
    # searches substrings like any word.
    seen.clear()
    prefix = refs[0].number[:-1]
    found = service.list_invoices(instance, search=prefix, day=TODAY, page_size=500)
    assert found.page.total == sum(1 for r in refs if prefix.lower() in r.search)
    assert len(seen) == 3
