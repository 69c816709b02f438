"""Invoice amounts, computed from the lines and never typed in (EN 16931 calculation model).

Rounding follows EN 16931 and German practice: each line net amount and each document level
allowance or charge is rounded half-up to cents, VAT is computed once per (category, rate)
group on the sum of its line nets minus allowances plus charges (BR-CO-17, BR-S-08), and
all document totals are sums of already rounded amounts, so they add up to the cent
(BR-CO-10, -11, -12, -13, -14, -15, -16).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from kms.einvoice.model import DocumentAllowance, InvoiceDocument, Line, Skonto, TaxCategory
from kms.types import CENT, cents

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Exemption:
    """VAT exemption reason text (BT-120) and code (BT-121, VATEX list)."""

    text: str
    code: str | None = None


# Default German exemption reasons; BR-E-10, BR-AE-10, BR-IC-10, BR-G-10 and BR-O-10
# require a text or code for these categories, BR-S-10 and BR-Z-10 forbid one for S/Z.
# § 19 UStG has no VATEX code, so E carries the text only.
DEFAULT_EXEMPTIONS: dict[TaxCategory, Exemption] = {
    TaxCategory.EXEMPT: Exemption("Steuerbefreiung für Kleinunternehmer gemäß § 19 UStG"),
    TaxCategory.REVERSE_CHARGE: Exemption(
        "Steuerschuldnerschaft des Leistungsempfängers", "VATEX-EU-AE"
    ),
    TaxCategory.INTRA_COMMUNITY: Exemption("Innergemeinschaftliche Lieferung", "VATEX-EU-IC"),
    TaxCategory.EXPORT: Exemption("Ausfuhrlieferung", "VATEX-EU-G"),
    TaxCategory.NOT_SUBJECT: Exemption("Nicht steuerbar", "VATEX-EU-O"),
}


@dataclass(frozen=True)
class LineAmounts:
    """Computed amounts of one line: gross (BT-137 basis), allowance (BT-136), net (BT-131)."""

    line: Line
    gross: Decimal
    allowance: Decimal
    net: Decimal


@dataclass(frozen=True)
class AllowanceAmounts:
    """A computed document allowance or charge: base (BT-93/BT-100) and amount (BT-92/BT-99)."""

    allowance: DocumentAllowance
    base: Decimal | None
    amount: Decimal

    @property
    def signed(self) -> Decimal:
        """The amount as it changes the net total: charges add, allowances subtract."""
        return self.amount if self.allowance.charge else -self.amount


@dataclass(frozen=True)
class TaxGroup:
    """One VAT breakdown (BG-23): taxable amount BT-116 and tax BT-117 per category and rate."""

    category: TaxCategory
    rate: Decimal
    basis: Decimal
    tax: Decimal
    exemption: Exemption | None

    @property
    def gross(self) -> Decimal:
        """Taxable amount plus tax of this group."""
        return self.basis + self.tax


@dataclass(frozen=True)
class Totals:
    """All computed amounts of an invoice, BT-106 to BT-115 plus lines and VAT groups."""

    lines: tuple[LineAmounts, ...]
    groups: tuple[TaxGroup, ...]
    line_total: Decimal  # BT-106
    tax_basis: Decimal  # BT-109 = BT-106 - BT-107 + BT-108
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    due: Decimal  # BT-115
    allowances: tuple[AllowanceAmounts, ...] = ()  # BG-20 and BG-21, in document order
    allowance_total: Decimal = ZERO  # BT-107
    charge_total: Decimal = ZERO  # BT-108


@dataclass(frozen=True)
class SkontoShare:
    """Cash discount falling on one VAT group, split into net and VAT reduction."""

    category: TaxCategory
    rate: Decimal
    basis: Decimal  # gross amount of the group the discount is taken from
    discount: Decimal
    net_reduction: Decimal
    tax_reduction: Decimal


def percent_of(value: Decimal, percent: Decimal) -> Decimal:
    """`percent` % of `value`, rounded half-up to cents."""
    return cents(value * percent / HUNDRED)


def line_amounts(line: Line) -> LineAmounts:
    """Net amount of a line: quantity × unit price − allowance, rounded half-up to cents."""
    gross = cents(line.quantity * line.unit_price)
    allowance = _allowance(line, gross)
    if allowance and allowance > gross:
        raise ValueError(f"line {line.id}: allowance {allowance} exceeds amount {gross}")
    return LineAmounts(line=line, gross=gross, allowance=allowance, net=gross - allowance)


def _allowance(line: Line, gross: Decimal) -> Decimal:
    """Line allowance amount; a percent allowance is taken of the rounded line amount."""
    if line.allowance is None:
        return ZERO
    if line.allowance.percent is not None:
        return percent_of(gross, line.allowance.percent)
    return cents(line.allowance.amount or ZERO)


def _group_key(category: TaxCategory, rate: Decimal) -> tuple[int, Decimal]:
    """Stable order of VAT groups: category order of TaxCategory, then higher rate first."""
    return (list(TaxCategory).index(category), -rate)


def _key(category: TaxCategory, rate: Decimal) -> tuple[TaxCategory, Decimal]:
    return (category, rate.normalize())


def line_nets_by_group(
    amounts: Iterable[LineAmounts],
) -> dict[tuple[TaxCategory, Decimal], Decimal]:
    """Sum of line net amounts per (category, rate)."""
    sums: dict[tuple[TaxCategory, Decimal], Decimal] = {}
    for a in amounts:
        key = _key(a.line.tax_category, a.line.tax_rate)
        sums[key] = sums.get(key, ZERO) + a.net
    return sums


def allowance_amounts(
    allowances: Iterable[DocumentAllowance], amounts: Iterable[LineAmounts]
) -> tuple[AllowanceAmounts, ...]:
    """Amounts of document allowances and charges; a percent is taken of its base, which
    defaults to the net total of the lines with the same VAT category and rate."""
    nets = line_nets_by_group(amounts)
    out = []
    for a in allowances:
        if a.percent is None:
            out.append(AllowanceAmounts(a, a.base, cents(a.amount or ZERO)))
            continue
        base = a.base if a.base is not None else nets.get(_key(a.tax_category, a.tax_rate))
        if not base:
            raise ValueError(f"no base for {a.reason}: no lines with {a.tax_category} {a.tax_rate}")
        out.append(AllowanceAmounts(a, base, percent_of(base, a.percent)))
    return tuple(out)


def tax_groups(
    amounts: Iterable[LineAmounts],
    reasons: dict[TaxCategory, str] | None = None,
    allowances: Iterable[AllowanceAmounts] = (),
) -> tuple[TaxGroup, ...]:
    """VAT breakdown: line nets minus allowances plus charges per (category, rate), then
    VAT once per group (BR-CO-17); a group's taxable amount must not become negative."""
    sums = line_nets_by_group(amounts)
    touched = set()
    for a in allowances:
        key = _key(a.allowance.tax_category, a.allowance.tax_rate)
        sums[key] = sums.get(key, ZERO) + a.signed
        touched.add(key)
    # Only allowances are checked here: a draft whose lines alone sum below zero is kept
    # (issuing refuses it with its own German reason).
    for (category, rate), basis in sums.items():
        if basis < 0 and (category, rate) in touched:
            raise ValueError(f"allowances exceed the taxable amount of {category} {rate}")
    ordered = sorted(sums.items(), key=lambda item: _group_key(*item[0]))
    return tuple(_group(cat, rate, basis, reasons or {}) for (cat, rate), basis in ordered)


