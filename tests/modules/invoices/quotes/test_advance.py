"""▶ In Rechnung übernehmen als Abschlags- oder Schlussrechnung: the advance is a share of
the quote's net value with the quote number as the order, so the Schlussrechnung made from
the quote deducts it; golden totals at 19 % and the German refusals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from kms.audit import AuditEvent
from kms.errors import KmsError, ValidationError
from kms.modules.invoices.models import BILLING_ADVANCE, BILLING_FINAL
from kms.modules.invoices.quotes import service as quotes
from kms.modules.invoices.quotes.models import ACCEPTED
from tests.modules.invoices.conftest import ISSUE_DAY, line

ORDER = [
    line("Dachsanierung", "1", "8000.00", "S19", "C62"),
    line("Gerüst", "2", "1000.00", "S19", "C62"),
]
HEADER = {"service_date": date(2026, 3, 2), "payment_term_days": 14}


def test_advance_and_final_invoice_from_a_quote_golden(session, make_quote, send, issue) -> None:
    quote = send(make_quote(ORDER))
    assert quote.net_total == Decimal("10000.00")
    advance = quotes.to_advance_invoice(session, quote.id, percent="30", as_of=ISSUE_DAY, **HEADER)
    session.commit()
    # 30 % of 10.000,00 net; 19 % VAT of 3.000,00
    assert (advance.net_total, advance.tax_total, advance.gross_total) == (
        Decimal("3000.00"),
        Decimal("570.00"),
        Decimal("3570.00"),
    )
    assert advance.billing == BILLING_ADVANCE and advance.order_reference == "AN-2026-0001"
    assert [ln.description for ln in advance.lines] == ["Abschlag 1 auf AN-2026-0001"]
    assert "Angebot AN-2026-0001 vom 02.03.2026" in advance.intro_text
    assert [inv.id for inv in quotes.invoices_of(session, quote.id)] == [advance.id]
    assert quotes.quote_of(session, advance.id).id == quote.id
    issued = [issue(advance)]
    # A further advance is expected, not a repeat: no confirmation needed.
    second = quotes.to_advance_invoice(
        session, quote.id, amount="2000,00", as_of=ISSUE_DAY, **HEADER
    )
    session.commit()
    assert (second.net_total, second.gross_total) == (Decimal("2000.00"), Decimal("2380.00"))
    assert second.lines[0].description == "Abschlag 2 auf AN-2026-0001"
    issued.append(issue(second))
    final = quotes.to_final_invoice(session, quote.id, as_of=ISSUE_DAY, **HEADER)
    session.commit()
    assert final.billing == BILLING_FINAL and final.order_reference == "AN-2026-0001"
    assert [(ln.description[:40], ln.net) for ln in final.lines] == [
        ("Dachsanierung", Decimal("8000.00")),
        ("Gerüst", Decimal("2000.00")),
        (f"abzüglich Abschlagsrechnung {issued[0].number}"[:40], Decimal("-3000.00")),
        (f"abzüglich Abschlagsrechnung {issued[1].number}"[:40], Decimal("-2000.00")),
    ]
    # 10.000,00 − 3.000,00 − 2.000,00 = 5.000,00 net, 950,00 VAT still due
    assert (final.net_total, final.tax_total, final.gross_total) == (
        Decimal("5000.00"),
        Decimal("950.00"),
        Decimal("5950.00"),
    )
    assert [ln.deducts_invoice_id for ln in final.lines[2:]] == [i.id for i in issued]
    assert quotes.quote_of(session, final.id).id == quote.id
    # After the Schlussrechnung, another one or a plain take-over is a repeat.
    with pytest.raises(KmsError, match=f"bereits eine Rechnung erstellt \\(Entwurf {final.id}\\)"):
        quotes.to_final_invoice(session, quote.id, as_of=ISSUE_DAY, **HEADER)
    with pytest.raises(KmsError, match="bereits eine Rechnung erstellt"):
        quotes.to_invoice(session, quote.id, as_of=ISSUE_DAY)


def test_advances_may_not_exceed_the_quote(session, make_quote, send) -> None:
    quote = send(make_quote(ORDER))
    quotes.to_advance_invoice(session, quote.id, percent="80", as_of=ISSUE_DAY)
    session.commit()
    with pytest.raises(ValidationError, match=r"übersteigen den Auftragswert von 10\.000,00"):
        quotes.to_advance_invoice(session, quote.id, percent="25", as_of=ISSUE_DAY)
    session.rollback()
    assert len(quotes.invoices_of(session, quote.id)) == 1


def test_the_final_invoice_needs_an_issued_advance(session, make_quote, send) -> None:
    quote = send(make_quote(ORDER))
    with pytest.raises(KmsError, match="keine abgeschlossene Abschlagsrechnung"):
        quotes.to_final_invoice(session, quote.id, as_of=ISSUE_DAY)
    session.rollback()
    quotes.to_advance_invoice(session, quote.id, percent="10", as_of=ISSUE_DAY)
    session.commit()
    with pytest.raises(KmsError, match="noch nicht abgeschlossene Abschlagsrechnungen"):
        quotes.to_final_invoice(session, quote.id, as_of=ISSUE_DAY)
    session.rollback()
    assert len(quotes.invoices_of(session, quote.id)) == 1


def test_a_quote_with_two_rates_needs_the_advance_rate(session, make_quote, send) -> None:
    quote = send(make_quote([*ORDER, line("Fachbuch", "1", "100.00", "S7", "C62")]))
    with pytest.raises(ValidationError, match=r"mehreren Steuersätzen .*bitte den Steuersatz"):
        quotes.to_advance_invoice(session, quote.id, percent="10", as_of=ISSUE_DAY)
    with pytest.raises(ValidationError, match="keine Position zu diesem Steuersatz"):
        quotes.to_advance_invoice(session, quote.id, percent="10", tax="AE", as_of=ISSUE_DAY)
    session.rollback()
    # 50 % of the 100,00 at 7 %: the order value is the quote's net at that rate.
    draft = quotes.to_advance_invoice(session, quote.id, percent="50", tax="S7", as_of=ISSUE_DAY)
    assert (draft.net_total, draft.tax_total) == (Decimal("50.00"), Decimal("3.50"))


def test_taking_over_a_sent_quote_marks_it_accepted(session, make_quote, send) -> None:
    quote = send(make_quote(ORDER))
    draft = quotes.to_advance_invoice(session, quote.id, percent="30", as_of=date(2026, 3, 4))
    session.commit()
    assert (quote.status, quote.accepted_on) == (ACCEPTED, date(2026, 3, 4))
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == "quote", AuditEvent.entity_id == str(quote.id))
        .order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events][-2:] == ["angenommen", "invoiced"]
    assert json.loads(events[-2].payload)["invoice_id"] == draft.id
