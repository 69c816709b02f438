"""Einnahmen/Ausgaben: accounts, categories, bookings with lines, dated ledger settings.

A booking is a header (date, account, counterparty, receipt) plus one or more lines; each
line has an amount, a category and a Steuerschlüssel (kms/modules/ledger/taxkeys.py). The
split of a line into net, VAT, deductible Vorsteuer and non-deductible part is computed by
the service on every save and stored, so reports add up columns in SQL.

Signs: line amounts are entered positive in the direction of the booking's kind (an
Einnahme brings money in, an Ausgabe takes it out); a negative line is a correction (a
refund, a credit note). `Booking.total` is the signed effect on the account's balance.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from kms.models import Base, BusinessData
from kms.types import Money, utcnow

ZERO = Decimal("0.00")

ACCOUNT_KINDS = {"bank": "Bankkonto", "kasse": "Kasse", "paypal": "PayPal", "sonstige": "Sonstiges"}

EINNAHME, AUSGABE = "einnahme", "ausgabe"
PRIVATENTNAHME, PRIVATEINLAGE = "privatentnahme", "privateinlage"
GELDTRANSIT = "geldtransit"
UST_ZAHLUNG, UST_ERSTATTUNG = "ust_zahlung", "ust_erstattung"
BOOKING_KINDS = {
    EINNAHME: "Einnahme",
    AUSGABE: "Ausgabe",
    PRIVATENTNAHME: "Privatentnahme",
    PRIVATEINLAGE: "Privateinlage",
    GELDTRANSIT: "Geldtransit",
    UST_ZAHLUNG: "USt-Zahlung an das Finanzamt",
    UST_ERSTATTUNG: "USt-Erstattung vom Finanzamt",
}
# +1: money comes into the account; -1: money leaves it.
DIRECTION = {
    EINNAHME: 1,
    AUSGABE: -1,
    PRIVATENTNAHME: -1,
    PRIVATEINLAGE: 1,
    GELDTRANSIT: -1,  # out of `account`, into `transfer_account`
    UST_ZAHLUNG: -1,
    UST_ERSTATTUNG: 1,
}
# Kinds whose lines carry a category (income or expense in the EÜR sense).
WITH_CATEGORY = {EINNAHME, AUSGABE}

SOURCE_MANUAL, SOURCE_PAYMENT, SOURCE_REFUND = "manuell", "zahlung", "storno"


class Account(BusinessData, Base):
    """A Geldkonto: bank account (with IBAN), cash box, PayPal or another."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="bank")
    iban: Mapped[str] = mapped_column(String(34), default="")
    bic: Mapped[str] = mapped_column(String(11), default="")
    opening_balance: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    opening_date: Mapped[date | None] = mapped_column(default=None)
    # The account income from invoice payments goes to (one per instance at most).
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def kind_label(self) -> str:
        return ACCOUNT_KINDS.get(self.kind, self.kind)


