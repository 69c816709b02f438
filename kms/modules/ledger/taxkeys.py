"""Steuerschlüssel: the ONE table that knows VAT rates, Kennzahlen and BU-Schlüssel.

Every booking line carries one tax key. The key decides how the line's amount splits into
net and VAT, which Kennzahlen of the Umsatzsteuer-Voranmeldung it feeds, which EÜR field
its VAT goes to and which DATEV BU-Schlüssel an export writes. Nothing else in KMS knows a
rate: services, reports and exports ask `entry(code, day)`.

The table is versioned: each code can have several entries, each valid from a day (and
until the next entry of the same code, or `valid_to`). A rate change becomes a new entry
with its `valid_from`; bookings keep the rate valid on their date.

Modes:
- "included": the line amount is what was paid (gross); the VAT contained in it is
  `gross * rate / (100 + rate)`, rounded half up to cents. Purchases: deductible Vorsteuer
  (Kz 66) unless the owner is Kleinunternehmer on that day; sales: Umsatzsteuer.
- "reverse": the line amount is the net amount paid to the supplier (§ 13b UStG or
  innergemeinschaftlicher Erwerb). The VAT `net * rate / 100` is owed (Kz 47/85 or the
  tax of Kz 89/93) and, for a regularly taxed owner, deducted in the same booking
  (Kz 67 or 61). Nothing of it is paid to the supplier, so the EÜR sees only the net.
  A Kleinunternehmer owes it and cannot deduct it (§ 18 Abs. 4a UStG: a filing is due).
- "none": no VAT at all (steuerfrei, nicht steuerbar, Kleinunternehmer on either side):
  the expense or income is the whole amount.

Kennzahlen and BU-Schlüssel: USt-VA form 2025/2026; DATEV BU-Schlüssel as in the DATEV
standard tables (2020 ff.). They must be checked against the official Vordruck every year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
INCLUDED, REVERSE, NONE = "included", "reverse", "none"
Direction = Literal["ein", "aus", "beide"]  # ein: Eingangsleistung (purchase), aus: sale

# EÜR fields the tax key decides (the category decides the expense/income field itself).
EUER_UST_RECEIVED = "ust_vereinnahmt"  # Vereinnahmte Umsatzsteuer (Kz 140)
EUER_VORSTEUER = "vorsteuer"  # Gezahlte Vorsteuerbeträge (Kz 185)
EUER_INCOME_TAXABLE = "einnahmen_stpfl"  # Umsatzsteuerpflichtige Betriebseinnahmen (112)
EUER_INCOME_FREE = "einnahmen_stfrei"  # steuerfrei / nicht steuerbar / § 13b (103)
EUER_INCOME_SMALL = "einnahmen_ku"  # Betriebseinnahmen als Kleinunternehmer (111)


@dataclass(frozen=True)
class TaxKey:
    """One version of a Steuerschlüssel."""

    code: str
    label: str  # German, shown in the booking form
    direction: Direction
    mode: str  # INCLUDED | REVERSE | NONE
    rate: Decimal = ZERO  # percent
    valid_from: date = date(2007, 1, 1)
    valid_to: date | None = None  # inclusive; None: until a newer entry of the code
    # USt-VA Kennzahlen: base (Bemessungsgrundlage), tax owed (where the form has a Kz for
    # it; 81/86/89/93 have none, the tax sits in the column next to the base), deductible
    # input tax.
    kz_base: str = ""
    kz_tax: str = ""
    kz_input: str = ""
    # EÜR field for the income of a sale when the category says "by tax key".
    euer_income: str = ""
    # DATEV BU-Schlüssel ("" = none / automatic account).
    datev_bu: str = ""
    # Counts as turnover in the sense of § 19 Abs. 2 UStG (steuerbare Umsätze im Inland,
    # without Hilfsgeschäfte): domestic taxable and domestic exempt sales.
    turnover_19: bool = False

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


H2_2020_FROM, H2_2020_TO = date(2020, 7, 1), date(2020, 12, 31)

ENTRIES: tuple[TaxKey, ...] = (
    # --- sales ---------------------------------------------------------------------------
    TaxKey(
        "U19",
        "Umsatz 19 % USt",
        "aus",
        INCLUDED,
        Decimal("19"),
        kz_base="81",
        euer_income=EUER_INCOME_TAXABLE,
        datev_bu="3",
        turnover_19=True,
    ),
    # Second half of 2020: 16 % under the same key (Kz 81 also carried 16 % in 2020).
    TaxKey(
        "U19",
        "Umsatz 16 % USt (2. Hj. 2020)",
        "aus",
        INCLUDED,
        Decimal("16"),
        kz_base="81",
        euer_income=EUER_INCOME_TAXABLE,
        datev_bu="5",
        turnover_19=True,
        valid_from=H2_2020_FROM,
        valid_to=H2_2020_TO,
    ),  # type: ignore[arg-type]
    TaxKey(
        "U7",
        "Umsatz 7 % USt",
        "aus",
        INCLUDED,
        Decimal("7"),
        kz_base="86",
        euer_income=EUER_INCOME_TAXABLE,
        datev_bu="2",
        turnover_19=True,
    ),
    TaxKey(
        "U7",
        "Umsatz 5 % USt (2. Hj. 2020)",
        "aus",
        INCLUDED,
        Decimal("5"),
        kz_base="86",
        euer_income=EUER_INCOME_TAXABLE,
        datev_bu="4",
        turnover_19=True,
        valid_from=H2_2020_FROM,
        valid_to=H2_2020_TO,
    ),  # type: ignore[arg-type]
    TaxKey(
        "UKU",
        "Umsatz als Kleinunternehmer (§ 19 UStG)",
        "aus",
        NONE,
        euer_income=EUER_INCOME_SMALL,
        turnover_19=True,
    ),
    TaxKey(
        "UIGL",
        "Innergemeinschaftliche Lieferung (steuerfrei)",
        "aus",
        NONE,
        kz_base="41",
        euer_income=EUER_INCOME_FREE,
        datev_bu="10",
    ),
    TaxKey(
        "UAUSF",
        "Ausfuhr, steuerfrei mit Vorsteuerabzug",
        "aus",
        NONE,
        kz_base="43",
        euer_income=EUER_INCOME_FREE,
        datev_bu="1",
    ),
    TaxKey(
        "UFREI",
        "Steuerfreier Umsatz ohne Vorsteuerabzug (§ 4 Nr. 8 ff. UStG)",
        "aus",
        NONE,
        kz_base="48",
        euer_income=EUER_INCOME_FREE,
        datev_bu="",
        turnover_19=True,
    ),
    TaxKey(
        "URCEU",
        "Sonstige Leistung in anderem EU-Staat (Empfänger schuldet)",
        "aus",
        NONE,
        kz_base="21",
        euer_income=EUER_INCOME_FREE,
        datev_bu="11",
    ),
    TaxKey(
        "U13B",
        "Umsatz nach § 13b UStG (Empfänger schuldet, Inland)",
        "aus",
        NONE,
        kz_base="60",
        euer_income=EUER_INCOME_FREE,
        datev_bu="",
        turnover_19=True,
    ),
    TaxKey(
        "UNSTB",
        "Nicht steuerbarer Umsatz (Leistungsort Ausland)",
        "aus",
        NONE,
        kz_base="45",
        euer_income=EUER_INCOME_FREE,
        datev_bu="",
    ),
    # --- purchases -----------------------------------------------------------------------
    TaxKey("V19", "Vorsteuer 19 %", "ein", INCLUDED, Decimal("19"), kz_input="66", datev_bu="9"),
    TaxKey(
        "V19",
        "Vorsteuer 16 % (2. Hj. 2020)",
        "ein",
        INCLUDED,
        Decimal("16"),
        kz_input="66",
        datev_bu="7",
        valid_from=H2_2020_FROM,
        valid_to=H2_2020_TO,
    ),  # type: ignore[arg-type]
    TaxKey("V7", "Vorsteuer 7 %", "ein", INCLUDED, Decimal("7"), kz_input="66", datev_bu="8"),
    TaxKey(
        "V7",
        "Vorsteuer 5 % (2. Hj. 2020)",
        "ein",
        INCLUDED,
        Decimal("5"),
        kz_input="66",
        datev_bu="6",
        valid_from=H2_2020_FROM,
        valid_to=H2_2020_TO,
    ),  # type: ignore[arg-type]
    TaxKey(
        "RCEU19",
        "§ 13b: Leistung eines EU-Unternehmers 19 % (z. B. Software, Werbung)",
        "ein",
        REVERSE,
        Decimal("19"),
        kz_base="46",
        kz_tax="47",
        kz_input="67",
        datev_bu="46",
    ),
    TaxKey(
        "RC19",
        "§ 13b: andere Leistungen 19 % (z. B. Bauleistungen, Ausland Drittland)",
        "ein",
        REVERSE,
        Decimal("19"),
        kz_base="84",
        kz_tax="85",
        kz_input="67",
        datev_bu="94",
    ),
    TaxKey(
        "IGE19",
        "Innergemeinschaftlicher Erwerb 19 %",
        "ein",
        REVERSE,
        Decimal("19"),
        kz_base="89",
        kz_input="61",
        datev_bu="19",
    ),
    TaxKey(
        "IGE7",
        "Innergemeinschaftlicher Erwerb 7 %",
        "ein",
        REVERSE,
        Decimal("7"),
        kz_base="93",
        kz_input="61",
        datev_bu="18",
    ),
    TaxKey("VOHNE", "Ohne Vorsteuer (Kleinunternehmer, Privatperson, Beleg ohne USt)", "ein", NONE),
    # --- both ----------------------------------------------------------------------------
    TaxKey(
        "NSTB",
        "Nicht steuerbar / steuerfrei (z. B. Versicherung, Gebühren)",
        "beide",
        NONE,
        euer_income=EUER_INCOME_FREE,
    ),
)

# Invoice tax categories (EN 16931, kms/modules/invoices) → the sales key.
INVOICE_CATEGORY = {
    ("S", Decimal("19.00")): "U19",
    ("S", Decimal("7.00")): "U7",
    ("S", Decimal("16.00")): "U19",  # second half of 2020
    ("S", Decimal("5.00")): "U7",
    ("E", None): "UKU",
    ("AE", None): "U13B",
    ("K", None): "UIGL",
    ("G", None): "UAUSF",
    ("O", None): "UNSTB",
    ("Z", None): "UAUSF",
}


class UnknownTaxKey(ValueError):
    """A code that the table does not know on that day."""


def codes() -> list[str]:
    """Every code once, in table order."""
    seen: dict[str, None] = {}
    for e in ENTRIES:
        seen.setdefault(e.code)
    return list(seen)


def entry(code: str, day: date) -> TaxKey:
    """The version of `code` valid on `day`: an explicitly bounded entry wins over the
    open-ended one (the newest valid_from among those valid on that day)."""
    candidates = [e for e in ENTRIES if e.code == code and e.valid_on(day)]
    if not candidates:
        raise UnknownTaxKey(f"Unbekannter Steuerschlüssel „{code}“ am {day:%d.%m.%Y}.")
    return max(candidates, key=lambda e: e.valid_from)


def label(code: str, day: date) -> str:
    try:
        return entry(code, day).label
    except UnknownTaxKey:
        return code


def choices(direction: str, day: date) -> dict[str, str]:
    """code → German label of the keys usable for a purchase ("ein") or sale ("aus")."""
    result: dict[str, str] = {}
    for code in codes():
        try:
            e = entry(code, day)
        except UnknownTaxKey:
            continue
        if e.direction in (direction, "beide"):
            result[code] = e.label
    return result


def for_invoice(category: str, rate: Decimal) -> str:
    """The sales key for an invoice line's tax category and rate."""
    key = INVOICE_CATEGORY.get((category, Decimal(rate).quantize(CENT)))
    if key is None:
        key = INVOICE_CATEGORY.get((category, None))
    if key is None:
        raise UnknownTaxKey(f"Keine Zuordnung für die Steuerkategorie „{category}“ {rate} %.")
    return key


