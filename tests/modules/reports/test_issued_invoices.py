"""The ZM and the revenue reports read invoices as the issuing path really writes them
(frozen buyer snapshot, Storno from issuing.cancel), not only rows made by the test helpers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from kms.modules.invoices import issuing, reports
from kms.reporting import Period
from tests.modules.invoices.conftest import ISSUE_DAY, line, organisation


def test_an_issued_k_invoice_and_its_storno_in_the_zm(
    session: Session,
    seller: None,
    make_draft,
    issue,
) -> None:
    wien = organisation(
        session,
        "Wiener Werkstätten GmbH",
        country="AT",
        vat_id="ATU12345675",
        city="Wien",
        postcode="1010",
    )
    session.commit()
    draft = make_draft(
        [line("Maschinenteil", "2", "450.00", tax="K", unit="C62")], contact_id=wien.id
    )
    invoice = issue(draft)
    # K: 2 × 450.00 = 900.00 net, issued 2 March 2026 (Q1).
    assert reports.zm(session, Period.parse("2026-Q1")).iloc[0].tolist() == [
        "AT",
        "ATU12345675",
        "Wiener Werkstätten GmbH",
        Decimal("900.00"),
        Decimal("0.00"),
    ]
    issuing.cancel(session, invoice.id, actor="test", issue_date=date(2026, 4, 1))
    session.commit()
    # The Storno (1 April) reduces Q2 by 900.00 and leaves Q1 as reported.
    assert reports.zm(session, Period.parse("2026-Q2")).iloc[0, 3] == Decimal("-900.00")
    assert reports.zm(session, Period.parse("2026-Q1")).iloc[0, 3] == Decimal("900.00")
    by_month = reports.revenue_by_month(session, Period.parse("2026"))
    assert by_month.iloc[2]["Netto"] == Decimal("900.00") and ISSUE_DAY.month == 3
    assert by_month.iloc[3]["Netto"] == Decimal("-900.00")
    assert by_month.iloc[-1]["Netto"] == Decimal("0.00")