class Category(BusinessData, Base):
    """An income or expense category mapped to an EÜR field (kms/modules/ledger/categories.py)."""

    __tablename__ = "ledger_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    side: Mapped[str] = mapped_column(String(10))  # "einnahme" | "ausgabe"
    euer_field: Mapped[str] = mapped_column(String(40), default="")
    special: Mapped[str] = mapped_column(String(20), default="")  # bewirtung | geschenk
    default_tax_key: Mapped[str] = mapped_column(String(10), default="")
    builtin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Booking(BusinessData, Base):
    """One booking header; `total` is its signed effect on the account."""

    __tablename__ = "ledger_bookings"
    __table_args__ = (
        Index("ix_ledger_bookings_account_date", "account_id", "booking_date"),
        # Covers the § 19 turnover sum per year (kms/modules/ledger/turnover.py): an
        # index-only range scan instead of a join over every booking line.
        Index("ix_ledger_bookings_kind_date", "kind", "booking_date", "turnover_19"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_date: Mapped[date] = mapped_column(index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    # Geldtransit: the receiving own account.
    transfer_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), default=None
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), default=None, index=True
    )
    counterparty: Mapped[str] = mapped_column(String(200), default="")
    receipt_number: Mapped[str] = mapped_column(String(60), default="")
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), default=None, index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    # Income from an invoice payment: exactly one booking per payment.
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_payments.id", ondelete="RESTRICT"), unique=True, default=None
    )
    # Refund of a paid invoice that a Stornorechnung cancelled: one booking per Storno.
    refund_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), unique=True, default=None
    )
    source: Mapped[str] = mapped_column(String(10), default=SOURCE_MANUAL)
    # USt-Zahlung/-Erstattung: the Voranmeldungszeitraum it belongs to ("2025-12", "2025-Q4",
    # "2025"); decides the § 11 Abs. 2 EStG ten-day rule.
    tax_period: Mapped[str] = mapped_column(String(7), default="")
    # A counter-booking (Storno of a booking in a locked period) names the booking it reverses.
    reverses_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_bookings.id", ondelete="RESTRICT"), default=None
    )
    total: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    # The lines' share of received turnover in the sense of § 19 Abs. 2 UStG (net; zero for
    # every kind but Einnahme), derived from the lines on every flush (`_keep_turnover` below)
    # and after a category's EÜR field changes. The Kleinunternehmer watch sums it per year.
    turnover_19: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    search_key: Mapped[str] = mapped_column(String(1000), default="", index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[BookingLine]] = relationship(
        back_populates="booking",
        order_by="BookingLine.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def kind_label(self) -> str:
        return BOOKING_KINDS.get(self.kind, self.kind)


class BookingLine(BusinessData, Base):
    """One line: amount as paid (gross; net for § 13b and ig. Erwerb), category, tax key."""

    __tablename__ = "ledger_booking_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_bookings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    text: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal] = mapped_column(Money())
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_categories.id", ondelete="RESTRICT"), default=None, index=True
    )
    tax_key: Mapped[str] = mapped_column(String(10), default="NSTB")
    # Computed on save from the tax key valid on the booking date (see taxkeys.split).
    net: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    tax: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    deductible: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    paid_tax: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    # Part of the net expense that is not deductible (Bewirtung 30 %).
    nondeductible: Mapped[Decimal] = mapped_column(Money(), default=ZERO)

    booking: Mapped[Booking] = relationship(back_populates="lines")


class LedgerSettings(BusinessData, Base):
    """Ledger settings valid from a day (next to the Besteuerung's Soll/Ist and period)."""

    __tablename__ = "ledger_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    valid_from: Mapped[date] = mapped_column(unique=True)
    # Dauerfristverlängerung (§ 46 UStDV): every Voranmeldung one month later.
    permanent_extension: Mapped[bool] = mapped_column(default=False)
    # Sondervorauszahlung (monthly filers with extension), deducted in December (Kz 39).
    special_prepayment: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


AFA_LINEAR, AFA_GWG, AFA_DEGRESSIVE = "linear", "gwg", "degressiv"
AFA_METHODS = {
    AFA_LINEAR: "linear (pro rata nach Monaten)",
    AFA_GWG: "GWG: Sofortabschreibung (bis 800 € netto)",
    AFA_DEGRESSIVE: "degressiv (§ 7 Abs. 2 EStG, nur in den gesetzlichen Zeiträumen)",
}


