"""Drafts: totals computed to the cent, tax categories follow the Besteuerung, deletion."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kms.audit import history
from kms.errors import KmsError, ValidationErrors
from kms.modules.invoices import service
from kms.modules.invoices.models import Invoice, InvoiceLine
from tests.modules.invoices.conftest import ISSUE_DAY, line


def test_totals_are_computed_per_line_and_vat_group(session, make_draft) -> None:
    """Line nets round half-up to cents; VAT is taken once per rate on the group's sum."""
    draft = make_draft(
        [
            line("Beratung", "3", "33.3333"),  # 99.9999 → 100.00
            line(
                "Hosting",
                "1",
                "19.99",
                "S19",
                "MON",
                discount_kind="percent",
                discount_value="10",
                discount_reason="Treuerabatt",
            ),  # 19.99 − 2.00 = 17.99
            line("Fachbuch", "2", "24.90", "S7", "C62"),  # 49.80
        ]
    )
    assert [ln.net for ln in draft.lines] == [Decimal("100.00"), Decimal("17.99"), Decimal("49.80")]
    # 19 % of 117.99 = 22.4181 → 22.42; 7 % of 49.80 = 3.486 → 3.49
    assert draft.net_total == Decimal("167.79")
    assert draft.tax_total == Decimal("25.91")
    assert draft.gross_total == Decimal("193.70")


def test_totals_cannot_be_typed(session, make_draft) -> None:
    """save_draft refuses totals from the caller: they always come from the lines."""
    with pytest.raises(TypeError):
        make_draft([line()], gross_total=Decimal("1.00"))


def test_amount_discount_and_missing_reason(session, make_draft, customer) -> None:
    """A fixed discount is subtracted; a discount without reason is refused (BR-42)."""
    draft = make_draft(
        [
            line(
                "Logo",
                "1",
                "450",
                discount_kind="amount",
                discount_value="50",
                discount_reason="Neukundenrabatt",
            )
        ]
    )
    assert draft.net_total == Decimal("400.00")
    with pytest.raises(ValidationErrors) as err:
        service.save_draft(
            session,
            contact_id=customer.id,
            as_of=ISSUE_DAY,
            lines=[line(discount_kind="percent", discount_value="5")],
        )
    assert "Grund des Rabatts" in err.value.message


def test_bad_positions_are_reported_together(session, customer) -> None:
    """Every broken position is named in one German error; nothing is saved."""
    with pytest.raises(ValidationErrors) as err:
        service.save_draft(
            session,
            contact_id=customer.id,
            as_of=ISSUE_DAY,
            lines=[line("", "1"), line("Zu genau", "1", "1.23456"), line("Einheit", unit="XYZ")],
        )
    text = err.value.message
    assert "Position 1: Bitte eine Beschreibung" in text
    assert "Position 2" in text and "Nachkommastellen" in text
    assert "Position 3: Bitte eine Einheit" in text
    assert session.scalar(select(Invoice.id)) is None


@pytest.mark.parametrize(
    ("day", "tax", "ok"),
    [
        (date(2024, 6, 1), "E", True),  # Kleinunternehmer: § 19
        (date(2024, 6, 1), "S19", False),  # … no VAT
        (date(2024, 6, 1), "AE", False),  # … no § 13b
        (date(2024, 6, 1), "K", False),  # … no EU supply
        (date(2026, 3, 2), "S19", True),  # Regelbesteuerung
        (date(2026, 3, 2), "AE", True),
        (date(2026, 3, 2), "E", False),  # … cannot pick § 19 per invoice
    ],
)
def test_tax_categories_follow_the_besteuerung(session, customer, day, tax, ok) -> None:
    """Which tax categories a draft may use depends on the regime on the invoice date."""
    values = {"contact_id": customer.id, "as_of": day, "lines": [line(tax=tax)]}
    if ok:
        assert service.save_draft(session, **values).lines[0].tax_category == tax[0:2].rstrip("1")
    else:
        with pytest.raises(ValidationErrors, match="Besteuerung"):
            service.save_draft(session, **values)


