"""The bookings as a plain-text hledger journal: a second opinion any accountant can run.

Accounts follow the EÜR: income and expense postings go to "Einnahmen:Kz <n> <label>" and
"Ausgaben:Kz <n> <label>" of the booking year's Vordruck, so `hledger balance` per year shows
the same totals as the EÜR (the ten-day rule aside: hledger sees payment dates). Money
accounts are "Aktiva:<account name>"; private movements go to "Eigenkapital:…"; § 13b and
ig. Erwerb VAT is owed and deducted in the same transaction ("Steuer:…", netting to zero
for a regularly taxed owner).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.ledger import categories as cats
from kms.modules.ledger import taxkeys
from kms.modules.ledger.models import (
    AUSGABE,
    EINNAHME,
    GELDTRANSIT,
    PRIVATEINLAGE,
    PRIVATENTNAHME,
    UST_ERSTATTUNG,
    UST_ZAHLUNG,
    ZERO,
    Account,
    Booking,
    Category,
)

# Characters that could end a line or hide text: control, format (bidi overrides),
# line/paragraph separators, surrogates, private use, unassigned.
_HIDDEN = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def _clean(text: str | None, limit: int = 120) -> str:
    """User text as one line hledger reads back unchanged: hidden characters and line breaks
    become spaces, whitespace runs collapse (two spaces end an account name), ";" (comment)
    becomes ",", "|" (payee/note separator) becomes "/"."""
    out = []
    for ch in text or "":
        if unicodedata.category(ch) in _HIDDEN:
            out.append(" ")
        elif ch == ";":
            out.append(",")
        elif ch == "|":
            out.append("/")
        else:
            out.append(ch)
    return " ".join("".join(out).split())[:limit].strip()


def _name(text: str | None) -> str:
    """One segment of an account name: also no ":" (a sub-account) and no brackets at its ends
    (hledger reads "(…)" and "[…]" postings as virtual, unbalanced ones)."""
    cleaned = _clean(text, 80).replace(":", " - ")
    return " ".join(cleaned.split()).strip("()[] ") or "Unbenannt"


def _field_account(field_key: str, year: int) -> str:
    if field_key == cats.ASSET:
        return "Aktiva:Anlagevermögen"
    field = cats.form(year).get(field_key)
    side = "Einnahmen" if field is not None and field.side == "einnahme" else "Ausgaben"
    if field_key in cats.NOT_DEDUCTIBLE:
        side = "Nicht abziehbar"
    if field is None:
        return f"{side}:{_name(field_key)}"
    return f"{side}:Kz {field.kz} {_name(field.label)}"


def _amount(value: Decimal) -> str:
    return f"{value:.2f} EUR"


def _gifts_over_limit(session: Session) -> set[tuple[int, Any]]:
    """(year, recipient) whose gifts exceed 50 € net in that year."""
    sums: dict[tuple[int, Any], Decimal] = defaultdict(lambda: ZERO)
    for booking in session.scalars(select(Booking).where(Booking.kind == AUSGABE)):
        for ln in booking.lines:
            category = session.get(Category, ln.category_id) if ln.category_id else None
            if category is not None and category.special == cats.SPECIAL_GESCHENK:
                sums[(booking.booking_date.year, _recipient(booking))] += ln.amount - ln.paid_tax
    return {k for k, v in sums.items() if v > cats.GIFT_LIMIT}


def _recipient(booking: Booking) -> Any:
    return booking.contact_id or (booking.counterparty or "").lower()


def journal(session: Session) -> str:
    """The whole journal as text, transactions in date order."""
    accounts = {a.id: f"Aktiva:{_name(a.name)}" for a in session.scalars(select(Account))}
    categories = {c.id: c for c in session.scalars(select(Category))}
    over = _gifts_over_limit(session)
    out = ["; KMS Einnahmen/Ausgaben – hledger-Journal", "commodity 1000.00 EUR", ""]
    for booking in session.scalars(select(Booking).order_by(Booking.booking_date, Booking.id)):
        year = booking.booking_date.year
        money = accounts[booking.account_id]
        # The receipt number as "(code)"; an empty "()" when the counterparty starts with "("
        # so it is never read as the code. The note follows "|" in the description (a
        # comment would parse "x:" as tags).
        code = _clean(booking.receipt_number, 40).replace("(", "").replace(")", "")
        title = _clean(booking.counterparty or booking.kind_label)
        note = _clean(booking.note)
        head = f"({code}) " if code or title.startswith("(") else ""
        out.append(
            f"{booking.booking_date.isoformat()} * {head}{title}" + (f" | {note}" if note else "")
        )
        postings: list[tuple[str, Decimal]] = []
        if booking.kind in (EINNAHME, AUSGABE):
            sign = -1 if booking.kind == EINNAHME else 1
            for ln in booking.lines:
                category = categories.get(ln.category_id or 0)
                field = category.euer_field if category else cats.BY_TAX_KEY
                if field == cats.BY_TAX_KEY:
                    field = (
                        taxkeys.entry(ln.tax_key, booking.booking_date).euer_income
                        or "einnahmen_stfrei"
                    )
                net = ln.amount - ln.paid_tax
                vat_field = (
                    taxkeys.EUER_UST_RECEIVED
                    if booking.kind == EINNAHME
                    else taxkeys.EUER_VORSTEUER
                )
                if (
                    category is not None
                    and category.special == cats.SPECIAL_GESCHENK
                    and ((year, _recipient(booking)) in over)
                ):
                    postings.append((_field_account(f"{field}_nab", year), sign * ln.amount))
                else:
                    if ln.nondeductible:
                        postings.append(
                            (_field_account(f"{field}_nab", year), sign * ln.nondeductible)
                        )
                    postings.append((_field_account(field, year), sign * (net - ln.nondeductible)))
                    if ln.paid_tax:
                        postings.append((_field_account(vat_field, year), sign * ln.paid_tax))
                entry = taxkeys.entry(ln.tax_key, booking.booking_date)
                if entry.mode == taxkeys.REVERSE and ln.tax:
                    postings.append((f"Steuer:USt {entry.code}", -ln.tax))
                    if ln.deductible:
                        postings.append((f"Steuer:Vorsteuer {entry.code}", ln.deductible))
                    if ln.tax - ln.deductible:
                        postings.append(("Steuer:USt-Schuld Finanzamt", ln.tax - ln.deductible))
            if not booking.lines:  # never saved by the service; still a balanced entry
                side = "Einnahmen" if booking.kind == EINNAHME else "Ausgaben"
                postings.append((f"{side}:Ohne Kategorie", -booking.total))
            postings.append((money, booking.total))
        elif booking.kind == GELDTRANSIT:
            target = accounts.get(booking.transfer_account_id or 0, "Aktiva:Unbekannt")
            postings += [(target, -booking.total), (money, booking.total)]
        elif booking.kind in (PRIVATENTNAHME, PRIVATEINLAGE):
            label = "Privatentnahmen" if booking.kind == PRIVATENTNAHME else "Privateinlagen"
            postings += [(f"Eigenkapital:{label}", -booking.total), (money, booking.total)]
        elif booking.kind in (UST_ZAHLUNG, UST_ERSTATTUNG):
            field = "ust_gezahlt" if booking.kind == UST_ZAHLUNG else "ust_erstattet"
            postings += [(_field_account(field, year), -booking.total), (money, booking.total)]
        for account, value in postings:
            if value:
                out.append(f"    {account}  {_amount(value)}")
        out.append("")
    out += _afa_transactions(session)
    return "\n".join(out)


def _afa_transactions(session: Session) -> list[str]:
    """AfA and Restbuchwert of every year up to this one, on 31 December."""
    from kms.modules.ledger.assets import afa_by_field, list_assets
    from kms.types import today

    items = list_assets(session)
    if not items:
        return []
    out: list[str] = []
    for year in range(min(a.acquired_on.year for a in items), today().year + 1):
        for field, amount in sorted(afa_by_field(session, year).items()):
            out.append(f"{year}-12-31 * Abschreibung {year}")
            out.append(f"    {_field_account(field, year)}  {_amount(amount)}")
            out.append(f"    Aktiva:Anlagevermögen  {_amount(-amount)}")
            out.append("")
    return out
