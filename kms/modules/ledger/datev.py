"""DATEV EXTF "Buchungsstapel" (format version 700, category 21, version 13) for the tax
adviser, plus the DATEV master data (Berater-/Mandanten-Nr., SKR, Wirtschaftsjahr, Geld- and
Sachkonten).

File rules (DATEV-Format, Schnittstellen-Entwicklungsleitfaden): Windows-1252, fields
separated by `;`, lines end CRLF, text fields in double quotes (a quote doubled), numbers
with a decimal comma and no thousands separator. Line 1 is the 31-field header
("Vorlaufsatz"), line 2 the 125 column names, then one row per booking line.

How a booking becomes rows: Konto is the DATEV Geldkonto of the booking's account, Gegenkonto
the Sachkonto of the line's category (or of the booking kind: Privat, USt, Geldtransit),
Umsatz the line amount as paid, always positive, with S when money came into the Geldkonto
and H when it left. The BU-Schlüssel comes from the line's tax key (`TaxKey.datev_bu`) and is
left empty when the Gegenkonto is an Automatikkonto (the account itself implies the VAT).

Festschreibung: the header flag is 1 only when every month of the range is festgeschrieben
(kms.periods); each row also carries its own flag (column 114), so a mixed range marks
exactly the locked months' rows.

Bewirtung is exported as one row on the Bewirtungskosten account (4650/6640) with its full
amount; the 30 % not deductible for income tax (4654/6644) is the adviser's split, as KMS's
own EÜR already reports it.

The default accounts are the DATEV standard charts SKR 03/SKR 04 as published in 2025
guides (Haufe, infoportal-buchhaltung, NWB): CHECK THEM WITH THE TAX ADVISER, who may use
other numbers; every one can be overridden per category and per money account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit
from kms.errors import KmsError, ValidationError
from kms.modules.ledger import models as m
from kms.modules.ledger import taxkeys
from kms.modules.ledger.models import (
    Account,
    Booking,
    Category,
    DatevAccountMap,
    DatevCategoryMap,
    DatevSettings,
)
from kms.permissions import Permission, require_permission

ENCODING = "cp1252"
CHARTS = {"03": "SKR 03", "04": "SKR 04"}
HERKUNFT = "KM"  # two characters naming the exporting program
ZERO = Decimal("0.00")

# --- default accounts ---------------------------------------------------------------------

# Geldkonten per account kind: (SKR03, SKR04).
MONEY_DEFAULTS: dict[str, tuple[str, str]] = {
    "bank": ("1200", "1800"),
    "kasse": ("1000", "1600"),
    "paypal": ("1200", "1800"),
    "sonstige": ("1200", "1800"),
}
# Sachkonten of the builtin categories (kms/modules/ledger/categories.py): (SKR03, SKR04).
CATEGORY_DEFAULTS: dict[str, tuple[str, str]] = {
    "erloese": ("8400", "4400"),  # Erlöse 19 % USt (other rates: INCOME_BY_TAX_KEY)
    "anlagenverkauf": ("8820", "4845"),  # Erlöse aus Verkäufen Sachanlagevermögen 19 % USt
    "sachentnahme": ("8910", "4620"),  # Entnahme durch den Unternehmer 19 % USt
    "fremdleistungen": ("3100", "5900"),  # Fremdleistungen
    "waren": ("3400", "5400"),  # Wareneingang 19 % Vorsteuer
    "raumkosten": ("4210", "6310"),  # Miete
    "telefon": ("4920", "6805"),  # Telefon
    "software": ("4806", "6495"),  # Wartungskosten für Hard- und Software
    "fortbildung": ("4945", "6821"),  # Fortbildungskosten
    "reisekosten": ("4670", "6670"),  # Reisekosten Unternehmer
    "kfz": ("4530", "6530"),  # Laufende Kfz-Betriebskosten
    "werbung": ("4600", "6600"),  # Werbekosten
    "versicherungen": ("4360", "6400"),  # Versicherungen
    "beitraege": ("4380", "6420"),  # Beiträge
    "beratung": ("4950", "6825"),  # Rechts- und Beratungskosten
    "buerobedarf": ("4930", "6815"),  # Bürobedarf
    "porto": ("4910", "6800"),  # Porto
    "bankgebuehren": ("4970", "6855"),  # Nebenkosten des Geldverkehrs
    "anlagen": ("0490", "0690"),  # Sonstige Betriebs- und Geschäftsausstattung
    "gwg": ("0480", "0670"),  # Geringwertige Wirtschaftsgüter
    "bewirtung": ("4650", "6640"),  # Bewirtungskosten
    "geschenke": ("4630", "6610"),  # Geschenke abzugsfähig
    "sonstiges": ("4900", "6300"),  # Sonstige betriebliche Aufwendungen
}
# The income category "Erlöse" follows the tax key (8400 is only right for 19 %).
INCOME_BY_TAX_KEY: dict[str, tuple[str, str]] = {
    "U19": ("8400", "4400"),  # Erlöse 19 % USt
    "U7": ("8300", "4300"),  # Erlöse 7 % USt
    "UKU": ("8195", "4185"),  # Erlöse als Kleinunternehmer i. S. d. § 19 UStG
    "UIGL": ("8125", "4125"),  # Steuerfreie innergemeinschaftliche Lieferungen
    "UAUSF": ("8120", "4120"),  # Steuerfreie Umsätze § 4 Nr. 1a UStG (Ausfuhr)
    "UFREI": ("8100", "4100"),  # Steuerfreie Umsätze § 4 Nr. 8 ff. UStG
    "URCEU": ("8336", "4336"),  # EU-Land, Leistungsempfänger schuldet die USt
    "U13B": ("8337", "4337"),  # § 13b UStG, Leistungsempfänger schuldet die USt
    "UNSTB": ("8338", "4338"),  # Im Drittland steuerbar, im Inland nicht steuerbar
    "NSTB": ("8200", "4200"),  # Erlöse
}
# Counter accounts of bookings without a category: (SKR03, SKR04).
KIND_ACCOUNTS: dict[str, tuple[str, str]] = {
    m.PRIVATENTNAHME: ("1800", "2100"),
    m.PRIVATEINLAGE: ("1890", "2180"),
    m.GELDTRANSIT: ("1360", "1460"),
    m.UST_ZAHLUNG: ("1780", "3820"),  # Umsatzsteuer-Vorauszahlungen
    m.UST_ERSTATTUNG: ("1780", "3820"),
}
# Wareneinkauf follows the tax key too: 3400/5400 is the 19 % Automatikkonto.
PURCHASE_BY_TAX_KEY: dict[str, tuple[str, str]] = {
    "V19": ("3400", "5400"),  # Wareneingang 19 % Vorsteuer
    "V7": ("3300", "5300"),  # Wareneingang 7 % Vorsteuer
}
PURCHASE_OTHER = ("3200", "5200")  # Wareneingang (no automatic tax)
BY_TAX_KEY = {"erloese": (INCOME_BY_TAX_KEY, None), "waren": (PURCHASE_BY_TAX_KEY, PURCHASE_OTHER)}
# Automatikkonten (AM/AV) → the tax key they imply: the account itself books the VAT, so a
# row on them never carries a BU-Schlüssel; a line with another key gets a warning.
AUTOMATIC: dict[str, dict[str, str]] = {
    "03": {
        "8400": "U19", "8300": "U7", "3400": "V19", "3300": "V7", "8820": "U19",
        "8910": "U19", "8100": "UFREI", "8120": "UAUSF", "8125": "UIGL", "8336": "URCEU",
        "8337": "U13B", "8338": "UNSTB",
    },
    "04": {
        "4400": "U19", "4300": "U7", "5400": "V19", "5300": "V7", "4845": "U19",
        "4620": "U19", "4100": "UFREI", "4120": "UAUSF", "4125": "UIGL", "4336": "URCEU",
        "4337": "U13B", "4338": "UNSTB",
    },
}  # fmt: skip

# --- the file layout ----------------------------------------------------------------------

# Line 2: the 125 columns of the Buchungsstapel, format version 13.
COLUMNS: tuple[str, ...] = (
    "Umsatz (ohne Soll/Haben-Kz)", "Soll/Haben-Kennzeichen", "WKZ Umsatz", "Kurs",
    "Basis-Umsatz", "WKZ Basis-Umsatz", "Konto", "Gegenkonto (ohne BU-Schlüssel)",
    "BU-Schlüssel", "Belegdatum", "Belegfeld 1", "Belegfeld 2", "Skonto", "Buchungstext",
    "Postensperre", "Diverse Adressnummer", "Geschäftspartnerbank", "Sachverhalt",
    "Zinssperre", "Beleglink",
    *[f"Beleginfo - {kind} {n}" for n in range(1, 9) for kind in ("Art", "Inhalt")],
    "KOST1 - Kostenstelle", "KOST2 - Kostenstelle", "Kost-Menge",
    "EU-Land u. UStID (Bestimmung)", "EU-Steuersatz (Bestimmung)", "Abw. Versteuerungsart",
    "Sachverhalt L+L", "Funktionsergänzung L+L", "BU 49 Hauptfunktionstyp",
    "BU 49 Hauptfunktionsnummer", "BU 49 Funktionsergänzung",
    *[f"Zusatzinformation - {kind} {n}" for n in range(1, 21) for kind in ("Art", "Inhalt")],
    "Stück", "Gewicht", "Zahlweise", "Forderungsart", "Veranlagungsjahr",
    "Zugeordnete Fälligkeit", "Skontotyp", "Auftragsnummer", "Buchungstyp",
    "USt-Schlüssel (Anzahlungen)", "EU-Mitgliedstaat (Anzahlungen)",
    "Sachverhalt L+L (Anzahlungen)", "EU-Steuersatz (Anzahlungen)", "Erlöskonto (Anzahlungen)",
    "Herkunft-Kz", "Leerfeld", "KOST-Datum", "SEPA-Mandatsreferenz", "Skontosperre",
    "Gesellschaftername", "Beteiligtennummer", "Identifikationsnummer", "Zeichnernummer",
    "Postensperre bis", "Bezeichnung SoBil-Sachverhalt", "Kennzeichen SoBil-Buchung",
    "Festschreibung", "Leistungsdatum", "Datum Zuord. Steuerperiode", "Fälligkeit",
    "Generalumkehr (GU)", "Steuersatz", "Land", "Abrechnungsreferenz",
    "BVV-Position (Betriebsvermögensvergleich)", "EU-Mitgliedstaat u. UStID (Ursprung)",
    "EU-Steuersatz (Ursprung)", "Abw. Skontokonto",
)  # fmt: skip
COL = {name: index for index, name in enumerate(COLUMNS)}
TEXT_MAX = 60  # Buchungstext
RECEIPT_MAX = 36  # Belegfeld 1
# Belegfeld 1 allows letters, digits and $ & % * + - / (nothing else, no spaces).
_RECEIPT_BAD = re.compile(r"[^A-Za-z0-9$&%*+\-/]")


# --- settings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    advisor_number: int | None
    client_number: int | None
    chart: str
    account_length: int
    fiscal_start_month: int
    fiscal_start_day: int


def get_settings(session: Session) -> Settings:
    row = session.scalar(select(DatevSettings).order_by(DatevSettings.id).limit(1))
    if row is None:
        return Settings(None, None, "03", 4, 1, 1)
    return Settings(
        row.advisor_number,
        row.client_number,
        row.chart,
        row.account_length,
        row.fiscal_start_month,
        row.fiscal_start_day,
    )


def _int_field(name: str, label: str, value: object, low: int, high: int) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(
            name, f"Die {label} muss eine Zahl von {low} bis {high} sein, nicht „{text}“."
        )
    return int(text)


def save_settings(
    session: Session,
    *,
    advisor_number: object,
    client_number: object,
    chart: str,
    account_length: object = 4,
    fiscal_start: date | str = "01.01.",
    actor: str = "",
) -> Settings:
    """Validate and store the DATEV master data (German messages)."""
    require_permission(Permission.SETTINGS, session)
    advisor = _int_field("advisor_number", "Berater-Nr.", advisor_number, 1001, 9999999)
    client = _int_field("client_number", "Mandanten-Nr.", client_number, 1, 99999)
    if chart not in CHARTS:
        raise ValidationError("chart", "Bitte SKR 03 oder SKR 04 wählen.")
    length = _int_field("account_length", "Sachkontenlänge", account_length, 4, 8) or 4
    month, day = _fiscal_start(fiscal_start)
    row = session.scalar(select(DatevSettings).order_by(DatevSettings.id).limit(1))
    if row is None:
        row = DatevSettings()
        session.add(row)
    row.advisor_number, row.client_number, row.chart = advisor, client, chart
    row.account_length, row.fiscal_start_month, row.fiscal_start_day = length, month, day
    session.flush()
    audit.record(
        session,
        entity="datev_settings",
        entity_id=row.id,
        action="saved",
        actor=actor,
        advisor_number=advisor,
        client_number=client,
        chart=chart,
        account_length=length,
        fiscal_start=f"{day:02d}.{month:02d}.",
    )
    return get_settings(session)


def _fiscal_start(value: date | str) -> tuple[int, int]:
    if isinstance(value, date):
        return value.month, value.day
    match = re.fullmatch(r"\s*(\d{1,2})\.(\d{1,2})\.?\s*", value or "")
    try:
        if match is None:
            raise ValueError
        day, month = int(match.group(1)), int(match.group(2))
        date(2001, month, day)  # not 29.02.: every year must have the day
    except ValueError:
        raise ValidationError(
            "fiscal_start",
            "Beginn des Wirtschaftsjahres bitte als TT.MM. angeben (z. B. 01.01.), "
            f"nicht „{value}“.",
        ) from None
    return month, day


def _check_account(name: str, value: str, length: int) -> str:
    text = (value or "").strip()
    if text and (not text.isdigit() or len(text) != length):
        raise ValidationError(
            name,
            f"Ein DATEV-Sachkonto hat genau {length} Ziffern (die Sachkontenlänge), "
            f"nicht „{text}“.",
        )
    return text


def set_money_account(session: Session, account_id: int, number: str, *, actor: str = "") -> str:
    """The Geldkonto of a ledger account ("" = default of its kind); returns what is stored."""
    require_permission(Permission.SETTINGS, session)
    if session.get(Account, account_id) is None:
        raise KmsError("Dieses Konto gibt es nicht (mehr).")
    number = _check_account("money_account", number, get_settings(session).account_length)
    row = session.get(DatevAccountMap, account_id)
    if row is None:
        row = DatevAccountMap(account_id=account_id)
        session.add(row)
    row.money_account = number
    session.flush()
    audit.record(
        session, entity="datev_account_map", entity_id=account_id, action="saved", actor=actor,
        money_account=number,
    )  # fmt: skip
    return number


def set_category_account(
    session: Session, category_id: int, *, skr03: str, skr04: str, actor: str = ""
) -> tuple[str, str]:
    """The user's Sachkonten of a category ("" = the shipped default); returns them."""
    require_permission(Permission.SETTINGS, session)
    if session.get(Category, category_id) is None:
        raise KmsError("Diese Kategorie gibt es nicht (mehr).")
    length = get_settings(session).account_length
    row = session.get(DatevCategoryMap, category_id)
    if row is None:
        row = DatevCategoryMap(category_id=category_id)
        session.add(row)
    row.skr03 = _check_account("skr03", skr03, length)
    row.skr04 = _check_account("skr04", skr04, length)
    session.flush()
    audit.record(
        session, entity="datev_category_map", entity_id=category_id, action="saved",
        actor=actor, skr03=row.skr03, skr04=row.skr04,
    )  # fmt: skip
    return row.skr03, row.skr04


