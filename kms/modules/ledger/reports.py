"""Berichte of Einnahmen/Ausgaben: EÜR, USt-Voranmeldung, expenses by category, Kassenbuch.

Each report is `f(session, period) -> DataFrame` (kms.reporting contract): SQL aggregation
plus a little pandas; money columns hold Decimal quantized to 0.01, never float. `period`
is any object with `start`, `end` (inclusive dates) and `label` (kms.reporting.Period).

The EÜR is always cash-based (§ 11 EStG): bookings by their date, except USt-Vorauszahlungen
paid within ten days after 31 December for a period of the old year (§ 11 Abs. 2 S. 2 EStG),
which belong to the old year. The USt-Voranmeldung follows the Versteuerungsart on the first
day of the period: Soll takes output VAT from issued invoices by Leistungsdatum (Storno by
its date, Skonto in the period of the payment, § 17 UStG); Ist from received payments.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.modules.ledger import categories as cats
from kms.modules.ledger import taxkeys
from kms.modules.ledger.models import (
    AUSGABE,
    EINNAHME,
    UST_ERSTATTUNG,
    UST_ZAHLUNG,
    ZERO,
    Account,
    Booking,
    BookingLine,
    Category,
)
from kms.modules.ledger.service import (
    cash_basis_on,
    settings_on,
    small_business_on,
)
from kms.types import today

CENT = Decimal("0.01")


class PeriodLike(Protocol):
    start: date
    end: date
    label: str


def _q(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT)


def _frame(rows: list[dict[str, Any]], columns: Iterable[str]) -> pd.DataFrame:
    cols = list(columns)
    return pd.DataFrame(rows, columns=cols).astype(dict.fromkeys(cols, object))


# --- the ten-day rule -------------------------------------------------------------------


def _period_end(tax_period: str) -> date | None:
    """Last day of a Voranmeldungszeitraum "2025-12", "2025-Q4" or "2025"."""
    m = re.fullmatch(r"(\d{4})(?:-(?:(\d{2})|Q([1-4])))?", tax_period or "")
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else (int(m.group(3)) * 3 if m.group(3) else 12)
    return (date(year, month, 1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def euer_year(session: Session, booking: Booking) -> int:
    """The EÜR year of a booking: its year, except a USt payment or refund made by 10 January
    for a Voranmeldungszeitraum of the old year that was due by then (§ 11 Abs. 2 EStG)."""
    day = booking.booking_date
    if booking.kind not in (UST_ZAHLUNG, UST_ERSTATTUNG) or not (day.month == 1 and day.day <= 10):
        return day.year
    end = _period_end(booking.tax_period)
    if end is None or end.year != day.year - 1 or re.fullmatch(r"\d{4}", booking.tax_period):
        return day.year  # no period or the annual return: not a recurring prepayment
    due = end + timedelta(days=10)
    cfg = settings_on(session, end)
    if cfg is not None and cfg.permanent_extension:
        due = (end + timedelta(days=1) + timedelta(days=32)).replace(day=10)
    return day.year - 1 if due <= date(day.year, 1, 10) else day.year


# --- EÜR --------------------------------------------------------------------------------

EUER_COLUMNS = ("Bereich", "Kennzahl", "Zeile", "Bezeichnung", "Betrag")


def euer_amounts(session: Session, year: int) -> dict[str, Decimal]:
    """EÜR field key → amount for a calendar year (cash-based)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    in_year = (Booking.booking_date >= start) & (Booking.booking_date <= end)
    # Income: the net to the category's field (or the tax key's), received VAT to Kz 140.
    for field, key, amount, paid_tax in session.execute(
        select(
            Category.euer_field,
            BookingLine.tax_key,
            func.sum(BookingLine.amount),
            func.sum(BookingLine.paid_tax),
        )
        .join(Booking, Booking.id == BookingLine.booking_id)
        .join(Category, Category.id == BookingLine.category_id)
        .where(in_year, Booking.kind == EINNAHME)
        .group_by(Category.euer_field, BookingLine.tax_key)
    ):
        if field == cats.BY_TAX_KEY:
            field = taxkeys.entry(key, end).euer_income or taxkeys.EUER_INCOME_FREE
        amounts[field] += amount - paid_tax
        amounts[taxkeys.EUER_UST_RECEIVED] += paid_tax
    # Expenses except gifts: net (gross without paid Vorsteuer) to the field; Vorsteuer 185.
    for field, _special, amount, paid_tax, nondeductible in session.execute(
        select(
            Category.euer_field,
            Category.special,
            func.sum(BookingLine.amount),
            func.sum(BookingLine.paid_tax),
            func.sum(BookingLine.nondeductible),
        )
        .join(Booking, Booking.id == BookingLine.booking_id)
        .join(Category, Category.id == BookingLine.category_id)
        .where(in_year, Booking.kind == AUSGABE, Category.special != cats.SPECIAL_GESCHENK)
        .group_by(Category.euer_field, Category.special)
    ):
        if field != cats.ASSET:  # an asset is written off by AfA, not at payment
            amounts[field] += amount - paid_tax - nondeductible
        if nondeductible:
            amounts[f"{field}_nab"] += nondeductible
        amounts[taxkeys.EUER_VORSTEUER] += paid_tax
    # Gifts: more than 50 € per recipient and year → nothing deductible, not even the VAT
    # (§ 4 Abs. 5 Nr. 1 EStG, § 15 Abs. 1a UStG).
    gifts: dict[tuple[Any, ...], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for field, contact_id, counterparty, amount, paid_tax in session.execute(
        select(
            Category.euer_field,
            Booking.contact_id,
            Booking.counterparty,
            func.sum(BookingLine.amount),
            func.sum(BookingLine.paid_tax),
        )
        .join(Booking, Booking.id == BookingLine.booking_id)
        .join(Category, Category.id == BookingLine.category_id)
        .where(in_year, Booking.kind == AUSGABE, Category.special == cats.SPECIAL_GESCHENK)
        .group_by(Category.euer_field, Booking.contact_id, Booking.counterparty)
    ):
        recipient = (field, contact_id) if contact_id else (field, (counterparty or "").lower())
        gifts[recipient][0] += amount
        gifts[recipient][1] += paid_tax
    for (field, _who), (amount, paid_tax) in gifts.items():
        if amount - paid_tax > cats.GIFT_LIMIT:
            amounts[f"{field}_nab"] += amount
        else:
            amounts[field] += amount - paid_tax
            amounts[taxkeys.EUER_VORSTEUER] += paid_tax
    from kms.modules.ledger.assets import afa_by_field

    for field, amount in afa_by_field(session, year).items():
        amounts[field] += amount
    # VAT paid to / refunded by the Finanzamt, with the ten-day rule at both year ends.
    for booking in session.scalars(
        select(Booking).where(
            Booking.kind.in_((UST_ZAHLUNG, UST_ERSTATTUNG)),
            Booking.booking_date >= start,
            Booking.booking_date <= date(year + 1, 1, 10),
        )
    ):
        if euer_year(session, booking) != year:
            continue
        if booking.kind == UST_ZAHLUNG:
            amounts["ust_gezahlt"] += -booking.total
        else:
            amounts["ust_erstattet"] += booking.total
    return {k: _q(v) for k, v in amounts.items() if v}


def euer(session: Session, period: PeriodLike | None) -> pd.DataFrame:
    """EÜR of the year of `period` by Kennzahl of that year's Vordruck."""
    year = period.start.year if period is not None else today().year
    amounts = euer_amounts(session, year)
    form = cats.form(year)
    rows: list[dict[str, Any]] = []
    totals = {"einnahme": ZERO, "ausgabe": ZERO}
    for field in sorted(form.values(), key=lambda f: (f.side != "einnahme", int(f.zeile), f.kz)):
        amount = amounts.get(field.key)
        if not amount:
            continue
        bereich = "Betriebseinnahmen" if field.side == "einnahme" else "Betriebsausgaben"
        if field.key in cats.NOT_DEDUCTIBLE:
            bereich = "Nicht abziehbar"
        else:
            totals[field.side] += amount
        rows.append(
            {
                "Bereich": bereich,
                "Kennzahl": field.kz,
                "Zeile": field.zeile,
                "Bezeichnung": field.label,
                "Betrag": _q(amount),
            }
        )
    unknown = set(amounts) - set(form)
    for key in sorted(unknown):  # a field the Vordruck of that year lacks: shown, not lost
        rows.append(
            {
                "Bereich": "Ohne Kennzahl",
                "Kennzahl": "",
                "Zeile": "",
                "Bezeichnung": key,
                "Betrag": _q(amounts[key]),
            }
        )
    rows.append(
        {
            "Bereich": "Betriebseinnahmen",
            "Kennzahl": cats.TOTAL_INCOME_KZ,
            "Zeile": "",
            "Bezeichnung": "Summe Betriebseinnahmen",
            "Betrag": _q(totals["einnahme"]),
        }
    )
    rows.append(
        {
            "Bereich": "Betriebsausgaben",
            "Kennzahl": cats.TOTAL_EXPENSE_KZ,
            "Zeile": "",
            "Bezeichnung": "Summe Betriebsausgaben",
            "Betrag": _q(totals["ausgabe"]),
        }
    )
    rows.append(
        {
            "Bereich": "Summe",
            "Kennzahl": "",
            "Zeile": "",
            "Bezeichnung": "Gewinn (+) / Verlust (−)",
            "Betrag": _q(totals["einnahme"] - totals["ausgabe"]),
        }
    )
    return _frame(rows, EUER_COLUMNS)


# --- USt-Voranmeldung -------------------------------------------------------------------

USTVA_COLUMNS = ("Kennzahl", "Bezeichnung", "Bemessungsgrundlage", "Steuer")
# (row id, label): the rows in form order; the base and tax columns as far as they apply.
USTVA_ROWS = (
    ("81", "Steuerpflichtige Umsätze zum Steuersatz von 19 %"),
    ("86", "Steuerpflichtige Umsätze zum Steuersatz von 7 %"),
    ("35/36", "Umsätze zu anderen Steuersätzen"),
    ("41", "Innergemeinschaftliche Lieferungen an Abnehmer mit USt-IdNr."),
    ("43", "Weitere steuerfreie Umsätze mit Vorsteuerabzug (z. B. Ausfuhren)"),
    ("48", "Steuerfreie Umsätze ohne Vorsteuerabzug"),
    ("21", "Nicht steuerbare sonstige Leistungen (Leistungsort in anderem EU-Staat)"),
    ("45", "Übrige nicht steuerbare Umsätze (Leistungsort nicht im Inland)"),
    ("60", "Umsätze, für die der Leistungsempfänger die Steuer nach § 13b UStG schuldet"),
    ("89", "Innergemeinschaftliche Erwerbe zum Steuersatz von 19 %"),
    ("93", "Innergemeinschaftliche Erwerbe zum Steuersatz von 7 %"),
    ("46/47", "Sonstige Leistungen eines im übrigen Gemeinschaftsgebiet ansässigen Unternehmers"),
    ("84/85", "Andere Leistungen nach § 13b UStG"),
    ("66", "Vorsteuerbeträge aus Rechnungen von anderen Unternehmern"),
    ("61", "Vorsteuerbeträge aus dem innergemeinschaftlichen Erwerb"),
    ("62", "Entrichtete Einfuhrumsatzsteuer"),
    ("67", "Vorsteuerbeträge aus Leistungen im Sinne des § 13b UStG"),
    ("39", "Abzug der festgesetzten Sondervorauszahlung (Dauerfristverlängerung)"),
    ("83", "Verbleibende Umsatzsteuer-Vorauszahlung / Überschuss (−)"),
)
_OUTPUT_ROWS = ("81", "86", "35/36", "89", "93", "46/47", "84/85")
_INPUT_ROWS = ("66", "61", "62", "67")


def _row_of(base_kz: str, tax_kz: str) -> str:
    if base_kz and tax_kz:
        return f"{base_kz}/{tax_kz}"
    return base_kz


def _invoice_groups(
    session: Session, start: date, end: date
) -> list[tuple[str, Decimal, Decimal, Decimal, date]]:
    """Soll: (category, rate, basis, tax, day) of issued invoices by Leistungsdatum and of
    Stornorechnungen by their date (negative), within [start, end]."""
    from kms.einvoice.calc import compute
    from kms.modules.invoices.issuing import original_document
    from kms.modules.invoices.models import Invoice

    performed = func.coalesce(Invoice.service_date, Invoice.period_end, Invoice.issue_date)
    regular = (Invoice.cancels_id.is_(None)) & (performed >= start) & (performed <= end)
    cancelled = (
        (Invoice.cancels_id.is_not(None))
        & (Invoice.issue_date >= start)
        & (Invoice.issue_date <= end)
    )
    result: list[tuple[str, Decimal, Decimal, Decimal, date]] = []
    for invoice in session.scalars(
        select(Invoice)
        .where(Invoice.issued_at.is_not(None), regular | cancelled)
        .order_by(Invoice.id)
    ):
        sign = -1 if invoice.is_cancellation else 1
        day = (
            invoice.issue_date
            if invoice.is_cancellation
            else (invoice.service_date or invoice.period_end or invoice.issue_date)
        )
        if day is None:  # pragma: no cover - issued invoices have an issue date
            continue
        for g in compute(original_document(invoice)).groups:
            result.append((g.category.value, g.rate, sign * g.basis, sign * g.tax, day))
    return result


def _skonto_corrections(
    session: Session, start: date, end: date
) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """Soll: Skonto reduces base and tax in the period of the payment (§ 17 UStG)."""
    from kms.modules.invoices.models import Payment

    result: list[tuple[str, Decimal, Decimal, Decimal]] = []
    # A returned payment (negative Skonto, the same split) takes its reduction back.
    for split, skonto in session.execute(
        select(Payment.skonto_split, Payment.skonto).where(
            Payment.paid_on >= start, Payment.paid_on <= end, Payment.skonto != 0
        )
    ):
        sign = -1 if skonto > 0 else 1
        for s in split or []:
            result.append(
                (
                    s["category"],
                    Decimal(s["rate"]),
                    sign * Decimal(s["net"]),
                    sign * Decimal(s["tax"]),
                )
            )
    return result


def ustva_figures(session: Session, start: date, end: date) -> dict[str, list[Decimal]]:
    """Row id → [base, tax] of the USt-Voranmeldung for [start, end]."""
    figures: dict[str, list[Decimal]] = {row: [ZERO, ZERO] for row, _label in USTVA_ROWS}
    in_period = (Booking.booking_date >= start) & (Booking.booking_date <= end)
    soll = not cash_basis_on(session, start)

    def add_output(key: str | None, day: date, base: Decimal, tax: Decimal) -> None:
        if key is None:  # another rate (Kz 35/36)
            figures["35/36"][0] += base
            figures["35/36"][1] += tax
            return
        e = taxkeys.entry(key, day)
        if not e.kz_base:
            return
        row = _row_of(e.kz_base, e.kz_tax)
        figures[row][0] += base
        figures[row][1] += tax

    if soll:
        for category, rate, base, tax, day in _invoice_groups(session, start, end):
            add_output(_invoice_key(category, rate), day, base, tax)
        for category, rate, base, tax in _skonto_corrections(session, start, end):
            add_output(_invoice_key(category, rate), end, base, tax)
    # Income lines: under Ist all of them; under Soll only those not from invoices.
    income = (
        select(BookingLine.tax_key, func.sum(BookingLine.net), func.sum(BookingLine.tax))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(in_period, Booking.kind == EINNAHME)
        .group_by(BookingLine.tax_key)
    )
    if soll:
        income = income.where(Booking.payment_id.is_(None), Booking.refund_invoice_id.is_(None))
    for key, net, tax in session.execute(income):
        add_output(key, end, net, tax)
    # Purchases: reverse charge and ig. Erwerb (owed), every deductible Vorsteuer.
    for key, net, tax, deductible in session.execute(
        select(
            BookingLine.tax_key,
            func.sum(BookingLine.net),
            func.sum(BookingLine.tax),
            func.sum(BookingLine.deductible),
        )
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(in_period, Booking.kind == AUSGABE)
        .group_by(BookingLine.tax_key)
    ):
        e = taxkeys.entry(key, end)
        if e.mode == taxkeys.REVERSE and e.kz_base:
            row = _row_of(e.kz_base, e.kz_tax)
            figures[row][0] += net
            figures[row][1] += tax
        if e.kz_input and deductible:
            figures[e.kz_input][1] += deductible
    cfg = settings_on(session, end)
    if cfg is not None and cfg.permanent_extension and cfg.special_prepayment and end.month == 12:
        figures["39"][1] += cfg.special_prepayment
    owed = sum((figures[r][1] for r in _OUTPUT_ROWS), ZERO)
    deductible_total = sum((figures[r][1] for r in _INPUT_ROWS), ZERO)
    figures["83"][1] = owed - deductible_total - figures["39"][1]
    return {k: [_q(v[0]), _q(v[1])] for k, v in figures.items()}


def _invoice_key(category: str, rate: Decimal) -> str | None:
    """The sales key of an invoice VAT group; None for a standard rate the table lacks."""
    try:
        return taxkeys.for_invoice(category, rate)
    except taxkeys.UnknownTaxKey:
        return None


def ustva(session: Session, period: PeriodLike | None) -> pd.DataFrame:
    """USt-Voranmeldung of a month or quarter by Kennzahl (Soll or Ist as set)."""
    if period is None:
        raise ValueError("ustva needs a period")
    figures = ustva_figures(session, period.start, period.end)
    rows = []
    for row, label in USTVA_ROWS:
        base, tax = figures[row]
        has_base = row not in _INPUT_ROWS and row not in ("39", "83")
        rows.append(
            {
                "Kennzahl": row,
                "Bezeichnung": label,
                "Bemessungsgrundlage": base if has_base else ZERO.quantize(CENT),
                "Steuer": tax,
            }
        )
    return _frame(rows, USTVA_COLUMNS)


def ustva_note(session: Session, period: PeriodLike | None) -> str | None:
    """Why a Kleinunternehmer files a Voranmeldung, and which Versteuerungsart applies."""
    if period is None:
        return None
    if small_business_on(session, period.start):
        figures = ustva_figures(session, period.start, period.end)
        if any(figures[r][1] for r in ("46/47", "84/85", "89", "93")):
            return (
                "Sie sind Kleinunternehmer (§ 19 UStG), haben in diesem Zeitraum aber Leistungen "
                "bezogen, für die Sie die Umsatzsteuer schulden (§ 13b UStG bzw. "
                "innergemeinschaftlicher Erwerb). Dafür ist eine Voranmeldung abzugeben "
                "(§ 18 Abs. 4a UStG); die Steuer ist zu zahlen und nicht als Vorsteuer abziehbar."
            )
        return (
            "Als Kleinunternehmer (§ 19 UStG) geben Sie für diesen Zeitraum keine Voranmeldung ab."
        )
    if cash_basis_on(session, period.start):
        return "Ist-Versteuerung (§ 20 UStG): die Umsatzsteuer folgt den erhaltenen Zahlungen."
    return "Soll-Versteuerung: die Umsatzsteuer folgt den Rechnungen nach Leistungsdatum."


# --- expenses by category ---------------------------------------------------------------

EXPENSE_COLUMNS = ("Kategorie", "EÜR-Kennzahl", "Netto", "Vorsteuer", "Brutto", "Nicht abziehbar")


def expenses_by_category(session: Session, period: PeriodLike | None) -> pd.DataFrame:
    """Ausgaben per category in the period (booking date)."""
    q = (
        select(
            Category.name,
            Category.euer_field,
            func.sum(BookingLine.amount),
            func.sum(BookingLine.paid_tax),
            func.sum(BookingLine.deductible),
            func.sum(BookingLine.nondeductible),
        )
        .join(Booking, Booking.id == BookingLine.booking_id)
        .join(Category, Category.id == BookingLine.category_id)
        .where(Booking.kind == AUSGABE)
        .group_by(Category.name, Category.euer_field)
        .order_by(Category.name)
    )
    year = today().year
    if period is not None:
        q = q.where(Booking.booking_date >= period.start, Booking.booking_date <= period.end)
        year = period.start.year
    form = cats.form(year)
    rows: list[dict[str, Any]] = []
    sums = [ZERO, ZERO, ZERO, ZERO]
    for name, field, amount, paid_tax, _deductible, nondeductible in session.execute(q):
        values = [amount - paid_tax, paid_tax, amount, nondeductible]
        sums = [a + b for a, b in zip(sums, values, strict=True)]
        rows.append(
            {
                "Kategorie": name,
                "EÜR-Kennzahl": form[field].kz if field in form else "",
                "Netto": _q(values[0]),
                "Vorsteuer": _q(values[1]),
                "Brutto": _q(values[2]),
                "Nicht abziehbar": _q(values[3]),
            }
        )
    rows.append(
        {
            "Kategorie": "Summe",
            "EÜR-Kennzahl": "",
            "Netto": _q(sums[0]),
            "Vorsteuer": _q(sums[1]),
            "Brutto": _q(sums[2]),
            "Nicht abziehbar": _q(sums[3]),
        }
    )
    return _frame(rows, EXPENSE_COLUMNS)


# --- Kassenbuch -------------------------------------------------------------------------

CASHBOOK_COLUMNS = ("Datum", "Kasse", "Einnahmen", "Ausgaben", "Bestand")


def cashbook(session: Session, period: PeriodLike | None) -> pd.DataFrame:
    """Kassenbuch: per Kasse and day the cash in, out and the balance at the end of the day."""
    rows: list[dict[str, Any]] = []
    for account in session.scalars(
        select(Account).where(Account.kind == "kasse").order_by(Account.name)
    ):
        moves: dict[date, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for day, total, is_target in _cash_moves(session, account.id):
            delta = -total if is_target else total
            if delta >= 0:
                moves[day][0] += delta
            else:
                moves[day][1] += -delta
        running = account.opening_balance
        for day in sorted(moves):
            cash_in, cash_out = moves[day]
            running += cash_in - cash_out
            if period is not None and not (period.start <= day <= period.end):
                continue
            rows.append(
                {
                    "Datum": day,
                    "Kasse": account.name,
                    "Einnahmen": _q(cash_in),
                    "Ausgaben": _q(cash_out),
                    "Bestand": _q(running),
                }
            )
    return _frame(rows, CASHBOOK_COLUMNS)


def _cash_moves(session: Session, account_id: int) -> list[tuple[date, Decimal, bool]]:
    own = session.execute(
        select(Booking.booking_date, Booking.total).where(Booking.account_id == account_id)
    ).all()
    incoming = session.execute(
        select(Booking.booking_date, Booking.total).where(Booking.transfer_account_id == account_id)
    ).all()
    return [(d, t, False) for d, t in own] + [(d, t, True) for d, t in incoming]


# Legal forms that must keep double-entry books and draw up a balance sheet (§ 238 HGB,
# § 140 AO): trading companies and corporations. An e.K. is exempt only below § 241a HGB.
BALANCE_SHEET_FORMS = (
    "GmbH",
    "UG (haftungsbeschränkt)",
    "AG",
    "eG",
    "GmbH & Co. KG",
    "OHG",
    "KG",
)
SMALL_MERCHANT_TURNOVER = Decimal("800000.00")  # § 241a HGB, § 141 AO (from 2024)
SMALL_MERCHANT_PROFIT = Decimal("80000.00")


def anlage_avuer(session: Session, period: PeriodLike | None) -> pd.DataFrame:
    """Anlage AVEÜR: one row per asset held in the year (acquired by 31 December, not
    disposed of before 1 January), then "Summe". Buchwert Anfang + Zugänge − AfA − Abgänge
    = Buchwert Ende in every row; AfA and Abgänge are the EÜR's Kz 130–132 and 135."""
    from kms.modules.ledger import assets
    from kms.modules.ledger.report_specs import ANLAGE_AVUER_COLUMNS
    from kms.reporting import TOTAL, frame

    year = period.start.year if period is not None else today().year
    rows: list[list[Any]] = []
    sums = [ZERO] * 6
    for asset in assets.list_assets(session, year=year):
        figures = assets.year_figures(asset, year)
        if figures is None:
            continue
        money = [
            asset.cost,
            figures.opening,
            figures.addition,
            figures.afa,
            figures.disposal,
            figures.closing,
        ]
        sums = [a + b for a, b in zip(sums, money, strict=True)]
        rows.append([asset.name, asset.acquired_on, assets.method_text(asset), *money])
    rows.append([TOTAL, None, "", *sums])
    return frame(ANLAGE_AVUER_COLUMNS, rows)


def euer_note(session: Session, period: PeriodLike | None) -> str | None:
    """Who may not use an EÜR (§ 4 Abs. 3 EStG): say so above the table."""
    from kms.modules.settings.models import CompanyProfile

    profile = session.scalar(select(CompanyProfile).limit(1))
    form = (profile.legal_form if profile is not None else "") or ""
    if form in BALANCE_SHEET_FORMS:
        return (
            f"Als {form} sind Sie zur doppelten Buchführung und Bilanz verpflichtet (§ 238 HGB, "
            "§ 140 AO); eine EÜR nach § 4 Abs. 3 EStG ist für Sie nicht zulässig. Die Zahlen "
            "hier dienen nur zur Übersicht – geben Sie Ihrem Steuerberater die Exporte."
        )
    if form == "e.K." and period is not None:
        amounts = euer_amounts(session, period.start.year)
        fields = cats.form(period.start.year)
        income = sum(
            (v for k, v in amounts.items() if k in fields and fields[k].side == "einnahme"), ZERO
        )
        expenses = sum(
            (
                v
                for k, v in amounts.items()
                if k in fields and fields[k].side == "ausgabe" and k not in cats.NOT_DEDUCTIBLE
            ),
            ZERO,
        )
        if income > SMALL_MERCHANT_TURNOVER or income - expenses > SMALL_MERCHANT_PROFIT:
            return (
                "Als eingetragener Kaufmann überschreiten Sie in diesem Jahr die Grenzen des "
                "§ 241a HGB (800.000 € Umsatz oder 80.000 € Gewinn): ab dem Folgejahr sind "
                "Buchführung und Bilanz Pflicht, eine EÜR ist dann nicht mehr zulässig. Bitte "
                "sprechen Sie mit Ihrem Steuerberater und nutzen Sie die Exporte."
            )
        return (
            "Als eingetragener Kaufmann dürfen Sie die EÜR nur nutzen, solange Sie die Grenzen "
            "des § 241a HGB (800.000 € Umsatz, 80.000 € Gewinn) nicht überschreiten."
        )
    return None
