"""The one shape every bank statement format is parsed into (CAMT, MT940, CSV profiles).

Parsers in kms.modules.bank.formats produce a `Statement`; the import service
(kms.modules.bank.service) previews, de-duplicates, matches and books its lines. Nothing
here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from kms.errors import KmsError


class StatementError(KmsError):
    """A statement file cannot be read; `.message` is German and names the line if known."""


@dataclass(frozen=True)
class StatementLine:
    """One booked entry of a statement, signed from the account holder's view."""

    booking_date: date
    amount: Decimal  # > 0 money received, < 0 money paid; always 2 decimals
    purpose: str  # Verwendungszweck, reassembled from its parts (?20-?29, Ustrd lines)
    counterparty_name: str = ""
    counterparty_iban: str = ""  # upper case, no spaces; "" if the bank gives none
    counterparty_bic: str = ""
    value_date: date | None = None
    currency: str = "EUR"
    end_to_end_id: str = ""  # "" also for NOTPROVIDED
    mandate_reference: str = ""
    creditor_id: str = ""
    bank_reference: str = ""  # AcctSvcrRef / MT940 bank reference, not part of the key
    booking_text: str = ""  # Buchungstext, e.g. "Gutschrift", "Lastschrift", "Retoure"
    # Rücklastschrift: a returned direct debit (CAMT RtrInf / BkTxCd PMNT-?-RRTN or
    # UPDD; MT940 GVC 108/109/159; CSV Buchungstext "Rücklastschrift"/"Retoure").
    is_return: bool = False
    return_reason: str = ""  # e.g. "AC04", "MD06"; "" if unknown
    # A fee the bank charged with this entry (CAMT Chrgs, MT940 ?34 / CSV "Gebühr");
    # already contained in `amount`, reported so it can be booked as an expense.
    fee: Decimal = Decimal("0.00")
    line_no: int = 0  # 1-based position in the file (entry or CSV row), for messages


@dataclass(frozen=True)
class Statement:
    """A parsed statement file: which account it belongs to and its booked lines."""

    format: str  # "camt.053", "camt.052", "camt.054", "mt940", "csv:<profile key>"
    account_iban: str  # upper case, no spaces; "" when the file does not say (some CSVs)
    lines: tuple[StatementLine, ...]
    currency: str = "EUR"
    period_from: date | None = None
    period_to: date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    warnings: tuple[str, ...] = field(default=())  # German, e.g. skipped pending entries
