"""Kontoauszug importieren: preview every line with a proposal, then confirm all or nothing.

No Streamlit. `preview` writes nothing; `confirm` recomputes the preview inside the caller's
transaction (a savepoint) and records, per line the user did not skip:
- Zahlung zu Rechnung: an invoice payment (`record_payment`, with Skonto or as partial
  payment) and its one income booking on this account (the ledger's sync later finds it
  booked and adds nothing);
- Buchen als Kategorie / Geldtransit / Privat: a ledger booking via `create_booking`;
- Rücklastschrift: of an invoice payment, the invoice module's return of the payment
  (`return_payment`, the invoice is open again) booked on this account as the exact reverse
  of the payment's income; of any other line, the ledger's counter-booking of what it
  booked. Either way plus the bank's return fee as an expense (Bankgebühren).
Every recorded line keeps its duplicate key, so importing the same lines again adds nothing;
skipped lines are not recorded and can be imported later. The statement file is kept in
Dokumente as a Buchungsbeleg and linked to the bookings it created.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import KmsError, ValidationError
from kms.formatting import format_date, format_money
from kms.modules.bank import rules as rules_service
from kms.modules.bank.matching import Candidate, Matcher
from kms.modules.bank.models import (
    BOOKING,
    DUPLICATE,
    HANDLING_LABELS,
    PAYMENT,
    PRIVATE,
    RETURN,
    SKIP,
    TRANSIT,
    BankImport,
    BankLine,
)
from kms.modules.bank.statement import Statement, StatementError, StatementLine
from kms.modules.documents import service as documents
from kms.modules.documents.filetypes import FileRefused
from kms.modules.invoices.models import Invoice, Payment
from kms.modules.invoices.payments import record_payment, return_payment
from kms.modules.ledger import service as ledger
from kms.modules.ledger.models import (
    AUSGABE,
    EINNAHME,
    GELDTRANSIT,
    PRIVATEINLAGE,
    PRIVATENTNAHME,
    Account,
    Booking,
)
from kms.modules.ledger.sync import book_payment
from kms.permissions import Permission, require_permission

ZERO = Decimal("0.00")
ENTITY = "bank_import"
FEE_CATEGORY = "bankgebuehren"  # the ledger's "Bankgebühren" (Nebenkosten des Geldverkehrs)


def normalize_iban(value: str) -> str:
    return "".join((value or "").split()).upper()


def dedup_key(own_iban: str, line: StatementLine) -> str:
    """Hash of (own IBAN, booking date, amount, counterparty IBAN, normalized purpose)."""
    purpose = " ".join(line.purpose.upper().split())
    raw = "\x1f".join(
        [
            own_iban,
            line.booking_date.isoformat(),
            str(line.amount.quantize(Decimal("0.01"))),
            normalize_iban(line.counterparty_iban),
            purpose,
        ]
    )
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Decision:
    """What to do with one line (the proposal, or the user's choice)."""

    handling: str
    invoice_id: int | None = None
    skonto: bool = False
    category_id: int | None = None
    tax_key: str = ""
    contact_id: int | None = None
    transfer_account_id: int | None = None
    returns_line_id: int | None = None
    learn_rule: bool = False


@dataclass
class PreviewLine:
    index: int  # 0-based position in the statement
    line: StatementLine
    key: str
    occurrence: int
    proposal: Decision
    reason: str  # German, why this handling is proposed
    candidates: tuple[Candidate, ...] = ()
    rule_id: int | None = None

    @property
    def handling_label(self) -> str:
        return HANDLING_LABELS[self.proposal.handling]

    @property
    def safe(self) -> bool:
        """Booked by the CLI without asking: exact invoice matches and rule bookings."""
        p = self.proposal.handling
        if p == PAYMENT:
            return bool(self.candidates) and self.candidates[0].exact
        return p == BOOKING and self.rule_id is not None


@dataclass
class Preview:
    account_id: int
    account_name: str
    own_iban: str
    statement: Statement
    lines: list[PreviewLine] = field(default_factory=list)
    # Invoice number → id of every open invoice (the choices for "Zahlung zu Rechnung").
    open_invoices: dict[str, int] = field(default_factory=dict)

    def candidate_rows(self) -> list[tuple[int, Candidate]]:
        """(line number, candidate) of every line with invoice candidates, ranked per line."""
        return [(pl.line.line_no or pl.index + 1, c) for pl in self.lines for c in pl.candidates]

    def count(self, handling: str) -> int:
        return sum(1 for pl in self.lines if pl.proposal.handling == handling)


@dataclass(frozen=True)
class ImportResult:
    import_id: int
    document_id: int | None
    booked: int
    payments: int
    duplicates: int
    skipped: int

    @property
    def message(self) -> str:
        return (
            f"{self.booked} Zeile(n) gebucht, davon {self.payments} Rechnungszahlung(en); "
            f"{self.duplicates} bereits importiert, {self.skipped} nicht gebucht."
        )


def _account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise ValidationError("account_id", "Bitte ein Konto wählen.")
    return account


def _check_statement(account: Account, statement: Statement) -> str:
    """The own IBAN for the duplicate key; refuses another account's statement."""
    own = normalize_iban(account.iban)
    theirs = normalize_iban(statement.account_iban)
    if theirs and own and theirs != own:
        raise StatementError(
            f"Der Kontoauszug gehört zum Konto {theirs}, nicht zu „{account.name}“ ({own}). "
            "Bitte das passende Konto wählen."
        )
    if statement.currency and statement.currency != "EUR":
        raise StatementError(
            f"Der Kontoauszug ist in {statement.currency}; KMS bucht nur Konten in Euro."
        )
    foreign = [ln.line_no or i + 1 for i, ln in enumerate(statement.lines) if ln.currency != "EUR"]
    if foreign:
        raise StatementError(
            f"Zeile {foreign[0]} ist nicht in Euro; KMS bucht nur Beträge in Euro."
        )
    if not statement.lines:
        raise StatementError("Der Kontoauszug enthält keine gebuchten Umsätze.")
    return theirs or own or f"KONTO-{account.id}"


def _existing(session: Session, pairs: list[tuple[str, int]]) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    keys = sorted({k for k, _ in pairs})
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for key, occ in session.execute(
            select(BankLine.dedup_key, BankLine.occurrence).where(BankLine.dedup_key.in_(chunk))
        ):
            found.add((key, occ))
    return found


def _returned_line(session: Session, account_id: int, line: StatementLine) -> BankLine | None:
    """The earlier recorded line a Rücklastschrift returns (not returned yet)."""
    original = -line.amount - line.fee
    if original <= 0:
        return None
    returned = select(BankLine.returns_line_id).where(BankLine.returns_line_id.is_not(None))
    q = (
        select(BankLine)
        .where(
            BankLine.account_id == account_id,
            BankLine.amount == original,
            BankLine.booking_id.is_not(None),
            BankLine.booking_date <= line.booking_date,
            BankLine.id.not_in(returned),
        )
        .order_by(BankLine.booking_date.desc(), BankLine.id.desc())
    )
    candidates = list(session.scalars(q.limit(50)))
    for attr in ("end_to_end_id", "mandate_reference", "counterparty_iban"):
        value = getattr(line, attr)
        if value:
            for c in candidates:
                if getattr(c, attr) == value:
                    return c
    return None


def _return_note(session: Session, original: BankLine) -> str:
    """What the return does to the invoice the returned line paid ("" without one)."""
    if original.payment_id is None:
        return ""
    payment = session.get(Payment, original.payment_id)
    invoice = session.get(Invoice, payment.invoice_id) if payment else None
    if payment is None or invoice is None:  # pragma: no cover - the foreign keys keep them
        return ""
    if session.scalar(select(Invoice.id).where(Invoice.cancels_id == invoice.id)) is not None:
        return f"; {invoice.label} ist storniert: bitte als Buchung erfassen"
    if session.scalar(select(Payment.id).where(Payment.returns_payment_id == payment.id)):
        return f"; die Zahlung zu {invoice.label} ist in Rechnungen bereits zurückgebucht"
    return f"; die Zahlung zu {invoice.label} wird zurückgebucht, die Rechnung ist wieder offen"


def preview(session: Session, account_id: int, statement: Statement) -> Preview:
    """Every line of the statement with its proposed handling (writes nothing)."""
    require_permission(Permission.LEDGER_READ, session)
    account = _account(session, account_id)
    own = _check_statement(account, statement)
    seen: Counter[str] = Counter()
    keyed: list[tuple[str, int]] = []
    for line in statement.lines:
        key = dedup_key(own, line)
        seen[key] += 1
        keyed.append((key, seen[key]))
    existing = _existing(session, keyed)
    matcher = Matcher.load(session, min(ln.booking_date for ln in statement.lines))
    rules = rules_service.list_rules(session)
    own_accounts = {
        normalize_iban(a.iban): a
        for a in ledger.list_accounts(session)
        if a.iban and a.id != account.id
    }
    taken: dict[int, Decimal] = {}
    result = Preview(account.id, account.name, own, statement)
    result.open_invoices = {inv.number: inv.id for inv in matcher.invoices}
    for index, (line, (key, occ)) in enumerate(zip(statement.lines, keyed, strict=True)):
        pl = PreviewLine(index, line, key, occ, Decision(SKIP), "Keine Zuordnung gefunden")
        result.lines.append(pl)
        iban = normalize_iban(line.counterparty_iban)
        if (key, occ) in existing:
            pl.proposal, pl.reason = Decision(DUPLICATE), "Bereits importiert"
            continue
        if line.is_return and line.amount < 0:
            original = _returned_line(session, account.id, line)
            if original is not None:
                pl.proposal = Decision(RETURN, returns_line_id=original.id)
                pl.reason = (
                    f"Rücklastschrift zur Zahlung vom {format_date(original.booking_date)} "
                    f"über {format_money(original.amount)}"
                    + (f", Gebühr {format_money(line.fee)}" if line.fee else "")
                    + _return_note(session, original)
                )
                continue
            pl.reason = "Rücklastschrift, die zurückgegebene Zahlung wurde nicht gefunden"
        if line.amount > 0:
            found = matcher.candidates(
                amount=line.amount,
                day=line.booking_date,
                purpose=line.purpose,
                iban=iban,
                name=line.counterparty_name,
                taken=taken,
            )
            pl.candidates = tuple(found[:5])
            if found:
                best = found[0]
                pl.proposal = Decision(PAYMENT, invoice_id=best.invoice_id, skonto=best.skonto)
                pl.reason = best.reason
                settles = best.open if best.skonto else line.amount
                taken[best.invoice_id] = taken.get(best.invoice_id, ZERO) + settles
                continue
        if iban and iban in own_accounts:
            other = own_accounts[iban]
            pl.proposal = Decision(TRANSIT, transfer_account_id=other.id)
            pl.reason = f"Geldtransit: IBAN des eigenen Kontos „{other.name}“"
            continue
        rule = rules_service.find_rule(rules, iban, line.counterparty_name)
        if rule is not None:
            pl.proposal = Decision(
                BOOKING,
                category_id=rule.category_id,
                tax_key=rule.tax_key,
                contact_id=rule.contact_id,
            )
            pl.rule_id = rule.id
            pl.reason = rule.label
    return result


# --- confirm ----------------------------------------------------------------------------


def _store_statement(
    session: Session, content: bytes, filename: str, preview_: Preview, actor: str
) -> int:
    statement = preview_.statement
    title = f"Kontoauszug {preview_.account_name}"
    if statement.period_from and statement.period_to:
        title += f" {format_date(statement.period_from)}–{format_date(statement.period_to)}"
    day = statement.period_to or max(ln.booking_date for ln in statement.lines)
    name = filename or "kontoauszug.txt"
    # MT940 (.sta, .mt940) and other bank extensions are kept as the text file they are.
    for candidate in (name, name + ".txt"):
        try:
            result = documents.upload(
                session,
                content=content,
                filename=candidate,
                doc_type=ledger.RECEIPT_TYPE,
                title=title[:200],
                issued_on=day,
                created_by=actor,
            )
        except FileRefused:
            if candidate != name:
                raise
            continue
        return result.document.id
    raise AssertionError("unreachable")  # pragma: no cover


def _text(line: StatementLine) -> str:
    text = " ".join(line.purpose.split()) or line.booking_text or "Kontoumsatz"
    return text[:200]


def _book(
    session: Session,
    account: Account,
    line: StatementLine,
    decision: Decision,
    document_id: int | None,
    actor: str,
) -> Booking:
    source, target, contact_id = account.id, None, None
    category_id, tax_key = None, ""
    if decision.handling == BOOKING:
        if decision.category_id is None:
            raise ValidationError("category_id", "Bitte eine Kategorie wählen.")
        kind = EINNAHME if line.amount > 0 else AUSGABE
        category_id, tax_key, contact_id = (
            decision.category_id,
            decision.tax_key,
            decision.contact_id,
        )
    elif decision.handling == TRANSIT:
        if decision.transfer_account_id is None:
            raise ValidationError(
                "transfer_account_id", "Bitte das andere Konto des Geldtransits wählen."
            )
        # Geldtransit goes out of `account_id` into `transfer_account_id`.
        kind, target = GELDTRANSIT, decision.transfer_account_id
        if line.amount > 0:
            source, target = target, account.id
    else:  # Privat
        kind = PRIVATEINLAGE if line.amount > 0 else PRIVATENTNAHME
    return ledger.create_booking(
        session,
        booking_date=line.booking_date,
        account_id=source,
        transfer_account_id=target,
        kind=kind,
        lines=[ledger.LineInput(abs(line.amount), category_id, tax_key, _text(line))],
        contact_id=contact_id,
        counterparty=line.counterparty_name[:200],
        document_id=document_id,
        actor=actor,
    )


def _reverse(
    session: Session,
    account: Account,
    line: StatementLine,
    decision: Decision,
    document_id: int | None,
    actor: str,
) -> tuple[Booking, int | None]:
    """Book a Rücklastschrift: (counter-booking, the return payment's id if it was one)."""
    original = session.get(BankLine, decision.returns_line_id) if decision.returns_line_id else None
    if original is None or original.booking_id is None:
        raise KmsError("Die zurückgegebene Zahlung wurde nicht gefunden.")
    if original.amount != -line.amount - line.fee:
        raise KmsError(
            f"Die Rücklastschrift über {format_money(-line.amount)} passt nicht zur Zahlung "
            f"über {format_money(original.amount)}."
        )
    payment_id = None
    if original.payment_id is not None:
        # An invoice payment: the invoice module takes it back (the invoice is open again)
        # and its booking is the exact reverse of the payment's income, on this account.
        returned = return_payment(
            session,
            original.payment_id,
            returned_on=line.booking_date,
            reason=line.return_reason,
            actor=actor,
        )
        payment_id = returned.id
        reversal = book_payment(session, returned, account.id)
    else:
        # Any other booking (no invoice behind it): the ledger's counter-booking.
        reversal = ledger.reverse_booking(
            session, original.booking_id, booking_date=line.booking_date, actor=actor
        )
    if line.fee:
        fee = ledger.category_by_key(session, FEE_CATEGORY)
        ledger.create_booking(
            session,
            booking_date=line.booking_date,
            account_id=account.id,
            kind=AUSGABE,
            lines=[
                ledger.LineInput(
                    line.fee, fee.id, fee.default_tax_key or "NSTB", "Gebühr Rücklastschrift"
                )
            ],
            counterparty=line.counterparty_name[:200],
            document_id=document_id,
            note=f"Rücklastschrift {line.return_reason}".strip(),
            actor=actor,
        )
    return reversal, payment_id


def confirm(
    session: Session,
    account_id: int,
    statement: Statement,
    decisions: Mapping[int, Decision] | None,
    file_bytes: bytes,
    filename: str,
    actor: str,
    *,
    only_safe: bool = False,
) -> ImportResult:
    """Record the statement: every line as decided (the proposal where no decision is
    given), all or nothing. `only_safe` books only exact invoice matches and rule bookings
    (the CLI). The caller commits."""
    require_permission(Permission.LEDGER_WRITE, session)  # payments: record_payment checks its own
    decisions = decisions or {}
    pv = preview(session, account_id, statement)
    account = _account(session, account_id)
    booked = payments = duplicates = skipped = 0
    with session.begin_nested():
        document_id = _store_statement(session, file_bytes, filename, pv, actor)
        imp = BankImport(
            account_id=account.id,
            document_id=document_id,
            filename=filename[:255],
            format=statement.format[:40],
            period_from=statement.period_from or min(ln.booking_date for ln in statement.lines),
            period_to=statement.period_to or max(ln.booking_date for ln in statement.lines),
            line_count=len(statement.lines),
            created_by=actor,
        )
        session.add(imp)
        session.flush()
        for pl in pv.lines:
            if pl.proposal.handling == DUPLICATE:
                duplicates += 1
                continue
            decision = decisions.get(pl.index, pl.proposal)
            if only_safe and pl.index not in decisions and not pl.safe:
                decision = Decision(SKIP)
            if decision.handling == DUPLICATE:
                raise KmsError(f"Zeile {pl.line.line_no or pl.index + 1} ist nicht doppelt.")
            if decision.handling == SKIP:
                skipped += 1
                continue
            try:
                _record_line(session, account, imp, pl, decision, document_id, actor)
            except KmsError as exc:
                raise KmsError(
                    f"Zeile {pl.line.line_no or pl.index + 1} "
                    f"({format_date(pl.line.booking_date)}, {format_money(pl.line.amount)}): "
                    f"{exc.message}"
                ) from exc
            booked += 1
            payments += decision.handling == PAYMENT
        imp.duplicate_count, imp.booked_count, imp.skipped_count = duplicates, booked, skipped
        session.flush()
    audit.record(
        session,
        entity=ENTITY,
        entity_id=imp.id,
        action="imported",
        actor=actor,
        account_id=account.id,
        document_id=document_id,
        format=statement.format,
        booked=booked,
        payments=payments,
        duplicates=duplicates,
        skipped=skipped,
    )
    return ImportResult(imp.id, document_id, booked, payments, duplicates, skipped)


def _record_line(
    session: Session,
    account: Account,
    imp: BankImport,
    pl: PreviewLine,
    decision: Decision,
    document_id: int | None,
    actor: str,
) -> BankLine:
    line = pl.line
    row = BankLine(
        import_id=imp.id,
        account_id=account.id,
        booking_date=line.booking_date,
        amount=line.amount,
        fee=line.fee,
        counterparty_iban=normalize_iban(line.counterparty_iban)[:34],
        counterparty_name=line.counterparty_name[:200],
        purpose=line.purpose,
        end_to_end_id=line.end_to_end_id[:100],
        mandate_reference=line.mandate_reference[:100],
        dedup_key=pl.key,
        occurrence=pl.occurrence,
        handling=decision.handling,
    )
    if decision.handling == PAYMENT:
        if decision.invoice_id is None:
            raise ValidationError("invoice_id", "Bitte eine Rechnung wählen.")
        if line.amount <= 0:
            raise ValidationError("invoice_id", "Nur Zahlungseingänge gehören zu Rechnungen.")
        payment = record_payment(
            session,
            decision.invoice_id,
            paid_on=line.booking_date,
            amount=line.amount,
            skonto=decision.skonto,
            note=f"Kontoauszug: {_text(line)}"[:200],
            actor=actor,
        )
        row.payment_id = payment.id
        row.booking_id = book_payment(session, payment, account.id).id
    elif decision.handling == RETURN:
        if line.amount >= 0:
            raise ValidationError("handling", "Eine Rücklastschrift belastet das Konto.")
        reversal, row.payment_id = _reverse(session, account, line, decision, document_id, actor)
        row.booking_id = reversal.id
        row.returns_line_id = decision.returns_line_id
    elif decision.handling in (BOOKING, TRANSIT, PRIVATE):
        booking = _book(session, account, line, decision, document_id, actor)
        row.booking_id = booking.id
        if decision.handling == BOOKING and decision.learn_rule and decision.category_id:
            iban = normalize_iban(line.counterparty_iban)
            rules_service.save_rule(
                session,
                category_id=decision.category_id,
                iban=iban,
                name_pattern="" if iban else line.counterparty_name,
                tax_key=decision.tax_key,
                contact_id=decision.contact_id,
                counterparty=line.counterparty_name,
                actor=actor,
            )
    else:
        raise ValidationError("handling", "Bitte eine Behandlung wählen.")
    session.add(row)
    session.flush()
    return row


# --- lists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    id: int
    created_at: str
    account: str
    filename: str
    format: str
    period: str
    lines: int
    booked: int
    duplicates: int
    skipped: int
    created_by: str
    document_id: int | None


def list_imports(session: Session, limit: int = 200) -> list[ImportRow]:
    require_permission(Permission.LEDGER_READ, session)
    from kms.formatting import format_datetime

    rows = session.execute(
        select(BankImport, Account.name)
        .join(Account, Account.id == BankImport.account_id)
        .order_by(BankImport.created_at.desc(), BankImport.id.desc())
        .limit(limit)
    ).all()
    return [
        ImportRow(
            id=imp.id,
            created_at=format_datetime(imp.created_at),
            account=name,
            filename=imp.filename,
            format=imp.format,
            period=(
                f"{format_date(imp.period_from)}–{format_date(imp.period_to)}"
                if imp.period_from and imp.period_to
                else ""
            ),
            lines=imp.line_count,
            booked=imp.booked_count,
            duplicates=imp.duplicate_count,
            skipped=imp.skipped_count,
            created_by=imp.created_by,
            document_id=imp.document_id,
        )
        for imp, name in rows
    ]
