"""EÜR fields per Vordruckjahr and the default categories of a service business.

A category maps to an EÜR *field* (a stable key such as "telekommunikation"); this table
maps each field to the Kennzahl of one year's Anlage EÜR. The Zeile is only a label: line
numbers move every year, Kennzahlen rarely. A user-defined category must name a field.

The Kennzahlen follow the Anlage EÜR 2024/2025 as best known; 2026 repeats 2025 until the
official Vordruck is out. CHECK THIS TABLE AGAINST THE OFFICIAL VORDRUCK EVERY YEAR.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class EuerField:
    key: str
    kz: str
    zeile: str  # label only
    label: str  # German
    side: str  # "einnahme" | "ausgabe"


def _fields(rows: list[tuple[str, str, str, str, str]]) -> dict[str, EuerField]:
    return {r[0]: EuerField(*r) for r in rows}


_E, _A = "einnahme", "ausgabe"
_FORM_2025 = _fields(
    [
        (
            "einnahmen_ku",
            "111",
            "12",
            "Betriebseinnahmen als umsatzsteuerlicher Kleinunternehmer",
            _E,
        ),
        ("einnahmen_stpfl", "112", "15", "Umsatzsteuerpflichtige Betriebseinnahmen", _E),
        (
            "einnahmen_stfrei",
            "103",
            "16",
            "Umsatzsteuerfreie, nicht umsatzsteuerbare Betriebseinnahmen sowie "
            "Betriebseinnahmen, für die der Leistungsempfänger die Umsatzsteuer nach "
            "§ 13b UStG schuldet",
            _E,
        ),
        (
            "ust_vereinnahmt",
            "140",
            "17",
            "Vereinnahmte Umsatzsteuer sowie Umsatzsteuer auf unentgeltliche Wertabgaben",
            _E,
        ),
        (
            "ust_erstattet",
            "141",
            "18",
            "Vom Finanzamt erstattete und ggf. verrechnete Umsatzsteuer",
            _E,
        ),
        ("anlagenabgang", "102", "19", "Veräußerung oder Entnahme von Anlagevermögen", _E),
        ("kfz_privat", "106", "20", "Private Kfz-Nutzung", _E),
        ("sachentnahmen", "108", "21", "Sonstige Sach-, Nutzungs- und Leistungsentnahmen", _E),
        (
            "waren",
            "100",
            "27",
            "Waren, Rohstoffe und Hilfsstoffe einschließlich der Nebenkosten",
            _A,
        ),
        ("fremdleistungen", "110", "28", "Bezogene Fremdleistungen", _A),
        ("personal", "120", "29", "Ausgaben für eigenes Personal", _A),
        ("afa_immateriell", "131", "31", "AfA auf immaterielle Wirtschaftsgüter", _A),
        ("afa_beweglich", "130", "32", "AfA auf bewegliche Wirtschaftsgüter", _A),
        ("gwg", "132", "36", "Aufwendungen für geringwertige Wirtschaftsgüter", _A),
        ("restbuchwert", "135", "38", "Restbuchwert der ausgeschiedenen Anlagegüter", _A),
        (
            "miete",
            "150",
            "41",
            "Miete/Pacht für Geschäftsräume und betrieblich genutzte Grundstücke",
            _A,
        ),
        (
            "raum_sonstige",
            "152",
            "43",
            "Sonstige Aufwendungen für betrieblich genutzte Grundstücke",
            _A,
        ),
        (
            "telekommunikation",
            "280",
            "45",
            "Aufwendungen für Telekommunikation (z. B. Telefon, Internet)",
            _A,
        ),
        ("reisekosten", "221", "46", "Übernachtungs- und Reisenebenkosten bei Geschäftsreisen", _A),
        ("fortbildung", "281", "47", "Fortbildungskosten (ohne Reisekosten)", _A),
        ("beratung", "194", "48", "Kosten für Rechts- und Steuerberatung, Buchführung", _A),
        (
            "miete_bewegliche",
            "222",
            "49",
            "Miete/Leasing für bewegliche Wirtschaftsgüter (ohne Kraftfahrzeuge)",
            _A,
        ),
        (
            "beitraege",
            "223",
            "51",
            "Beiträge, Gebühren, Abgaben und Versicherungen (ohne solche für Kraftfahrzeuge)",
            _A,
        ),
        ("edv", "228", "52", "Laufende EDV-Kosten (z. B. Beratung, Wartung, Software)", _A),
        ("werbung", "224", "54", "Werbekosten (z. B. Inserate, Werbespots, Plakate)", _A),
        ("vorsteuer", "185", "57", "Gezahlte Vorsteuerbeträge", _A),
        (
            "ust_gezahlt",
            "186",
            "58",
            "An das Finanzamt gezahlte und ggf. verrechnete Umsatzsteuer",
            _A,
        ),
        ("uebrige", "183", "60", "Übrige unbeschränkt abziehbare Betriebsausgaben", _A),
        ("geschenke_nab", "164", "61", "Geschenke – nicht abziehbar", _A),
        ("geschenke", "174", "61", "Geschenke – abziehbar", _A),
        ("bewirtung_nab", "165", "62", "Bewirtungsaufwendungen – nicht abziehbar", _A),
        ("bewirtung", "175", "62", "Bewirtungsaufwendungen – abziehbar", _A),
        (
            "kfz_sonstige",
            "146",
            "71",
            "Sonstige tatsächliche Fahrzeugkosten ohne AfA und Zinsen (Kfz)",
            _A,
        ),
        ("kfz_steuer", "145", "70", "Steuern, Versicherungen und Maut für Kraftfahrzeuge", _A),
    ]
)
# Year of the Vordruck → its fields. 2026 repeats 2025 until the official form is checked.
FORMS: dict[int, dict[str, EuerField]] = {2025: _FORM_2025, 2026: dict(_FORM_2025)}
TOTAL_INCOME_KZ, TOTAL_EXPENSE_KZ = "159", "199"
# Fields whose amounts are not deductible (the form's "nicht abziehbar" column): they are
# reported but not part of Summe Betriebsausgaben.
NOT_DEDUCTIBLE = {"geschenke_nab", "bewirtung_nab"}


def form(year: int) -> dict[str, EuerField]:
    """The fields of the Vordruck used for `year` (the nearest older one if not listed)."""
    usable = [y for y in FORMS if y <= year] or [min(FORMS)]
    return FORMS[max(usable)]


def field_choices(side: str, year: int) -> dict[str, str]:
    """field key → "Kz 280 – Aufwendungen für Telekommunikation" for the category form."""
    return {
        f.key: f"Kz {f.kz} – {f.label}"
        for f in form(year).values()
        if f.side == side
        and f.key
        not in NOT_DEDUCTIBLE | {"vorsteuer", "ust_gezahlt", "ust_vereinnahmt", "ust_erstattet"}
    }


# Field keys with a meaning of their own, used by the services and reports.
BY_TAX_KEY = "nach_steuerschluessel"  # income: the tax key decides (111/112/103)
# Purchase of a durable asset: no expense at payment; the Anlagenverzeichnis writes it off.
ASSET = "anlagegut"

# Special handling of partly deductible categories.
SPECIAL_BEWIRTUNG = "bewirtung"  # 70 % abziehbar, 30 % nicht (§ 4 Abs. 5 Nr. 2 EStG)
SPECIAL_GESCHENK = "geschenk"  # over 50 € per recipient and year: nothing deductible
BEWIRTUNG_DEDUCTIBLE = Decimal("0.70")
GIFT_LIMIT = Decimal("50.00")  # § 4 Abs. 5 Nr. 1 EStG (since 2024)


@dataclass(frozen=True)
class DefaultCategory:
    key: str
    name: str
    side: str
    euer_field: str
    special: str = ""
    default_tax_key: str = ""


DEFAULT_CATEGORIES: tuple[DefaultCategory, ...] = (
    DefaultCategory("erloese", "Erlöse", _E, BY_TAX_KEY, default_tax_key="U19"),
    DefaultCategory(
        "anlagenverkauf", "Verkauf von Anlagevermögen", _E, "anlagenabgang", default_tax_key="U19"
    ),
    DefaultCategory(
        "sachentnahme", "Sach- und Nutzungsentnahmen", _E, "sachentnahmen", default_tax_key="U19"
    ),
    DefaultCategory(
        "fremdleistungen", "Fremdleistungen", _A, "fremdleistungen", default_tax_key="V19"
    ),
    DefaultCategory("waren", "Wareneinkauf", _A, "waren", default_tax_key="V19"),
    DefaultCategory("raumkosten", "Raumkosten (Miete)", _A, "miete", default_tax_key="V19"),
    DefaultCategory("telefon", "Telefon/Internet", _A, "telekommunikation", default_tax_key="V19"),
    DefaultCategory("software", "Software", _A, "edv", default_tax_key="V19"),
    DefaultCategory("fortbildung", "Fortbildung", _A, "fortbildung", default_tax_key="V19"),
    DefaultCategory("reisekosten", "Reisekosten", _A, "reisekosten", default_tax_key="V19"),
    DefaultCategory("kfz", "Kfz-Kosten", _A, "kfz_sonstige", default_tax_key="V19"),
    DefaultCategory("werbung", "Werbung", _A, "werbung", default_tax_key="V19"),
    DefaultCategory("versicherungen", "Versicherungen", _A, "beitraege", default_tax_key="NSTB"),
    DefaultCategory("beitraege", "Beiträge und Gebühren", _A, "beitraege", default_tax_key="NSTB"),
    DefaultCategory(
        "beratung", "Steuerberatung und Buchführung", _A, "beratung", default_tax_key="V19"
    ),
    DefaultCategory("buerobedarf", "Bürobedarf", _A, "uebrige", default_tax_key="V19"),
    DefaultCategory("porto", "Porto", _A, "uebrige", default_tax_key="NSTB"),
    DefaultCategory("bankgebuehren", "Bankgebühren", _A, "uebrige", default_tax_key="NSTB"),
    DefaultCategory(
        "anlagen", "Anlagevermögen (Anschaffung, über AfA)", _A, ASSET, default_tax_key="V19"
    ),
    DefaultCategory(
        "gwg", "Geringwertige Wirtschaftsgüter (bis 800 € netto)", _A, "gwg", default_tax_key="V19"
    ),
    DefaultCategory("bewirtung", "Bewirtung", _A, "bewirtung", SPECIAL_BEWIRTUNG, "V19"),
    DefaultCategory(
        "geschenke", "Geschenke an Geschäftsfreunde", _A, "geschenke", SPECIAL_GESCHENK, "V19"
    ),
    DefaultCategory("sonstiges", "Sonstige Betriebsausgaben", _A, "uebrige", default_tax_key="V19"),
)