def _group(
    category: TaxCategory, rate: Decimal, basis: Decimal, reasons: dict[TaxCategory, str]
) -> TaxGroup:
    """One VAT group with its tax and exemption reason."""
    exemption = DEFAULT_EXEMPTIONS.get(category)
    if exemption is not None and category in reasons:
        exemption = Exemption(reasons[category], exemption.code)
    rate = rate.quantize(CENT)
    return TaxGroup(category, rate, basis, percent_of(basis, rate), exemption)


def compute(doc: InvoiceDocument) -> Totals:
    """All amounts of an invoice from its lines; the totals add up to the cent."""
    lines = tuple(line_amounts(line) for line in doc.lines)
    extras = allowance_amounts(doc.allowances, lines)
    groups = tax_groups(lines, dict(doc.exemption_reasons), extras)
    line_total = sum((a.net for a in lines), ZERO)
    allowance_total = sum((a.amount for a in extras if not a.allowance.charge), ZERO)
    charge_total = sum((a.amount for a in extras if a.allowance.charge), ZERO)
    tax_basis = line_total - allowance_total + charge_total  # [BR-CO-13]
    tax_total = sum((g.tax for g in groups), ZERO)
    grand_total = tax_basis + tax_total
    prepaid = cents(doc.prepaid)
    return Totals(
        lines=lines,
        groups=groups,
        line_total=line_total,
        tax_basis=tax_basis,
        tax_total=tax_total,
        grand_total=grand_total,
        prepaid=prepaid,
        due=grand_total - prepaid,
        allowances=extras,
        allowance_total=allowance_total,
        charge_total=charge_total,
    )


def skonto_shares(totals: Totals, skonto: Skonto) -> tuple[SkontoShare, ...]:
    """Skonto per VAT group for payment within the period, with the VAT it reduces (§ 17 UStG)."""
    return tuple(_skonto_share(g, skonto.percent) for g in totals.groups)


def _skonto_share(group: TaxGroup, percent: Decimal) -> SkontoShare:
    """Discount on one group's gross amount, the VAT part by the group's rate."""
    discount = percent_of(group.gross, percent)
    tax_reduction = cents(discount * group.rate / (HUNDRED + group.rate))
    return SkontoShare(
        category=group.category,
        rate=group.rate,
        basis=group.gross,
        discount=discount,
        net_reduction=discount - tax_reduction,
        tax_reduction=tax_reduction,
    )


def skonto_amount(totals: Totals, skonto: Skonto) -> Decimal:
    """Total cash discount over all VAT groups."""
    return sum((s.discount for s in skonto_shares(totals, skonto)), ZERO)
