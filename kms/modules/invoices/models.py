"""Rechnungen: drafts, issued invoices and cancellations, their files, payments, reminders.

An issued invoice row (and its lines and files) never changes again: mapper events refuse
every UPDATE and DELETE once `issued_at` was committed. What happens afterwards (payments,
reminders, e-mails, the overdue notice, a cancellation) lives in rows of its own, so the
status is derived from them instead of being a stored flag that contradicts immutability.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from kms.einvoice.model import EInvoiceFormat
from kms.errors import KmsError
from kms.models import Base, BusinessData
from kms.types import Money, Quantity, utcnow

KIND_INVOICE = "rechnung"
KIND_CANCELLATION = "storno"
KINDS = {KIND_INVOICE: "Rechnung", KIND_CANCELLATION: "Stornorechnung"}
# What an invoice of kind "rechnung" bills (§ 14 Abs. 5 UStG): the whole service, an
# advance on an order (Abschlagsrechnung, BT-3 386), or the final invoice of an order that
# deducts its advances (Schlussrechnung, BT-3 380 with the advances in BG-3), or a
# Rechnungskorrektur: only the difference to an issued invoice that still stands (BT-3 384,
# the invoice in BG-3 via corrects_id); the original's amount owed includes it.
BILLING_NORMAL, BILLING_ADVANCE, BILLING_FINAL = "", "abschlag", "schluss"
BILLING_CORRECTION = "korrektur"
BILLING_TITLES = {
    BILLING_NORMAL: "Rechnung",
    BILLING_ADVANCE: "Abschlagsrechnung",
    BILLING_FINAL: "Schlussrechnung",
    BILLING_CORRECTION: "Rechnungskorrektur",
}

DISCOUNT_KINDS = {"": "kein Rabatt", "percent": "Prozent", "amount": "Betrag"}
# The e-invoice a customer receives (chosen per contact, frozen into each invoice): the
# Factur-X/ZUGFeRD PDF always; XRechnung additionally as plain XML in CII or UBL syntax.
DEFAULT_EINVOICE_FORMAT = EInvoiceFormat.FACTURX.value
PAYMENT_METHODS = {
    "ueberweisung": "Überweisung",
    "bar": "Bar",
    "lastschrift": "Lastschrift",
    "karte": "Karte",
    "paypal": "PayPal",
    "sonstige": "Sonstige",
}
IMMUTABLE_MESSAGE = (
    "Eine ausgestellte Rechnung kann nicht mehr geändert oder gelöscht werden. "
    "Korrekturen sind nur über eine Stornorechnung (▶ Stornieren oder Korrigieren) oder "
    "eine Rechnungskorrektur (▶ Teilkorrektur erstellen) möglich."
)


class ImmutableInvoiceError(KmsError):
    """Someone tried to change or delete an issued invoice."""

    def __init__(self) -> None:
        super().__init__(IMMUTABLE_MESSAGE)


class NumberCounter(BusinessData, Base):
    """The last number taken per number range and period; ONE table for every range.

    `period` is the year for ranges that restart yearly and 0 otherwise. A backup restore
    must never let `last_number` go backwards (monotonic counter).
    """

    __tablename__ = "invoice_number_counters"

    range_key: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)
    last_issue_date: Mapped[date | None] = mapped_column(default=None)


class Invoice(BusinessData, Base):
    """A draft, an issued invoice, or a Stornorechnung (kind "storno", cancels_id set)."""

    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_contact_issue", "contact_id", "issue_date"),
        Index("ix_invoices_kind_issue", "kind", "issue_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=KIND_INVOICE)
    # Unique over the whole number: the law's promise (§ 14 Abs. 4 Nr. 4 UStG).
    number: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    cancels_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), unique=True, default=None
    )
    # BILLING_NORMAL / BILLING_ADVANCE / BILLING_FINAL; the order (Auftrag) links the advances
    # of one customer with their final invoice (kms.modules.invoices.advance).
    billing: Mapped[str] = mapped_column(String(10), default=BILLING_NORMAL)
    order_reference: Mapped[str] = mapped_column(String(100), default="")
    # Korrigieren: the new draft remembers the invoice it replaces; a Rechnungskorrektur
    # (billing BILLING_CORRECTION) the invoice whose amount it changes.
    corrects_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), default=None, index=True
    )
    # Leistungsdatum or -zeitraum (§ 14 Abs. 4 Nr. 6 UStG).
    service_date: Mapped[date | None] = mapped_column(default=None)
    service_date_is_issue_date: Mapped[bool] = mapped_column(default=False)
    period_start: Mapped[date | None] = mapped_column(default=None)
    period_end: Mapped[date | None] = mapped_column(default=None)
    payment_term_days: Mapped[int] = mapped_column(default=14)
    skonto_percent: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    skonto_days: Mapped[int | None] = mapped_column(default=None)
    intro_text: Mapped[str] = mapped_column(Text, default="")
    closing_text: Mapped[str] = mapped_column(Text, default="")
    buyer_reference: Mapped[str] = mapped_column(String(60), default="")
    # An EInvoiceFormat value; a new draft takes the customer's format.
    einvoice_format: Mapped[str] = mapped_column(String(20), default=DEFAULT_EINVOICE_FORMAT)
    # Paid by SEPA direct debit under this mandate (None: by transfer); frozen at issuing.
    sepa_mandate_id: Mapped[int | None] = mapped_column(
        ForeignKey("sepa_mandates.id", ondelete="RESTRICT"), default=None, index=True
    )
    # Computed from the lines on every save (never typed); kept for SQL lists and sums.
    net_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    tax_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    gross_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # Set once, at issuing.
    issue_date: Mapped[date | None] = mapped_column(default=None)
    due_date: Mapped[date | None] = mapped_column(default=None, index=True)
    issued_at: Mapped[datetime | None] = mapped_column(default=None)
    issued_by: Mapped[str] = mapped_column(String(64), default="")
    # Seller and buyer as printed, frozen at issuing (JSON of plain strings).
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Lower-cased number, customer name and texts for search alike on both databases.
    search_key: Mapped[str] = mapped_column(String(1000), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice",
        foreign_keys="InvoiceLine.invoice_id",
        order_by="InvoiceLine.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    corrects: Mapped[Invoice | None] = relationship(foreign_keys=[corrects_id], remote_side=[id])
    allowances: Mapped[list[InvoiceAllowance]] = relationship(
        back_populates="invoice",
        order_by="InvoiceAllowance.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def xrechnung(self) -> bool:
        """Whether an XRechnung (CII or UBL) is produced at issuing."""
        return self.einvoice_format != DEFAULT_EINVOICE_FORMAT

    @property
    def is_issued(self) -> bool:
        return self.issued_at is not None

    @property
    def is_cancellation(self) -> bool:
        return self.kind == KIND_CANCELLATION

    @property
    def is_correction(self) -> bool:
        """A Rechnungskorrektur (BT-3 384) of `corrects`, not the ▶ Korrigieren replacement."""
        return self.billing == BILLING_CORRECTION

    @property
    def label(self) -> str:
        """ "Rechnung RE-2026-0001", "Stornorechnung ST-2026-0001" or "Entwurf 12"."""
        if self.number:
            kind = KINDS[self.kind]
            if self.kind == KIND_INVOICE:
                kind = BILLING_TITLES.get(self.billing, kind)
            return f"{kind} {self.number}"
        return f"Entwurf {self.id}"


# The Rechnungen list's order (drafts first, newest first), so a page is read from the front
# of the index instead of sorting every invoice (migration 1303).
Index(
    "ix_invoices_list_order",
    Invoice.issued_at.is_not(None),
    Invoice.issue_date.desc(),
    Invoice.id.desc(),
)


class PositionColumns:
    """The columns of one position, shared by invoice and quote lines (one totals code)."""

    position: Mapped[int] = mapped_column(default=1, sort_order=-1)
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("1"))
    unit_code: Mapped[str] = mapped_column(String(3), default="C62")
    unit_price: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("0"))
    tax_category: Mapped[str] = mapped_column(String(2), default="S")
    tax_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("19.00"))
    discount_kind: Mapped[str] = mapped_column(String(10), default="")
    discount_value: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    discount_reason: Mapped[str] = mapped_column(String(200), default="")
    net: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))


class InvoiceLine(PositionColumns, BusinessData, Base):
    """One position; the net amount is computed (quantity × price − discount, in cents)."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-3)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True, sort_order=-2
    )
    # A Schlussrechnung's deduction line names the Abschlagsrechnung it deducts (BG-3).
    deducts_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), default=None, index=True
    )

    invoice: Mapped[Invoice] = relationship(back_populates="lines", foreign_keys=[invoice_id])
    deducts: Mapped[Invoice | None] = relationship(foreign_keys=[deducts_invoice_id])


