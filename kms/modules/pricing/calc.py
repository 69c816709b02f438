"""Preiskalkulation as pure functions: overheads, required revenue, billable hours, hourly rate
and the figures of each offering (Angebot). Decimal only, no database, no Streamlit.

Every result carries its formula in plain German words, so the pages can show how a figure
came about. Money results are rounded to cents (half up) only when they are reported; the
computation itself keeps full precision.

Cost amounts are entered as paid (Betrag laut Beleg) together with the VAT rate they contain.
A Regelbesteuerer gets that VAT back as Vorsteuer and calculates with net costs, then adds VAT
on the price; a Kleinunternehmer (§ 19 UStG) cannot deduct it, calculates with the gross costs
and puts no VAT on the price.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kms.errors import ValidationError
from kms.formatting import format_money, format_number

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
FACTORS = {12: "monatlich", 4: "vierteljährlich", 1: "jährlich"}
REGULAR = "regel"
SMALL = "klein"
VAT_MODES = {REGULAR: "Regelbesteuerung", SMALL: "Kleinunternehmer (§ 19 UStG)"}


def _eur(value: Decimal) -> str:
    return format_money(value)


def _n(value: Decimal | int) -> str:
    return format_number(Decimal(value), 2)


def money(value: Decimal) -> Decimal:
    """Rounded to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Figure:
    """A computed value and how it came about, in words a non-accountant understands."""

    label: str
    value: Decimal
    formula: str


@dataclass(frozen=True)
class OverheadPost:
    """A Gemeinkosten-Posten: Betrag × Faktor a year, or a purchase spread over its
    Nutzungsdauer (Betrag ÷ Jahre)."""

    label: str
    amount: Decimal
    factor: int = 1
    useful_life_years: int | None = None
    vat_rate: Decimal = ZERO
    category: str = ""


@dataclass(frozen=True)
class Basis:
    """The Kalkulationsgrundlagen."""

    net_income: Decimal  # desired Unternehmerlohn a year
    provisions: Decimal  # health and care insurance, pension a year (what an employer pays)
    working_days: int
    vacation_days: int
    sick_days: int
    holidays: int
    hours_per_day: Decimal
    billable_percent: Decimal
    tax_reserve_percent: Decimal
    vat_mode: str = REGULAR
    vat_rate: Decimal = Decimal(19)


@dataclass(frozen=True)
class Offering:
    """An Angebot ("Workshop, 1 Tag"): costs and hours per unit, units a year, planned price."""

    name: str
    material: Decimal = ZERO
    room: Decimal = ZERO
    fees: Decimal = ZERO
    cost_vat_rate: Decimal = ZERO  # VAT contained in material, room and fees
    travel_km: Decimal = ZERO
    km_rate: Decimal = ZERO
    hours_delivery: Decimal = ZERO
    hours_preparation: Decimal = ZERO
    hours_follow_up: Decimal = ZERO
    hours_travel: Decimal = ZERO
    units_per_year: int = 0
    planned_price: Decimal | None = None  # net; a Kleinunternehmer's price has no VAT

    @property
    def hours_per_unit(self) -> Decimal:
        return (
            self.hours_delivery + self.hours_preparation + self.hours_follow_up + self.hours_travel
        )


# Above this, an input is a typo (and would not fit the database's integer cents).
LIMIT = Decimal(1_000_000_000)


def _not_negative(field: str, label: str, value: Decimal | int) -> None:
    """Refuse negative and absurdly large inputs, in German."""
    if value < 0:
        raise ValidationError(field, f"{label} darf nicht negativ sein.")
    if value >= LIMIT:
        raise ValidationError(
            field, f"{label}: Die Zahl ist zu groß (höchstens {format_number(LIMIT - 1)})."
        )


def _percent(field: str, label: str, value: Decimal) -> None:
    if value > HUNDRED:
        raise ValidationError(field, f"{label} ist höchstens 100 %.")


def _cost(amount: Decimal, vat_rate: Decimal, vat_mode: str) -> Decimal:
    """What a paid amount costs the business: net for a Regelbesteuerer, gross otherwise."""
    if vat_mode == REGULAR:
        return amount / (1 + vat_rate / HUNDRED)
    return amount


