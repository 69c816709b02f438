"""Quotes (Angebote an Kunden): a draft, then sent with a number, then accepted or rejected.

Positions have the columns of invoice lines (`PositionColumns`) and their totals come from
the invoices' `compute_totals`, so a quote and the invoice made from it compute alike.
"Abgelaufen" is never stored: it is derived from Gültig bis whenever a quote is read.
Once sent, a quote's content never changes again (mapper events refuse it); only the
customer's answer (angenommen/abgelehnt with its date) is recorded afterwards.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from kms.errors import KmsError
from kms.models import Base, BusinessData
from kms.modules.invoices.models import PositionColumns, stored_stamp_set
from kms.types import Money, utcnow

DRAFT, SENT, ACCEPTED, REJECTED, EXPIRED = (
    "entwurf",
    "versendet",
    "angenommen",
    "abgelehnt",
    "abgelaufen",
)
STATUS_LABELS = {
    DRAFT: "Entwurf",
    SENT: "versendet",
    ACCEPTED: "angenommen",
    REJECTED: "abgelehnt",
    EXPIRED: "abgelaufen",
}
IMMUTABLE_MESSAGE = (
    "Ein versendetes Angebot kann nicht mehr geändert oder gelöscht werden. Für andere "
    "Konditionen legen Sie bitte ein neues Angebot an."
)
# What may still change on a sent quote: the customer's answer.
_ANSWER_FIELDS = frozenset({"status", "accepted_on", "rejected_on", "updated_at", "version"})


class ImmutableQuoteError(KmsError):
    """Someone tried to change or delete a sent quote."""

    def __init__(self) -> None:
        super().__init__(IMMUTABLE_MESSAGE)


class Quote(BusinessData, Base):
    """An Angebot an einen Kunden; `status` is entwurf, versendet, angenommen or abgelehnt."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    valid_until: Mapped[date] = mapped_column(index=True)
    intro_text: Mapped[str] = mapped_column(Text, default="")
    closing_text: Mapped[str] = mapped_column(Text, default="")
    net_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    tax_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    gross_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    # Set once, when the quote is sent (Angebotsdatum, number, seller and buyer as printed).
    quote_date: Mapped[date | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_by: Mapped[str] = mapped_column(String(64), default="")
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    accepted_on: Mapped[date | None] = mapped_column(default=None)
    rejected_on: Mapped[date | None] = mapped_column(default=None)
    search_key: Mapped[str] = mapped_column(String(1000), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote",
        order_by="QuoteLine.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    # A quote has no document allowances and no direct debit: the invoices' totals and
    # snapshot code read these.
    @property
    def allowances(self) -> tuple[()]:
        return ()

    @property
    def sepa_mandate_id(self) -> None:
        return None

    @property
    def is_sent(self) -> bool:
        return self.sent_at is not None

    def status_on(self, day: date) -> str:
        """The status as shown: a sent quote past its Gültig bis is "abgelaufen"."""
        if self.status == SENT and self.valid_until < day:
            return EXPIRED
        return self.status

    @property
    def label(self) -> str:
        return f"Angebot {self.number}" if self.number else f"Angebotsentwurf {self.id}"


class QuoteLine(PositionColumns, BusinessData, Base):
    """One position of a quote: the same columns and computation as an invoice line."""

    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-3)
    quote_id: Mapped[int] = mapped_column(
        ForeignKey("quotes.id", ondelete="CASCADE"), index=True, sort_order=-2
    )

    quote: Mapped[Quote] = relationship(back_populates="lines")


class QuoteInvoice(BusinessData, Base):
    """An invoice draft (later the invoice) made from a quote: ▶ In Rechnung übernehmen.

    One row per invoice; a deleted draft takes its row along (ON DELETE CASCADE)."""

    __tablename__ = "quote_invoices"

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- immutability guard ---------------------------------------------------------------


def _was_sent(quote: Quote, conn: Any = None) -> bool:
    """True if the database row (not just this object) already is a sent quote."""
    return stored_stamp_set(quote, "sent_at", conn)


def _content_changed(quote: Quote) -> bool:
    """Whether anything but the customer's answer changed on this object."""
    state = inspect(quote)
    return any(
        attr.key not in _ANSWER_FIELDS and attr.history.has_changes()
        for attr in state.attrs
        if attr.key != "lines"
    )


def _line_frozen(session: Session, line: QuoteLine) -> bool:
    quote = line.quote
    if quote is None and line.quote_id is not None:
        quote = session.get(Quote, line.quote_id)
    return quote is not None and _was_sent(quote)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_sent(session: Session, _ctx: Any, _instances: Any) -> None:
    """Sent quotes and their lines cannot change (except the answer) or vanish."""
    for obj in [*session.dirty, *session.deleted]:
        if isinstance(obj, Quote):
            if obj in session.deleted and (obj.sent_at is not None or _was_sent(obj)):
                raise ImmutableQuoteError()
            if _content_changed(obj) and _was_sent(obj):
                raise ImmutableQuoteError()
        elif isinstance(obj, QuoteLine):
            if obj in session.deleted or session.is_modified(obj, include_collections=False):
                if _line_frozen(session, obj):
                    raise ImmutableQuoteError()
    for obj in session.new:
        if isinstance(obj, QuoteLine) and _line_frozen(session, obj):
            raise ImmutableQuoteError()


@event.listens_for(QuoteLine, "before_update")
@event.listens_for(QuoteLine, "before_delete")
def _no_line_change(_mapper: Any, conn: Any, target: QuoteLine) -> None:
    """Also for changes that bypass before_flush (the unit of work still runs these)."""
    quote = target.quote
    if quote is not None and _was_sent(quote, conn):
        raise ImmutableQuoteError()