class InvoiceAllowance(BusinessData, Base):
    """A document level allowance (Rabatt, BG-20) or charge (Zuschlag, BG-21) with its VAT.

    `kind` is "amount" (net euros) or "percent" (of the net lines with the same VAT);
    `amount` is computed on every save, like a line's net amount.
    """

    __tablename__ = "invoice_allowances"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    charge: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")
    reason_code: Mapped[str] = mapped_column(String(10), default="")
    kind: Mapped[str] = mapped_column(String(10), default="amount")
    value: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    tax_category: Mapped[str] = mapped_column(String(2), default="S")
    tax_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("19.00"))
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))

    invoice: Mapped[Invoice] = relationship(back_populates="allowances")


class InvoiceFile(BusinessData, Base):
    """An original file as issued (PDF, XML, dunning letter): bytes never re-rendered.

    The file itself is a Dokumente document; this row says which one and its SHA-256."""

    __tablename__ = "invoice_files"
    __table_args__ = (UniqueConstraint("invoice_id", "reminder_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    reminder_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_reminders.id", ondelete="RESTRICT"), default=None
    )
    role: Mapped[str] = mapped_column(String(20))  # pdf | facturx_xml | xrechnung_xml
    filename: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(60))
    # The bytes live once, in Dokumente (document_id); sha256 is what was issued, and every
    # read is checked against it (kms.modules.documents.service.read_verified).
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(default=0)
    # RESTRICT: the Dokumente record of an original can never be deleted (GoBD).
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Payment(BusinessData, Base):
    """A received payment; `skonto` is the cash discount granted with it (split per rate).

    Insert-only. A returned payment (Rücklastschrift) is not changed: a second row with the
    negated amounts and `returns_payment_id` takes it back, so every sum stays a plain sum."""

    __tablename__ = "invoice_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    paid_on: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    method: Mapped[str] = mapped_column(String(20), default="ueberweisung")
    skonto: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # [{"category": "S", "rate": "19.00", "discount": …, "net": …, "tax": …}] as text amounts.
    skonto_split: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=None)
    # Part of `amount` beyond the open amount, booked deliberately as overpayment.
    overpayment: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # Net share of the payment for the § 19 Abs. 2 UStG turnover (received payments, net).
    net_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    note: Mapped[str] = mapped_column(String(200), default="")
    # A return (Rücklastschrift) takes back an earlier payment: amount, Skonto, overpayment
    # and net amount negated; unique, so a payment is returned at most once.
    returns_payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_payments.id", ondelete="RESTRICT"), unique=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")

    @property
    def is_return(self) -> bool:
        return self.returns_payment_id is not None