def validate_post(post: OverheadPost) -> None:
    """German messages for nonsense Gemeinkosten."""
    if not post.label.strip():
        raise ValidationError("label", "Bitte eine Bezeichnung angeben.")
    _not_negative("amount", "Der Betrag", post.amount)
    _not_negative("vat_rate", "Der Steuersatz", post.vat_rate)
    _percent("vat_rate", "Der Steuersatz", post.vat_rate)
    if post.factor not in FACTORS:
        raise ValidationError(
            "factor", "Der Faktor muss 12 (monatlich), 4 (vierteljährlich) oder 1 (jährlich) sein."
        )
    if post.useful_life_years is not None and not 1 <= post.useful_life_years <= 100:
        raise ValidationError(
            "useful_life_years", "Die Nutzungsdauer muss zwischen 1 und 100 Jahren liegen."
        )


def yearly_cost(post: OverheadPost, vat_mode: str = REGULAR) -> Figure:
    """The Jahreskosten of one post."""
    validate_post(post)
    cost = _cost(post.amount, post.vat_rate, vat_mode)
    vat_note = (
        f" (ohne {_n(post.vat_rate)} % Vorsteuer)" if vat_mode == REGULAR and post.vat_rate else ""
    )
    if post.useful_life_years:
        return Figure(
            post.label,
            money(cost / post.useful_life_years),
            f"Anschaffung {_eur(cost)}{vat_note} verteilt auf {post.useful_life_years} "
            "Jahre Nutzungsdauer",
        )
    return Figure(
        post.label,
        money(cost * post.factor),
        f"Betrag {_eur(cost)}{vat_note} × {post.factor} ({FACTORS[post.factor]})",
    )


def total_overheads(posts: Sequence[OverheadPost], vat_mode: str = REGULAR) -> Figure:
    """F: the Gemeinkosten of a year."""
    total = sum((yearly_cost(p, vat_mode).value for p in posts), ZERO)
    return Figure("Gemeinkosten im Jahr", total, "Summe der Jahreskosten aller Posten")


def validate_basis(basis: Basis) -> None:
    """German messages for nonsense Kalkulationsgrundlagen."""
    _not_negative("net_income", "Der Unternehmerlohn", basis.net_income)
    _not_negative("provisions", "Die Vorsorge", basis.provisions)
    for field, label in (
        ("working_days", "Die Arbeitstage"),
        ("vacation_days", "Der Urlaub"),
        ("sick_days", "Die Krankheitstage"),
        ("holidays", "Die Feiertage"),
        ("hours_per_day", "Die Stunden je Tag"),
        ("billable_percent", "Der abrechenbare Anteil"),
        ("tax_reserve_percent", "Die Steuerrücklage"),
        ("vat_rate", "Der Umsatzsteuersatz"),
    ):
        _not_negative(field, label, getattr(basis, field))
    for field, label in (
        ("working_days", "Arbeitstage"),
        ("vacation_days", "Urlaubstage"),
        ("sick_days", "Krankheitstage"),
        ("holidays", "Feiertage"),
    ):
        if getattr(basis, field) > 366:
            raise ValidationError(field, f"Ein Jahr hat höchstens 366 {label}.")
    if basis.hours_per_day > 24:
        raise ValidationError("hours_per_day", "Ein Tag hat höchstens 24 Stunden.")
    if basis.billable_percent > HUNDRED:
        raise ValidationError("billable_percent", "Der abrechenbare Anteil ist höchstens 100 %.")
    if basis.tax_reserve_percent >= HUNDRED:
        raise ValidationError(
            "tax_reserve_percent",
            "Die Steuerrücklage muss unter 100 % liegen – sonst bliebe vom Umsatz nichts übrig.",
        )
    if basis.vat_mode not in VAT_MODES:
        raise ValidationError("vat_mode", "Unbekannte Besteuerungsart.")
    if billable_hours(basis, check=False).value <= 0:
        raise ValidationError(
            "billable_percent",
            "Es bleiben 0 abrechenbare Stunden im Jahr: Arbeitstage abzüglich Urlaub, Krankheit "
            "und Feiertage, Stunden je Tag und abrechenbarer Anteil müssen größer als 0 sein.",
        )


