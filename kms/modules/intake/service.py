"""Rechnungseingang: receive invoice files, validate, archive unchanged, book as Ausgabe.

`receive` takes the bytes of one file: refuses what cannot be read safely (nothing is
stored), recognises duplicates (same SHA-256, or same seller and invoice number), validates
e-invoices with kms.einvoice.validate and stores the original bytes unchanged in Dokumente
as a Buchungsbeleg, also when validation fails (the owner decides). `book_expense` turns a
received invoice into one Ausgabe with a line per VAT rate and category.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import KmsError, NotFoundError, ValidationError, ValidationErrors
from kms.formatting import format_date, format_money, format_size
from kms.modules.contacts import service as contacts
from kms.modules.contacts.models import Contact
from kms.modules.documents import service as documents
from kms.modules.intake.models import (
    BOOKED,
    DISCARDED,
    INVALID,
    NEW,
    UNCHECKED,
    VALID,
    ReceivedInvoice,
)
from kms.modules.intake.parse import EINVOICE, FileRefused, ParsedInvoice, TaxRow, parse
from kms.modules.ledger import service as ledger
from kms.modules.ledger import taxkeys
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.types import today

ENTITY = "intake_invoice"
RECEIPT_TYPE = "booking_receipt"
CENT = Decimal("0.01")
EU_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


class DuplicateInvoice(KmsError):
    """The file or the invoice (seller + number) was received before; nothing is stored."""


@dataclass(frozen=True)
class Received:
    """The outcome of one accepted file."""

    invoice: ReceivedInvoice
    parsed: ParsedInvoice

    @property
    def summary(self) -> str:
        """One German line: what was taken in and how validation went."""
        inv = self.invoice
        what = "E-Rechnung" if inv.kind == EINVOICE else "sonstige Rechnung / Beleg"
        if inv.profile_label:
            what += f" ({inv.profile_label})"
        errors = [f for f in inv.findings or [] if f.get("severity") == "error"]
        warnings = [f for f in inv.findings or [] if f.get("severity") != "error"]
        if inv.validation == VALID:
            check = "gültig" + (f", {len(warnings)} Hinweise" if warnings else "")
        elif inv.validation == INVALID:
            check = f"{len(errors)} Fehler, {len(warnings)} Hinweise"
        else:
            check = "nicht geprüft"
        return f"{what}, Eingang Nr. {inv.id}; Prüfung: {check}"


# --- receiving --------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(contacts.search_key(text).split())


def _vat(text: str) -> str:
    return "".join(text.split()).upper()


def dup_keys(parsed: ParsedInvoice) -> tuple[str | None, str | None]:
    """Keys that make seller + invoice number unique: by USt-IdNr. and by folded name."""
    number = " ".join(parsed.number.split()).upper()
    if not number:
        return None, None
    vat = _vat(parsed.seller.vat_id)
    name = _fold(parsed.seller.name)
    return (
        f"{vat}|{number}"[:150] if vat else None,
        f"{name}|{number}"[:310] if name else None,
    )


def _plain(text: str, limit: int) -> str:
    """One line without control characters, at most `limit` characters (for titles)."""
    clean = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _duplicate_message(existing: ReceivedInvoice, why: str) -> str:
    return (
        f"Doppelt: {why} wurde bereits am {format_date(existing.received_at.date())} "
        f"empfangen (Eingang Nr. {existing.id}). Es wurde nichts gespeichert."
    )


def check_duplicate(session: Session, sha256: str, parsed: ParsedInvoice | None) -> None:
    """Raise DuplicateInvoice when the file or the invoice is already there."""
    existing = session.scalar(select(ReceivedInvoice).where(ReceivedInvoice.sha256 == sha256))
    if existing is not None:
        raise DuplicateInvoice(_duplicate_message(existing, "Diese Datei"))
    if parsed is None:
        return
    vat_key, name_key = dup_keys(parsed)
    conditions = []
    if vat_key:
        conditions.append(ReceivedInvoice.dup_vat_key == vat_key)
    if name_key:
        conditions.append(ReceivedInvoice.dup_name_key == name_key)
    if not conditions:
        return
    existing = session.scalar(select(ReceivedInvoice).where(or_(*conditions)).limit(1))
    if existing is not None:
        raise DuplicateInvoice(
            _duplicate_message(
                existing, f"Die Rechnung {parsed.number} dieses Lieferanten (andere Datei)"
            )
        )


def validate_parsed(parsed: ParsedInvoice) -> tuple[str, list[dict[str, Any]]]:
    """Validation status and findings (German, with rule id) of an e-invoice; others unchecked."""
    if parsed.kind != EINVOICE or parsed.xml is None or parsed.profile is None:
        return UNCHECKED, []
    from kms.einvoice.validate import validate, validate_facturx_level

    if parsed.profile.level and parsed.syntax == "CII":
        problems = validate_facturx_level(parsed.xml, parsed.profile.level, include_warnings=True)
    else:
        problems = validate(parsed.xml, xrechnung=parsed.profile.xrechnung, include_warnings=True)
    findings = [asdict(p) for p in problems]
    status = INVALID if any(p.severity == "error" for p in problems) else VALID
    return status, findings


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def receive(
    session: Session,
    content: bytes,
    filename: str,
    *,
    source: str = "upload",
    actor: str = "",
) -> Received:
    """Take in one file (see module doc). Raises FileRefused or DuplicateInvoice (German)."""
    require_permission(Permission.LEDGER_WRITE, session)
    limit_mb = documents.max_upload_mb(session)
    if len(content) > limit_mb * 1_000_000:
        raise FileRefused(
            f"Die Datei ist {format_size(len(content))} groß; erlaubt sind höchstens {limit_mb} MB."
        )
    sha = hashlib.sha256(content).hexdigest()
    check_duplicate(session, sha, None)
    parsed = parse(content, filename)
    check_duplicate(session, sha, parsed)
    validation, findings = validate_parsed(parsed)
    vat_key, name_key = dup_keys(parsed)
    number = _plain(parsed.number, 100)
    seller = _plain(parsed.seller.name, 200)
    title = _plain(" ".join(p for p in ("Eingangsrechnung", number, seller) if p) or filename, 200)
    try:
        with session.begin_nested():
            stored = documents.upload(
                session,
                content=content,
                filename=filename or "eingangsrechnung",
                doc_type=RECEIPT_TYPE,
                title=title,
                issued_on=parsed.issue_date,
                created_by=actor,
            )
            record = ReceivedInvoice(
                document_id=stored.document.id,
                sha256=sha,
                filename=_plain(filename, 255),
                source=source,
                kind=parsed.kind,
                container=parsed.container,
                syntax=parsed.syntax,
                profile=_plain(parsed.profile.id, 200) if parsed.profile else "",
                profile_label=parsed.profile.label[:60] if parsed.profile else "",
                type_code=parsed.type_code[:3],
                seller_name=seller,
                seller_vat_id=_vat(parsed.seller.vat_id)[:40],
                seller_iban=_vat(parsed.iban)[:34],
                invoice_number=number,
                issue_date=parsed.issue_date,
                due_date=parsed.due_date,
                currency=parsed.currency[:3],
                net=_money(parsed.totals.net),
                tax=_money(parsed.totals.tax),
                gross=_money(parsed.totals.gross),
                due=_money(parsed.totals.due),
                validation=validation,
                findings=findings,
                status=NEW,
                dup_vat_key=vat_key,
                dup_name_key=name_key,
                received_by=actor,
            )
            session.add(record)
            session.flush()
    except IntegrityError:
        # A concurrent import of the same invoice won the race.
        raise DuplicateInvoice(
            "Doppelt: diese Rechnung wurde gerade bereits empfangen. Es wurde nichts gespeichert."
        ) from None
    audit.record(
        session,
        entity=ENTITY,
        entity_id=record.id,
        action="received",
        actor=actor,
        sha256=sha,
        document_id=record.document_id,
        source=source,
        kind=record.kind,
        validation=validation,
    )
    return Received(record, parsed)


# --- reading ----------------------------------------------------------------------------------


def get(session: Session, invoice_id: int) -> ReceivedInvoice:
    require_permission(Permission.LEDGER_READ, session)
    record = session.get(ReceivedInvoice, invoice_id)
    if record is None:
        raise NotFoundError(f"Den Rechnungseingang Nr. {invoice_id} gibt es nicht.")
    return record


def original(session: Session, record: ReceivedInvoice) -> bytes:
    """The archived bytes, checked against the SHA-256 recorded on receipt."""
    require_permission(Permission.LEDGER_READ, session)
    return documents.read_verified(session, record.document_id, record.sha256)


def parsed_of(session: Session, record: ReceivedInvoice) -> ParsedInvoice:
    """The invoice read again from its archived original (the one source of its data)."""
    return parse(original(session, record), record.filename)


def list_invoices(
    session: Session, *, status: str = "", search: str = "", page: int = 1, size: int = 25
) -> Page[ReceivedInvoice]:
    """Received invoices, newest first, filtered and paged in SQL."""
    require_permission(Permission.LEDGER_READ, session)
    query = select(ReceivedInvoice)
    if status:
        query = query.where(ReceivedInvoice.status == status)
    term = " ".join(search.split())
    if term:
        like = f"%{term}%"
        query = query.where(
            or_(
                ReceivedInvoice.seller_name.ilike(like),
                ReceivedInvoice.invoice_number.ilike(like),
                ReceivedInvoice.filename.ilike(like),
            )
        )
    query = query.order_by(ReceivedInvoice.received_at.desc(), ReceivedInvoice.id.desc())
    return paginate(session, query, page=page, size=size)


def discard(session: Session, invoice_id: int, *, actor: str = "") -> ReceivedInvoice:
    """Mark a received invoice as verworfen; the original stays archived (retention)."""
    require_permission(Permission.LEDGER_WRITE, session)
    record = get(session, invoice_id)
    if record.status == BOOKED:
        raise KmsError(
            f"Eingang Nr. {record.id} ist bereits gebucht (Buchung {record.booking_id}) "
            "und kann nicht verworfen werden."
        )
    if record.status == DISCARDED:
        raise KmsError(f"Eingang Nr. {record.id} ist bereits verworfen.")
    record.status = DISCARDED
    session.flush()
    audit.record(session, entity=ENTITY, entity_id=record.id, action="discarded", actor=actor)
    return record


# --- booking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedLine:
    """One line of the expense booking the invoice suggests."""

    amount: Decimal  # what the ledger books: gross (Vorsteuer keys) or net (§ 13b, none)
    tax_key: str
    text: str
    net: Decimal
    tax: Decimal  # VAT as the invoice states it


@dataclass(frozen=True)
class Proposal:
    """The prefilled Ausgabe: lines, counterparty, receipt number, remarks."""

    lines: tuple[ProposedLine, ...]
    counterparty: str
    receipt_number: str
    booking_date: date
    contact: Contact | None
    remarks: tuple[str, ...]


def tax_key_for(row: TaxRow, seller_country: str) -> str:
    """The purchase tax key for one VAT breakdown row of a received invoice.

    S 19/7 % → Vorsteuer 19/7 %; AE → § 13b as recipient (EU supplier: RCEU19, otherwise
    RC19); K → innergemeinschaftlicher Erwerb 19 %; E/Z/O/G/L/M → no Vorsteuer (a supplier
    that is a Kleinunternehmer → VOHNE, otherwise NSTB). A foreign standard rate is not
    deductible in Germany (VOHNE).
    """
    category = row.category.upper()
    rate = (row.rate or Decimal("0")).quantize(CENT)
    if category == "S":
        if rate in (Decimal("19.00"), Decimal("16.00")):
            return "V19"
        if rate in (Decimal("7.00"), Decimal("5.00")):
            return "V7"
        return "VOHNE"
    if category == "AE":
        country = seller_country.upper()
        return "RCEU19" if country in EU_COUNTRIES - {"DE"} else "RC19"
    if category == "K":
        return "IGE19"
    reason = contacts.search_key(row.exemption_reason)
    if category == "E" and (("19" in reason and "ustg" in reason) or "kleinunternehm" in reason):
        return "VOHNE"
    return "NSTB"


def _category_text(row: TaxRow) -> str:
    from kms.modules.intake.parse import VAT_CATEGORIES

    label = VAT_CATEGORIES.get(row.category.upper(), row.category)
    if row.category.upper() == "S" and row.rate is not None:
        return f"{label} {row.rate.normalize():f} %"
    return label


def match_supplier(session: Session, vat_id: str, iban: str) -> Contact | None:
    """The supplier contact: by USt-IdNr., else by the IBAN of an earlier invoice of theirs."""
    vat = _vat(vat_id)
    if vat:
        for contact in session.scalars(
            select(Contact).where(Contact.vat_id != "", Contact.archived_at.is_(None))
        ):
            if _vat(contact.vat_id) == vat:
                return contact
    iban = _vat(iban)
    if iban:
        contact_id = session.scalar(
            select(ReceivedInvoice.contact_id)
            .where(ReceivedInvoice.seller_iban == iban, ReceivedInvoice.contact_id.is_not(None))
            .order_by(ReceivedInvoice.id.desc())
            .limit(1)
        )
        if contact_id is not None:
            known = session.get(Contact, contact_id)
            if known is not None and known.archived_at is None:
                return known
    return None


def _create_supplier(session: Session, parsed: ParsedInvoice) -> Contact:
    """A new organisation with the role Lieferant; fields the contacts service refuses
    (a foreign postcode, an odd e-mail) are left out rather than failing the booking."""
    seller = parsed.seller
    values: dict[str, Any] = {
        "name": _plain(seller.name, 200),
        "street": _plain(seller.street, 200),
        "postcode": seller.postcode,
        "city": _plain(seller.city, 100),
        "country": seller.country.upper() or "DE",
        "vat_id": _vat(seller.vat_id),
        "email": seller.email,
    }
    for _attempt in range(3):
        try:
            with session.begin_nested():
                return contacts.create_organisation(session, roles=["lieferant"], **values)
        except ValidationErrors as exc:
            if "name" in exc.errors:
                raise
            for name in exc.errors:
                values[name] = "DE" if name == "country" else ""
        except ValidationError as exc:
            if exc.field == "name" or exc.field not in values:
                raise
            values[exc.field] = "DE" if exc.field == "country" else ""
    return contacts.create_organisation(session, roles=["lieferant"], name=values["name"])


def proposal(session: Session, record: ReceivedInvoice, parsed: ParsedInvoice) -> Proposal:
    """The prefilled expense booking of a received invoice (nothing is written)."""
    require_permission(Permission.LEDGER_READ, session)
    if not parsed.taxes:
        raise KmsError(
            "Diese Rechnung enthält keine Umsatzsteuer-Aufschlüsselung (z. B. Profil MINIMUM "
            "oder ein PDF/Foto ohne Rechnungsdaten). Bitte die Ausgabe unter "
            "„Einnahmen/Ausgaben“ selbst erfassen und den Beleg dort verknüpfen."
        )
    if parsed.currency and parsed.currency != "EUR":
        raise KmsError(
            f"Die Rechnung ist in {parsed.currency} ausgestellt; gebucht werden kann nur in Euro. "
            "Bitte die Ausgabe mit dem Euro-Betrag laut Kontoauszug selbst erfassen."
        )
    sign = Decimal(-1) if parsed.is_credit_note else Decimal(1)
    day = min(today(), parsed.issue_date or today())
    lines = []
    remarks = []
    for row in parsed.taxes:
        key = tax_key_for(row, parsed.seller.country)
        entry = taxkeys.entry(key, day)
        net = row.basis.quantize(CENT, rounding=ROUND_HALF_UP)
        tax = row.tax.quantize(CENT, rounding=ROUND_HALF_UP)
        # § 13b: the supplier is paid the net; the VAT is owed (and deducted) by us.
        amount = net if entry.mode == taxkeys.REVERSE else net + tax
        split = taxkeys.split(key, amount, day)
        if entry.mode == taxkeys.INCLUDED and split.tax != tax:
            remarks.append(
                f"{_category_text(row)}: die Vorsteuer laut Rechnung ({tax}) weicht von der "
                f"aus dem Bruttobetrag berechneten ({split.tax}) ab."
            )
        lines.append(
            ProposedLine(
                amount=sign * amount,
                tax_key=key,
                text=_plain(f"{parsed.number} {_category_text(row)}".strip(), 200),
                net=sign * net,
                tax=sign * tax,
            )
        )
    total = sum((ln.amount for ln in lines), Decimal("0.00"))
    gross = parsed.totals.gross
    if gross is not None and all(
        taxkeys.entry(ln.tax_key, day).mode != taxkeys.REVERSE for ln in lines
    ):
        if abs(total) != gross.quantize(CENT):
            remarks.append(
                f"Die Summe der Steuerzeilen ({abs(total)}) weicht vom Bruttobetrag "
                f"der Rechnung ({gross}) ab."
            )
    contact = match_supplier(session, parsed.seller.vat_id, parsed.iban)
    return Proposal(
        lines=tuple(lines),
        counterparty=_plain(parsed.seller.name, 200),
        receipt_number=_plain(parsed.number, 60),
        booking_date=day,
        contact=contact,
        remarks=tuple(remarks),
    )


def book_expense(
    session: Session,
    invoice_id: int,
    *,
    account_id: int,
    category_id: int,
    booking_date: date | None = None,
    lines: Sequence[ledger.LineInput] | None = None,
    note: str = "",
    actor: str = "",
) -> ReceivedInvoice:
    """Book the received invoice as one Ausgabe that links the archived original.

    `lines` overrides the proposal (the owner edited it); by default one line per VAT row.
    The supplier is matched by USt-IdNr. or IBAN, else created as an organisation.
    """
    require_permission(Permission.LEDGER_WRITE, session)
    record = get(session, invoice_id)
    if record.status == BOOKED or record.booking_id is not None:
        raise KmsError(
            f"Eingang Nr. {record.id} ist bereits als Ausgabe gebucht "
            f"(Buchung {record.booking_id}); ein zweites Mal wird nicht gebucht."
        )
    if record.status == DISCARDED:
        raise KmsError(f"Eingang Nr. {record.id} ist verworfen und wird nicht gebucht.")
    parsed = parsed_of(session, record)
    plan = proposal(session, record, parsed)
    if lines is None:
        lines = [ledger.LineInput(ln.amount, category_id, ln.tax_key, ln.text) for ln in plan.lines]
    with session.begin_nested():
        contact: Contact | None = plan.contact
        if contact is None and parsed.seller.name:
            contact = _create_supplier(session, parsed)
        booking = ledger.create_booking(
            session,
            booking_date=booking_date or plan.booking_date,
            account_id=account_id,
            kind="ausgabe",
            lines=lines,
            contact_id=contact.id if contact is not None else None,
            counterparty=plan.counterparty,
            receipt_number=plan.receipt_number,
            document_id=record.document_id,
            note=note,
            actor=actor,
        )
        record.booking_id = booking.id
        record.contact_id = contact.id if contact is not None else None
        record.status = BOOKED
        session.flush()
        if contact is not None:
            _link_document(session, record.document_id, contact.id)
    audit.record(
        session,
        entity=ENTITY,
        entity_id=record.id,
        action="booked",
        actor=actor,
        booking_id=booking.id,
        contact_id=record.contact_id,
    )
    return record


def _link_document(session: Session, document_id: int, contact_id: int) -> None:
    """Show the archived original on the supplier's contact page too."""
    from kms.modules.documents.models import Document, DocumentContact

    document = session.get(Document, document_id)
    if document is not None and contact_id not in document.contact_ids:
        document.contact_links.append(DocumentContact(contact_id=contact_id))
        session.flush()


def count_for_contact(session: Session, contact_id: int) -> int:
    """Received invoices that refer to the contact (it can then only be archived)."""
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(ReceivedInvoice)
            .where(ReceivedInvoice.contact_id == contact_id)
        )
        or 0
    )


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every received invoice of the supplier, for the Auskunft (Art. 15 DSGVO)."""
    records = session.scalars(
        select(ReceivedInvoice)
        .where(ReceivedInvoice.contact_id == contact_id)
        .order_by(ReceivedInvoice.received_at, ReceivedInvoice.id)
    ).all()
    return [
        {
            "Eingang": format_date(r.received_at.date()),
            "Lieferant": r.seller_name,
            "USt-IdNr.": r.seller_vat_id,
            "IBAN": r.seller_iban,
            "Rechnungsnummer": r.invoice_number,
            "Rechnungsdatum": format_date(r.issue_date) if r.issue_date else "",
            "Brutto": format_money(r.gross) if r.gross is not None else "",
            "Status": r.status_label,
            "Datei": r.filename,
        }
        for r in records
    ]