def test_without_any_regime_nothing_is_saved(session, customer) -> None:
    """Before the first regime date it is unknown whether VAT applies: refused."""
    with pytest.raises(KmsError, match="keine Besteuerung"):
        service.save_draft(session, contact_id=customer.id, as_of=date(2020, 1, 1), lines=[line()])


def test_draft_can_be_deleted_and_is_audited(session, make_draft) -> None:
    """A draft has no number and can be deleted; creation and deletion are logged."""
    draft = make_draft()
    assert draft.number is None
    draft_id = draft.id
    service.delete_draft(session, draft_id, actor="erika")
    session.commit()
    assert session.get(Invoice, draft_id) is None
    assert session.scalar(select(InvoiceLine.id)) is None
    assert [e.action for e in history(session, "invoice", draft_id)] == ["created", "draft_deleted"]


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


quantities = st.decimals(min_value="0.0001", max_value="9999", places=4)
prices = st.decimals(min_value="0", max_value="99999", places=4)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(quantities, prices, st.sampled_from(["S19", "S7"])), min_size=1, max_size=5
    )
)
def test_rounding_with_awkward_quantities_and_prices(session, customer, rows) -> None:
    """Exact cents for any quantities and 4-decimal prices, computed independently here."""
    lines = [line(f"P{i}", str(q), str(p), tax) for i, (q, p, tax) in enumerate(rows)]
    draft = service.save_draft(session, contact_id=customer.id, as_of=ISSUE_DAY, lines=lines)
    nets = [_cents(q * p) for q, p, _ in rows]
    by_rate: dict[str, Decimal] = {}
    for (_q, _p, tax), net in zip(rows, nets, strict=True):
        by_rate[tax] = by_rate.get(tax, Decimal("0")) + net
    vat = sum((_cents(b * (19 if t == "S19" else 7) / 100) for t, b in by_rate.items()), Decimal(0))
    assert [ln.net for ln in draft.lines] == nets
    assert draft.net_total == sum(nets, Decimal("0.00"))
    assert draft.tax_total == vat
    assert draft.gross_total == draft.net_total + vat
    session.rollback()


@pytest.mark.parametrize(
    "half",
    [
        {"description": "Fahrtkosten", "quantity": "1", "unit_price": "30"},
        {"unit_price": "30", "tax": "S19"},
        {"discount_reason": "Treuerabatt"},
    ],
    ids=["no-unit-no-tax", "only-price", "only-discount-reason"],
)
def test_half_filled_row_is_named_not_dropped(session, customer, half) -> None:
    """A second row with only some cells chosen is reported as Position 2; nothing is saved
    (so the page keeps both rows as typed)."""
    blank = {"description": "", "quantity": "", "unit_code": "", "unit_price": "", "tax": ""}
    with pytest.raises(ValidationErrors) as err:
        service.save_draft(
            session,
            contact_id=customer.id,
            as_of=ISSUE_DAY,
            lines=[line(), {**blank, **half}],
        )
    assert "Position 2:" in err.value.message
    assert session.scalar(select(Invoice.id)) is None


def test_rows_nobody_typed_into_are_ignored(session, customer) -> None:
    """An unused row (empty cells as NaN, or only the prefilled unit and tax) is no position."""
    nan = float("nan")
    empty = {"description": None, "quantity": nan, "unit_code": "", "tax": "", "unit_price": nan}
    prefilled = {**empty, "unit_code": "HUR", "tax": "S19", "discount_kind": ""}
    draft = service.save_draft(
        session, contact_id=customer.id, as_of=ISSUE_DAY, lines=[line(), empty, prefilled]
    )
    assert len(draft.lines) == 1


def test_empty_cells_of_a_typed_row_are_empty_not_nan(session, customer) -> None:
    """A new row's untouched text cells arrive as NaN: they count as empty, never as "nan"."""
    nan = float("nan")
    row = {**line(), "discount_value": nan, "discount_reason": nan}
    draft = service.save_draft(session, contact_id=customer.id, as_of=ISSUE_DAY, lines=[row])
    assert draft.lines[0].discount_value is None
    assert draft.lines[0].discount_reason == ""