def net_days(basis: Basis) -> int:
    return basis.working_days - basis.vacation_days - basis.sick_days - basis.holidays


def billable_hours(basis: Basis, *, check: bool = True) -> Figure:
    """Arbeitstage − Urlaub − Krankheit − Feiertage, × Stunden je Tag × abrechenbarer Anteil."""
    if check:
        validate_basis(basis)
    days = net_days(basis)
    hours = max(ZERO, days * basis.hours_per_day * basis.billable_percent / HUNDRED)
    return Figure(
        "Abrechenbare Stunden im Jahr",
        hours.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
        f"({basis.working_days} Arbeitstage − {basis.vacation_days} Urlaub − "
        f"{basis.sick_days} Krankheit − {basis.holidays} Feiertage) = {days} Tage "
        f"× {_n(basis.hours_per_day)} Stunden × {_n(basis.billable_percent)} % abrechenbar",
    )


def income_before_tax(basis: Basis) -> Figure:
    """What must remain after costs so that the net income is left after the tax reserve."""
    validate_basis(basis)
    share = 1 - basis.tax_reserve_percent / HUNDRED
    value = (basis.net_income + basis.provisions) / share
    return Figure(
        "Gewinn vor Steuern (nötig)",
        money(value),
        f"(Unternehmerlohn {_eur(basis.net_income)} + Vorsorge {_eur(basis.provisions)}) "
        f"÷ (1 − {_n(basis.tax_reserve_percent)} % Steuerrücklage)",
    )


def required_revenue(basis: Basis, overheads: Decimal) -> Figure:
    """Nötiger Umsatz = (Unternehmerlohn + Vorsorge) ÷ (1 − Steuerrücklage) + Gemeinkosten."""
    _not_negative("overheads", "Die Gemeinkosten", overheads)
    income = income_before_tax(basis)
    return Figure(
        "Nötiger Jahresumsatz (netto)",
        money(income.value + overheads),
        f"{income.formula} + Gemeinkosten {_eur(overheads)}",
    )


def hourly_rate(basis: Basis, overheads: Decimal) -> Figure:
    """Stundensatz = nötiger Umsatz ÷ abrechenbare Stunden (net; a Kleinunternehmer's is final)."""
    revenue = required_revenue(basis, overheads)
    hours = billable_hours(basis)
    return Figure(
        "Stundensatz (netto)",
        money(revenue.value / hours.value),
        f"Nötiger Jahresumsatz {_eur(revenue.value)} ÷ {_n(hours.value)} abrechenbare Stunden",
    )


def gross(basis: Basis, net: Decimal) -> Figure:
    """The price the customer pays: + VAT for a Regelbesteuerer, the same for a
    Kleinunternehmer."""
    if basis.vat_mode == SMALL:
        return Figure(
            "Preis brutto",
            money(net),
            "Kleinunternehmer (§ 19 UStG): keine Umsatzsteuer auf den Preis",
        )
    return Figure(
        "Preis brutto",
        money(net * (1 + basis.vat_rate / HUNDRED)),
        f"Preis netto {_eur(net)} + {_n(basis.vat_rate)} % Umsatzsteuer",
    )


def validate_offering(offering: Offering) -> None:
    """German messages for nonsense Angebote."""
    if not offering.name.strip():
        raise ValidationError("name", "Bitte einen Namen für das Angebot angeben.")
    for field, label in (
        ("material", "Das Material"),
        ("room", "Die Raummiete"),
        ("fees", "Die Gebühren"),
        ("cost_vat_rate", "Der Steuersatz"),
        ("travel_km", "Die Fahrstrecke"),
        ("km_rate", "Die Kilometerpauschale"),
        ("hours_delivery", "Die Durchführungszeit"),
        ("hours_preparation", "Die Vorbereitungszeit"),
        ("hours_follow_up", "Die Nachbereitungszeit"),
        ("hours_travel", "Die Fahrzeit"),
        ("units_per_year", "Die Anzahl im Jahr"),
    ):
        _not_negative(field, label, getattr(offering, field))
    _percent("cost_vat_rate", "Der Steuersatz", offering.cost_vat_rate)
    if offering.planned_price is not None:
        _not_negative("planned_price", "Der geplante Preis", offering.planned_price)
    if offering.hours_per_unit <= 0:
        raise ValidationError(
            "hours_delivery", "Ein Angebot braucht Zeit: bitte mindestens eine Stundenangabe."
        )


