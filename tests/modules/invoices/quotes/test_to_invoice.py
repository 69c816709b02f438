"""▶ In Rechnung übernehmen: an invoice draft with all or some positions, linked both ways;
refused in German for drafts, rejected and expired quotes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from kms.audit import AuditEvent
from kms.errors import KmsError
from kms.modules.invoices import issuing
from kms.modules.invoices import service as invoices
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.quotes.models import ACCEPTED
from tests.modules.invoices.conftest import ISSUE_DAY, line

LINES = [
    line("Konzept", "2", "400.00", "S19"),
    line("Druck", "100", "1.5000", "S7", unit="C62"),
    line("Versand", "1", "20.00", "S19"),
]


def test_a_subset_becomes_an_invoice_draft_linked_both_ways(
    session, make_quote, send, issue
) -> None:
    quote = send(make_quote(LINES))
    quotes.accept_quote(session, quote.id, day=date(2026, 3, 3))
    draft = quotes.to_invoice(session, quote.id, positions=[1, 2], as_of=date(2026, 3, 4))
    session.commit()
    assert not draft.is_issued and draft.contact_id == quote.contact_id
    assert [(ln.description, ln.quantity, ln.unit_price, ln.tax_rate) for ln in draft.lines] == [
        ("Konzept", Decimal("2"), Decimal("400.00"), Decimal("19.00")),
        ("Druck", Decimal("100"), Decimal("1.5000"), Decimal("7.00")),
    ]
    # 800,00 + 152,00 VAT; 150,00 + 10,50 VAT
    assert (draft.net_total, draft.tax_total, draft.gross_total) == (
        Decimal("950.00"),
        Decimal("162.50"),
        Decimal("1112.50"),
    )
    assert "Angebot AN-2026-0001 vom 02.03.2026" in draft.intro_text
    rest = quotes.to_invoice(session, quote.id, positions=[3], again=True, as_of=date(2026, 3, 4))
    session.commit()
    assert [inv.id for inv in quotes.invoices_of(session, quote.id)] == [draft.id, rest.id]
    assert quotes.quote_of(session, draft.id).number == "AN-2026-0001"
    # The draft is an ordinary invoice draft: it is completed and issued as usual, and the
    # issued invoice still names its quote.
    invoices.save_draft(
        session,
        invoice_id=draft.id,
        contact_id=draft.contact_id,
        service_date=date(2026, 3, 4),
        intro_text=draft.intro_text,
        lines=[quotes.line_values(ln) for ln in quote.lines[:2]],
        as_of=date(2026, 3, 4),
    )
    session.commit()
    issued = issue(draft, date(2026, 3, 5))
    assert issued.number == "RE-2026-0001"
    assert quotes.quote_of(session, issued.id).id == quote.id
    # Deleting a draft made from the quote drops its link, not the quote.
    invoices.delete_draft(session, rest.id)
    session.commit()
    assert [inv.id for inv in quotes.invoices_of(session, quote.id)] == [draft.id]


def test_a_sent_quote_within_its_validity_is_taken_over_whole(session, make_quote, send) -> None:
    quote = send(make_quote(LINES))
    draft = quotes.to_invoice(session, quote.id, as_of=ISSUE_DAY)
    assert draft.gross_total == quote.gross_total == Decimal("1136.30")


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("entwurf", "Nur ein versendetes oder angenommenes Angebot .* ist Entwurf"),
        ("abgelehnt", "Nur ein versendetes oder angenommenes Angebot .* ist abgelehnt"),
        ("abgelaufen", "ist abgelaufen. Hat der Kunde es noch angenommen"),
    ],
)
def test_other_quotes_are_refused_in_german(session, make_quote, send, state, message) -> None:
    quote = make_quote(LINES, valid_until=date(2026, 3, 20))
    if state != "entwurf":
        quote = send(quote)
    if state == "abgelehnt":
        quotes.reject_quote(session, quote.id, day=date(2026, 3, 5))
        session.commit()
    day = date(2026, 3, 21) if state == "abgelaufen" else ISSUE_DAY
    with pytest.raises(KmsError, match=message):
        quotes.to_invoice(session, quote.id, as_of=day)
    session.rollback()
    assert quotes.invoices_of(session, quote.id) == []


def test_positions_must_exist_and_not_be_empty(session, make_quote, send) -> None:
    quote = send(make_quote(LINES))
    with pytest.raises(KmsError, match="Das Angebot hat keine Position 7"):
        quotes.to_invoice(session, quote.id, positions=[1, 7], as_of=ISSUE_DAY)
    with pytest.raises(KmsError, match="Bitte mindestens eine Position wählen"):
        quotes.to_invoice(session, quote.id, positions=[], as_of=ISSUE_DAY)


def test_a_second_take_over_names_the_invoices_and_needs_confirming(
    session, make_quote, send
) -> None:
    quote = send(make_quote(LINES))
    first = quotes.to_invoice(session, quote.id, positions=[1], as_of=ISSUE_DAY)
    session.commit()
    warning = (
        f"Aus Angebot AN-2026-0001 wurde bereits eine Rechnung erstellt (Entwurf {first.id}). "
        "Eine weitere Übernahme berechnet die Positionen womöglich doppelt: bitte "
        "ausdrücklich bestätigen."
    )
    assert quotes.already_invoiced(session, quote.id) == warning
    with pytest.raises(KmsError) as raised:
        quotes.to_invoice(session, quote.id, positions=[2], as_of=ISSUE_DAY)
    assert str(raised.value) == warning
    session.rollback()
    assert [inv.id for inv in quotes.invoices_of(session, quote.id)] == [first.id]
    second = quotes.to_invoice(session, quote.id, positions=[2], again=True, as_of=ISSUE_DAY)
    session.commit()
    assert [inv.id for inv in quotes.invoices_of(session, quote.id)] == [first.id, second.id]
    assert f"(Entwurf {first.id}, Entwurf {second.id})" in quotes.already_invoiced(
        session, quote.id
    )


def test_taking_over_a_sent_quote_accepts_it_once(session, make_quote, send) -> None:
    quote = send(make_quote(LINES))
    quotes.to_invoice(session, quote.id, positions=[1], as_of=date(2026, 3, 4))
    session.commit()
    assert (quote.status, quote.accepted_on) == (ACCEPTED, date(2026, 3, 4))
    quotes.to_invoice(session, quote.id, again=True, as_of=date(2026, 3, 6))
    session.commit()
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity == "quote", AuditEvent.entity_id == str(quote.id))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["created", "sent", "angenommen", "invoiced", "invoiced"]
    assert quote.accepted_on == date(2026, 3, 4)  # the first take-over is the acceptance


def test_a_cancelled_invoice_does_not_count_as_taken_over(session, make_quote, send, issue) -> None:
    quote = send(make_quote(LINES))
    draft = quotes.to_invoice(session, quote.id, as_of=ISSUE_DAY)
    invoices.save_draft(
        session,
        invoice_id=draft.id,
        contact_id=draft.contact_id,
        service_date=ISSUE_DAY,
        lines=[quotes.line_values(ln) for ln in quote.lines],
        as_of=ISSUE_DAY,
    )
    issued = issue(draft)
    assert quotes.already_invoiced(session, quote.id).startswith("Aus Angebot AN-2026-0001")
    issuing.cancel(session, issued.id, issue_date=ISSUE_DAY)
    session.commit()
    assert quotes.already_invoiced(session, quote.id) == ""
    again = quotes.to_invoice(session, quote.id, as_of=ISSUE_DAY)  # the corrected invoice
    assert again.gross_total == quote.gross_total
