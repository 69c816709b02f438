"""Angebote an Kunden: drafts, ▶ Angebot abschließen (number), the customer's answer, and
▶ In Rechnung übernehmen.

Everything a quote shares with an invoice is the invoices' code: positions are checked by
the draft's line validation, totals by `compute_totals`, the number by `take_number` in its
own range (AN-{JJJJ}-{NNNN}), the seller/buyer snapshot by `make_snapshot`, and the invoice
made from a quote is an ordinary draft saved by `save_draft`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from kms import audit
from kms.errors import (
    ConflictError,
    FieldErrors,
    KmsError,
    NotFoundError,
    ValidationError,
    ValidationErrors,
)
from kms.formatting import format_date
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key as fold
from kms.modules.invoices import advance
from kms.modules.invoices import service as invoices
from kms.modules.invoices.config import RANGE_QUOTE, get_settings
from kms.modules.invoices.models import BILLING_ADVANCE, Invoice
from kms.modules.invoices.numbering import take_number
from kms.modules.invoices.quotes.models import (
    ACCEPTED,
    DRAFT,
    EXPIRED,
    REJECTED,
    SENT,
    STATUS_LABELS,
    ImmutableQuoteError,
    Quote,
    QuoteInvoice,
    QuoteLine,
)
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.rendering.glyphs import validate_printable
from kms.types import today

ENTITY = "quote"
QUOTE_FIELDS = ("contact_id", "valid_until", "intro_text", "closing_text")
LINE_COPIED = (
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "discount_kind",
    "discount_value",
    "discount_reason",
)


def default_valid_until(session: Session, day: date | None = None) -> date:
    """Gültig bis of a new quote: the configured days (30 unless set) after `day`."""
    return (day or today()) + timedelta(days=get_settings(session).quote_valid_days)


def get_quote(session: Session, quote_id: int) -> Quote:
    """A quote by id, or a German error."""
    require_permission(Permission.INVOICES_READ, session)
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise NotFoundError("Dieses Angebot gibt es nicht (mehr).")
    return quote


# --- drafts ---------------------------------------------------------------------------


def _clean(session: Session, values: dict[str, Any], day: date) -> dict[str, Any]:
    """Validate a draft's fields and positions; every problem at once, in German."""
    allowed = invoices.allowed_tax_options(session, day)
    if not allowed:
        raise KmsError(
            "Für heute ist keine Besteuerung hinterlegt (Einstellungen → Besteuerung): ohne "
            "sie ist unklar, ob Umsatzsteuer berechnet wird."
        )
    errors = FieldErrors()
    out: dict[str, Any] = {}
    with errors.field("contact_id"):
        raw = values.get("contact_id")
        contact = session.get(Contact, int(raw)) if raw else None
        if contact is None:
            raise ValidationError("contact_id", "Bitte einen Kunden wählen.")
        if contact.archived_at is not None:
            raise ValidationError("contact_id", "Dieser Kunde ist archiviert.")
        out["contact_id"] = contact.id
    with errors.field("valid_until"):
        valid_until = values.get("valid_until") or default_valid_until(session, day)
        if not isinstance(valid_until, date):
            raise ValidationError("valid_until", "Bitte ein Datum für „Gültig bis“ angeben.")
        if valid_until < day:
            raise ValidationError(
                "valid_until",
                f"„Gültig bis“ ({format_date(valid_until)}) liegt in der Vergangenheit. "
                "Bitte ein Datum ab heute angeben.",
            )
        out["valid_until"] = valid_until
    for name in ("intro_text", "closing_text"):
        out[name] = str(values.get(name) or "").strip()
        with errors.field(name):
            validate_printable(out[name], field=name)
    lines = []
    for index, raw_line in enumerate(invoices._non_empty(list(values.get("lines") or [])), 1):
        try:
            lines.append(invoices._clean_line(raw_line, index, allowed))
        except ValidationErrors as exc:
            for name, message in exc.errors.items():
                errors.add(name, message)
    out["lines"] = lines
    errors.raise_if_any()
    return out


