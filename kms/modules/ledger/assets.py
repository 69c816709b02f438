"""Anlagenverzeichnis: durable assets and their AfA (§ 7 EStG, § 6 Abs. 2 EStG).

- linear: cost / Nutzungsdauer per year, in the year of acquisition pro rata temporis by
  month (the month of acquisition counts in full), the rest in the last year;
- GWG: Anschaffungskosten up to 800 € net written off in full in the year of acquisition;
- degressiv (§ 7 Abs. 2 EStG): movable assets acquired within a legal window, at the
  highest rate that window allows (2020–22: 2.5 × linear, at most 25 %; 04–12/2024: 2 ×,
  20 %; 01.07.2025–31.12.2027: 3 ×, 30 %; see afa_table.py), pro rata by month in the
  first year; each year the higher of degressive and linear on the remaining value over the
  remaining life (the switch to linear, § 7 Abs. 3 EStG).
A disposal ends the AfA (pro rata up to the month of disposal) and the remaining book value
goes to Kz 135 (Restbuchwert der ausgeschiedenen Anlagegüter).

GoBD: adding, disposing of or deleting an asset changes the AfA of every year from its date
on, so it is refused once any month from that date on is festgeschrieben.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import audit, periods
from kms.errors import ConflictError, NotFoundError, ValidationError
from kms.formatting import format_date, format_money
from kms.modules.ledger import categories as cats
from kms.modules.ledger.afa_table import (
    BEWEGLICH,
    FIELDS,
    GWG_LIMIT,
    WINDOWS_TEXT,
    degressive_rate,
    degressive_window,
)
from kms.modules.ledger.models import (
    AFA_DEGRESSIVE,
    AFA_GWG,
    AFA_LINEAR,
    AFA_METHODS,
    AUSGABE,
    ZERO,
    Asset,
    Booking,
    Category,
)
from kms.modules.ledger.service import parse_amount
from kms.permissions import Permission, require_permission

CENT = Decimal("0.01")


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
    months_left = life * 12
    rate = degressive_rate(asset.acquired_on, life) or ZERO
    disposed = asset.disposed_on
    while remaining > 0 and (until_year is None or year <= until_year):
        months = min(months_first if year == first else 12, months_left)
        last = disposed is not None and year >= disposed.year
        if last and disposed is not None:  # AfA up to and including the month of disposal
            used = disposed.month - (asset.acquired_on.month - 1 if year == first else 0)
            months = max(0, min(months, used))
        # Rounded once per year: cost × months / (life × 12), e.g. 1499 × 6/36 = 249.83
        # (not the annual 499.67 × 6/12 = 249.835 → 249.84).
        if asset.method == AFA_DEGRESSIVE:
            degressive = _round(remaining * rate * months / 12)
            linear = _round(remaining * months / months_left)
            amount = max(degressive, linear)
        else:
            amount = _round(cost * months / (life * 12))
        if months_left - months <= 0:
            amount = remaining  # the last year takes the rest
        amount = min(amount, remaining)
        result[year] = amount
        if last:
            break
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


@dataclass(frozen=True)
class YearFigures:
    """One asset in one year, as the Anlage AVEÜR shows it."""

    opening: Decimal  # Buchwert 1 January (0 in the year of acquisition)
    addition: Decimal  # Zugang: the cost in the year of acquisition
    afa: Decimal
    disposal: Decimal  # Abgang: the remaining book value in the year of disposal
    closing: Decimal  # Buchwert 31 December


def year_figures(asset: Asset, year: int) -> YearFigures | None:
    """The asset's figures in `year`; None before its acquisition or after its disposal."""
    if year < asset.acquired_on.year:
        return None
    if asset.disposed_on is not None and year > asset.disposed_on.year:
        return None
    first = year == asset.acquired_on.year
    opening = ZERO if first else book_value(asset, year - 1)
    afa = schedule(asset, year).get(year, ZERO)
    rest = book_value(asset, year)
    disposed = asset.disposed_on is not None and asset.disposed_on.year == year
    return YearFigures(
        opening=opening,
        addition=asset.cost if first else ZERO,
        afa=afa,
        disposal=rest if disposed else ZERO,
        closing=ZERO if disposed else rest,
    )


