"""Einnahmen/Ausgaben services: accounts, categories, bookings, Festschreibung.

No Streamlit here. Every write function starts with require_permission; every change goes
to the hash-chained audit log; bad input raises a German KmsError before anything is
written, so nothing is saved half.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from kms import audit, periods, querycache
from kms.errors import ConflictError, KmsError, NotFoundError, ValidationError
from kms.formatting import format_date, format_money
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key as fold
from kms.modules.documents import service as documents
from kms.modules.documents.models import Document
from kms.modules.ledger import categories as cats
from kms.modules.ledger import taxkeys
from kms.modules.ledger.models import (
    ACCOUNT_KINDS,
    BOOKING_KINDS,
    DIRECTION,
    GELDTRANSIT,
    SOURCE_MANUAL,
    UST_ERSTATTUNG,
    UST_ZAHLUNG,
    WITH_CATEGORY,
    ZERO,
    Account,
    Booking,
    BookingLine,
    Category,
    LedgerSettings,
)
from kms.modules.ledger.turnover import recompute_for_category
from kms.modules.settings.taxation import regime_on
from kms.permissions import Permission, require_permission
from kms.types import today
from kms.validation import validate_bic, validate_iban

ENTITY = "booking"
ACCOUNT_ENTITY = "ledger_account"
CATEGORY_ENTITY = "ledger_category"
PERIOD_ENTITY = "period"
# Receipts of bookings are Buchungsbelege (the ledger's ModuleSpec declares the type).
RECEIPT_TYPE = "booking_receipt"


# --- defaults ---------------------------------------------------------------------------


def ensure_defaults(session: Session) -> None:
    """Create the default categories once (idempotent; user changes are kept)."""
    existing = set(session.scalars(select(Category.key)))
    names = set(session.scalars(select(Category.name)))
    for d in cats.DEFAULT_CATEGORIES:
        if d.key in existing or d.name in names:
            continue
        session.add(
            Category(
                key=d.key,
                name=d.name,
                side=d.side,
                euer_field=d.euer_field,
                special=d.special,
                default_tax_key=d.default_tax_key,
                builtin=True,
            )
        )
    session.flush()


def category_by_key(session: Session, key: str) -> Category:
    ensure_defaults(session)
    row = session.scalar(select(Category).where(Category.key == key))
    if row is None:
        raise NotFoundError(f"Die Kategorie „{key}“ gibt es nicht.")
    return row


def list_categories(session: Session, side: str | None = None) -> list[Category]:
    """Active categories (a read: the defaults are created by ensure_defaults)."""
    q = select(Category).where(Category.active.is_(True)).order_by(Category.side, Category.name)
    if side:
        q = q.where(Category.side == side)
    return list(session.scalars(q))


def list_accounts(session: Session, *, active_only: bool = True) -> list[Account]:
    q = select(Account).order_by(Account.name)
    if active_only:
        q = q.where(Account.active.is_(True))
    return list(session.scalars(q))


def small_business_on(session: Session, day: date) -> bool:
    """The owner is Kleinunternehmer (§ 19 UStG) on that day."""
    regime = regime_on(session, day)
    return regime is not None and regime.kind == "klein"


# --- accounts ---------------------------------------------------------------------------


def save_account(
    session: Session,
    *,
    account_id: int | None = None,
    version: int | None = None,
    name: str,
    kind: str = "bank",
    iban: str = "",
    bic: str = "",
    opening_balance: Decimal | str = ZERO,
    opening_date: date | None = None,
    is_default: bool = False,
    active: bool = True,
    actor: str = "",
) -> Account:
    """Create or change a Geldkonto (a Kasse's opening balance may not be negative)."""
    require_permission(Permission.LEDGER_WRITE, session)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name", "Bitte einen Namen für das Konto angeben.")
    if len(name) > 100:
        raise ValidationError("name", "Der Kontoname ist zu lang (höchstens 100 Zeichen).")
    if kind not in ACCOUNT_KINDS:
        raise ValidationError("kind", "Bitte eine Kontoart wählen.")
    iban = validate_iban(iban) if iban.strip() else ""
    bic = validate_bic(bic, iban=iban or None) if bic.strip() else ""
    if kind == "bank" and not iban:
        raise ValidationError("iban", "Ein Bankkonto braucht eine IBAN.")
    opening = parse_amount(opening_balance, field="opening_balance")
    if kind == "kasse" and opening < 0:
        raise ValidationError(
            "opening_balance", "Der Anfangsbestand einer Kasse kann nicht negativ sein."
        )
    clash = session.scalar(
        select(Account).where(Account.name == name, Account.id != (account_id or 0))
    )
    if clash is not None:
        raise ValidationError("name", f"Ein Konto „{name}“ gibt es schon.")
    if account_id is None:
        account = Account(name=name)
        session.add(account)
        action = "created"
    else:
        account = _get_account(session, account_id)
        if version is not None and account.version != version:
            raise ConflictError("Das Konto wurde inzwischen geändert. Bitte neu laden.")
        action = "updated"
    account.kind, account.iban, account.bic = kind, iban, bic
    account.opening_balance, account.opening_date = opening, opening_date
    account.active = active
    if is_default:
        for other in session.scalars(select(Account).where(Account.is_default.is_(True))):
            other.is_default = False
    account.is_default = is_default
    session.flush()
    if account_id is not None and kind == "kasse":
        _check_cash(session, [account.id])
    audit.record(
        session,
        entity=ACCOUNT_ENTITY,
        entity_id=account.id,
        action=action,
        actor=actor,
        name=name,
        kind=kind,
        iban=iban,
        opening_balance=opening,
        opening_date=opening_date,
        active=active,
    )
    return account


def _get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFoundError("Dieses Konto gibt es nicht mehr.")
    return account


def balance(session: Session, account_id: int, until: date | None = None) -> Decimal:
    """Balance of an account: opening balance plus every booking up to `until` (inclusive)."""
    account = _get_account(session, account_id)
    out_q = select(func.sum(Booking.total)).where(Booking.account_id == account_id)
    in_q = select(func.sum(Booking.total)).where(Booking.transfer_account_id == account_id)
    if until is not None:
        out_q = out_q.where(Booking.booking_date <= until)
        in_q = in_q.where(Booking.booking_date <= until)
    own = session.scalar(out_q) or ZERO
    transfers_in = session.scalar(in_q) or ZERO
    # A Geldtransit's total is negative for its source account; the target receives -total.
    return account.opening_balance + own - transfers_in


def balances(session: Session) -> Mapping[int, Decimal]:
    """Every account's balance (as balance() without `until`) in two GROUP BY statements,
    reused while bookings and accounts are unchanged (kms.querycache): the Konten page
    shows them on every rerun, and one sum per account read all 200,000 bookings of the
    large benchmark instance (78 ms)."""

    def compute() -> Mapping[int, Decimal]:
        own = dict(
            session.execute(
                select(Booking.account_id, func.sum(Booking.total)).group_by(Booking.account_id)
            ).all()
        )
        transfers_in = dict(
            session.execute(
                select(Booking.transfer_account_id, func.sum(Booking.total))
                .where(Booking.transfer_account_id.is_not(None))
                .group_by(Booking.transfer_account_id)
            ).all()
        )
        return MappingProxyType(
            {
                account_id: opening
                + (own.get(account_id) or ZERO)
                - (transfers_in.get(account_id) or ZERO)
                for account_id, opening in session.execute(
                    select(Account.id, Account.opening_balance)
                ).tuples()
            }
        )

    tables = (Booking.__table__, Account.__table__)
    return querycache.cached(session, "ledger.balances", tables, compute)


def _check_cash(session: Session, account_ids: Iterable[int]) -> None:
    """A Kasse never goes negative: check the end-of-day balances after a change (flushed)."""
    for account_id in set(account_ids):
        account = session.get(Account, account_id)
        if account is None or account.kind != "kasse":
            continue
        own = select(Booking.booking_date.label("d"), Booking.total.label("t")).where(
            Booking.account_id == account_id
        )
        incoming = select(Booking.booking_date.label("d"), (-Booking.total).label("t")).where(
            Booking.transfer_account_id == account_id
        )
        days: dict[date, Decimal] = {}
        for d, t in session.execute(own.union_all(incoming)):
            amount = t if isinstance(t, Decimal) else Decimal(int(t)) / 100
            days[d] = days.get(d, ZERO) + amount
        running = account.opening_balance
        for d in sorted(days):
            running += days[d]
            if running < 0:
                raise ValidationError(
                    "amount",
                    f"Die Kasse „{account.name}“ wäre am {format_date(d)} mit "
                    f"{format_money(running)} im Minus. Eine Kasse kann nicht negativ werden: "
                    "bitte Datum, Betrag oder Konto prüfen (z. B. vorher eine Einlage oder einen "
                    "Geldtransit buchen).",
                )


# --- categories -------------------------------------------------------------------------


def save_category(
    session: Session,
    *,
    category_id: int | None = None,
    name: str,
    side: str,
    euer_field: str,
    special: str = "",
    default_tax_key: str = "",
    active: bool = True,
    actor: str = "",
) -> Category:
    """Create or change a category; it must be mapped to a field of the EÜR."""
    require_permission(Permission.LEDGER_WRITE, session)
    ensure_defaults(session)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name", "Bitte einen Namen für die Kategorie angeben.")
    if side not in ("einnahme", "ausgabe"):
        raise ValidationError(
            "side", "Bitte wählen, ob die Kategorie Einnahmen oder Ausgaben erfasst."
        )
    _check_field(side, euer_field, today().year)
    if special not in ("", cats.SPECIAL_BEWIRTUNG, cats.SPECIAL_GESCHENK):
        raise ValidationError("special", "Unbekannte Sonderbehandlung.")
    if default_tax_key and default_tax_key not in taxkeys.codes():
        raise ValidationError("default_tax_key", "Unbekannter Steuerschlüssel.")
    clash = session.scalar(
        select(Category).where(Category.name == name, Category.id != (category_id or 0))
    )
    if clash is not None:
        raise ValidationError("name", f"Eine Kategorie „{name}“ gibt es schon.")
    if category_id is None:
        key = "u_" + "".join(c if c.isalnum() else "_" for c in fold(name))[:36]
        while session.scalar(select(Category.id).where(Category.key == key)) is not None:
            key = key[:36] + "_x"
        category = Category(key=key, name=name, side=side)
        session.add(category)
        action = "created"
    else:
        found = session.get(Category, category_id)
        if found is None:
            raise NotFoundError("Diese Kategorie gibt es nicht mehr.")
        category = found
        if category.side != side and _category_used(session, category.id):
            raise ValidationError("side", "Die Kategorie ist schon gebucht; die Seite bleibt.")
        action = "updated"
    field_changed = category.id is not None and category.euer_field != euer_field
    category.name, category.side, category.euer_field = name, side, euer_field
    category.special, category.default_tax_key, category.active = special, default_tax_key, active
    session.flush()
    if field_changed:  # a Hilfsgeschäft or not: the § 19 sums of its bookings follow
        recompute_for_category(session, category.id)
    audit.record(
        session,
        entity=CATEGORY_ENTITY,
        entity_id=category.id,
        action=action,
        actor=actor,
        name=name,
        side=side,
        euer_field=euer_field,
        special=special,
    )
    return category


def _category_used(session: Session, category_id: int) -> bool:
    return (
        session.scalar(
            select(BookingLine.id).where(BookingLine.category_id == category_id).limit(1)
        )
        is not None
    )


def _check_field(side: str, euer_field: str, year: int) -> None:
    if side == "einnahme" and euer_field == cats.BY_TAX_KEY:
        return
    if side == "ausgabe" and euer_field == cats.ASSET:
        return
    field = cats.form(year).get(euer_field)
    if field is None or field.side != side or euer_field in cats.NOT_DEDUCTIBLE:
        raise ValidationError(
            "euer_field",
            "Die Kategorie ist keinem Feld der EÜR zugeordnet. "
            "Bitte ein EÜR-Feld (Kennzahl) wählen.",
        )


# --- bookings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    """One line as the form or CLI sends it."""

    amount: Decimal | str
    category_id: int | None = None
    tax_key: str = ""
    text: str = ""


def parse_amount(value: Decimal | str | int, *, field: str = "amount") -> Decimal:
    """An amount in euros with at most two decimals ("1.234,56", "12.5", Decimal)."""
    if isinstance(value, float):
        raise ValidationError(field, "Beträge bitte als Text oder Decimal angeben.")
    if isinstance(value, Decimal | int):
        dec = Decimal(value)
    else:
        text = str(value).strip().replace("€", "").replace(" ", "")
        if not text:
            raise ValidationError(field, "Bitte einen Betrag angeben.")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            dec = Decimal(text)
        except InvalidOperation:
            raise ValidationError(field, f"„{value}“ ist kein Betrag.") from None
    if not dec.is_finite():
        raise ValidationError(field, f"„{value}“ ist kein Betrag.")
    if dec != dec.quantize(Decimal("0.01")):
        raise ValidationError(
            field, f"Der Betrag {value} hat mehr als zwei Nachkommastellen; bitte auf Cent angeben."
        )
    if abs(dec) >= Decimal("10000000000"):
        raise ValidationError(field, "Der Betrag ist zu groß.")
    return dec.quantize(Decimal("0.01"))


def _line_input(raw: LineInput | Mapping[str, Any]) -> LineInput:
    if isinstance(raw, LineInput):
        return raw
    return LineInput(
        amount=raw.get("amount", ""),
        category_id=raw.get("category_id"),
        tax_key=raw.get("tax_key") or "",
        text=raw.get("text") or "",
    )


def _check_tax_period(kind: str, tax_period: str) -> str:
    tax_period = (tax_period or "").strip()
    if kind not in (UST_ZAHLUNG, UST_ERSTATTUNG):
        return ""
    if not tax_period:
        return ""
    import re

    if not re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?", tax_period):
        raise ValidationError(
            "tax_period",
            "Zeitraum bitte als „2025“, „2025-Q4“ oder „2025-12“ angeben.",
        )
    return tax_period


@dataclass
class _Header:
    booking_date: date
    account: Account
    kind: str
    transfer_account: Account | None
    contact_id: int | None
    counterparty: str
    receipt_number: str
    document_id: int | None
    note: str
    tax_period: str


def _validate_header(
    session: Session,
    *,
    booking_date: date,
    account_id: int,
    kind: str,
    transfer_account_id: int | None,
    contact_id: int | None,
    counterparty: str,
    receipt_number: str,
    document_id: int | None,
    note: str,
    tax_period: str,
    check_lock: bool = True,
) -> _Header:
    if not isinstance(booking_date, date):
        raise ValidationError("booking_date", "Bitte ein Buchungsdatum angeben.")
    if booking_date > today():
        raise ValidationError("booking_date", "Das Buchungsdatum liegt in der Zukunft.")
    if check_lock:
        periods.check_open(session, booking_date)
    if kind not in BOOKING_KINDS:
        raise ValidationError("kind", "Bitte die Art der Buchung wählen.")
    account = session.get(Account, account_id) if account_id else None
    if account is None:
        raise ValidationError("account_id", "Bitte ein Konto wählen.")
    if not account.active:
        raise ValidationError("account_id", f"Das Konto „{account.name}“ ist nicht mehr aktiv.")
    transfer = None
    if kind == GELDTRANSIT:
        transfer = session.get(Account, transfer_account_id) if transfer_account_id else None
        if transfer is None:
            raise ValidationError(
                "transfer_account_id", "Bitte das Zielkonto des Geldtransits wählen."
            )
        if transfer.id == account.id:
            raise ValidationError(
                "transfer_account_id", "Quell- und Zielkonto müssen verschieden sein."
            )
    if contact_id is not None and session.get(Contact, contact_id) is None:
        raise ValidationError("contact_id", "Diesen Kontakt gibt es nicht mehr.")
    if document_id is not None and session.get(Document, document_id) is None:
        raise ValidationError("document_id", "Diesen Beleg gibt es in Dokumente nicht mehr.")
    counterparty = (counterparty or "").strip()
    if len(counterparty) > 200:
        raise ValidationError(
            "counterparty", "Der Name des Gegenübers ist zu lang (höchstens 200 Zeichen)."
        )
    receipt_number = (receipt_number or "").strip()
    if len(receipt_number) > 60:
        raise ValidationError(
            "receipt_number", "Die Belegnummer ist zu lang (höchstens 60 Zeichen)."
        )
    return _Header(
        booking_date=booking_date,
        account=account,
        kind=kind,
        transfer_account=transfer,
        contact_id=contact_id,
        counterparty=counterparty,
        receipt_number=receipt_number,
        document_id=document_id,
        note=(note or "").strip(),
        tax_period=_check_tax_period(kind, tax_period),
    )


def _build_lines(
    session: Session, header: _Header, raw_lines: Sequence[LineInput | Mapping[str, Any]]
) -> list[BookingLine]:
    """Validated, computed lines (not yet attached to a booking)."""
    inputs = [_line_input(r) for r in raw_lines]
    inputs = [i for i in inputs if str(i.amount).strip() or i.category_id or i.text]
    if not inputs:
        raise ValidationError("lines", "Bitte mindestens eine Position mit Betrag erfassen.")
    small = small_business_on(session, header.booking_date)
    lines: list[BookingLine] = []
    for position, item in enumerate(inputs, start=1):
        where = f"Position {position}: " if len(inputs) > 1 else ""
        try:
            amount = parse_amount(item.amount, field="amount")
        except ValidationError as exc:
            raise ValidationError("amount", where + exc.message) from None
        if amount == 0:
            raise ValidationError("amount", where + "Der Betrag darf nicht 0 sein.")
        category: Category | None = None
        tax_key = item.tax_key or "NSTB"
        if header.kind in WITH_CATEGORY:
            category = session.get(Category, item.category_id) if item.category_id else None
            if category is None:
                raise ValidationError("category_id", where + "Bitte eine Kategorie wählen.")
            if category.side != header.kind:
                raise ValidationError(
                    "category_id",
                    where + f"Die Kategorie „{category.name}“ gehört nicht zu den "
                    f"{'Einnahmen' if header.kind == 'einnahme' else 'Ausgaben'}.",
                )
            try:
                _check_field(category.side, category.euer_field, header.booking_date.year)
            except ValidationError:
                raise ValidationError(
                    "category_id",
                    where + f"Die Kategorie „{category.name}“ ist keinem Feld der EÜR "
                    "zugeordnet. Bitte zuerst unter „Kategorien“ ein EÜR-Feld wählen.",
                ) from None
            tax_key = item.tax_key or category.default_tax_key or "NSTB"
            try:
                entry = taxkeys.entry(tax_key, header.booking_date)
            except taxkeys.UnknownTaxKey as exc:
                raise ValidationError("tax_key", where + str(exc)) from None
            wanted = "aus" if header.kind == "einnahme" else "ein"
            if entry.direction not in (wanted, "beide"):
                raise ValidationError(
                    "tax_key",
                    where + f"Der Steuerschlüssel „{entry.label}“ passt nicht zu einer "
                    f"{'Einnahme' if header.kind == 'einnahme' else 'Ausgabe'}.",
                )
        else:
            if item.category_id:
                raise ValidationError(
                    "category_id", where + f"Eine {BOOKING_KINDS[header.kind]} hat keine Kategorie."
                )
            tax_key = "NSTB"
        split = taxkeys.split(tax_key, amount, header.booking_date, small_business=small)
        nondeductible = ZERO
        if category is not None and category.special == cats.SPECIAL_BEWIRTUNG:
            expense = amount - split.paid_tax  # what the EÜR counts as expense
            nondeductible = taxkeys._round(expense * (1 - cats.BEWIRTUNG_DEDUCTIBLE))
        text = (item.text or "").strip()
        if len(text) > 200:
            raise ValidationError(
                "text", where + "Der Buchungstext ist zu lang (höchstens 200 Zeichen)."
            )
        lines.append(
            BookingLine(
                position=position,
                text=text,
                amount=amount,
                category_id=category.id if category else None,
                tax_key=tax_key,
                net=split.net,
                tax=split.tax,
                deductible=split.deductible,
                paid_tax=split.paid_tax,
                nondeductible=nondeductible,
            )
        )
    if len(lines) > 1 and header.kind not in WITH_CATEGORY:
        raise ValidationError(
            "lines", f"Eine {BOOKING_KINDS[header.kind]} hat genau eine Position."
        )
    total = sum((ln.amount for ln in lines), ZERO)
    if header.kind not in WITH_CATEGORY and total <= 0:
        raise ValidationError("amount", "Der Betrag muss größer als 0 sein.")
    return lines


def _apply(booking: Booking, header: _Header, lines: list[BookingLine]) -> None:
    booking.booking_date = header.booking_date
    booking.account_id = header.account.id
    booking.kind = header.kind
    booking.transfer_account_id = header.transfer_account.id if header.transfer_account else None
    booking.contact_id = header.contact_id
    booking.counterparty = header.counterparty
    booking.receipt_number = header.receipt_number
    booking.document_id = header.document_id
    booking.note = header.note
    booking.tax_period = header.tax_period
    booking.lines = lines
    booking.total = DIRECTION[header.kind] * sum((ln.amount for ln in lines), ZERO)


def _refresh_search(session: Session, booking: Booking) -> None:
    contact = session.get(Contact, booking.contact_id) if booking.contact_id else None
    booking.search_key = fold(
        booking.counterparty,
        contact.name if contact is not None else "",
        booking.receipt_number,
        booking.note,
        *(ln.text for ln in booking.lines),
    )[:1000]


def _audit_payload(booking: Booking) -> dict[str, Any]:
    return {
        "booking_date": booking.booking_date,
        "kind": booking.kind,
        "account_id": booking.account_id,
        "transfer_account_id": booking.transfer_account_id,
        "contact_id": booking.contact_id,
        "counterparty": booking.counterparty,
        "receipt_number": booking.receipt_number,
        "document_id": booking.document_id,
        "payment_id": booking.payment_id,
        "tax_period": booking.tax_period,
        "total": booking.total,
        "lines": [
            {
                "amount": ln.amount,
                "category_id": ln.category_id,
                "tax_key": ln.tax_key,
                "net": ln.net,
                "tax": ln.tax,
                "deductible": ln.deductible,
                "nondeductible": ln.nondeductible,
                "text": ln.text,
            }
            for ln in booking.lines
        ],
    }


def _attach_receipt(
    session: Session, header: _Header, receipt: tuple[str, bytes] | None, actor: str
) -> None:
    """Upload the receipt into Dokumente (type Buchungsbeleg, 8 years); checks its file type."""
    if receipt is None:
        return
    filename, content = receipt
    result = documents.upload(
        session,
        content=content,
        filename=filename,
        doc_type=RECEIPT_TYPE,
        contact_ids=[header.contact_id] if header.contact_id else [],
        title=header.receipt_number or filename,
        issued_on=header.booking_date,
        created_by=actor,
    )
    header.document_id = result.document.id


def create_booking(
    session: Session,
    *,
    booking_date: date,
    account_id: int,
    kind: str,
    lines: Sequence[LineInput | Mapping[str, Any]],
    contact_id: int | None = None,
    counterparty: str = "",
    receipt_number: str = "",
    document_id: int | None = None,
    receipt: tuple[str, bytes] | None = None,
    note: str = "",
    transfer_account_id: int | None = None,
    tax_period: str = "",
    actor: str = "",
) -> Booking:
    """Book an Einnahme, Ausgabe or money movement; `receipt` (filename, bytes) is uploaded."""
    require_permission(Permission.LEDGER_WRITE, session)
    ensure_defaults(session)
    header = _validate_header(
        session,
        booking_date=booking_date,
        account_id=account_id,
        kind=kind,
        transfer_account_id=transfer_account_id,
        contact_id=contact_id,
        counterparty=counterparty,
        receipt_number=receipt_number,
        document_id=document_id,
        note=note,
        tax_period=tax_period,
    )
    built = _build_lines(session, header, lines)
    with session.begin_nested():
        _attach_receipt(session, header, receipt, actor)
        booking = Booking(source=SOURCE_MANUAL, created_by=actor)
        _apply(booking, header, built)
        _refresh_search(session, booking)
        session.add(booking)
        session.flush()
        _check_cash(
            session,
            [
                booking.account_id,
                *([booking.transfer_account_id] if booking.transfer_account_id else []),
            ],
        )
    audit.record(
        session,
        entity=ENTITY,
        entity_id=booking.id,
        action="created",
        actor=actor,
        **_audit_payload(booking),
    )
    return booking


def get_booking(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("Diese Buchung gibt es nicht mehr.")
    return booking


def _check_changeable(session: Session, booking: Booking, version: int | None) -> None:
    if version is not None and booking.version != version:
        raise ConflictError("Die Buchung wurde inzwischen geändert. Bitte neu laden.")
    periods.check_open(session, booking.booking_date)
    if booking.payment_id is not None or booking.refund_invoice_id is not None:
        raise KmsError(
            "Diese Buchung stammt aus einer Rechnungszahlung und folgt ihr automatisch; "
            "bitte die Zahlung bzw. Rechnung im Modul Rechnungen korrigieren."
        )


def update_booking(
    session: Session,
    booking_id: int,
    *,
    version: int | None,
    booking_date: date,
    account_id: int,
    kind: str,
    lines: Sequence[LineInput | Mapping[str, Any]],
    contact_id: int | None = None,
    counterparty: str = "",
    receipt_number: str = "",
    document_id: int | None = None,
    receipt: tuple[str, bytes] | None = None,
    note: str = "",
    transfer_account_id: int | None = None,
    tax_period: str = "",
    actor: str = "",
) -> Booking:
    """Change a booking in an open period (old and new date must both be open)."""
    require_permission(Permission.LEDGER_WRITE, session)
    booking = get_booking(session, booking_id)
    _check_changeable(session, booking, version)
    header = _validate_header(
        session,
        booking_date=booking_date,
        account_id=account_id,
        kind=kind,
        transfer_account_id=transfer_account_id,
        contact_id=contact_id,
        counterparty=counterparty,
        receipt_number=receipt_number,
        document_id=document_id,
        note=note,
        tax_period=tax_period,
    )
    built = _build_lines(session, header, lines)
    affected = {booking.account_id, booking.transfer_account_id}
    before = _audit_payload(booking)
    with session.begin_nested():
        _attach_receipt(session, header, receipt, actor)
        _apply(booking, header, built)
        _refresh_search(session, booking)
        session.flush()
        affected |= {booking.account_id, booking.transfer_account_id}
        _check_cash(session, [a for a in affected if a])
    audit.record(
        session,
        entity=ENTITY,
        entity_id=booking.id,
        action="updated",
        actor=actor,
        before=before,
        **_audit_payload(booking),
    )
    return booking


def delete_booking(
    session: Session, booking_id: int, *, version: int | None, actor: str = ""
) -> None:
    """Delete a booking of an open period (its receipt stays in Dokumente)."""
    require_permission(Permission.LEDGER_WRITE, session)
    booking = get_booking(session, booking_id)
    _check_changeable(session, booking, version)
    if session.scalar(select(Booking.id).where(Booking.reverses_id == booking.id).limit(1)):
        raise KmsError("Zu dieser Buchung gibt es eine Gegenbuchung; sie bleibt deshalb erhalten.")
    payload = _audit_payload(booking)
    affected = [a for a in (booking.account_id, booking.transfer_account_id) if a]
    with session.begin_nested():
        session.delete(booking)
        session.flush()
        _check_cash(session, affected)
    audit.record(
        session, entity=ENTITY, entity_id=booking_id, action="deleted", actor=actor, **payload
    )


def reverse_booking(
    session: Session, booking_id: int, *, booking_date: date | None = None, actor: str = ""
) -> Booking:
    """Counter-book a booking (typically one in a locked period) in an open period."""
    require_permission(Permission.LEDGER_WRITE, session)
    original = get_booking(session, booking_id)
    day = booking_date or today()
    periods.check_open(session, day)
    if original.reverses_id is not None:
        raise KmsError("Eine Gegenbuchung wird nicht noch einmal gegengebucht.")
    if session.scalar(select(Booking.id).where(Booking.reverses_id == original.id).limit(1)):
        raise KmsError("Diese Buchung wurde schon gegengebucht.")
    if day > today():
        raise ValidationError("booking_date", "Das Buchungsdatum liegt in der Zukunft.")
    lines = [
        BookingLine(
            position=ln.position,
            text=f"Gegenbuchung: {ln.text}"[:200],
            amount=-ln.amount,
            category_id=ln.category_id,
            tax_key=ln.tax_key,
            net=-ln.net,
            tax=-ln.tax,
            deductible=-ln.deductible,
            paid_tax=-ln.paid_tax,
            nondeductible=-ln.nondeductible,
        )
        for ln in original.lines
    ]
    booking = Booking(
        booking_date=day,
        account_id=original.account_id,
        kind=original.kind,
        transfer_account_id=original.transfer_account_id,
        contact_id=original.contact_id,
        counterparty=original.counterparty,
        receipt_number=original.receipt_number,
        document_id=original.document_id,
        note=f"Gegenbuchung zu Buchung {original.id} vom {format_date(original.booking_date)}",
        tax_period=original.tax_period,
        reverses_id=original.id,
        source=SOURCE_MANUAL,
        total=-original.total,
        lines=lines,
        created_by=actor,
    )
    with session.begin_nested():
        _refresh_search(session, booking)
        session.add(booking)
        session.flush()
        _check_cash(session, [a for a in (booking.account_id, booking.transfer_account_id) if a])
    audit.record(
        session,
        entity=ENTITY,
        entity_id=booking.id,
        action="reversed",
        actor=actor,
        reverses=original.id,
        **_audit_payload(booking),
    )
    return booking


# --- list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRow:
    id: int
    version: int
    booking_date: date
    kind: str
    account: str
    counterparty: str
    receipt_number: str
    text: str
    total: Decimal
    locked: bool
    source: str
    document_id: int | None


def _filters(
    search: str,
    date_from: date | None,
    date_to: date | None,
    account_id: int | None,
    kind: str | None,
) -> list[Any]:
    conds: list[Any] = []
    if search.strip():
        for word in fold(search).split():
            conds.append(Booking.search_key.contains(word, autoescape=True))
    if date_from:
        conds.append(Booking.booking_date >= date_from)
    if date_to:
        conds.append(Booking.booking_date <= date_to)
    if account_id:
        conds.append(
            or_(Booking.account_id == account_id, Booking.transfer_account_id == account_id)
        )
    if kind:
        conds.append(Booking.kind == kind)
    return conds


def count_bookings(
    session: Session,
    *,
    search: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    account_id: int | None = None,
    kind: str | None = None,
) -> int:
    conds = _filters(search, date_from, date_to, account_id, kind)
    return int(
        session.scalar(select(func.count()).select_from(Booking).where(and_(True, *conds))) or 0
    )


def list_bookings(
    session: Session,
    *,
    search: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    account_id: int | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[BookingRow]:
    """One page of bookings, newest first, filtered and paged in SQL."""
    conds = _filters(search, date_from, date_to, account_id, kind)
    contact_name = select(Contact.name).where(Contact.id == Booking.contact_id).scalar_subquery()
    q = (
        select(Booking, Account.name, contact_name)
        .join(Account, Account.id == Booking.account_id)
        .where(and_(True, *conds))
        .order_by(Booking.booking_date.desc(), Booking.id.desc())
        .offset(max(0, offset))
        .limit(max(1, min(limit, 500)))
    )
    locked = set(periods.locked_months(session))
    rows: list[BookingRow] = []
    for booking, account, contact in session.execute(q):
        rows.append(
            BookingRow(
                id=booking.id,
                version=booking.version,
                booking_date=booking.booking_date,
                kind=booking.kind,
                account=account,
                counterparty=contact or booking.counterparty,
                receipt_number=booking.receipt_number,
                text="; ".join(ln.text for ln in booking.lines if ln.text) or booking.note,
                total=booking.total,
                locked=booking.booking_date.replace(day=1) in locked,
                source=booking.source,
                document_id=booking.document_id,
            )
        )
    return rows


# --- Festschreibung ---------------------------------------------------------------------


def _first_month(session: Session) -> date | None:
    from kms.modules.invoices.models import Payment

    first_booking = session.scalar(select(func.min(Booking.booking_date)))
    first_payment = session.scalar(select(func.min(Payment.paid_on)))
    days = [d for d in (first_booking, first_payment) if d is not None]
    return min(days).replace(day=1) if days else None


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def lock_period(
    session: Session, month: date, *, actor: str = "", automatic: bool = False
) -> list[date]:
    """▶ Zeitraum festschreiben: lock `month` and every open month before it (GoBD).

    Only months that have ended can be locked. Returns the months locked now."""
    require_permission(Permission.LEDGER_LOCK, session)
    first = month.replace(day=1)
    if _next_month(first) > today():
        raise ValidationError(
            "month",
            f"{periods.month_label(first)} ist noch nicht zu Ende und kann nicht "
            "festgeschrieben werden.",
        )
    from kms.modules.ledger.sync import sync_payments_unchecked

    sync_payments_unchecked(session)  # payments of the month get their bookings first
    start = _first_month(session) or first
    locked: list[date] = []
    current = min(start, first)
    while current <= first:
        if periods.lock_month(session, current, actor=actor, automatic=automatic):
            locked.append(current)
            audit.record(
                session,
                entity=PERIOD_ENTITY,
                entity_id=current.isoformat()[:7],
                action="locked",
                actor=actor,
                automatic=automatic,
            )
        current = _next_month(current)
    return locked


def settings_on(session: Session, day: date) -> LedgerSettings | None:
    return session.scalar(
        select(LedgerSettings)
        .where(LedgerSettings.valid_from <= day)
        .order_by(LedgerSettings.valid_from.desc())
        .limit(1)
    )


def save_settings(
    session: Session,
    *,
    valid_from: date,
    permanent_extension: bool,
    special_prepayment: Decimal | str = ZERO,
    actor: str = "",
) -> LedgerSettings:
    """Dauerfristverlängerung (and Sondervorauszahlung) valid from a day."""
    require_permission(Permission.SETTINGS, session)
    amount = parse_amount(special_prepayment, field="special_prepayment")
    if amount < 0:
        raise ValidationError(
            "special_prepayment", "Die Sondervorauszahlung kann nicht negativ sein."
        )
    row = session.scalar(select(LedgerSettings).where(LedgerSettings.valid_from == valid_from))
    if row is None:
        row = LedgerSettings(valid_from=valid_from)
        session.add(row)
    row.permanent_extension = permanent_extension
    row.special_prepayment = amount
    session.flush()
    audit.record(
        session,
        entity="ledger_settings",
        entity_id=row.id,
        action="saved",
        actor=actor,
        valid_from=valid_from,
        permanent_extension=permanent_extension,
        special_prepayment=amount,
    )
    return row


def filing_period_of(session: Session, day: date) -> str:
    """monat | quartal | jahr on a day (Besteuerung in Einstellungen)."""
    regime = regime_on(session, day)
    return regime.filing_period if regime is not None else "quartal"


def cash_basis_on(session: Session, day: date) -> bool:
    """Ist-Versteuerung (§ 20 UStG) on a day."""
    regime = regime_on(session, day)
    return bool(regime is not None and regime.kind == "regel" and regime.cash_basis)


def lock_deadline(session: Session, month: date) -> date:
    """Last day before a month is locked automatically: the end of the following month,
    one month later with Dauerfristverlängerung."""
    following = _next_month(month.replace(day=1))
    cfg = settings_on(session, following)
    if cfg is not None and cfg.permanent_extension:
        following = _next_month(following)
    return _next_month(following) - timedelta(days=1)


def auto_lock(session: Session, now: datetime) -> str:
    """⊕ Lock every month whose deadline has passed; remind a week before a deadline."""
    from kms.notices import set_system_warning
    from kms.types import BERLIN

    day = now.astimezone(BERLIN).date()
    start = _first_month(session)
    if start is None:
        set_system_warning(session, "ledger_lock", None)
        return "keine Buchungen"
    locked: list[date] = []
    soon: list[date] = []
    current = start
    while _next_month(current) <= day:
        if not periods.is_locked(session, current):
            deadline = lock_deadline(session, current)
            if day > deadline:
                locked += lock_period(session, current, actor="System", automatic=True)
            elif day >= deadline - timedelta(days=7):
                soon.append(current)
        current = _next_month(current)
    if soon:
        names = ", ".join(periods.month_label(m) for m in soon)
        set_system_warning(
            session,
            "ledger_lock",
            f"Festschreibung: {names} wird am "
            f"{format_date(lock_deadline(session, soon[0]) + timedelta(days=1))} "
            "automatisch festgeschrieben. Bitte Buchungen bis dahin prüfen.",
            "info",
        )
    else:
        set_system_warning(session, "ledger_lock", None)
    if not locked:
        return "nichts festzuschreiben"
    return "festgeschrieben: " + ", ".join(periods.month_label(m) for m in locked)