class Asset(BusinessData, Base):
    """An item of the Anlagenverzeichnis: not an expense at payment, written off by AfA."""

    __tablename__ = "ledger_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    acquired_on: Mapped[date] = mapped_column(index=True)
    # Anschaffungskosten, net where Vorsteuer is deductible (the AfA base).
    cost: Mapped[Decimal] = mapped_column(Money())
    useful_life_years: Mapped[int] = mapped_column(default=3)
    method: Mapped[str] = mapped_column(String(10), default=AFA_LINEAR)
    # EÜR field of the AfA: afa_beweglich | afa_immateriell (GWG: gwg).
    euer_field: Mapped[str] = mapped_column(String(40), default="afa_beweglich")
    # The purchase booking (its line uses the category "Anlagevermögen").
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_bookings.id", ondelete="RESTRICT"), default=None, index=True
    )
    disposed_on: Mapped[date | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


# --- GoBD guard: no path changes a booking of a festgeschriebenen month -------------------


def _stored_date(booking: Booking) -> date | None:
    """The booking date as stored in the database (before this flush's changes)."""
    history = inspect(booking).attrs.booking_date.history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return booking.booking_date


def _booking_of(session: Session, line: BookingLine) -> Booking | None:
    """The booking of a line, also of one already taken out of its booking's lines."""
    if line.booking is not None or line.booking_id is None:
        return line.booking
    with session.no_autoflush:
        return session.get(Booking, line.booking_id)


@event.listens_for(Session, "before_flush")
def _refuse_changes_in_locked_periods(session: Session, _ctx: Any, _instances: Any) -> None:
    """Mapper-level guard behind the services: a booking (or line) of a locked month is never
    updated or deleted, and nothing is moved into a locked month. Bookings that mirror an
    invoice payment may be created there (the payment was recorded before the lock)."""
    from kms.periods import check_open

    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, Booking):
            changed = obj in session.deleted or session.is_modified(obj, include_collections=False)
            if not changed:
                continue
            old = _stored_date(obj)
            if old is not None:
                check_open(session, old)
            if obj not in session.deleted:
                check_open(session, obj.booking_date)
        elif isinstance(obj, BookingLine):
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                booking = _booking_of(session, obj)
                if booking is not None and booking not in session.deleted:
                    old = _stored_date(booking)
                    if old is not None:
                        check_open(session, old)
    for obj in session.new:
        if isinstance(obj, Booking) and obj.payment_id is None and obj.refund_invoice_id is None:
            check_open(session, obj.booking_date)


@event.listens_for(Session, "before_flush")
def _keep_turnover(session: Session, _ctx: Any, _instances: Any) -> None:
    """Derive `Booking.turnover_19` from the lines of every booking this flush writes.

    Every ORM path (the service, the payment sync, reversals, imports) ends in a flush, so
    none of them can store lines without the matching sum. Only a changed value is set.
    """
    bookings: set[Booking] = set()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, Booking):
            bookings.add(obj)
        elif isinstance(obj, BookingLine):
            booking = _booking_of(session, obj)
            if booking is not None:
                bookings.add(booking)
    if not bookings:
        return
    from kms.modules.ledger.turnover import booking_turnover

    for booking in bookings:
        if booking in session.deleted:
            continue
        with session.no_autoflush:
            value = booking_turnover(session, booking)
        if booking.turnover_19 != value:
            booking.turnover_19 = value


# --- DATEV hand-over (kms/modules/ledger/datev.py) ----------------------------------------


class DatevSettings(BusinessData, Base):
    """The one row of DATEV master data: Berater-/Mandanten-Nr., SKR, Wirtschaftsjahr."""

    __tablename__ = "datev_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    advisor_number: Mapped[int | None] = mapped_column(default=None)  # Berater-Nr.
    client_number: Mapped[int | None] = mapped_column(default=None)  # Mandanten-Nr.
    chart: Mapped[str] = mapped_column(String(2), default="03")  # SKR "03" | "04"
    account_length: Mapped[int] = mapped_column(default=4)  # Sachkontenlänge
    fiscal_start_month: Mapped[int] = mapped_column(default=1)  # WJ-Beginn
    fiscal_start_day: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DatevAccountMap(BusinessData, Base):
    """The DATEV Geldkonto of a ledger account ("" = the SKR default for its kind)."""

    __tablename__ = "datev_account_map"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    money_account: Mapped[str] = mapped_column(String(9), default="")


class DatevCategoryMap(BusinessData, Base):
    """The user's DATEV Sachkonto of a category per SKR ("" = the shipped default)."""

    __tablename__ = "datev_category_map"

    category_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_categories.id", ondelete="CASCADE"), primary_key=True
    )
    skr03: Mapped[str] = mapped_column(String(9), default="")
    skr04: Mapped[str] = mapped_column(String(9), default="")