class Reminder(BusinessData, Base):
    """A Zahlungserinnerung (level 0) or Mahnung (levels 1–3) with its computed charges."""

    __tablename__ = "invoice_reminders"
    __table_args__ = (UniqueConstraint("invoice_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    level: Mapped[int] = mapped_column(default=0)
    letter_date: Mapped[date] = mapped_column()
    new_due_date: Mapped[date] = mapped_column()
    open_amount: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    lump_sum: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    total: Mapped[Decimal] = mapped_column(Money())
    explanation: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class Sending(BusinessData, Base):
    """An e-mail that the server accepted; its existence is the status "versendet"."""

    __tablename__ = "invoice_sendings"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    reminder_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoice_reminders.id", ondelete="RESTRICT"), default=None
    )
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipients: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str] = mapped_column(String(300))
    attachments: Mapped[str] = mapped_column(String(1000), default="")
    message_id: Mapped[str] = mapped_column(String(300), default="")
    sent_by: Mapped[str] = mapped_column(String(64), default="")


class OverdueNotice(BusinessData, Base):
    """The overdue automatism notified about this invoice (once per invoice)."""

    __tablename__ = "invoice_overdue_notices"

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), primary_key=True
    )
    notified_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_date: Mapped[date] = mapped_column()


class Article(BusinessData, Base):
    """A Leistung or Artikel of the price list: what picking it puts into a position.

    A position copies the article's values (it stays editable and is frozen on issue like
    every other), so changing or archiving an article never touches a document. The link
    to a Preiskalkulation offering is a plain integer without foreign key: that add-on is
    licensed and may be absent; the service checks the id while the add-on is usable.
    """

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Optional short code ("WS-1"); unique when given (NULL for none, so many may lack one).
    number: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    unit_code: Mapped[str] = mapped_column(String(3), default="C62")
    unit_price: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal("0"))
    tax_category: Mapped[str] = mapped_column(String(2), default="S")
    tax_rate: Mapped[Decimal] = mapped_column(Money(), default=Decimal("19.00"))
    offering_id: Mapped[int | None] = mapped_column(default=None, index=True)
    archived: Mapped[bool] = mapped_column(default=False, index=True)
    # Lower-cased number, name and description for the list's search on both databases.
    search_key: Mapped[str] = mapped_column(String(1000), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


# --- immutability guard ---------------------------------------------------------------


def stored_stamp_set(obj: Any, stamp: str, conn: Any = None) -> bool:
    """True if the database row (not just this object) already has its `stamp` column set:
    an issued invoice (issued_at), a sent quote (sent_at). The guards of both use it."""
    state = inspect(obj)
    if state.transient or state.pending:
        return False
    history = state.attrs[stamp].history
    if history.deleted:
        return history.deleted[0] is not None
    if history.unchanged:
        return history.unchanged[0] is not None
    # The old value was never loaded (expired): ask the database instead of guessing.
    if conn is None:
        session = state.session
        if session is None:
            return False
        conn = session.connection()
    table = type(obj).__table__
    stored = conn.execute(select(table.c[stamp]).where(table.c.id == obj.id)).scalar()
    return stored is not None


def _was_issued(invoice: Invoice, conn: Any = None) -> bool:
    """True if the database row (not just this object) already is an issued invoice."""
    return stored_stamp_set(invoice, "issued_at", conn)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_issued(session: Session, _ctx: Any, _instances: Any) -> None:
    """Mapper-level guard: issued invoices, their lines and files cannot change or vanish."""
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, Invoice):
            if obj in session.deleted and (obj.issued_at is not None or _was_issued(obj)):
                raise ImmutableInvoiceError()
            if session.is_modified(obj, include_collections=False) and _was_issued(obj):
                raise ImmutableInvoiceError()
        elif isinstance(obj, InvoiceLine | InvoiceAllowance | InvoiceFile):
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                if isinstance(obj, InvoiceFile) or _line_frozen(session, obj):
                    raise ImmutableInvoiceError()
    for obj in session.new:
        if isinstance(obj, InvoiceLine | InvoiceAllowance) and _line_frozen(session, obj):
            raise ImmutableInvoiceError()


