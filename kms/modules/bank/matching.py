"""Matching incoming statement lines to open invoices, ranked, with the reasons in German.

Signals and their weight:
- the invoice number in the Verwendungszweck (also with whitespace removed, because a number
  can be split over two Ustrd lines or ?2x subfields): 50
- the amount: equal to the open amount (30), to the open amount minus Skonto within the Skonto
  period (30), or less than the open amount, a partial payment (10)
- the payer: the IBAN is known from an earlier payment of the same customer (20), or the
  account holder's name resembles the customer's name (15)

A candidate needs the invoice number, or an exact amount together with the payer. No
Streamlit, no writes.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.formatting import format_money
from kms.modules.bank.models import BankLine
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key as fold
from kms.modules.invoices.models import Invoice, Payment
from kms.modules.invoices.payments import skonto_offer
from kms.modules.invoices.service import paid_expr
from kms.types import raw_cents

ZERO = Decimal("0.00")
NUMBER_SCORE, AMOUNT_SCORE, PARTIAL_SCORE, IBAN_SCORE, NAME_SCORE = 50, 30, 10, 20, 15
# From this score on a match is proposed (and booked by the CLI): number + amount, or
# amount + payer.
EXACT_SCORE = 45


@dataclass
class OpenInvoice:
    """An issued, not fully paid invoice as matching sees it."""

    id: int
    number: str
    compact: str  # upper case, no whitespace
    contact_id: int
    customer: str
    customer_key: str  # folded for the name comparison
    gross: Decimal
    open: Decimal
    skonto_amount: Decimal  # 0 without Skonto
    skonto_until: date | None


@dataclass(frozen=True)
class Candidate:
    invoice_id: int
    number: str
    customer: str
    open: Decimal
    score: int
    reasons: tuple[str, ...]
    skonto: bool = False
    partial: bool = False

    @property
    def reason(self) -> str:
        return ", ".join(self.reasons)

    @property
    def exact(self) -> bool:
        return self.score >= EXACT_SCORE and not self.partial


_TOKEN_SPLIT = re.compile(r"[\s,;:()]+")


def _tokens(purpose: str) -> set[str]:
    """Upper-case words of the purpose, each also joined with the next one (an invoice
    number split over two Ustrd lines / ?2x subfields), and the whole text without spaces."""
    words = [w.strip(".") for w in _TOKEN_SPLIT.split(purpose.upper()) if w.strip(".")]
    found = set(words)
    found.update(a + b for a, b in itertools.pairwise(words))
    found.add("".join(purpose.upper().split()))
    return found


@dataclass
class Matcher:
    """Loaded once per preview: the open invoices (indexed by number, open amount and
    customer) and the IBANs known per customer."""

    invoices: list[OpenInvoice]
    known_ibans: dict[str, set[int]] = field(default_factory=dict)
    by_number: dict[str, OpenInvoice] = field(default_factory=dict)
    by_amount: dict[Decimal, list[OpenInvoice]] = field(default_factory=dict)
    by_contact: dict[int, list[OpenInvoice]] = field(default_factory=dict)
    _lengths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        amounts: dict[Decimal, list[OpenInvoice]] = defaultdict(list)
        contacts: dict[int, list[OpenInvoice]] = defaultdict(list)
        for inv in self.invoices:
            self.by_number[inv.compact] = inv
            amounts[inv.open].append(inv)
            if inv.skonto_amount:
                amounts[inv.open - inv.skonto_amount].append(inv)
            contacts[inv.contact_id].append(inv)
        self.by_amount, self.by_contact = dict(amounts), dict(contacts)

    @classmethod
    def load(cls, session: Session, since: date | None = None) -> Matcher:
        """Open invoices; Skonto terms only where the period can still reach `since`."""
        cancelled = select(Invoice.cancels_id).where(Invoice.cancels_id.is_not(None))
        paid = paid_expr(Invoice.id)
        rows = session.execute(
            select(Invoice, paid)
            .where(
                Invoice.issued_at.is_not(None),
                Invoice.number.is_not(None),
                Invoice.cancels_id.is_(None),
                Invoice.id.not_in(cancelled),
                paid < raw_cents(Invoice.gross_total),
            )
            .order_by(Invoice.id)
        ).all()
        contact_ids = {inv.contact_id for inv, _ in rows}
        contacts: dict[int, Contact] = {}
        ids = sorted(contact_ids)
        for start in range(0, len(ids), 500):
            for c in session.scalars(
                select(Contact).where(Contact.id.in_(ids[start : start + 500]))
            ):
                contacts[c.id] = c
        invoices = []
        for inv, paid_cents in rows:
            if inv.is_cancellation or not inv.is_issued:
                continue
            open_now = inv.gross_total - (Decimal(int(paid_cents or 0)) / 100).quantize(ZERO)
            if open_now <= 0:
                continue
            offer = None
            if (
                inv.skonto_percent
                and inv.skonto_days
                and inv.issue_date
                and open_now == inv.gross_total
                and (since is None or inv.issue_date + timedelta(days=inv.skonto_days) >= since)
            ):
                offer = skonto_offer(inv)
            contact = contacts.get(inv.contact_id)
            name = contact.display_name if contact else ""
            number = inv.number or ""
            invoices.append(
                OpenInvoice(
                    id=inv.id,
                    number=number,
                    compact=re.sub(r"\s+", "", number).upper(),
                    contact_id=inv.contact_id,
                    customer=name,
                    customer_key=fold(name),
                    gross=inv.gross_total,
                    open=open_now,
                    skonto_amount=offer.amount if offer else ZERO,
                    skonto_until=offer.until if offer else None,
                )
            )
        known: dict[str, set[int]] = defaultdict(set)
        for iban, contact_id in session.execute(
            select(BankLine.counterparty_iban, Invoice.contact_id)
            .join(Payment, Payment.id == BankLine.payment_id)
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(BankLine.counterparty_iban != "")
            .distinct()
        ):
            known[iban].add(contact_id)
        return cls(invoices, dict(known))

    def _numbers_in(self, purpose: str) -> set[int]:
        """Ids of open invoices whose number the purpose names: as a word, split over two
        words, or glued to other text once the spaces are removed (no digit may follow)."""
        found = set()
        for token in _tokens(purpose):
            inv = self.by_number.get(token)
            if inv is not None:
                found.add(inv.id)
        if found or not self.by_number:
            return found
        if not self._lengths:
            self._lengths = sorted({len(n) for n in self.by_number})
        compact = "".join(purpose.upper().split())
        for i in range(len(compact)):
            for length in self._lengths:
                inv = self.by_number.get(compact[i : i + length])
                end = i + length
                if inv is not None and (end == len(compact) or not compact[end].isdigit()):
                    found.add(inv.id)
        return found

    def candidates(
        self,
        *,
        amount: Decimal,
        day: date,
        purpose: str,
        iban: str,
        name: str,
        taken: dict[int, Decimal] | None = None,
    ) -> list[Candidate]:
        """Ranked invoice candidates for one incoming amount (best first)."""
        if amount <= 0 or not self.invoices:
            return []
        taken = taken or {}
        numbered = self._numbers_in(purpose)
        iban_contacts = self.known_ibans.get(iban, set()) if iban else set()
        pool: dict[int, OpenInvoice] = {}
        for inv in self.by_amount.get(amount, []):
            pool[inv.id] = inv
        for contact_id in iban_contacts:
            for inv in self.by_contact.get(contact_id, []):
                pool[inv.id] = inv
        by_id = {inv.id: inv for inv in self.by_number.values() if inv.id in numbered}
        pool.update(by_id)
        name_key = fold(name)
        found: list[Candidate] = []
        for inv in pool.values():
            open_now = inv.open - taken.get(inv.id, ZERO)
            if open_now <= 0:
                continue
            score, reasons = 0, []
            by_number = inv.id in numbered
            if by_number:
                score += NUMBER_SCORE
                reasons.append(f"Rechnungsnummer {inv.number} im Verwendungszweck")
            skonto = partial = False
            if amount == open_now:
                score += AMOUNT_SCORE
                reasons.append("Betrag = offener Betrag")
            elif (
                inv.skonto_amount
                and open_now == inv.gross
                and inv.skonto_until is not None
                and day <= inv.skonto_until
                and amount == open_now - inv.skonto_amount
            ):
                score += AMOUNT_SCORE
                skonto = True
                reasons.append(f"Betrag mit Skonto ({format_money(inv.skonto_amount)})")
            elif amount < open_now:
                partial = True
            else:
                continue  # more than is open: not this invoice
            payer = False
            if inv.contact_id in iban_contacts:
                score += IBAN_SCORE
                payer = True
                reasons.append("IBAN des Kunden")
            elif name_key and inv.customer_key and _similar(name_key, inv.customer_key):
                score += NAME_SCORE
                payer = True
                reasons.append("Name des Kunden")
            if partial:
                if not (by_number or payer):
                    continue
                score += PARTIAL_SCORE
                reasons.append(f"Teilzahlung (offen {format_money(open_now)})")
            if not by_number and not (payer and score >= EXACT_SCORE):
                continue
            found.append(
                Candidate(
                    invoice_id=inv.id,
                    number=inv.number,
                    customer=inv.customer,
                    open=open_now,
                    score=score,
                    reasons=tuple(reasons),
                    skonto=skonto,
                    partial=partial,
                )
            )
        found.sort(key=lambda c: (-c.score, c.number))
        return found


_LEGAL_FORMS = re.compile(r"\b(gmbh|ag|kg|ohg|ug|e ?k|e ?v|mbh|co|und|haftungsbeschraenkt)\b")


def _simplify(key: str) -> str:
    return " ".join(_LEGAL_FORMS.sub(" ", re.sub(r"[^a-z0-9 ]", " ", key)).split())


def _similar(a: str, b: str) -> bool:
    """Names that resemble each other (legal forms and punctuation ignored)."""
    a, b = _simplify(a), _simplify(b)
    if not a or not b:
        return False
    if a == b or (len(b) >= 4 and b in a) or (len(a) >= 4 and a in b):
        return True
    return SequenceMatcher(None, a, b).ratio() >= 0.85