def save_quote(
    session: Session,
    *,
    quote_id: int | None = None,
    version: int | None = None,
    actor: str = "",
    as_of: date | None = None,
    **values: Any,
) -> Quote:
    """Create or update a quote draft; totals are recomputed, never taken from the caller."""
    require_permission(Permission.INVOICES_WRITE, session)
    unknown = set(values) - {*QUOTE_FIELDS, "lines"}
    if unknown:
        raise TypeError(f"save_quote() got unexpected fields {sorted(unknown)}")
    day = as_of or today()
    data = _clean(session, values, day)
    if quote_id is None:
        quote = Quote(status=DRAFT)
        session.add(quote)
    else:
        quote = get_quote(session, quote_id)
        if quote.is_sent:
            raise ImmutableQuoteError()
        if version is not None and quote.version != version:
            raise ConflictError(
                "Dieses Angebot wurde inzwischen anderswo gespeichert. Bitte laden Sie die "
                "Seite neu und übernehmen Sie Ihre Eingaben."
            )
    lines = data.pop("lines")
    for key, value in data.items():
        setattr(quote, key, value)
    quote.lines = [QuoteLine(**line) for line in lines]
    quote.net_total, quote.tax_total, quote.gross_total = invoices.compute_totals(quote)
    contact = session.get(Contact, quote.contact_id)
    quote.search_key = fold(
        contact.display_name if contact else "", *(ln["description"] for ln in lines)
    )[:1000]
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError("Das Angebot wurde gleichzeitig geändert. Bitte neu laden.") from exc
    if quote_id is None:
        audit.record(
            session,
            entity=ENTITY,
            entity_id=quote.id,
            action="created",
            actor=actor,
            contact_id=quote.contact_id,
            gross=quote.gross_total,
        )
    return quote


def delete_quote(session: Session, quote_id: int, *, actor: str = "") -> None:
    """Delete a quote draft (it has no number yet); sent quotes are refused."""
    require_permission(Permission.INVOICES_WRITE, session)
    quote = get_quote(session, quote_id)
    if quote.is_sent:
        raise ImmutableQuoteError()
    session.delete(quote)
    session.flush()
    audit.record(session, entity=ENTITY, entity_id=quote_id, action="draft_deleted", actor=actor)


def line_values(line: QuoteLine) -> dict[str, Any]:
    """A position in the form `save_quote` and `save_draft` take it."""
    return {**{k: getattr(line, k) for k in LINE_COPIED}, "tax": invoices.tax_key(line)}


# --- ▶ Angebot abschließen ------------------------------------------------------------


def finalize_problems(session: Session, quote: Quote, day: date) -> list[str]:
    """Why the quote cannot be finalized on `day` (German), empty when it can."""
    from kms.modules.invoices.issuing import make_snapshot
    from kms.modules.settings.service import get_profile

    problems = []
    profile = get_profile(session)
    if not profile.company_name or not (profile.street and profile.postcode and profile.city):
        problems.append(
            "Name und Anschrift Ihres Unternehmens fehlen (Einstellungen → Firmendaten)."
        )
    if not quote.lines:
        problems.append("Das Angebot hat keine Positionen.")
    elif quote.gross_total <= 0:
        problems.append("Der Angebotsbetrag muss über 0 € liegen.")
    if quote.valid_until < day:
        problems.append(
            f"„Gültig bis“ ({format_date(quote.valid_until)}) liegt vor dem Angebotsdatum "
            f"{format_date(day)}."
        )
    allowed = set(invoices.allowed_tax_options(session, day))
    for line in quote.lines:
        key = invoices.tax_key(line)
        if key not in allowed:
            problems.append(
                f"Position {line.position}: „{invoices.TAX_OPTIONS[key].label}“ passt nicht zu "
                f"Ihrer Besteuerung am {format_date(day)}."
            )
    snapshot = make_snapshot(session, quote)
    buyer = snapshot["buyer"]
    if not buyer["name"] or not (buyer["street"] and buyer["postcode"] and buyer["city"]):
        problems.append("Name und vollständige Anschrift des Kunden fehlen (Straße, PLZ, Ort).")
    elif snapshot.get("address_problem"):
        problems.append(snapshot["address_problem"])
    return problems