def _line_frozen(session: Session, line: InvoiceLine | InvoiceAllowance) -> bool:
    """A line or allowance belongs to an issued invoice (as stored in the database)."""
    invoice = line.invoice
    if invoice is None and line.invoice_id is not None:
        invoice = session.get(Invoice, line.invoice_id)
    return invoice is not None and _was_issued(invoice)


for _model in (Invoice, InvoiceLine, InvoiceAllowance, InvoiceFile):
    # Bulk or core-level updates bypass before_flush; these catch the ORM unit of work too.
    @event.listens_for(_model, "before_update")
    def _no_update(_mapper: Any, _conn: Any, target: Any) -> None:
        if isinstance(target, InvoiceFile):
            raise ImmutableInvoiceError()
        invoice = target if isinstance(target, Invoice) else target.invoice
        if invoice is not None and _was_issued(invoice, _conn):
            raise ImmutableInvoiceError()

    @event.listens_for(_model, "before_delete")
    def _no_delete(_mapper: Any, _conn: Any, target: Any) -> None:
        invoice = target.invoice if isinstance(target, InvoiceLine | InvoiceAllowance) else None
        if isinstance(target, Invoice):
            invoice = target
        if isinstance(target, InvoiceFile) or (invoice is not None and invoice.is_issued):
            raise ImmutableInvoiceError()