@dataclass(frozen=True)
class Split:
    """How one line's amount divides, in euros with cents."""

    net: Decimal  # the expense or income without VAT (before non-deductible parts)
    tax: Decimal  # VAT in the amount (included) or owed on it (reverse)
    deductible: Decimal  # Vorsteuer the owner may deduct from `tax`
    paid_tax: Decimal  # VAT actually paid to / received from the other party


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def split(code: str, amount: Decimal, day: date, *, small_business: bool = False) -> Split:
    """Split a line amount by its key valid on `day`.

    `small_business`: the owner is Kleinunternehmer on that day, so no Vorsteuer is
    deductible (a purchase's VAT is part of the expense; § 13b tax is owed, not deducted).
    """
    e = entry(code, day)
    amount = Decimal(amount)
    if e.mode == INCLUDED:
        tax = _round(amount * e.rate / (Decimal(100) + e.rate))
        if e.direction == "ein" and small_business:
            return Split(net=amount, tax=ZERO, deductible=ZERO, paid_tax=ZERO)
        deductible = tax if e.direction == "ein" else ZERO
        return Split(net=amount - tax, tax=tax, deductible=deductible, paid_tax=tax)
    if e.mode == REVERSE:
        tax = _round(amount * e.rate / Decimal(100))
        return Split(net=amount, tax=tax, deductible=ZERO if small_business else tax, paid_tax=ZERO)
    return Split(net=amount, tax=ZERO, deductible=ZERO, paid_tax=ZERO)