def _pick(pair: tuple[str, str], chart: str, length: int = 4) -> str:
    """The SKR 03 or SKR 04 number, padded with zeros to a longer Sachkontenlänge."""
    return fit(pair[0] if chart == "03" else pair[1], length)


def fit(number: str, length: int) -> str:
    """A four-digit standard account at Sachkontenlänge `length` (4930 → 49300 at 5)."""
    return number.ljust(length, "0") if number else number


def money_account(session: Session, account: Account, chart: str, length: int = 4) -> str:
    row = session.get(DatevAccountMap, account.id)
    if row is not None and row.money_account:
        return row.money_account
    return _pick(MONEY_DEFAULTS.get(account.kind, MONEY_DEFAULTS["bank"]), chart, length)


def category_account(
    session: Session, category: Category | None, chart: str, tax_key: str = "", length: int = 4
) -> str:
    """The Sachkonto of a category: the user's override, else the default ("" = none)."""
    if category is None:
        return ""
    row = session.get(DatevCategoryMap, category.id)
    own = (row.skr03 if chart == "03" else row.skr04) if row is not None else ""
    if own:
        return own
    if category.key in BY_TAX_KEY and tax_key:
        table, other = BY_TAX_KEY[category.key]
        chosen = table.get(tax_key, other)
        if chosen is not None:
            return _pick(chosen, chart, length)
    pair = CATEGORY_DEFAULTS.get(category.key)
    return _pick(pair, chart, length) if pair else ""


