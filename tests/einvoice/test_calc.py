"""Amounts are computed from lines, rounded half-up to cents, and always add up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kms.einvoice.calc import Exemption, compute, line_amounts, skonto_amount, skonto_shares
from kms.einvoice.model import (
    GERMAN_UNITS,
    DocumentAllowance,
    DocumentType,
    Line,
    LineAllowance,
    Skonto,
    TaxCategory,
    cancellation_of,
    unit_label,
)
from tests.einvoice.samples import allowances_charges, invoice

S = TaxCategory.STANDARD


def _doc(*lines: Line, prepaid: str = "0.00"):
    """Sample invoice with the given lines."""
    return invoice(lines=lines, prepaid=Decimal(prepaid))


def test_three_times_a_third_at_19_percent_gives_exact_cents() -> None:
    """3 × 33.3333 = 99.9999 → net 100.00, VAT 19.00, gross 119.00."""
    totals = compute(
        _doc(Line("1", "Beratung", Decimal("3"), "HUR", Decimal("33.3333"), S, Decimal("19")))
    )
    assert totals.lines[0].net == Decimal("100.00")
    assert (totals.tax_total, totals.grand_total, totals.due) == (
        Decimal("19.00"),
        Decimal("119.00"),
        Decimal("119.00"),
    )


def test_rounding_is_half_up_not_bankers() -> None:
    """0.005 rounds to 0.01 and 2.675 to 2.68 (half-up, as German invoices expect)."""
    assert line_amounts(
        Line("1", "x", Decimal("1"), "C62", Decimal("0.0050"), S, Decimal("19"))
    ).net == Decimal("0.01")
    assert line_amounts(
        Line("1", "x", Decimal("1"), "C62", Decimal("2.675"), S, Decimal("19"))
    ).net == Decimal("2.68")


def test_vat_is_computed_per_group_not_per_line() -> None:
    """Three lines of 0.07 at 19 %: per line VAT would be 3 × 0.01, per group 0.21 → 0.04."""
    lines = [
        Line(str(i), "x", Decimal("1"), "C62", Decimal("0.07"), S, Decimal("19"))
        for i in range(1, 4)
    ]
    assert compute(_doc(*lines)).tax_total == Decimal("0.04")


def test_mixed_rates_and_allowance_in_sample() -> None:
    """The 19 %/7 % sample: groups ordered 19 before 7, percent allowance on the line amount."""
    totals = compute(invoice())
    assert [(g.rate, g.basis, g.tax) for g in totals.groups] == [
        (Decimal("19.00"), Decimal("117.99"), Decimal("22.42")),
        (Decimal("7.00"), Decimal("49.80"), Decimal("3.49")),
    ]
    hosting = totals.lines[1]
    assert (hosting.gross, hosting.allowance, hosting.net) == (
        Decimal("19.99"),
        Decimal("2.00"),
        Decimal("17.99"),
    )
    assert totals.grand_total == Decimal("193.70")


def test_fixed_allowance_and_prepaid() -> None:
    """A fixed line allowance reduces the net; prepaid reduces only the amount due."""
    line = Line(
        "1",
        "x",
        Decimal("2"),
        "DAY",
        Decimal("400"),
        S,
        Decimal("19"),
        LineAllowance("Rabatt", amount=Decimal("50")),
    )
    totals = compute(_doc(line, prepaid="100.00"))
    assert totals.line_total == Decimal("750.00")
    assert (totals.grand_total, totals.prepaid, totals.due) == (
        Decimal("892.50"),
        Decimal("100.00"),
        Decimal("792.50"),
    )


def test_allowance_larger_than_line_is_rejected() -> None:
    """A line can not become negative through its allowance."""
    line = Line(
        "1",
        "x",
        Decimal("1"),
        "C62",
        Decimal("10"),
        S,
        Decimal("19"),
        LineAllowance("zu viel", amount=Decimal("11")),
    )
    with pytest.raises(ValueError, match="exceeds"):
        line_amounts(line)


def test_skonto_per_vat_group() -> None:
    """2 % Skonto on 140.41 (19 %) and 53.29 (7 %), with the VAT part per group."""
    totals = compute(invoice())
    shares = skonto_shares(totals, Skonto(Decimal("2.00"), 14))
    assert [(s.basis, s.discount, s.net_reduction, s.tax_reduction) for s in shares] == [
        (Decimal("140.41"), Decimal("2.81"), Decimal("2.36"), Decimal("0.45")),
        (Decimal("53.29"), Decimal("1.07"), Decimal("1.00"), Decimal("0.07")),
    ]
    assert skonto_amount(totals, Skonto(Decimal("2.00"), 14)) == Decimal("3.88")


def test_exemption_reasons_default_and_override() -> None:
    """E gets the § 19 UStG text by default; an override keeps the VATEX code of AE."""
    exempt = Line("1", "x", Decimal("1"), "LS", Decimal("10"), TaxCategory.EXEMPT)
    e = compute(_doc(exempt)).groups[0]
    assert e.exemption == Exemption("Steuerbefreiung für Kleinunternehmer gemäß § 19 UStG")
    reason = "Bauleistung, § 13b Abs. 2 Nr. 4 UStG"
    doc = invoice(
        lines=(Line("1", "x", Decimal("1"), "LS", Decimal("10"), TaxCategory.REVERSE_CHARGE),),
        exemption_reasons={TaxCategory.REVERSE_CHARGE: reason},
    )
    assert compute(doc).groups[0].exemption == Exemption(reason, "VATEX-EU-AE")
    assert compute(invoice()).groups[0].exemption is None  # [BR-S-10] none for S


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": 1.5}, "Decimal"),
        ({"quantity": Decimal("1.23456")}, "decimal places"),
        ({"unit_price": Decimal("0.00001")}, "decimal places"),
        ({"unit_price": Decimal("-1")}, "negative"),
        ({"tax_rate": Decimal("0")}, "invalid"),
    ],
)
def test_line_rejects_bad_input(kwargs: dict, message: str) -> None:
    """Floats, too many decimals, negative prices and S without rate are refused."""
    base: dict[str, Any] = {
        "id": "1",
        "description": "x",
        "quantity": Decimal("1"),
        "unit_code": "C62",
    }
    base |= {"unit_price": Decimal("1"), "tax_category": S, "tax_rate": Decimal("19")} | kwargs
    with pytest.raises((TypeError, ValueError), match=message):
        Line(**base)


def test_exempt_line_with_rate_is_rejected() -> None:
    """Categories other than S have VAT rate 0 (BR-E-05 and friends)."""
    with pytest.raises(ValueError, match="invalid"):
        Line("1", "x", Decimal("1"), "C62", Decimal("1"), TaxCategory.EXEMPT, Decimal("19"))


def test_cancellation_is_credit_note_referencing_original() -> None:
    """A Storno is type 381 with the same lines and the original in BG-3."""
    original = invoice()
    storno = cancellation_of(original, number="RE-2025-0099", issue_date=date(2025, 2, 1))
    assert storno.type_code is DocumentType.CREDIT_NOTE
    assert storno.preceding_invoices[0].number == original.number
    assert storno.preceding_invoices[0].issue_date == original.issue_date
    assert compute(storno).grand_total == compute(original).grand_total  # positive amounts


def test_unit_list_has_unique_codes_and_labels() -> None:
    """The German unit list maps each label to one Rec 20 code."""
    codes = [u.code for u in GERMAN_UNITS]
    assert len(set(codes)) == len(codes)
    assert unit_label("HUR") == "Stunde"
    assert unit_label("XYZ") == "XYZ"


# --- property-based -----------------------------------------------------------------

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=4)
rates = st.sampled_from([(S, Decimal("19")), (S, Decimal("7")), (TaxCategory.ZERO, Decimal("0"))])
percents = st.one_of(
    st.none(), st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)
)


@st.composite
def lines(draw: st.DrawFn) -> tuple[Line, ...]:
    """1-8 lines with awkward quantities, prices, rates and optional percent allowances."""
    result = []
    for i in range(draw(st.integers(1, 8))):
        cat, rate = draw(rates)
        pct = draw(percents)
        allowance = LineAllowance("Rabatt", percent=pct) if pct is not None else None
        result.append(
            Line(str(i + 1), "x", draw(quantities), "C62", draw(prices), cat, rate, allowance)
        )
    return tuple(result)


def _half_up_cents(value: Decimal) -> int:
    """Independent oracle: round a Decimal to integer cents, half-up, via integer math."""
    scaled = value * 100
    whole = int(scaled)  # truncates toward zero; values here are non-negative
    return whole + (1 if scaled - whole >= Decimal("0.5") else 0)


@settings(max_examples=300, deadline=None)
@given(lines())
def test_totals_add_up_to_the_cent(doc_lines: tuple[Line, ...]) -> None:
    """All amounts have exactly two places and every EN 16931 sum rule holds exactly."""
    totals = compute(_doc(*doc_lines))
    amounts = [
        totals.line_total,
        totals.tax_basis,
        totals.tax_total,
        totals.grand_total,
        totals.due,
    ]
    amounts += [a.net for a in totals.lines] + [g.basis for g in totals.groups]
    amounts += [g.tax for g in totals.groups]
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts)
    assert totals.line_total == sum(a.net for a in totals.lines)  # BR-CO-10
    assert totals.tax_basis == sum(g.basis for g in totals.groups)  # BR-S-08 summed
    assert totals.tax_total == sum(g.tax for g in totals.groups)  # BR-CO-14
    assert totals.grand_total == totals.tax_basis + totals.tax_total  # BR-CO-15
    assert totals.due == totals.grand_total - totals.prepaid  # BR-CO-16
    for g in totals.groups:  # BR-CO-17
        assert g.tax * 100 == _half_up_cents(g.basis * g.rate / 100)


@settings(max_examples=300, deadline=None)
@given(quantities, prices)
def test_line_net_matches_integer_oracle(quantity: Decimal, price: Decimal) -> None:
    """Line net equals quantity × price rounded half-up, checked against integer math."""
    net = line_amounts(Line("1", "x", quantity, "C62", price, S, Decimal("19"))).net
    assert net * 100 == _half_up_cents(quantity * price)


def test_negative_quantity_line_reduces_the_total() -> None:
    """A correction line with negative quantity is allowed and rounds symmetrically."""
    lines = (
        Line("1", "Leistung", Decimal("1"), "C62", Decimal("100"), S, Decimal("19")),
        Line("2", "Abzug Anzahlung", Decimal("-1"), "C62", Decimal("0.005"), S, Decimal("19")),
    )
    totals = compute(_doc(*lines))
    assert totals.lines[1].net == Decimal("-0.01")
    assert totals.line_total == Decimal("99.99")


def test_document_allowances_and_charges_per_vat_group() -> None:
    """BG-20/BG-21 change the taxable amount of their own VAT group; BT-107/108/109 add up."""
    totals = compute(allowances_charges())
    assert totals.line_total == Decimal("167.79")  # 100.00 + 17.99 + 49.80
    assert [a.amount for a in totals.allowances] == [
        Decimal("5.90"),  # 5 % of the 19 % lines 117.99, half-up
        Decimal("2.00"),
        Decimal("4.90"),
        Decimal("5.00"),
    ]
    assert (totals.allowance_total, totals.charge_total) == (Decimal("7.90"), Decimal("9.90"))
    assert totals.tax_basis == Decimal("169.79")  # [BR-CO-13] 167.79 - 7.90 + 9.90
    groups = {g.rate: (g.basis, g.tax) for g in totals.groups}
    assert groups == {
        Decimal("19.00"): (Decimal("116.99"), Decimal("22.23")),
        Decimal("7.00"): (Decimal("52.80"), Decimal("3.70")),
    }
    assert totals.grand_total == Decimal("195.72")


def test_charge_may_open_a_vat_group_of_its_own() -> None:
    """Shipping at 19 % on an invoice with only 7 % lines gives a second VAT group."""
    line = Line("1", "Buch", Decimal("1"), "C62", Decimal("20.00"), S, Decimal("7"))
    charge = DocumentAllowance(True, "Versandkosten", S, Decimal("19"), amount=Decimal("4.90"))
    totals = compute(invoice(lines=(line,), allowances=(charge,)))
    assert [(g.rate, g.basis, g.tax) for g in totals.groups] == [
        (Decimal("19.00"), Decimal("4.90"), Decimal("0.93")),
        (Decimal("7.00"), Decimal("20.00"), Decimal("1.40")),
    ]
    assert totals.grand_total == Decimal("27.23")


@pytest.mark.parametrize(
    ("allowance", "message"),
    [
        (
            DocumentAllowance(False, "Rabatt", S, Decimal("19"), amount=Decimal("500.00")),
            "exceed",
        ),
        (DocumentAllowance(False, "Rabatt", S, Decimal("16"), percent=Decimal("5")), "no base"),
    ],
)
def test_document_allowance_without_room_is_rejected(
    allowance: DocumentAllowance, message: str
) -> None:
    """An allowance larger than its VAT group, or a percent without lines to take it of."""
    with pytest.raises(ValueError, match=message):
        compute(invoice(allowances=(allowance,)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"amount": Decimal("1.00"), "percent": Decimal("5")},
        {"amount": Decimal("-1.00")},
        {"amount": Decimal("1.001")},
        {"amount": Decimal("1.00"), "reason": " "},
        {"amount": Decimal("1.00"), "tax_rate": Decimal("0")},
    ],
)
def test_document_allowance_rejects_bad_input(kwargs: dict) -> None:
    """Exactly one of amount/percent, positive, cents, a reason (BR-33), a valid rate."""
    values = {"charge": False, "reason": "Rabatt", "tax_category": S, "tax_rate": Decimal("19")}
    with pytest.raises(ValueError):
        DocumentAllowance(**(values | kwargs))