def finalize_quote(
    session: Session, quote_id: int, *, actor: str = "", day: date | None = None
) -> Quote:
    """▶ Angebot abschließen: take the next AN number (gapless, in this transaction), freeze
    seller and buyer, and mark the quote versendet; afterwards it never changes."""
    require_permission(Permission.INVOICES_WRITE, session)
    quote = session.scalar(
        select(Quote)
        .where(Quote.id == quote_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if quote is None:
        raise NotFoundError("Dieses Angebot gibt es nicht (mehr).")
    if quote.is_sent:
        raise KmsError(f"{quote.label} ist bereits abgeschlossen.")
    day = day or today()
    problems = finalize_problems(session, quote, day)
    if problems:
        raise KmsError("Das Angebot kann noch nicht abgeschlossen werden: " + "; ".join(problems))
    from kms.modules.invoices.issuing import make_snapshot
    from kms.types import utcnow

    snapshot = make_snapshot(session, quote)
    number = take_number(session, RANGE_QUOTE, day)
    quote.number = number
    quote.quote_date = day
    quote.snapshot = snapshot
    quote.status = SENT
    quote.sent_at = utcnow()
    quote.sent_by = actor
    quote.search_key = f"{number.lower()} {quote.search_key}"[:1000]
    session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=quote.id,
        action="sent",
        actor=actor,
        number=number,
        quote_date=day,
        valid_until=quote.valid_until,
        gross=quote.gross_total,
        net=quote.net_total,
        tax=quote.tax_total,
    )
    return quote


# --- the customer's answer ------------------------------------------------------------


def _answer(
    session: Session,
    quote_id: int,
    status: str,
    day: date | None,
    actor: str,
    **details: Any,
) -> Quote:
    quote = get_quote(session, quote_id)
    if quote.status != SENT:
        current = STATUS_LABELS[quote.status_on(day or today())]
        raise KmsError(
            f"Nur ein versendetes Angebot kann angenommen oder abgelehnt werden "
            f"({quote.label} ist {current})."
        )
    day = day or today()
    if quote.quote_date and day < quote.quote_date:
        raise KmsError("Die Antwort des Kunden kann nicht vor dem Angebotsdatum liegen.")
    quote.status = status
    if status == ACCEPTED:
        quote.accepted_on = day
    else:
        quote.rejected_on = day
    session.flush()
    audit.record(
        session, entity=ENTITY, entity_id=quote.id, action=status, actor=actor, on=day, **details
    )
    return quote


def accept_quote(
    session: Session, quote_id: int, *, day: date | None = None, actor: str = ""
) -> Quote:
    """The customer accepted (also after Gültig bis: the owner decides to honour it)."""
    require_permission(Permission.INVOICES_WRITE, session)
    return _answer(session, quote_id, ACCEPTED, day, actor)


def reject_quote(
    session: Session, quote_id: int, *, day: date | None = None, actor: str = ""
) -> Quote:
    """The customer declined."""
    require_permission(Permission.INVOICES_WRITE, session)
    return _answer(session, quote_id, REJECTED, day, actor)


# --- ▶ In Rechnung übernehmen ---------------------------------------------------------


def _takeable(session: Session, quote_id: int, day: date) -> Quote:
    """The quote, if it may be taken over into an invoice on `day` (sent and not expired,
    or accepted); otherwise a German error."""
    quote = get_quote(session, quote_id)
    status = quote.status_on(day)
    if status not in (SENT, ACCEPTED):
        hint = ""
        if status == EXPIRED:
            hint = " Hat der Kunde es noch angenommen, markieren Sie es zuerst als angenommen."
        raise KmsError(
            "Nur ein versendetes oder angenommenes Angebot kann in eine Rechnung übernommen "
            f"werden; {quote.label} ist {STATUS_LABELS[status]}.{hint}"
        )
    return quote


def already_invoiced(session: Session, quote_id: int, *, advances_ok: bool = False) -> str:
    """The German warning before taking a quote over again (empty when it was not yet):
    it names the invoices and drafts made from it that are not cancelled. For another
    Abschlags- or the Schlussrechnung (`advances_ok`) the earlier advances are expected and
    not counted."""
    require_permission(Permission.INVOICES_READ, session)
    earlier = [
        invoice
        for invoice in invoices_of(session, quote_id)
        if invoices.status_of(session, invoice) != "storniert"
        and not (advances_ok and invoice.billing == BILLING_ADVANCE)
    ]
    if not earlier:
        return ""
    quote = get_quote(session, quote_id)
    return (
        f"Aus {quote.label} wurde bereits eine Rechnung erstellt "
        f"({', '.join(invoice.label for invoice in earlier)}). Eine weitere Übernahme "
        "berechnet die Positionen womöglich doppelt: bitte ausdrücklich bestätigen."
    )


def _refuse_repeat(session: Session, quote: Quote, again: bool, *, advances_ok: bool) -> None:
    if not again:
        warning = already_invoiced(session, quote.id, advances_ok=advances_ok)
        if warning:
            raise KmsError(warning)


def _intro(quote: Quote, what: str) -> str:
    when = format_date(quote.quote_date) if quote.quote_date else ""
    return f"gemäß unserem Angebot {quote.number} vom {when} berechnen wir Ihnen{what}:"


def _link(
    session: Session, quote: Quote, draft: Invoice, day: date, actor: str, **details: Any
) -> Invoice:
    """Link the new draft to its quote (both ways) and record it; a versendet quote the
    customer evidently ordered is angenommen from now on."""
    session.add(QuoteInvoice(quote_id=quote.id, invoice_id=draft.id))
    session.flush()
    if quote.status == SENT:
        _answer(session, quote.id, ACCEPTED, day, actor, invoice_id=draft.id)
    audit.record(
        session,
        entity=ENTITY,
        entity_id=quote.id,
        action="invoiced",
        actor=actor,
        invoice_id=draft.id,
        **details,
    )
    return draft


def to_invoice(
    session: Session,
    quote_id: int,
    *,
    positions: Sequence[int] | None = None,
    again: bool = False,
    actor: str = "",
    as_of: date | None = None,
) -> Invoice:
    """An invoice draft with the quote's positions (all, or the chosen position numbers),
    linked to the quote. Only sent (and not expired) or accepted quotes; a quote already
    taken over needs `again` (the page asks first)."""
    require_permission(Permission.INVOICES_WRITE, session)
    day = as_of or today()
    quote = _takeable(session, quote_id, day)
    chosen = list(quote.lines)
    if positions is not None:
        wanted = set(positions)
        unknown = wanted - {line.position for line in chosen}
        if unknown:
            raise KmsError(f"Das Angebot hat keine Position {min(unknown)}.")
        chosen = [line for line in chosen if line.position in wanted]
        if not chosen:
            raise KmsError("Bitte mindestens eine Position wählen.")
    _refuse_repeat(session, quote, again, advances_ok=False)
    draft = invoices.save_draft(
        session,
        actor=actor,
        as_of=day,
        contact_id=quote.contact_id,
        intro_text=_intro(quote, ""),
        lines=[line_values(line) for line in chosen],
    )
    return _link(session, quote, draft, day, actor, positions=[ln.position for ln in chosen])


def advance_rates(quote: Quote) -> dict[str, Decimal]:
    """The quote's net value per VAT rate (tax key), in the order of its positions: the
    order value an Abschlagsrechnung at that rate is measured against."""
    out: dict[str, Decimal] = {}
    for line in quote.lines:
        key = invoices.tax_key(line)
        out[key] = out.get(key, Decimal("0.00")) + line.net
    return out


def to_advance_invoice(
    session: Session,
    quote_id: int,
    *,
    percent: Any = None,
    amount: Any = None,
    tax: str | None = None,
    again: bool = False,
    actor: str = "",
    as_of: date | None = None,
    **header: Any,
) -> Invoice:
    """An Abschlagsrechnung draft on the quote: `percent` of its net value or a net `amount`
    (`advance.create_advance_draft`), with the quote number as the order, so the
    Schlussrechnung of that order deducts it. A quote with several VAT rates needs `tax`."""
    require_permission(Permission.INVOICES_WRITE, session)
    day = as_of or today()
    quote = _takeable(session, quote_id, day)
    rates = advance_rates(quote)
    if not tax and len(rates) == 1:
        tax = next(iter(rates))
    if not tax or tax not in rates:
        labels = ", ".join(invoices.TAX_OPTIONS[key].label for key in rates)
        raise ValidationError(
            "tax",
            f"Das Angebot hat Positionen zu mehreren Steuersätzen ({labels}): bitte den "
            "Steuersatz des Abschlags wählen."
            if not tax
            else f"Das Angebot hat keine Position zu diesem Steuersatz (nur {labels}).",
        )
    _refuse_repeat(session, quote, again, advances_ok=True)
    draft = advance.create_advance_draft(
        session,
        contact_id=quote.contact_id,
        order_reference=quote.number or "",
        order_value=rates[tax],
        percent=percent,
        amount=amount,
        tax=tax,
        actor=actor,
        as_of=day,
        intro_text=_intro(quote, " einen Abschlag"),
        **header,
    )
    return _link(session, quote, draft, day, actor, billing=draft.billing, net=draft.net_total)


def to_final_invoice(
    session: Session,
    quote_id: int,
    *,
    again: bool = False,
    actor: str = "",
    as_of: date | None = None,
    **header: Any,
) -> Invoice:
    """The Schlussrechnung draft of the quote: all its positions, less every issued
    Abschlagsrechnung of the order (the quote number), by `advance.create_final_draft`."""
    require_permission(Permission.INVOICES_WRITE, session)
    day = as_of or today()
    quote = _takeable(session, quote_id, day)
    _refuse_repeat(session, quote, again, advances_ok=True)
    draft = advance.create_final_draft(
        session,
        contact_id=quote.contact_id,
        order_reference=quote.number or "",
        lines=[line_values(line) for line in quote.lines],
        actor=actor,
        as_of=day,
        intro_text=_intro(quote, ""),
        **header,
    )
    return _link(session, quote, draft, day, actor, billing=draft.billing)


def invoices_of(session: Session, quote_id: int) -> list[Invoice]:
    """The invoices (and drafts) made from a quote, oldest first."""
    require_permission(Permission.INVOICES_READ, session)
    return list(
        session.scalars(
            select(Invoice)
            .join(QuoteInvoice, QuoteInvoice.invoice_id == Invoice.id)
            .where(QuoteInvoice.quote_id == quote_id)
            .order_by(Invoice.id)
        )
    )


def quote_of(session: Session, invoice_id: int) -> Quote | None:
    """The quote an invoice was made from, if any."""
    require_permission(Permission.INVOICES_READ, session)
    return session.scalar(
        select(Quote)
        .join(QuoteInvoice, QuoteInvoice.quote_id == Quote.id)
        .where(QuoteInvoice.invoice_id == invoice_id)
    )


# --- the list -------------------------------------------------------------------------


def status_expr(day: date) -> ColumnElement[str]:
    """The shown status in SQL: versendet past Gültig bis is abgelaufen (never stored)."""
    return case(
        (and_(Quote.status == SENT, Quote.valid_until < day), EXPIRED),
        else_=Quote.status,
    )


@dataclass(frozen=True)
class QuoteRow:
    """One line of the Angebote list."""

    id: int
    number: str | None
    customer: str
    status: str
    quote_date: date | None
    valid_until: date
    gross_total: Decimal

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def list_quotes(
    session: Session,
    *,
    status: str | None = None,
    search: str = "",
    page: int = 1,
    page_size: int = 25,
    day: date | None = None,
) -> Page[QuoteRow]:
    """Filter, search and page in SQL; drafts first, then newest first."""
    require_permission(Permission.INVOICES_READ, session)
    day = day or today()
    shown = status_expr(day)
    query = select(Quote)
    if status:
        query = query.where(shown == status)
    for term in fold(search).split():
        query = query.where(Quote.search_key.contains(term, autoescape=True))
    query = query.order_by(Quote.sent_at.is_not(None), Quote.quote_date.desc(), Quote.id.desc())
    found = paginate(session, query, page=page, size=page_size)
    ids = {q.contact_id for q in found.items}
    names = {
        c.id: c.display_name for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))
    }
    rows = [
        QuoteRow(
            q.id,
            q.number,
            names.get(q.contact_id, ""),
            q.status_on(day),
            q.quote_date,
            q.valid_until,
            q.gross_total,
        )
        for q in found.items
    ]
    return Page(rows, found.total, found.page, found.size)