def suggest_method(cost: Decimal) -> str:
    """GWG up to 800 € net (written off at once), linear above."""
    return AFA_GWG if Decimal(cost) <= GWG_LIMIT else AFA_LINEAR


def method_text(asset: Asset) -> str:
    """German short description: "linear, 3 Jahre", "degressiv 30 %, 5 Jahre", "GWG"."""
    years = f"{asset.useful_life_years} {'Jahr' if asset.useful_life_years == 1 else 'Jahre'}"
    if asset.method == AFA_GWG:
        return "GWG (Sofortabschreibung)"
    if asset.method == AFA_DEGRESSIVE:
        rate = degressive_rate(asset.acquired_on, asset.useful_life_years) or ZERO
        percent = format(_round(rate * 100).normalize(), "f").replace(".", ",")
        return f"degressiv {percent} %, {years}"
    return f"linear, {years}"


def list_assets(session: Session, *, year: int | None = None) -> list[Asset]:
    """Every asset, oldest acquisition first; with `year` only those held in that year."""
    query = select(Asset).order_by(Asset.acquired_on, Asset.id)
    if year is not None:
        query = query.where(
            Asset.acquired_on <= date(year, 12, 31),
            Asset.disposed_on.is_(None) | (Asset.disposed_on >= date(year, 1, 1)),
        )
    return list(session.scalars(query))


def _check_unlocked_from(session: Session, day: date, what: str) -> None:
    """GoBD: the AfA of every year from `day` on depends on the asset, so a change is refused
    when any month from `day` on is festgeschrieben."""
    periods.check_open(session, day, what)
    locked = session.scalar(
        select(periods.PeriodLock.month)
        .where(periods.PeriodLock.month >= day.replace(day=1))
        .order_by(periods.PeriodLock.month.desc())
        .limit(1)
    )
    if locked is not None:
        raise periods.PeriodLocked(
            f"Der Zeitraum {periods.month_label(locked)} ist festgeschrieben (GoBD) und enthält "
            f"AfA dieses Anlageguts: {what} ab {format_date(day)} können nicht mehr erfasst "
            "oder geändert werden."
        )


