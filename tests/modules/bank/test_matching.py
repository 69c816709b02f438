"""Finding invoice numbers and payers in a purpose, without a database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kms.modules.bank.matching import Matcher, OpenInvoice

D = Decimal


def _matcher() -> Matcher:
    def inv(id_: int, number: str, open_: str, customer: str = "Musterfirma GmbH") -> OpenInvoice:
        return OpenInvoice(id_, number, number, id_, customer, customer.lower(), D(open_),
                           D(open_), D("0.00"), None)  # fmt: skip

    return Matcher([inv(1, "RE-2026-0001", "119.00"), inv(2, "RE-2026-00012", "50.00",
                                                         "Erika Mustermann")])  # fmt: skip


def _best(purpose: str, amount: str = "119.00", name: str = "") -> tuple[int, str] | None:
    found = _matcher().candidates(
        amount=D(amount), day=date(2026, 3, 5), purpose=purpose, iban="", name=name
    )
    return (found[0].invoice_id, found[0].reason) if found else None


def test_number_as_word_split_or_glued_but_never_a_longer_number() -> None:
    exact = "Rechnungsnummer RE-2026-0001 im Verwendungszweck, Betrag = offener Betrag"
    assert _best("Rechnung RE-2026-0001, danke") == (1, exact)
    assert _best("Rechnung RE-2026- 0001 danke") == (1, exact)
    assert _best("RECHNUNGRE-2026-0001DANKE") == (1, exact)
    # RE-2026-00012 is another invoice: no digit may follow the number.
    assert _best("RE-2026-00012", "119.00") is None
    assert _best("RE-2026-00012", "50.00")[0] == 2  # type: ignore[index]


def test_amount_needs_the_payer_and_partial_payment_needs_number_or_payer() -> None:
    assert _best("Danke", "119.00") is None
    assert _best("Danke", "119.00", "MUSTERFIRMA") == (
        1,
        "Betrag = offener Betrag, Name des Kunden",
    )
    assert _best("Danke", "100.00", "Musterfirma GmbH") is None  # partial: not by name alone
    assert _best("RE-2026-0001", "100.00") == (
        1,
        "Rechnungsnummer RE-2026-0001 im Verwendungszweck, Teilzahlung (offen 119,00\xa0€)",
    )
    assert _best("RE-2026-0001", "120.00") is None  # more than is open
