"""Demo data: one accepted quote for a demo customer, loaded once with the invoices."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from kms.modules.invoices import demo
from kms.modules.invoices.quotes import pdf
from kms.modules.invoices.quotes.models import ACCEPTED, Quote


def test_the_demo_has_one_accepted_quote_loaded_once(session, seller) -> None:
    assert demo.load(session).endswith("1 Angebot")
    demo.load(session)
    assert session.scalar(select(func.count()).select_from(Quote)) == 1
    quote = session.scalar(select(Quote))
    assert quote.status == ACCEPTED and quote.number is not None
    # 64 h × 85 € at 19 % and a book at 7 %: 5.440,00 + 1.033,60 + 39,90 + 2,79
    assert quote.gross_total == Decimal("6516.29")
    name, data = pdf.confirmation_pdf(session, quote.id)
    assert name.startswith("Auftragsbestaetigung-AN-") and data.startswith(b"%PDF")
