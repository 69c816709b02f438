"""Quotes: golden totals at 19 % and 7 %, the AN number range, derived "abgelaufen",
immutability once sent, the customer's answer, and German messages for bad input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from kms.errors import KmsError, ValidationErrors
from kms.modules.invoices import service as invoices
from kms.modules.invoices.models import NumberCounter
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.quotes.models import (
    ACCEPTED,
    EXPIRED,
    REJECTED,
    SENT,
    ImmutableQuoteError,
    Quote,
    QuoteLine,
)
from tests.modules.invoices.conftest import ISSUE_DAY, line

TWO_RATES = [
    line("Beratung", "3", "100.00", "S19"),
    line("Fachbuch", "2", "12.3450", "S7", unit="C62"),
    line(
        "Workshop",
        "1",
        "250.00",
        "S19",
        discount_kind="percent",
        discount_value="10",
        discount_reason="Treuerabatt",
    ),
]


def test_golden_totals_at_19_and_7_percent_match_an_invoice_draft(
    session, make_quote, make_draft
) -> None:
    quote = make_quote(TWO_RATES)
    # 300,00 + 225,00 (250 − 10 %) at 19 %; 2 × 12,345 = 24,69 at 7 %.
    assert [ln.net for ln in quote.lines] == [
        Decimal("300.00"),
        Decimal("24.69"),
        Decimal("225.00"),
    ]
    assert quote.net_total == Decimal("549.69")
    # 19 % of 525,00 = 99,75; 7 % of 24,69 = 1,7283 → 1,73
    assert quote.tax_total == Decimal("101.48")
    assert quote.gross_total == Decimal("651.17")
    draft = make_draft(TWO_RATES)
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        quote.net_total,
        quote.tax_total,
        quote.gross_total,
    )


def test_default_valid_until_is_thirty_days_after_the_draft(make_quote) -> None:
    quote = make_quote()
    assert quote.valid_until == ISSUE_DAY + timedelta(days=30)
    assert quote.status == "entwurf" and quote.number is None


def test_numbers_are_gapless_per_year_in_their_own_range(session, make_quote, send) -> None:
    first = send(make_quote())
    empty = make_quote([])
    with pytest.raises(KmsError, match="Das Angebot hat keine Positionen"):
        quotes.finalize_quote(session, empty.id, day=ISSUE_DAY)
    session.rollback()
    second = send(make_quote())
    next_year = send(
        make_quote(as_of=date(2027, 1, 4)),
        day=date(2027, 1, 4),
    )
    assert [first.number, second.number, next_year.number] == [
        "AN-2026-0001",
        "AN-2026-0002",
        "AN-2027-0001",
    ]
    assert first.quote_date == ISSUE_DAY and first.status == SENT
    counters = {
        (c.range_key, c.period): c.last_number for c in session.scalars(select(NumberCounter))
    }
    assert counters == {("angebot", 2026): 2, ("angebot", 2027): 1}  # no invoice number taken


def test_a_quote_dated_before_the_last_one_is_refused_naming_the_angebotsdatum(
    session, make_quote, send
) -> None:
    send(make_quote(), day=date(2026, 3, 5))
    late = make_quote()
    with pytest.raises(KmsError) as raised:
        quotes.finalize_quote(session, late.id, day=date(2026, 3, 4))
    assert str(raised.value) == (
        "Das Angebotsdatum 04.03.2026 liegt vor dem Datum des zuletzt abgeschlossenen "
        "Angebots dieses Nummernkreises (05.03.2026)."
    )
    session.rollback()
    assert session.get(Quote, late.id).number is None


def test_expired_is_derived_from_valid_until_never_stored(session, make_quote, send) -> None:
    quote = send(make_quote(valid_until=date(2026, 3, 31)))
    assert quote.status_on(date(2026, 3, 31)) == SENT
    assert quote.status_on(date(2026, 4, 1)) == EXPIRED
    on_time = quotes.list_quotes(session, status=EXPIRED, day=date(2026, 3, 31))
    late = quotes.list_quotes(session, status=EXPIRED, day=date(2026, 4, 1))
    assert on_time.total == 0
    assert [(r.number, r.status_label) for r in late.items] == [("AN-2026-0001", "abgelaufen")]
    session.expire_all()
    assert session.get(Quote, quote.id).status == SENT


def test_a_sent_quote_cannot_change_but_records_the_answer(session, make_quote, send) -> None:
    quote = send(make_quote(TWO_RATES))
    with pytest.raises(ImmutableQuoteError, match="versendetes Angebot kann nicht"):
        quotes.save_quote(
            session,
            quote_id=quote.id,
            contact_id=quote.contact_id,
            lines=[line()],
            as_of=ISSUE_DAY,
        )
    session.rollback()
    quote = session.get(Quote, quote.id)
    quote.intro_text = "Neuer Text"
    with pytest.raises(ImmutableQuoteError):
        session.flush()
    session.rollback()
    quote = session.get(Quote, quote.id)
    quote.lines[0].unit_price = Decimal("1")
    with pytest.raises(ImmutableQuoteError):
        session.flush()
    session.rollback()
    quote = session.get(Quote, quote.id)
    quote.lines.append(QuoteLine(position=4, description="Nachtrag"))
    with pytest.raises(ImmutableQuoteError):
        session.flush()
    session.rollback()
    with pytest.raises(ImmutableQuoteError):
        quotes.delete_quote(session, quote.id)
    session.rollback()
    session.rollback()
    accepted = quotes.accept_quote(session, quote.id, day=date(2026, 3, 10))
    session.commit()
    assert (accepted.status, accepted.accepted_on) == (ACCEPTED, date(2026, 3, 10))
    assert accepted.gross_total == Decimal("651.17")


def test_only_a_sent_quote_is_answered(session, make_quote, send) -> None:
    draft = make_quote()
    with pytest.raises(KmsError, match="Nur ein versendetes Angebot"):
        quotes.accept_quote(session, draft.id, day=ISSUE_DAY)
    rejected = quotes.reject_quote(session, send(draft).id, day=date(2026, 3, 5))
    assert (rejected.status, rejected.rejected_on) == (REJECTED, date(2026, 3, 5))
    with pytest.raises(KmsError, match="ist abgelehnt"):
        quotes.accept_quote(session, draft.id, day=date(2026, 3, 6))


def test_bad_input_gets_german_messages_and_saves_nothing(session, make_quote, customer) -> None:
    with pytest.raises(ValidationErrors) as caught:
        quotes.save_quote(
            session,
            contact_id=customer.id,
            valid_until=date(2026, 3, 1),
            lines=[line(quantity="0")],
            as_of=ISSUE_DAY,
        )
    messages = " ".join(caught.value.errors.values())
    assert "„Gültig bis“ (01.03.2026) liegt in der Vergangenheit" in messages
    assert "Position 1: Bitte eine Menge angeben" in messages
    with pytest.raises(ValidationErrors, match="Bitte einen Kunden wählen"):
        quotes.save_quote(session, lines=[line()], as_of=ISSUE_DAY)
    session.rollback()
    assert session.scalar(select(Quote)) is None
    stale = make_quote(valid_until=date(2026, 3, 3))
    with pytest.raises(
        KmsError, match=r"„Gültig bis“ \(03\.03\.2026\) liegt vor dem Angebotsdatum"
    ):
        quotes.finalize_quote(session, stale.id, day=date(2026, 3, 4))
    session.rollback()
    assert session.get(Quote, stale.id).number is None


def test_a_contact_with_quotes_counts_as_referenced(session, make_quote, customer) -> None:
    assert invoices.count_invoices_for_contact(session, customer.id) == 0
    make_quote()
    assert invoices.count_invoices_for_contact(session, customer.id) == 1


def test_the_list_pages_and_searches_in_sql(session, make_quote, send) -> None:
    for n in range(3):
        make_quote([line(f"Leistung {n}")])
    send(make_quote([line("Sonderleistung")]))
    page = quotes.list_quotes(session, page_size=2, day=ISSUE_DAY)
    assert page.total == 4 and len(page.items) == 2 and page.pages == 2
    assert page.items[0].status_label == "Entwurf"  # drafts first
    found = quotes.list_quotes(session, search="sonder", day=ISSUE_DAY)
    assert [r.number for r in found.items] == ["AN-2026-0001"]
    assert quotes.list_quotes(session, search="an-2026-0001", day=ISSUE_DAY).total == 1


def test_the_quote_range_is_configurable_and_kept_apart(session, make_quote, send) -> None:
    from kms.modules.invoices import config

    with pytest.raises(ValidationErrors, match="Angebote brauchen einen eigenen Nummernkreis"):
        config.save_settings(session, quote_format="RE-{JJJJ}-{NNNN}")
    config.save_settings(session, quote_format="ANG-{JJJJ}/{NNN}", quote_valid_days=14)
    quote = make_quote()
    assert quote.valid_until == ISSUE_DAY + timedelta(days=14)
    assert send(quote).number == "ANG-2026/001"
