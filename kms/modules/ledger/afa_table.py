"""Nutzungsdauer suggestions for the Anlagenverzeichnis, the GWG limit and the legal windows
of degressive AfA: the one place these legal figures live.

Sources (check them when the law changes):
- "AfA-Tabelle für die allgemein verwendbaren Anlagegüter (AfA-Tabelle AV)", BMF-Schreiben
  vom 15.12.2000, BStBl I 2000 S. 1532: the years below unless noted.
- Computer hardware (desktop, notebook, tablet, docking station, peripherals such as printers,
  scanners, monitors) and software: one year, BMF-Schreiben vom 26.02.2021 (BStBl I 2021
  S. 298), replaced by the BMF-Schreiben vom 22.02.2022 (BStBl I 2022 S. 187).
- Geschäfts- oder Firmenwert: 15 years by law (§ 7 Abs. 1 Satz 3 EStG).
- Degressive AfA (§ 7 Abs. 2 EStG), movable assets only:
  acquired 01.01.2020–31.12.2022: at most 2.5 × the linear rate and 25 % (Zweites Corona-
  Steuerhilfegesetz, extended by the Vierte Corona-Steuerhilfegesetz);
  acquired 01.04.2024–31.12.2024: at most 2 × and 20 % (Wachstumschancengesetz);
  acquired 01.07.2025–31.12.2027: at most 3 × and 30 % (Gesetz für ein steuerliches
  Investitionssofortprogramm). The switch to linear AfA is allowed at any time (§ 7 Abs. 3).
- GWG: net cost up to 800 € may be written off in full in the year of acquisition
  (§ 6 Abs. 2 EStG, since 2018).

The table is a suggestion: the owner may enter another Nutzungsdauer the facts justify.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

GWG_LIMIT = Decimal("800.00")  # § 6 Abs. 2 EStG: net cost

# EÜR fields of the AfA (kms/modules/ledger/categories.py): Kz 130 and Kz 131.
BEWEGLICH, IMMATERIELL = "afa_beweglich", "afa_immateriell"
FIELDS = {BEWEGLICH: "bewegliches Wirtschaftsgut", IMMATERIELL: "immaterielles Wirtschaftsgut"}


@dataclass(frozen=True)
class AfaEntry:
    key: str
    label: str  # German
    years: int
    field: str = BEWEGLICH
    source: str = "AfA-Tabelle AV (BMF 15.12.2000)"


_BMF_IT = "BMF 26.02.2021 / 22.02.2022"
AFA_TABLE: tuple[AfaEntry, ...] = (
    AfaEntry("computer", "Computer, Notebook, Tablet, Peripherie", 1, source=_BMF_IT),
    AfaEntry("software", "Software (Betriebs- und Anwendersoftware)", 1, IMMATERIELL, _BMF_IT),
    AfaEntry("mobiltelefon", "Smartphone, Mobiltelefon", 5),
    AfaEntry("telefonanlage", "Telefonanlage", 10),
    AfaEntry("kopierer", "Kopiergerät", 7),
    AfaEntry("foto_video", "Foto-, Film-, Video- und Audiogeräte", 7),
    AfaEntry("registrierkasse", "Registrierkasse", 6),
    AfaEntry("bueromoebel", "Büromöbel", 13),
    AfaEntry("tresor", "Tresor", 23),
    AfaEntry("werkstatt", "Werkstatteinrichtung", 14),
    AfaEntry("pkw", "Personenkraftwagen", 6),
    AfaEntry("motorrad", "Motorrad, Motorroller", 7),
    AfaEntry("fahrrad", "Fahrrad (auch E-Bike)", 7),
    AfaEntry("lkw", "Lastkraftwagen", 9),
    AfaEntry("firmenwert", "Geschäfts- oder Firmenwert", 15, IMMATERIELL, "§ 7 Abs. 1 Satz 3 EStG"),
)  # fmt: skip
BY_KEY = {e.key: e for e in AFA_TABLE}


def suggestion(key: str) -> AfaEntry | None:
    """The table entry for a key (None if unknown)."""
    return BY_KEY.get(key)


def choices() -> dict[str, str]:
    """key → "Büromöbel (13 Jahre)" for a selectbox."""
    return {
        e.key: f"{e.label} ({e.years} {'Jahr' if e.years == 1 else 'Jahre'})" for e in AFA_TABLE
    }


@dataclass(frozen=True)
class DegressiveWindow:
    start: date  # acquisition from (inclusive)
    end: date  # acquisition until (inclusive)
    max_factor: Decimal  # times the linear rate
    max_rate: Decimal  # fraction of the book value (0.30 = 30 %)
    law: str


DEGRESSIVE_WINDOWS: tuple[DegressiveWindow, ...] = (
    DegressiveWindow(
        date(2020, 1, 1), date(2022, 12, 31), Decimal("2.5"), Decimal("0.25"),
        "Corona-Steuerhilfegesetze",
    ),
    DegressiveWindow(
        date(2024, 4, 1), date(2024, 12, 31), Decimal("2"), Decimal("0.20"),
        "Wachstumschancengesetz",
    ),
    DegressiveWindow(
        date(2025, 7, 1), date(2027, 12, 31), Decimal("3"), Decimal("0.30"),
        "Investitionssofortprogramm",
    ),
)  # fmt: skip
WINDOWS_TEXT = "01.01.2020–31.12.2022, 01.04.2024–31.12.2024, 01.07.2025–31.12.2027"


def degressive_window(acquired: date) -> DegressiveWindow | None:
    """The § 7 Abs. 2 EStG window an acquisition date falls into (None: no degressive AfA)."""
    return next((w for w in DEGRESSIVE_WINDOWS if w.start <= acquired <= w.end), None)


def degressive_rate(acquired: date, years: int) -> Decimal | None:
    """The highest degressive rate (fraction of the book value) the law allows for an asset
    acquired on that day with that Nutzungsdauer; None when degressive AfA is not allowed."""
    window = degressive_window(acquired)
    if window is None or years < 1:
        return None
    return min(window.max_rate, window.max_factor / Decimal(years))