@dataclass(frozen=True)
class OfferingResult:
    """Every figure of one Angebot, each with its formula."""

    name: str
    hours_per_unit: Figure
    direct_costs: Figure  # v
    overhead_per_unit: Figure
    cost_price: Figure  # Selbstkosten
    fair_net: Figure
    fair_gross: Figure
    price: Figure  # p: the planned price, or the fair price when none is planned
    contribution: Figure  # p − v
    profit_per_unit: Figure
    profit_per_year: Figure
    effective_wage: Figure
    break_even_costs: Figure | None  # None: kein Break-even (p ≤ v)
    break_even_income: Figure | None
    verdict: str


def planned_hours(offerings: Sequence[Offering]) -> Decimal:
    """Σ (Anzahl im Jahr × Stunden je Einheit) over all offers."""
    return sum((o.units_per_year * o.hours_per_unit for o in offerings), ZERO)


def _break_even(label: str, fixed: Decimal, fixed_words: str, contribution: Decimal) -> Figure:
    units = Decimal(math.ceil(fixed / contribution)) if fixed else ZERO
    return Figure(
        label,
        units,
        f"{fixed_words} {_eur(fixed)} ÷ Deckungsbeitrag (Preis − Einzelkosten) "
        f"{_eur(contribution)} je Einheit, aufgerundet",
    )


def offering_result(
    offering: Offering,
    basis: Basis,
    overheads: Decimal,
    all_planned_hours: Decimal,
    *,
    price: Decimal | None = None,
    units: int | None = None,
) -> OfferingResult:
    """The figures of one offering. Overheads are assigned by planned hours (Σ units × hours of
    all offers; the billable hours while nothing is planned). `price` and `units` override the
    planned ones (what-if)."""
    validate_offering(offering)
    rate = hourly_rate(basis, overheads)
    hours = billable_hours(basis).value
    mode = basis.vat_mode
    units = offering.units_per_year if units is None else units
    _not_negative("units_per_year", "Die Anzahl im Jahr", units)
    h = offering.hours_per_unit
    hours_fig = Figure(
        "Stunden je Einheit",
        h,
        f"Durchführung {_n(offering.hours_delivery)} + "
        f"Vorbereitung {_n(offering.hours_preparation)} + "
        f"Nachbereitung {_n(offering.hours_follow_up)} + Fahrt {_n(offering.hours_travel)} Stunden",
    )
    travel = offering.travel_km * offering.km_rate
    other = _cost(offering.material + offering.room + offering.fees, offering.cost_vat_rate, mode)
    v = travel + other
    cost_words = "netto" if mode == REGULAR else "brutto, da keine Vorsteuer"
    direct = Figure(
        "Einzelkosten je Einheit",
        money(v),
        f"Material, Raum und Gebühren ({cost_words}) {_eur(other)} + Fahrt "
        f"{_n(offering.travel_km)} km × {_eur(offering.km_rate)} = {_eur(travel)}",
    )
    basis_hours = all_planned_hours if all_planned_hours > 0 else hours
    basis_words = (
        "geplante Stunden aller Angebote"
        if all_planned_hours > 0
        else "abrechenbare Stunden (noch nichts geplant)"
    )
    overhead_unit = overheads * h / basis_hours
    overhead_fig = Figure(
        "Gemeinkostenanteil je Einheit",
        money(overhead_unit),
        f"Gemeinkosten {_eur(overheads)} ÷ {_n(basis_hours)} {basis_words} × {_n(h)} Stunden",
    )
    cost_price = Figure(
        "Selbstkosten je Einheit",
        money(v + overhead_unit),
        "Einzelkosten + Gemeinkostenanteil je Einheit",
    )
    fair = v + rate.value * h
    fair_net = Figure(
        "Fairer Preis netto",
        money(fair),
        f"Einzelkosten {_eur(v)} + Stundensatz {_eur(rate.value)} × {_n(h)} Stunden",
    )
    fair_gross = gross(basis, fair)
    planned = offering.planned_price if price is None else price
    if planned is not None:
        _not_negative("planned_price", "Der geplante Preis", planned)
    p = fair if planned is None else planned
    price_fig = Figure(
        "Preis je Einheit (netto)",
        money(p),
        "fairer Preis (kein Preis geplant)" if planned is None else "geplanter Preis",
    )
    contribution = p - v
    contribution_fig = Figure(
        "Deckungsbeitrag je Einheit", money(contribution), "Preis − Einzelkosten"
    )
    profit = contribution - overhead_unit
    profit_unit = Figure(
        "Gewinn je Einheit",
        money(profit),
        "Preis − Einzelkosten − Gemeinkostenanteil (davon leben Sie und zahlen Steuern)",
    )
    profit_year = Figure(
        "Gewinn im Jahr", money(profit * units), f"Gewinn je Einheit × {units} Einheiten im Jahr"
    )
    wage = Figure(
        "Effektiver Stundenlohn",
        money(profit / h),
        "(Preis − Einzelkosten − Gemeinkostenanteil) ÷ Stunden je Einheit",
    )
    if contribution > 0:
        be_costs: Figure | None = _break_even(
            "Break-even: Kosten gedeckt", overheads, "Gemeinkosten im Jahr", contribution
        )
        be_income: Figure | None = _break_even(
            "Break-even: mit Unternehmerlohn",
            overheads + income_before_tax(basis).value,
            "Gemeinkosten + nötiger Gewinn vor Steuern",
            contribution,
        )
    else:
        be_costs = be_income = None
    verdict = _verdict(p, v, fair, profit)
    return OfferingResult(
        offering.name,
        hours_fig,
        direct,
        overhead_fig,
        cost_price,
        fair_net,
        fair_gross,
        price_fig,
        contribution_fig,
        profit_unit,
        profit_year,
        wage,
        be_costs,
        be_income,
        verdict,
    )