# --- the export ---------------------------------------------------------------------------


@dataclass
class Export:
    """The encoded file, its row count and the German notes about changed values."""

    content: bytes
    rows: int
    locked: bool
    warnings: list[str] = field(default_factory=list)


def fiscal_year_of(settings: Settings, day: date) -> tuple[date, date]:
    """First and last day of the Wirtschaftsjahr containing `day`."""
    start = date(day.year, settings.fiscal_start_month, settings.fiscal_start_day)
    if day < start:
        start = start.replace(year=day.year - 1)
    nxt = start.replace(year=start.year + 1)
    return start, date.fromordinal(nxt.toordinal() - 1)


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _amount(value: Decimal) -> str:
    return f"{abs(value).quantize(Decimal('0.01')):.2f}".replace(".", ",")


class _Cleaner:
    """Makes text fit Windows-1252 and the field rules, noting each change once."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def note(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def cp1252(self, text: str, where: str) -> str:
        out = []
        for ch in text:
            try:
                ch.encode(ENCODING)
                out.append(ch if ch >= " " else " ")
            except UnicodeEncodeError:
                out.append("?")
                self.note(
                    f"{where}: Zeichen „{ch}“ gibt es in Windows-1252 nicht, ersetzt durch „?“."
                )
        return "".join(out)

    def text(self, text: str, limit: int, where: str) -> str:
        clean = " ".join(self.cp1252(text, where).split())
        if len(clean) > limit:
            self.note(f"{where}: Buchungstext auf {limit} Zeichen gekürzt.")
            clean = clean[:limit]
        return clean

    def receipt(self, text: str, where: str) -> str:
        clean = _RECEIPT_BAD.sub("-", text.strip())
        if clean != text.strip():
            self.note(
                f"{where}: Belegnummer „{text}“ enthält Zeichen, die DATEV in Belegfeld 1 nicht "
                f"annimmt; exportiert als „{clean[:RECEIPT_MAX]}“."
            )
        if len(clean) > RECEIPT_MAX:
            self.note(f"{where}: Belegnummer auf {RECEIPT_MAX} Zeichen gekürzt.")
            clean = clean[:RECEIPT_MAX]
        return clean


def _months(start: date, end: date) -> Iterable[date]:
    current = start.replace(day=1)
    while current <= end:
        yield current
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)


def _check_range(settings: Settings, start: date, end: date) -> None:
    if settings.advisor_number is None:
        raise KmsError(
            "Für den DATEV-Export fehlt die Berater-Nr. Bitte unter Einnahmen/Ausgaben → "
            "Einstellungen → DATEV eintragen (1001 bis 9999999)."
        )
    if settings.client_number is None:
        raise KmsError(
            "Für den DATEV-Export fehlt die Mandanten-Nr. Bitte unter Einnahmen/Ausgaben → "
            "Einstellungen → DATEV eintragen (1 bis 99999)."
        )
    if end < start:
        raise KmsError("Das Ende des Zeitraums liegt vor seinem Anfang.")
    fy_start, fy_end = fiscal_year_of(settings, start)
    if end > fy_end:
        raise KmsError(
            f"Ein DATEV-Buchungsstapel umfasst höchstens ein Wirtschaftsjahr: der Zeitraum "
            f"{start:%d.%m.%Y} bis {end:%d.%m.%Y} reicht über das Wirtschaftsjahr "
            f"{fy_start:%d.%m.%Y} bis {fy_end:%d.%m.%Y} hinaus. Bitte je Wirtschaftsjahr "
            "einen eigenen Export erstellen."
        )


def header_fields(
    settings: Settings,
    start: date,
    end: date,
    *,
    created: datetime,
    exported_by: str,
    locked: bool,
) -> list[str]:
    """The 31 fields of line 1 (Vorlaufsatz)."""
    fy_start, _ = fiscal_year_of(settings, start)
    return [
        _quote("EXTF"),  # 1 Kennzeichen
        "700",  # 2 Versionsnummer
        "21",  # 3 Formatkategorie: Buchungsstapel
        _quote("Buchungsstapel"),  # 4 Formatname
        "13",  # 5 Formatversion
        created.strftime("%Y%m%d%H%M%S") + f"{created.microsecond // 1000:03d}",  # 6 Erzeugt am
        "",  # 7 Importiert (reserved)
        _quote(HERKUNFT),  # 8 Herkunft
        _quote(exported_by[:25]),  # 9 Exportiert von
        "",  # 10 Importiert von (reserved)
        str(settings.advisor_number),  # 11 Berater
        str(settings.client_number),  # 12 Mandant
        fy_start.strftime("%Y%m%d"),  # 13 WJ-Beginn
        str(settings.account_length),  # 14 Sachkontenlänge
        start.strftime("%Y%m%d"),  # 15 Datum vom
        end.strftime("%Y%m%d"),  # 16 Datum bis
        _quote(f"KMS {start:%d.%m.%Y}-{end:%d.%m.%Y}"),  # 17 Bezeichnung (≤ 30)
        _quote(""),  # 18 Diktatkürzel
        "1",  # 19 Buchungstyp: Finanzbuchführung
        "0",  # 20 Rechnungslegungszweck: unabhängig
        "1" if locked else "0",  # 21 Festschreibung
        _quote("EUR"),  # 22 WKZ
        "",  # 23 reserved
        _quote(""),  # 24 Derivatskennzeichen
        "",  # 25 reserved
        "",  # 26 reserved
        _quote(settings.chart),  # 27 Sachkontenrahmen
        "",  # 28 ID der Branchenlösung
        "",  # 29 reserved
        _quote(""),  # 30 reserved
        _quote(""),  # 31 Anwendungsinformation
    ]


def _bookings(session: Session, start: date, end: date) -> list[Booking]:
    return list(
        session.scalars(
            select(Booking)
            .where(Booking.booking_date >= start, Booking.booking_date <= end)
            .order_by(Booking.booking_date, Booking.id)
        )
    )


def export(
    session: Session,
    start: date,
    end: date,
    *,
    created: datetime | None = None,
    exported_by: str = "KMS",
) -> Export:
    """The Buchungsstapel of the bookings dated `start`..`end` (one Wirtschaftsjahr)."""
    require_permission(Permission.LEDGER_READ, session)
    from kms.periods import locked_months
    from kms.types import utcnow

    settings = get_settings(session)
    _check_range(settings, start, end)
    chart, length = settings.chart, settings.account_length
    automatic = {fit(number, length): key for number, key in AUTOMATIC[chart].items()}
    locked_set = set(locked_months(session))
    all_locked = all(month in locked_set for month in _months(start, end))
    clean = _Cleaner()
    accounts = {a.id: a for a in session.scalars(select(Account))}
    categories = {c.id: c for c in session.scalars(select(Category))}
    rows: list[list[str]] = []
    for booking in _bookings(session, start, end):
        where = f"Buchung {booking.id} vom {booking.booking_date:%d.%m.%Y}"
        konto = money_account(session, accounts[booking.account_id], chart, length)
        direction = m.DIRECTION.get(booking.kind, 1)
        for line in booking.lines:
            category = categories.get(line.category_id) if line.category_id else None
            bu = ""
            if booking.kind == m.GELDTRANSIT and booking.transfer_account_id:
                target = accounts[booking.transfer_account_id]
                gegen = money_account(session, target, chart, length)
            elif category is not None:
                gegen = category_account(session, category, chart, line.tax_key, length)
                key = taxkeys.entry(line.tax_key, booking.booking_date)
                # A Kleinunternehmer's purchase: the VAT is part of the expense, no Vorsteuer.
                small = key.direction == "ein" and key.mode == taxkeys.INCLUDED and not line.tax
                bu = "" if small else key.datev_bu
            else:
                gegen = _pick(KIND_ACCOUNTS.get(booking.kind, ("", "")), chart, length)
            if not gegen:
                raise KmsError(
                    f"{where}: die Kategorie „{category.name if category else booking.kind}“ "
                    "hat kein DATEV-Sachkonto. Bitte unter Einnahmen/Ausgaben → Einstellungen "
                    "→ DATEV eines eintragen."
                )
            if gegen in automatic:
                bu = ""
                if category is not None and automatic[gegen] != line.tax_key:
                    clean.note(
                        f"{where}: Konto {gegen} ist ein Automatikkonto für "
                        f"„{taxkeys.label(automatic[gegen], booking.booking_date)}“, die "
                        f"Position hat „{taxkeys.label(line.tax_key, booking.booking_date)}“. "
                        "Bitte ein anderes Sachkonto wählen oder mit der Kanzlei klären."
                    )
            signed = line.amount * direction
            text = " – ".join(t for t in (booking.counterparty, line.text) if t)
            row = [""] * len(COLUMNS)
            row[COL["Umsatz (ohne Soll/Haben-Kz)"]] = _amount(signed)
            row[COL["Soll/Haben-Kennzeichen"]] = _quote("S" if signed > 0 else "H")
            row[COL["WKZ Umsatz"]] = _quote("EUR")
            row[COL["Konto"]] = konto
            row[COL["Gegenkonto (ohne BU-Schlüssel)"]] = gegen
            row[COL["BU-Schlüssel"]] = _quote(bu)
            row[COL["Belegdatum"]] = booking.booking_date.strftime("%d%m")
            row[COL["Belegfeld 1"]] = _quote(clean.receipt(booking.receipt_number, where))
            row[COL["Buchungstext"]] = _quote(
                clean.text(text or booking.kind_label, TEXT_MAX, where)
            )
            month = booking.booking_date.replace(day=1)
            row[COL["Festschreibung"]] = "1" if month in locked_set else "0"
            rows.append(row)
    if not all_locked and any(month in locked_set for month in _months(start, end)):
        clean.note(
            "Der Zeitraum ist nur teilweise festgeschrieben: der Stapel ist nicht "
            "festgeschrieben, die Buchungen festgeschriebener Monate tragen das Kennzeichen "
            "Festschreibung je Zeile."
        )
    lines = [
        ";".join(
            header_fields(
                settings,
                start,
                end,
                created=created or utcnow(),
                exported_by=clean.cp1252(exported_by, "Exportiert von"),
                locked=all_locked,
            )
        ),
        ";".join(COLUMNS),
        *(";".join(r) for r in rows),
    ]
    content = ("\r\n".join(lines) + "\r\n").encode(ENCODING)
    return Export(content=content, rows=len(rows), locked=all_locked, warnings=clean.warnings)