def _check_purchase_booking(session: Session, booking_id: int) -> None:
    """The purchase booking an asset links to must capitalise it: an Ausgabe with a line of
    an asset category. A purchase booked as an ordinary expense would count twice in the
    EÜR: once as that expense and once as AfA."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise ValidationError("booking_id", "Diese Buchung gibt es nicht mehr.")
    fields = {
        c.euer_field
        for line in booking.lines
        if line.category_id and (c := session.get(Category, line.category_id)) is not None
    }
    if booking.kind != AUSGABE or cats.ASSET not in fields:
        raise ValidationError(
            "booking_id",
            "Die Buchung enthält keine Position der Kategorie „Anlagevermögen“. Eine "
            "Anschaffung, die schon als Betriebsausgabe gebucht ist, würde mit der AfA doppelt "
            "zählen: bitte die Position auf „Anlagevermögen“ umbuchen.",
        )


def create_asset(
    session: Session,
    *,
    name: str,
    acquired_on: date,
    cost: Decimal | str,
    useful_life_years: int,
    method: str = AFA_LINEAR,
    euer_field: str = BEWEGLICH,
    booking_id: int | None = None,
    note: str = "",
    actor: str = "",
) -> Asset:
    """Add an asset to the Anlagenverzeichnis (refused once a month from its acquisition on
    is festgeschrieben)."""
    require_permission(Permission.LEDGER_WRITE, session)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("name", "Bitte das Wirtschaftsgut benennen.")
    if not isinstance(acquired_on, date):
        raise ValidationError("acquired_on", "Bitte das Anschaffungsdatum angeben.")
    amount = parse_amount(cost, field="cost")
    if amount <= 0:
        raise ValidationError("cost", "Die Anschaffungskosten müssen größer als 0 sein.")
    if method not in AFA_METHODS:
        raise ValidationError("method", "Bitte eine AfA-Methode wählen.")
    if euer_field not in FIELDS:
        raise ValidationError(
            "euer_field", "Bitte bewegliches oder immaterielles Wirtschaftsgut wählen."
        )
    try:
        life = int(useful_life_years)
    except (TypeError, ValueError):
        life = 0
    if not 1 <= life <= 50:
        raise ValidationError(
            "useful_life_years", "Die Nutzungsdauer muss zwischen 1 und 50 Jahren liegen."
        )
    if method == AFA_GWG and amount > GWG_LIMIT:
        raise ValidationError(
            "method",
            f"Als GWG gelten nur Anschaffungskosten bis {format_money(GWG_LIMIT)} netto "
            f"(§ 6 Abs. 2 EStG); {format_money(amount)} bitte linear abschreiben.",
        )
    if method == AFA_DEGRESSIVE:
        if euer_field != BEWEGLICH:
            raise ValidationError(
                "method", "Degressive AfA gilt nur für bewegliche Wirtschaftsgüter."
            )
        if degressive_window(acquired_on) is None:
            raise ValidationError(
                "method",
                f"Degressive AfA ist für eine Anschaffung am {format_date(acquired_on)} nicht "
                f"zulässig (§ 7 Abs. 2 EStG: nur bei Anschaffung {WINDOWS_TEXT}).",
            )
    _check_unlocked_from(session, acquired_on, "Anlagegüter")
    if booking_id is not None:
        _check_purchase_booking(session, booking_id)
    asset = Asset(
        name=name[:200],
        acquired_on=acquired_on,
        cost=amount,
        useful_life_years=life,
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


def _get(session: Session, asset_id: int, version: int | None) -> Asset:
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise NotFoundError("Dieses Anlagegut gibt es nicht mehr.")
    if version is not None and asset.version != version:
        raise ConflictError("Das Anlagegut wurde inzwischen geändert. Bitte neu laden.")
    return asset


def dispose_asset(
    session: Session,
    asset_id: int,
    *,
    disposed_on: date,
    version: int | None = None,
    actor: str = "",
) -> Asset:
    """Record the disposal (sale, withdrawal, scrapping); the proceeds are an Einnahme.
    Refused once a month from the disposal on is festgeschrieben."""
    require_permission(Permission.LEDGER_WRITE, session)
    asset = _get(session, asset_id, version)
    if asset.disposed_on is not None:
        raise ValidationError("disposed_on", "Das Anlagegut ist bereits ausgeschieden.")
    if not isinstance(disposed_on, date):
        raise ValidationError("disposed_on", "Bitte das Datum des Abgangs angeben.")
    if disposed_on < asset.acquired_on:
        raise ValidationError(
            "disposed_on",
            f"Das Abgangsdatum {format_date(disposed_on)} liegt vor der Anschaffung "
            f"({format_date(asset.acquired_on)}).",
        )
    _check_unlocked_from(session, disposed_on, "Anlagenabgänge")
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


def delete_asset(
    session: Session, asset_id: int, *, version: int | None = None, actor: str = ""
) -> None:
    """Remove an asset entered by mistake (refused once a month of its AfA is locked)."""
    require_permission(Permission.LEDGER_WRITE, session)
    asset = _get(session, asset_id, version)
    _check_unlocked_from(session, asset.acquired_on, "Anlagegüter")
    snapshot: dict[str, Any] = {
        "name": asset.name,
        "acquired_on": asset.acquired_on,
        "cost": asset.cost,
        "method": asset.method,
    }
    session.delete(asset)
    session.flush()
    audit.record(
        session, entity="ledger_asset", entity_id=asset_id, action="deleted", actor=actor,
        **snapshot,
    )  # fmt: skip