def _verdict(p: Decimal, v: Decimal, fair: Decimal, profit: Decimal) -> str:
    if p <= v:
        return (
            "Lohnt sich nicht: kein Break-even – der Preis deckt nicht einmal die Einzelkosten, "
            "jede Einheit vergrößert den Verlust."
        )
    if money(p) >= money(fair):
        return (
            "Lohnt sich: Der Preis erreicht den fairen Preis und deckt Kosten und Unternehmerlohn."
        )
    if profit > 0:
        return (
            "Knapp: Der Preis deckt die Kosten, aber nicht den gewünschten Unternehmerlohn – "
            "Preis erhöhen oder Aufwand senken."
        )
    return "Lohnt sich nicht: Der Preis deckt die Gemeinkosten nicht."


def compare(results: Sequence[OfferingResult]) -> list[OfferingResult]:
    """Offers side by side, best effective hourly wage first."""
    return sorted(results, key=lambda r: r.effective_wage.value, reverse=True)


@dataclass(frozen=True)
class Capacity:
    needed: Figure
    available: Figure
    warning: str | None


def capacity(offerings: Sequence[Offering], basis: Basis) -> Capacity:
    """Σ (Anzahl × Stunden je Einheit) of all offers vs. the billable hours of the year."""
    needed = planned_hours(offerings)
    available = billable_hours(basis)
    warning = None
    if needed > available.value:
        warning = (
            f"Der Plan braucht {_n(needed)} Stunden, das Jahr hat aber nur {_n(available.value)} "
            "abrechenbare Stunden. Weniger Einheiten planen oder Preise erhöhen."
        )
    return Capacity(
        Figure(
            "Geplante Stunden",
            needed,
            "Summe über alle Angebote: Anzahl im Jahr × Stunden je Einheit",
        ),
        available,
        warning,
    )


def break_even_curve(
    result: OfferingResult, overheads: Decimal, max_units: int
) -> list[tuple[int, Decimal, Decimal]]:
    """(units, revenue, total costs) for a break-even chart: costs = F + v × units."""
    p = result.price.value
    v = result.direct_costs.value
    step = max(1, max_units // 50)
    return [(q, p * q, overheads + v * q) for q in range(0, max_units + 1, step)]
