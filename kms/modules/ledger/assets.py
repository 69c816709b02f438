"""Anlagenverzeichnis: durable assets and their AfA (§ 7 EStG, § 6 Abs. 2 EStG).

- linear: cost / Nutzungsdauer per year, in the year of acquisition pro rata temporis by
  month (the month of acquisition counts in full), the rest in the last year;
- GWG: Anschaffungskosten up to 800 € net written off in full in the year of acquisition;
- degressiv (§ 7 Abs. 2 EStG, Wachstumsbooster): movable assets acquired 1 July 2025 –
  31 December 2027, up to three times the linear rate and at most 30 % of the book value,
  pro rata by month in the first year; each year the higher of degressive and linear on
  the remaining value over the remaining life (the usual switch to linear).
A disposal ends the AfA (pro rata up to the month of disposal) and the remaining book value
goes to Kz 135 (Restbuchwert der ausgeschiedenen Anlagegüter).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit, periods
from kms.errors import ConflictError, NotFoundError, ValidationError
from kms.modules.ledger.models import (
    AFA_DEGRESSIVE,
    AFA_GWG,
    AFA_LINEAR,
    AFA_METHODS,
    ZERO,
    Asset,
    Booking,
)
from kms.modules.ledger.service import parse_amount
from kms.permissions import Permission, require_permission

CENT = Decimal("0.01")
GWG_LIMIT = Decimal("800.00")
DEGRESSIVE_FROM, DEGRESSIVE_TO = date(2025, 7, 1), date(2027, 12, 31)
DEGRESSIVE_MAX = Decimal("0.30")
FIELDS = {
    "afa_beweglich": "bewegliches Wirtschaftsgut",
    "afa_immateriell": "immaterielles Wirtschaftsgut",
}
# Nutzungsdauer suggestions (AfA-Tabelle für die allgemein verwendbaren Anlagegüter, BMF;
# computer hardware and software: 1 year, BMF-Schreiben of 22.02.2022).
USEFUL_LIFE = {
    "Computer, Notebook, Peripherie": 1,
    "Software": 1,
    "Mobiltelefon": 5,
    "Büromöbel": 13,
    "Pkw": 6,
    "Kopierer, Drucker (ohne Computerbezug)": 7,
    "Kamera, Foto- und Videotechnik": 7,
}


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def schedule(asset: Asset, until_year: int | None = None) -> dict[int, Decimal]:
    """AfA per year from the year of acquisition (until the asset is written off or gone)."""
    cost = asset.cost
    first = asset.acquired_on.year
    if asset.method == AFA_GWG:
        return {first: cost}
    life = max(1, asset.useful_life_years)
    months_first = 13 - asset.acquired_on.month
    result: dict[int, Decimal] = {}
    remaining = cost
    year = first
    linear_year = _round(cost / life)
    months_left = life * 12
    while remaining > 0 and (until_year is None or year <= until_year):
        months = months_first if year == first else 12
        months = min(months, months_left)
        if asset.method == AFA_DEGRESSIVE:
            rate = min(DEGRESSIVE_MAX, Decimal(3) / life)
            degressive = _round(remaining * rate * months / 12)
            linear = _round(remaining * months / months_left) if months_left else remaining
            amount = max(degressive, linear)
        else:
            amount = _round(linear_year * months / 12)
        if months_left - months <= 0:
            amount = remaining  # the last year takes the rest
        amount = min(amount, remaining)
        if asset.disposed_on is not None and year >= asset.disposed_on.year:
            if year == asset.disposed_on.year:
                used = asset.disposed_on.month - (
                    asset.acquired_on.month - 1 if year == first else 0
                )
                amount = min(remaining, _round(amount * max(0, used) / max(1, months)))
                result[year] = amount
            break
        result[year] = amount
        remaining -= amount
        months_left -= months
        year += 1
    return result


def book_value(asset: Asset, end_of_year: int) -> Decimal:
    """Restbuchwert at 31 December of a year."""
    spent = sum((v for y, v in schedule(asset).items() if y <= end_of_year), ZERO)
    return asset.cost - spent


def afa_by_field(session: Session, year: int) -> dict[str, Decimal]:
    """EÜR fields → AfA of the year (and Restbuchwert of assets disposed of in the year)."""
    result: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for asset in session.scalars(select(Asset).where(Asset.acquired_on <= date(year, 12, 31))):
        amount = schedule(asset, year).get(year, ZERO)
        if amount:
            result["gwg" if asset.method == AFA_GWG else asset.euer_field] += amount
        if asset.disposed_on is not None and asset.disposed_on.year == year:
            rest = book_value(asset, year)
            if rest:
                result["restbuchwert"] += rest
    return dict(result)


def list_assets(session: Session) -> list[Asset]:
    return list(session.scalars(select(Asset).order_by(Asset.acquired_on, Asset.id)))


def create_asset(
    session: Session,
    *,
    name: str,
    acquired_on: date,
    cost: Decimal | str,
    useful_life_years: int,
    method: str = AFA_LINEAR,
    euer_field: str = "afa_beweglich",
    booking_id: int | None = None,
    note: str = "",
    actor: str = "",
) -> Asset:
    """Add an asset to the Anlagenverzeichnis (its year of acquisition must be open)."""
    require_permission(Permission.LEDGER_WRITE, session)
    name = (name or "").strip()
    if not name:
        raise ValidationError("name", "Bitte das Wirtschaftsgut benennen.")
    if not isinstance(acquired_on, date):
        raise ValidationError("acquired_on", "Bitte das Anschaffungsdatum angeben.")
    periods.check_open(session, acquired_on, "Anlagegüter")
    amount = parse_amount(cost, field="cost")
    if amount <= 0:
        raise ValidationError("cost", "Die Anschaffungskosten müssen größer als 0 sein.")
    if method not in AFA_METHODS:
        raise ValidationError("method", "Bitte eine AfA-Methode wählen.")
    if euer_field not in FIELDS:
        raise ValidationError(
            "euer_field", "Bitte bewegliches oder immaterielles Wirtschaftsgut wählen."
        )
    if not 1 <= int(useful_life_years) <= 50:
        raise ValidationError(
            "useful_life_years", "Die Nutzungsdauer muss zwischen 1 und 50 Jahren liegen."
        )
    if method == AFA_GWG and amount > GWG_LIMIT:
        raise ValidationError(
            "method", "Als GWG gelten nur Anschaffungskosten bis 800,00 € netto (§ 6 Abs. 2 EStG)."
        )
    if method == AFA_DEGRESSIVE:
        if not DEGRESSIVE_FROM <= acquired_on <= DEGRESSIVE_TO:
            raise ValidationError(
                "method",
                "Degressive AfA ist nur für Anschaffungen vom 01.07.2025 bis 31.12.2027 möglich.",
            )
        if euer_field != "afa_beweglich":
            raise ValidationError(
                "method", "Degressive AfA gilt nur für bewegliche Wirtschaftsgüter."
            )
    if booking_id is not None and session.get(Booking, booking_id) is None:
        raise ValidationError("booking_id", "Diese Buchung gibt es nicht mehr.")
    asset = Asset(
        name=name[:200],
        acquired_on=acquired_on,
        cost=amount,
        useful_life_years=int(useful_life_years),
        method=method,
        euer_field=euer_field,
        booking_id=booking_id,
        note=(note or "").strip(),
    )
    session.add(asset)
    session.flush()
    audit.record(
        session,
        entity="ledger_asset",
        entity_id=asset.id,
        action="created",
        actor=actor,
        name=asset.name,
        acquired_on=acquired_on,
        cost=amount,
        useful_life_years=asset.useful_life_years,
        method=method,
    )
    return asset


def dispose_asset(
    session: Session,
    asset_id: int,
    *,
    disposed_on: date,
    version: int | None = None,
    actor: str = "",
) -> Asset:
    """Record the disposal (sale, withdrawal, scrapping); the proceeds are an Einnahme."""
    require_permission(Permission.LEDGER_WRITE, session)
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError("Dieses Anlagegut gibt es nicht mehr.")
    if version is not None and asset.version != version:
        raise ConflictError("Das Anlagegut wurde inzwischen geändert. Bitte neu laden.")
    if asset.disposed_on is not None:
        raise ValidationError("disposed_on", "Das Anlagegut ist bereits ausgeschieden.")
    if disposed_on < asset.acquired_on:
        raise ValidationError("disposed_on", "Das Abgangsdatum liegt vor der Anschaffung.")
    periods.check_open(session, disposed_on, "Anlagenabgänge")
    asset.disposed_on = disposed_on
    session.flush()
    audit.record(
        session,
        entity="ledger_asset",
        entity_id=asset.id,
        action="disposed",
        actor=actor,
        disposed_on=disposed_on,
    )
    return asset