# --- SEPA direct debit (Lastschrift) ----------------------------------------------------

SCHEMES = {"CORE": "SEPA-Basislastschrift (CORE)", "B2B": "SEPA-Firmenlastschrift (B2B)"}
SEQUENCE_FIRST, SEQUENCE_RECURRING, SEQUENCE_ONE_OFF = "FRST", "RCUR", "OOFF"
SEQUENCES = {
    SEQUENCE_FIRST: "Erstlastschrift",
    SEQUENCE_RECURRING: "Folgelastschrift",
    SEQUENCE_ONE_OFF: "Einmallastschrift",
}
RUN_CREATED, RUN_CONFIRMED, RUN_DISCARDED = "erstellt", "gebucht", "verworfen"
RUN_STATES = {
    RUN_CREATED: "Datei erstellt",
    RUN_CONFIRMED: "von der Bank gebucht",
    RUN_DISCARDED: "verworfen",
}


class SepaMandate(BusinessData, Base):
    """A SEPA direct debit mandate a customer signed (Lastschriftmandat).

    The sequence type is derived, not stored: FRST until a debit under the mandate was
    booked by the bank (`last_used_on` set when a run is confirmed), RCUR afterwards; a
    one-off mandate (`one_off`) allows a single debit, OOFF."""

    __tablename__ = "sepa_mandates"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), index=True
    )
    reference: Mapped[str] = mapped_column(String(35), unique=True)  # Mandatsreferenz
    signed_on: Mapped[date] = mapped_column()
    scheme: Mapped[str] = mapped_column(String(4), default="CORE")
    debtor_name: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11), default="")
    one_off: Mapped[bool] = mapped_column(default=False)
    revoked_on: Mapped[date | None] = mapped_column(default=None)
    last_used_on: Mapped[date | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def active(self) -> bool:
        return self.revoked_on is None

    @property
    def used_up(self) -> bool:
        """A one-off mandate after its debit was booked: no further debit under it."""
        return self.one_off and self.last_used_on is not None

    @property
    def sequence(self) -> str:
        if self.one_off:
            return SEQUENCE_ONE_OFF
        return SEQUENCE_FIRST if self.last_used_on is None else SEQUENCE_RECURRING


class SepaRun(BusinessData, Base):
    """One ▶ Lastschriftdatei erzeugen: the pain.008 file as handed to the bank, and
    whether the bank booked it (only then the invoices count as paid, the mandates RCUR)."""

    __tablename__ = "sepa_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    collection_date: Mapped[date] = mapped_column()
    status: Mapped[str] = mapped_column(String(10), default=RUN_CREATED)
    count: Mapped[int] = mapped_column(default=0)
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    filename: Mapped[str] = mapped_column(String(100))
    xml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    settled_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    items: Mapped[list[SepaRunItem]] = relationship(
        back_populates="run", order_by="SepaRunItem.id", lazy="selectin"
    )


class SepaRunItem(BusinessData, Base):
    """One debit of a run: which invoice, under which mandate, how much, FRST or RCUR."""

    __tablename__ = "sepa_run_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sepa_runs.id", ondelete="RESTRICT"), index=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    mandate_id: Mapped[int] = mapped_column(
        ForeignKey("sepa_mandates.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Money())
    sequence: Mapped[str] = mapped_column(String(4))
    end_to_end_id: Mapped[str] = mapped_column(String(35))

    run: Mapped[SepaRun] = relationship(back_populates="items")


# --- Wiederkehrende Rechnungen (templates, runs, log) ---------------------------------

# Customer quotes (Angebote an Kunden) live in their own slice; imported here so that the
# module's `models` entry registers their tables too.
import kms.modules.invoices.quotes.models  # noqa: E402, F401
from kms.modules.invoices.recurring.models import (  # noqa: E402,F401 - one metadata
    RecurringLog,
    RecurringRun,
    RecurringTemplate,
)
