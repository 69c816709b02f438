"""Demo bookings: a plausible (fictitious) year 2025 of a small service business.

Rent, phone, software from an EU supplier (§ 13b), a GWG, Bewirtung, cash purchases, a
Geldtransit to the Kasse, a private withdrawal, and the quarterly VAT prepayments computed
from the books, the one for the fourth quarter paid on 5 January 2026 (ten-day rule).
Income comes from the invoice demo's payments (booked by the sync). Safe to run twice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.modules.ledger import assets, datev, service
from kms.modules.ledger.models import Account
from kms.modules.ledger.reports import ustva_figures
from kms.modules.ledger.sync import sync_payments

BANK = "Girokonto (Beispiel)"
CASH = "Kasse (Beispiel)"
DEMO_IBAN = "DE02120300000000202051"
YEAR = 2025
MARK = "Beispieldaten"


def _expense(
    session: Session,
    account: Account,
    day: date,
    who: str,
    lines: list[tuple[str, str, str, str]],
    no: str = "",
) -> None:
    service.create_booking(
        session,
        booking_date=day,
        account_id=account.id,
        kind="ausgabe",
        counterparty=who,
        receipt_number=no,
        note=MARK,
        lines=[
            service.LineInput(amount, service.category_by_key(session, cat).id, key, text)
            for amount, cat, key, text in lines
        ],
        actor="demo",
    )


def _move(
    session: Session, account: Account, day: date, kind: str, amount: str, **extra: object
) -> None:
    service.create_booking(
        session,
        booking_date=day,
        account_id=account.id,
        kind=kind,
        note=MARK,
        lines=[service.LineInput(amount)],
        actor="demo",
        **extra,  # type: ignore[arg-type]
    )


def load(session: Session) -> str:
    """Accounts and a year of bookings (only once)."""
    if session.scalar(select(Account.id).where(Account.name == BANK)) is not None:
        return "Einnahmen/Ausgaben (bereits vorhanden)"
    bank = service.save_account(
        session,
        name=BANK,
        kind="bank",
        iban=DEMO_IBAN,
        opening_balance=Decimal("8000.00"),
        opening_date=date(YEAR, 1, 1),
        is_default=True,
        actor="demo",
    )
    cash = service.save_account(
        session,
        name=CASH,
        kind="kasse",
        opening_balance=Decimal("150.00"),
        opening_date=date(YEAR, 1, 1),
        actor="demo",
    )
    # Fictitious DATEV numbers, so ▶ DATEV-Export and ▶ Kanzleipaket work in the demo.
    datev.save_settings(session, advisor_number="1001", client_number="1", chart="03", actor="demo")
    sync_payments(session)  # the invoice demo's payments become income first
    for month in range(1, 13):
        _expense(
            session, bank, date(YEAR, month, 3), "Beispiel Immobilien GmbH",
            [("714.00", "raumkosten", "V19", f"Büromiete {month:02d}/{YEAR}")],
        )  # fmt: skip
        _expense(
            session, bank, date(YEAR, month, 12), "Beispielnetz AG",
            [("47.60", "telefon", "V19", "Telefon und Internet")],
        )  # fmt: skip
        # Software as a service from Ireland: § 13b, net amount, VAT owed and deducted.
        _expense(
            session, bank, date(YEAR, month, 15), "Example Software Ltd., Dublin",
            [("59.00", "software", "RCEU19", "Projektsoftware (Reverse Charge)")],
        )  # fmt: skip
    _move(session, bank, date(YEAR, 2, 3), "geldtransit", "300.00", transfer_account_id=cash.id)
    _expense(
        session, cash, date(YEAR, 2, 10), "Schreibwaren Beispiel",
        [
            ("23.80", "buerobedarf", "V19", "Druckerpapier"),
            ("10.70", "buerobedarf", "V7", "Fachzeitschrift"),
        ],
        "K-001",
    )  # fmt: skip
    _expense(
        session,
        cash,
        date(YEAR, 2, 20),
        "Deutsche Post",
        [("17.00", "porto", "NSTB", "Briefmarken")],
        "K-002",
    )
    # A monitor as GWG (499,00 € net, written off at once).
    _expense(
        session, bank, date(YEAR, 3, 18), "Elektronik Beispiel GmbH",
        [("593.81", "gwg", "V19", "Monitor 27 Zoll (GWG)")], "R-4711",
    )  # fmt: skip
    # A laptop as an asset: 1.299,00 net, 3 years linear from July.
    _expense(
        session, bank, date(YEAR, 7, 14), "Elektronik Beispiel GmbH",
        [("1545.81", "anlagen", "V19", "Notebook (Anlagevermögen)")], "R-4823",
    )  # fmt: skip
    assets.create_asset(
        session, name="Notebook", acquired_on=date(YEAR, 7, 14), cost="1299.00",
        useful_life_years=3, actor="demo",
    )  # fmt: skip
    _expense(
        session, bank, date(YEAR, 5, 22), "Restaurant Zur Beispielstraße",
        [("178.50", "bewirtung", "V19", "Geschäftsessen mit Kunden")], "B-0522",
    )  # fmt: skip
    _expense(
        session, cash, date(YEAR, 9, 9), "Blumen Beispiel",
        [("29.75", "geschenke", "V19", "Blumen zum Firmenjubiläum")], "K-003",
    )  # fmt: skip
    _expense(
        session, bank, date(YEAR, 10, 2), "Versicherung Beispiel AG",
        [("389.00", "versicherungen", "NSTB", "Betriebshaftpflicht")],
    )  # fmt: skip
    _move(session, bank, date(YEAR, 6, 30), "privatentnahme", "1500.00")
    # VAT prepayments per quarter (Ist-Versteuerung in the demo), computed from the books.
    paid = {
        1: date(YEAR, 4, 10),
        2: date(YEAR, 7, 10),
        3: date(YEAR, 10, 10),
        4: date(YEAR + 1, 1, 5),
    }
    last_day = {1: 31, 2: 30, 3: 30, 4: 31}
    for quarter, paid_on in paid.items():
        start = date(YEAR, 3 * quarter - 2, 1)
        end = date(YEAR, 3 * quarter, last_day[quarter])
        due = ustva_figures(session, start, end)["83"][1]
        if due > 0:
            _move(session, bank, paid_on, "ust_zahlung", str(due), tax_period=f"{YEAR}-Q{quarter}")
        elif due < 0:
            _move(
                session, bank, paid_on, "ust_erstattung", str(-due), tax_period=f"{YEAR}-Q{quarter}"
            )
    return "Einnahmen/Ausgaben"
