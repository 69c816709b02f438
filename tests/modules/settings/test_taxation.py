"""Besteuerung: dated regimes and the §19 UStG Kleinunternehmer limits, to the cent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.settings import taxation
from kms.modules.settings.models import CompanyProfile
from kms.notices import USERS, banner

EUR = "\u00a0€"  # Babel puts a non-breaking space before the euro sign
YEAR = 2026


@pytest.fixture
def payments(monkeypatch: pytest.MonkeyPatch) -> dict[int, Decimal]:
    """Received payments per year, fed in as the only declared turnover source."""
    received: dict[int, Decimal] = {}

    def source(_session: Session, year: int) -> Decimal:
        return received.get(year, Decimal("0.00"))

    monkeypatch.setattr("kms.registry.turnover_sources", lambda: [source])
    return received


@pytest.fixture
def klein(session: Session) -> Callable[..., None]:
    """Kleinunternehmer since 2020, optionally founded in a given year."""

    def setup(founded: date | None = None) -> None:
        taxation.set_regime(session, valid_from=date(2020, 1, 1), kind="klein")
        if founded:
            session.add(CompanyProfile(company_name="Musterfirma", business_start=founded))
        session.flush()

    return setup


def test_regime_on_picks_the_newest_start_on_or_before_the_day(session: Session) -> None:
    """Each day falls under the regime whose valid_from is the latest one not after it."""
    taxation.set_regime(session, valid_from=date(2025, 1, 1), kind="regel", cash_basis=True)
    taxation.set_regime(session, valid_from=date(2023, 4, 1), kind="klein")
    taxation.set_regime(session, valid_from=date(2026, 7, 1), kind="klein")
    expected = {
        date(2023, 3, 31): None,
        date(2023, 4, 1): "klein",
        date(2024, 12, 31): "klein",
        date(2025, 1, 1): "regel",
        date(2026, 6, 30): "regel",
        date(2026, 7, 1): "klein",
        date(2030, 1, 1): "klein",
    }
    found = {day: getattr(taxation.regime_on(session, day), "kind", None) for day in expected}
    assert found == expected
    assert [r.valid_from for r in taxation.regimes(session)] == [
        date(2023, 4, 1),
        date(2025, 1, 1),
        date(2026, 7, 1),
    ]


def test_setting_a_regime_on_the_same_date_replaces_it(session: Session) -> None:
    """One regime per start date; a Kleinunternehmer never uses Ist, but keeps a filing
    period for § 13b purchases (§ 18 Abs. 4a UStG)."""
    first = taxation.set_regime(session, valid_from=date(2025, 1, 1), kind="regel", cash_basis=True)
    again = taxation.set_regime(
        session, valid_from=date(2025, 1, 1), kind="klein", cash_basis=True, filing_period="monat"
    )
    assert again.id == first.id
    assert (again.kind, again.cash_basis, again.filing_period) == ("klein", False, "monat")
    taxation.delete_regime(session, again.id)
    assert taxation.regimes(session) == []
    with pytest.raises(KmsError, match="gibt es nicht mehr"):
        taxation.delete_regime(session, again.id)


@pytest.mark.parametrize(
    ("kind", "period", "message"),
    [("pauschal", "quartal", "Regelbesteuerung oder Kleinunternehmer"), ("regel", "woche", "")],
)
def test_unknown_regimes_and_periods_are_refused(
    session: Session, kind: str, period: str, message: str
) -> None:
    """Only the two regimes and the three filing periods exist."""
    with pytest.raises(KmsError, match=message or "Voranmeldungszeitraum"):
        taxation.set_regime(session, valid_from=date(2025, 1, 1), kind=kind, filing_period=period)


def test_turnover_adds_declared_amounts_and_sources_exactly(
    session: Session, payments: dict[int, Decimal]
) -> None:
    """Hand-entered turnover plus registered sources sum to the cent, as Decimal."""
    taxation.set_declared_turnover(session, YEAR, Decimal("0.10"))
    payments[YEAR] = Decimal("0.20")
    total = taxation.turnover(session, YEAR)
    assert total == Decimal("0.30") and isinstance(total, Decimal)
    assert taxation.turnover(session, YEAR - 1) == Decimal("0.00")
    assert taxation.declared_turnover(session) == {YEAR: Decimal("0.10")}
    taxation.set_declared_turnover(session, YEAR, None)
    assert taxation.turnover(session, YEAR) == Decimal("0.20")
    with pytest.raises(KmsError, match="nicht negativ"):
        taxation.set_declared_turnover(session, YEAR, Decimal("-0.01"))


def test_declared_turnover_survives_the_database_exactly(session: Session) -> None:
    """A stored amount reads back as the same Decimal from a fresh session."""
    taxation.set_declared_turnover(session, 2024, Decimal("31800.07"))
    session.commit()
    session.expire_all()
    assert taxation.declared_turnover(session) == {2024: Decimal("31800.07")}


@pytest.mark.parametrize(
    ("previous", "current", "invoice", "allowed"),
    [
        ("25000.00", "99000.00", "1000.00", True),  # exactly at both limits
        ("25000.00", "99000.00", "1000.01", False),  # one cent over the current-year limit
        ("25000.01", "0.00", "100.00", False),  # one cent over the previous-year limit
        ("0.00", "100000.00", "0.00", True),
    ],
)
def test_the_limits_are_checked_to_the_cent(
    session: Session,
    payments: dict[int, Decimal],
    klein: Callable[..., None],
    previous: str,
    current: str,
    invoice: str,
    allowed: bool,
) -> None:
    """Previous year ≤ 25.000 € and current year ≤ 100.000 €, the new invoice included."""
    klein()
    payments[YEAR - 1], payments[YEAR] = Decimal(previous), Decimal(current)
    day = date(YEAR, 11, 26)
    if allowed:
        taxation.assert_kleinunternehmer_invoice_allowed(session, day, Decimal(invoice))
        return
    with pytest.raises(KmsError) as excinfo:
        taxation.assert_kleinunternehmer_invoice_allowed(session, day, Decimal(invoice))
    assert "Regelbesteuerung" in excinfo.value.message


def test_crossing_the_current_limit_names_the_amounts(
    session: Session, payments: dict[int, Decimal], klein: Callable[..., None]
) -> None:
    """The refusal says how far the invoice would take the turnover."""
    klein()
    payments[YEAR] = Decimal("99000.00")
    with pytest.raises(KmsError) as excinfo:
        taxation.assert_kleinunternehmer_invoice_allowed(
            session, date(YEAR, 5, 1), Decimal("1000.01")
        )
    assert f"(100.000,01{EUR} von 100.000,00{EUR})" in excinfo.value.message


def test_a_previous_year_over_the_limit_is_named_as_the_reason(
    session: Session, payments: dict[int, Decimal], klein: Callable[..., None]
) -> None:
    """Above 25.000 € last year the refusal blames last year, not this invoice."""
    klein()
    payments[YEAR - 1] = Decimal("25000.01")
    with pytest.raises(KmsError) as excinfo:
        taxation.assert_kleinunternehmer_invoice_allowed(
            session, date(YEAR, 5, 1), Decimal("10.00")
        )
    assert excinfo.value.message.startswith(
        f"Der Umsatz des Vorjahres (25.000,01{EUR}) liegt über 25.000,00{EUR}"
    )


def test_the_founding_year_has_a_25000_limit_and_no_previous_year(
    session: Session, payments: dict[int, Decimal], klein: Callable[..., None]
) -> None:
    """In the year the business started, 25.000 € is the limit for that year."""
    klein(founded=date(YEAR, 3, 1))
    payments[YEAR - 1] = Decimal("90000.00")  # before the business existed: irrelevant
    payments[YEAR] = Decimal("24000.00")
    day = date(YEAR, 11, 26)
    status = taxation.limit_status(session, day)
    assert (status.founding_year, status.current_limit) == (True, Decimal("25000.00"))
    taxation.assert_kleinunternehmer_invoice_allowed(session, day, Decimal("1000.00"))
    with pytest.raises(KmsError, match=f"25.000,01{EUR} von 25.000,00{EUR}"):
        taxation.assert_kleinunternehmer_invoice_allowed(session, day, Decimal("1000.01"))
    # The year after founding uses the normal limits again.
    assert taxation.limit_status(session, date(YEAR + 1, 1, 1)).current_limit == Decimal(
        "100000.00"
    )


def test_no_kleinunternehmer_invoice_under_regelbesteuerung(
    session: Session, payments: dict[int, Decimal]
) -> None:
    """On a date under Regelbesteuerung (or before any regime) §19 invoices are refused."""
    taxation.set_regime(session, valid_from=date(2025, 1, 1), kind="klein")
    taxation.set_regime(session, valid_from=date(2026, 7, 1), kind="regel")
    taxation.assert_kleinunternehmer_invoice_allowed(session, date(2026, 6, 30), Decimal("1.00"))
    for day in (date(2026, 7, 1), date(2024, 12, 31)):
        with pytest.raises(KmsError, match="keine Kleinunternehmerregelung"):
            taxation.assert_kleinunternehmer_invoice_allowed(session, day, Decimal("1.00"))


# --- the watch -----------------------------------------------------------------------------

NOW = datetime(YEAR, 11, 26, 12, tzinfo=UTC)


def _warnings(session: Session) -> list[str]:
    session.flush()
    return [text for _level, text in banner(session, audience=USERS).system_warnings]


@pytest.mark.parametrize(
    ("current", "warning"),
    [
        ("79999.99", None),
        ("80000.00", f"Umsatz nähert sich der Grenze nach § 19 UStG: 80.000,00{EUR} von "),
        ("100000.00", f"Umsatz nähert sich der Grenze nach § 19 UStG: 100.000,00{EUR} von "),
        ("100000.01", f"Umsatzgrenze nach § 19 UStG überschritten (100.000,01{EUR} von "),
    ],
)
def test_the_watch_warns_from_80_percent_and_above_the_limit(
    session: Session,
    payments: dict[int, Decimal],
    klein: Callable[..., None],
    current: str,
    warning: str | None,
) -> None:
    """Below 80 % no warning; from 80 % a warning; above the limit a stronger one."""
    klein()
    payments[YEAR] = Decimal(current)
    summary = taxation.limit_watch(session, NOW)
    warnings = _warnings(session)
    if warning is None:
        assert warnings == []
        assert summary == f"Umsatz 79.999,99{EUR} von 100.000,00{EUR}: im Rahmen."
    else:
        assert len(warnings) == 1 and warnings[0].startswith(warning)
        assert summary == warnings[0]


def test_the_watch_clears_its_warning(
    session: Session, payments: dict[int, Decimal], klein: Callable[..., None]
) -> None:
    """The warning goes once the turnover is fine again or the regime changes."""
    klein()
    payments[YEAR] = Decimal("90000.00")
    taxation.limit_watch(session, NOW)
    assert len(_warnings(session)) == 1
    payments[YEAR] = Decimal("10000.00")
    taxation.limit_watch(session, NOW)
    assert _warnings(session) == []
    payments[YEAR] = Decimal("90000.00")
    taxation.limit_watch(session, NOW)
    taxation.set_regime(session, valid_from=date(YEAR, 1, 1), kind="regel")
    assert taxation.limit_watch(session, NOW) == "Keine Kleinunternehmerregelung aktiv."
    assert _warnings(session) == []


def test_the_watch_warns_about_last_years_turnover(
    session: Session, payments: dict[int, Decimal], klein: Callable[..., None]
) -> None:
    """Over 25.000 € last year: the banner says the regime no longer applies."""
    klein()
    payments[YEAR - 1] = Decimal("25000.01")
    taxation.limit_watch(session, NOW)
    assert _warnings(session) == [
        f"Der Vorjahresumsatz (25.000,01{EUR}) liegt über 25.000,00{EUR}: die "
        "Kleinunternehmerregelung gilt in diesem Jahr nicht. Bitte Besteuerung anpassen."
    ]


def test_the_watch_counts_the_german_year(
    session: Session, payments: dict[int, Decimal], klein: Callable[..., None]
) -> None:
    """At 23:30 UTC on 31 December it is already the new year in Berlin."""
    klein()
    payments[YEAR] = Decimal("20000.00")
    summary = taxation.limit_watch(session, datetime(YEAR, 12, 31, 23, 30, tzinfo=UTC))
    assert summary == f"Umsatz 0,00{EUR} von 100.000,00{EUR}: im Rahmen."
