"""▶ Zahlungserinnerung/Mahnung: DIN 5008 letters with GiroCode and the charges German law allows.

- A Zahlungserinnerung (level 0) is always free of charge.
- Charges exist only from the date of default (Verzug, § 286 BGB). We take the default to
  begin on the earlier of
  (a) the 31st day after the due date (§ 286 Abs. 3 BGB: 30 days after due date and receipt
      of the invoice; for consumers only because our invoices print that note), and
  (b) the day after the payment deadline set in an earlier reminder or dunning letter
      (a reminder after the due date is a Mahnung in the sense of § 286 Abs. 1 BGB; counting
      from its deadline, not its receipt, is the conservative choice).
- Default interest (§ 288 Abs. 1 and 2 BGB): Basiszinssatz + 5 points for consumers, + 9
  points when no consumer is involved, simple interest per day (actual/365) on the open
  principal from the first day of default up to the letter date.
- Lump sum of 40 € (§ 288 Abs. 5 BGB) for businesses only, once per invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import KmsError, ValidationError
from kms.formatting import format_date, format_money, format_number
from kms.modules.invoices.config import get_settings
from kms.modules.invoices.issuing import company_from_snapshot
from kms.modules.invoices.models import Invoice, Reminder
from kms.modules.invoices.service import ENTITY, get_invoice, open_amount, today
from kms.modules.invoices.storage import NewFile, store_file
from kms.modules.settings.service import get_profile, logo_bytes
from kms.permissions import Permission, require_permission
from kms.rendering.din5008 import RenderError
from kms.rendering.girocode import MAX_NAME, GiroCode
from kms.rendering.letter import LetterData, render_letter
from kms.types import cents, utcnow

LEVELS = {
    0: "Zahlungserinnerung",
    1: "1. Mahnung",
    2: "2. Mahnung",
    3: "3. Mahnung (letzte Mahnung)",
}
LUMP_SUM = Decimal("40.00")
B2B_POINTS, B2C_POINTS = Decimal("9"), Decimal("5")
DEFAULT_AFTER_DUE = timedelta(days=30)


@dataclass(frozen=True)
class Charges:
    """What a dunning letter claims, and why (German explanation lines)."""

    level: int
    letter_date: date
    new_due_date: date
    open_amount: Decimal
    default_since: date | None
    interest_rate: Decimal
    interest_days: int
    interest: Decimal
    lump_sum: Decimal
    explanation: tuple[str, ...]

    @property
    def total(self) -> Decimal:
        return self.open_amount + self.interest + self.lump_sum


def default_start(invoice: Invoice, earlier: list[Reminder]) -> date:
    """First day of default (see the module docstring for the rule)."""
    if invoice.due_date is None:
        raise KmsError("Die Rechnung hat kein Fälligkeitsdatum.")
    candidates = [invoice.due_date + DEFAULT_AFTER_DUE + timedelta(days=1)]
    candidates += [r.new_due_date + timedelta(days=1) for r in earlier]
    return min(candidates)


def compute_charges(session: Session, invoice: Invoice, level: int, letter_date: date) -> Charges:
    """Open amount, default interest and lump sum for a letter of `level` on `letter_date`."""
    settings = get_settings(session)
    consumer = bool((invoice.snapshot or {}).get("consumer"))
    earlier = list(
        session.scalars(
            select(Reminder).where(Reminder.invoice_id == invoice.id).order_by(Reminder.level)
        )
    )
    principal = open_amount(session, invoice)
    new_due = letter_date + timedelta(days=settings.reminder_days)
    points = B2C_POINTS if consumer else B2B_POINTS
    rate = settings.base_rate + points
    start = default_start(invoice, earlier)
    lines = [
        f"Offener Rechnungsbetrag: {format_money(principal)} "
        f"(fällig seit {format_date(invoice.due_date or letter_date)})."
    ]
    if level == 0:
        lines.append("Diese Zahlungserinnerung ist für Sie kostenfrei.")
        return Charges(
            level,
            letter_date,
            new_due,
            principal,
            None,
            rate,
            0,
            Decimal("0.00"),
            Decimal("0.00"),
            tuple(lines),
        )
    if start > letter_date:
        lines.append(
            "Verzugszinsen und Pauschale berechnen wir erst ab Verzugsbeginn; Verzug tritt "
            f"spätestens am {format_date(start)} ein (§ 286 BGB)."
        )
        return Charges(
            level,
            letter_date,
            new_due,
            principal,
            None,
            rate,
            0,
            Decimal("0.00"),
            Decimal("0.00"),
            tuple(lines),
        )
    days = (letter_date - start).days + 1
    interest = cents(principal * rate / Decimal(100) * Decimal(days) / Decimal(365))
    who = "Verbraucher: Basiszinssatz + 5" if consumer else "Unternehmer: Basiszinssatz + 9"
    lines.append(
        f"Verzug seit {format_date(start)}. Verzugszinsen nach § 288 BGB ({who} Prozentpunkte; "
        f"Basiszinssatz {format_number(settings.base_rate)} % seit "
        f"{format_date(settings.base_rate_since)}): {format_number(rate)} % p. a. auf "
        f"{format_money(principal)} für {days} Tage = {format_money(interest)}."
    )
    lump = Decimal("0.00")
    if not consumer:
        # Once per claim: later letters repeat it as part of the total, never add it again.
        lump = LUMP_SUM
        lines.append("Verzugspauschale nach § 288 Abs. 5 BGB (einmalig je Forderung): 40,00 €.")
    return Charges(
        level, letter_date, new_due, principal, start, rate, days, interest, lump, tuple(lines)
    )


def _letter(session: Session, invoice: Invoice, charges: Charges) -> LetterData:
    snapshot = invoice.snapshot or {}
    company = company_from_snapshot(snapshot, logo_bytes(get_profile(session)))
    title = LEVELS[charges.level]
    consumer = bool(snapshot.get("consumer"))
    body = [
        f"unsere Rechnung {invoice.number} vom {format_date(invoice.issue_date or today())} über "
        f"{format_money(invoice.gross_total)} war am {format_date(invoice.due_date or today())} "
        "fällig. Bis heute haben wir keinen vollständigen Zahlungseingang feststellen können.",
        "\n".join(f"- {line}" for line in charges.explanation),
        f"**Bitte überweisen Sie {format_money(charges.total)} bis zum "
        f"{format_date(charges.new_due_date)}** unter Angabe der Rechnungsnummer {invoice.number}.",
    ]
    if charges.level == 0:
        body.insert(1, "Sicher ist Ihnen die Zahlung nur entgangen.")
    if consumer and charges.level > 0 and charges.default_since is None:
        body.append(
            "Mit dem fruchtlosen Ablauf dieser Frist geraten Sie in Verzug; danach können "
            "Verzugszinsen nach § 288 Abs. 1 BGB anfallen."
        )
    body.append(
        "Sollten Sie inzwischen gezahlt haben, betrachten Sie dieses Schreiben bitte als "
        "gegenstandslos."
    )
    girocode = None
    if company.iban and charges.total > 0:
        girocode = GiroCode(
            name=company.display_name[:MAX_NAME],
            iban=company.iban,
            bic=company.bic,
            amount=charges.total,
            remittance=f"Rechnung {invoice.number} {title}"[:140],
        )
    return LetterData(
        sender=company,
        recipient=tuple(snapshot.get("recipient") or ()),
        date=charges.letter_date,
        subject=f"{title} zur Rechnung {invoice.number}",
        body="\n\n".join(body),
        info=(
            ("Rechnungs-Nr.", invoice.number or ""),
            ("Kunden-Nr.", snapshot.get("customer_number", "")),
        ),
        signature=company.contact_person,
        girocode=girocode,
    )


def next_level(session: Session, invoice_id: int) -> int:
    """The next free level (0 for the first letter)."""
    highest = session.scalar(
        select(func.max(Reminder.level)).where(Reminder.invoice_id == invoice_id)
    )
    return 0 if highest is None else int(highest) + 1


def refusal(session: Session, invoice: Invoice, day: date) -> str | None:
    """Why no reminder can be written for the invoice on `day` (None: it can)."""
    if not invoice.is_issued or invoice.is_cancellation:
        return "Mahnungen gibt es nur zu abgeschlossenen Rechnungen."
    if open_amount(session, invoice) <= 0:
        return f"{invoice.label} ist bezahlt oder storniert: keine Mahnung nötig."
    if invoice.due_date is None or day <= invoice.due_date:
        return (
            f"{invoice.label} ist noch nicht fällig (Zahlungsziel "
            f"{format_date(invoice.due_date or day)})."
        )
    return None


def create_reminder(
    session: Session,
    invoice_id: int,
    *,
    level: int | None = None,
    letter_date: date | None = None,
    actor: str = "",
) -> Reminder:
    """Write a reminder or dunning letter, store the PDF original, log it."""
    require_permission(Permission.INVOICES_WRITE, session)
    invoice = get_invoice(session, invoice_id)
    day = letter_date or today()
    reason = refusal(session, invoice, day)
    if reason:
        raise KmsError(reason)
    expected = next_level(session, invoice.id)
    level = expected if level is None else level
    if level not in LEVELS:
        raise ValidationError("level", "Es gibt die Zahlungserinnerung und die Mahnstufen 1–3.")
    if level < expected:
        raise ValidationError("level", f"{LEVELS[level]} wurde für diese Rechnung schon erstellt.")
    last = session.scalar(
        select(Reminder).where(Reminder.invoice_id == invoice.id).order_by(Reminder.level.desc())
    )
    if last is not None and day <= last.new_due_date:
        raise ValidationError(
            "letter_date",
            f"Die Frist aus der {LEVELS[last.level]} läuft noch bis "
            f"{format_date(last.new_due_date)}.",
        )
    charges = compute_charges(session, invoice, level, day)
    try:
        pdf = render_letter(_letter(session, invoice, charges), created_at=utcnow())
    except RenderError as exc:
        raise KmsError(f"Das Mahnschreiben konnte nicht gesetzt werden: {exc.args[0]}") from exc
    reminder = Reminder(
        invoice_id=invoice.id,
        level=level,
        letter_date=day,
        new_due_date=charges.new_due_date,
        open_amount=charges.open_amount,
        interest=charges.interest,
        lump_sum=charges.lump_sum,
        total=charges.total,
        explanation="\n".join(charges.explanation),
        created_by=actor,
    )
    session.add(reminder)
    session.flush()
    suffix = "erinnerung" if level == 0 else f"mahnung-{level}"
    stem = f"{(invoice.number or '').replace('/', '-')}-{suffix}"
    file = store_file(
        session,
        invoice,
        NewFile("pdf", f"{stem}.pdf", "application/pdf", pdf),
        contact_ids=(invoice.contact_id,),
        issued_on=day,
        reminder_id=reminder.id,
        title=f"{LEVELS[level]} zu {invoice.number}",
    )
    audit.record(
        session,
        entity=ENTITY,
        entity_id=invoice.id,
        action="reminded",
        actor=actor,
        level=level,
        letter_date=day,
        open_amount=charges.open_amount,
        interest=charges.interest,
        lump_sum=charges.lump_sum,
        total=charges.total,
        sha256=file.sha256,
    )
    return reminder


def reminders_of(session: Session, invoice_id: int) -> list[Reminder]:
    """Letters of one invoice, by level."""
    return list(
        session.scalars(
            select(Reminder).where(Reminder.invoice_id == invoice_id).order_by(Reminder.level)
        )
    )
