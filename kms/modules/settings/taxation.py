"""Besteuerung: the dated regime and the §19 UStG Kleinunternehmer limit watch.

Since 1 January 2025 (§19 Abs. 1 UStG n. F.) a Kleinunternehmer is tax exempt if the
turnover of the previous year did not exceed 25.000 € and that of the current year does
not exceed 100.000 €; in the founding year the limit is 25.000 €. Turnover in this sense
(§19 Abs. 2 UStG) is the sum of received payments, net. Modules that know about
payments register a turnover source; this module only adds them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.models import get_value, set_value
from kms.modules.settings.models import CompanyProfile, TaxRegime
from kms.notices import set_system_warning
from kms.permissions import Permission, require_permission
from kms.types import BERLIN

PREVIOUS_YEAR_LIMIT = Decimal("25000.00")
CURRENT_YEAR_LIMIT = Decimal("100000.00")
FOUNDING_YEAR_LIMIT = Decimal("25000.00")
WARN_RATIO = Decimal("0.80")
REGIMES = {"regel": "Regelbesteuerung", "klein": "Kleinunternehmer (§ 19 UStG)"}
FILING_PERIODS = {"monat": "monatlich", "quartal": "vierteljährlich", "jahr": "jährlich"}
DECLARED_KEY = "taxation.declared_turnover"

# (session, year) -> received net payments in that year; a module declares its source in
# its ModuleSpec (turnover_source), e.g. invoices, later the ledger.
TurnoverSource = Callable[[Session, int], Decimal]


def turnover_sources() -> list[TurnoverSource]:
    """The sources every registered module declares."""
    from kms.registry import turnover_sources as declared

    return declared()


def regimes(session: Session) -> list[TaxRegime]:
    """All regime periods, oldest first."""
    return list(session.scalars(select(TaxRegime).order_by(TaxRegime.valid_from)))


def regime_on(session: Session, day: date) -> TaxRegime | None:
    """The regime valid on a day (the newest one starting on or before it)."""
    return session.scalar(
        select(TaxRegime)
        .where(TaxRegime.valid_from <= day)
        .order_by(TaxRegime.valid_from.desc())
        .limit(1)
    )


def set_regime(
    session: Session,
    *,
    valid_from: date,
    kind: str,
    cash_basis: bool = False,
    filing_period: str = "quartal",
    note: str = "",
) -> TaxRegime:
    """Add (or replace) the regime starting on a date."""
    require_permission(Permission.SETTINGS, session)
    if kind not in REGIMES:
        raise KmsError("Bitte wählen Sie Regelbesteuerung oder Kleinunternehmer.")
    if filing_period not in FILING_PERIODS:
        raise KmsError("Unbekannter Voranmeldungszeitraum.")
    if kind == "klein":
        # No Ist for a Kleinunternehmer; the filing period stays selectable: § 13b purchases
        # or an innergemeinschaftlicher Erwerb need a Voranmeldung for their period
        # (§ 18 Abs. 4a UStG).
        cash_basis = False
    row = session.scalar(select(TaxRegime).where(TaxRegime.valid_from == valid_from))
    if row is None:
        row = TaxRegime(valid_from=valid_from, kind=kind)
        session.add(row)
    row.kind, row.cash_basis, row.filing_period, row.note = kind, cash_basis, filing_period, note
    session.flush()
    return row


def delete_regime(session: Session, regime_id: int) -> None:
    """Remove a regime period (the issue of invoices refers to dates, not to rows)."""
    require_permission(Permission.SETTINGS, session)
    row = session.get(TaxRegime, regime_id)
    if row is None:
        raise KmsError("Diesen Eintrag gibt es nicht mehr.")
    session.delete(row)


def declared_turnover(session: Session) -> dict[int, Decimal]:
    """Turnover entered by hand for years KMS has no payments for (e.g. before KMS)."""
    return {int(y): Decimal(v) for y, v in (get_value(session, DECLARED_KEY) or {}).items()}


def set_declared_turnover(session: Session, year: int, amount: Decimal | None) -> None:
    """Store (or with None remove) the hand-entered turnover of a year."""
    require_permission(Permission.SETTINGS, session)
    if amount is not None and amount < 0:
        raise KmsError("Der Umsatz darf nicht negativ sein.")
    values = dict(get_value(session, DECLARED_KEY) or {})
    if amount is None:
        values.pop(str(year), None)
    else:
        values[str(year)] = str(amount.quantize(Decimal("0.01")))
    set_value(session, DECLARED_KEY, values)


def turnover(session: Session, year: int) -> Decimal:
    """§19 Abs. 2 UStG turnover of a year: declared amount plus every registered source."""
    total = declared_turnover(session).get(year, Decimal("0.00"))
    for source in turnover_sources():
        total += source(session, year)
    return total.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class LimitStatus:
    """Where the business stands against the §19 limits on a day."""

    year: int
    previous_year: Decimal
    current_year: Decimal
    current_limit: Decimal
    founding_year: bool

    @property
    def previous_ok(self) -> bool:
        return self.founding_year or self.previous_year <= PREVIOUS_YEAR_LIMIT

    @property
    def ratio(self) -> Decimal:
        return self.current_year / self.current_limit

    def allows(self, additional: Decimal = Decimal("0")) -> bool:
        """Whether a further §19 invoice of this net amount stays within the limits."""
        return self.previous_ok and self.current_year + additional <= self.current_limit


def limit_status(session: Session, day: date) -> LimitStatus:
    """Compute the limit status for the year of `day`."""
    profile = session.scalar(select(CompanyProfile).limit(1))
    founding = bool(profile and profile.business_start and profile.business_start.year == day.year)
    return LimitStatus(
        year=day.year,
        previous_year=turnover(session, day.year - 1),
        current_year=turnover(session, day.year),
        current_limit=FOUNDING_YEAR_LIMIT if founding else CURRENT_YEAR_LIMIT,
        founding_year=founding,
    )


def assert_kleinunternehmer_invoice_allowed(
    session: Session, day: date, net_amount: Decimal
) -> None:
    """Refuse a §19 invoice that the regime or the limits no longer allow."""
    regime = regime_on(session, day)
    if regime is None or regime.kind != "klein":
        raise KmsError(
            "Am Rechnungsdatum gilt keine Kleinunternehmerregelung: eine Rechnung nach "
            "§ 19 UStG ist nicht möglich."
        )
    status = limit_status(session, day)
    if not status.previous_ok:
        raise KmsError(
            f"Der Umsatz des Vorjahres ({_eur(status.previous_year)}) liegt über "
            f"{_eur(PREVIOUS_YEAR_LIMIT)}: in diesem Jahr gilt die Kleinunternehmerregelung "
            "nicht (§ 19 Abs. 1 UStG). Bitte stellen Sie die Besteuerung in den Einstellungen "
            "auf Regelbesteuerung um."
        )
    if not status.allows(net_amount):
        raise KmsError(
            "Mit dieser Rechnung wäre die Umsatzgrenze nach § 19 UStG überschritten "
            f"({_eur(status.current_year + net_amount)} von {_eur(status.current_limit)}). "
            "Ab diesem Umsatz muss mit Umsatzsteuer abgerechnet werden: bitte stellen Sie die "
            "Besteuerung in den Einstellungen auf Regelbesteuerung um."
        )


def _eur(amount: Decimal) -> str:
    from kms.formatting import format_money

    return format_money(amount)


def limit_watch(session: Session, now: datetime) -> str:
    """⊕ Warn in the banner as the current-year turnover approaches or crosses the limit."""
    day = now.astimezone(BERLIN).date()  # the business year turns at midnight in Germany
    regime = regime_on(session, day)
    if regime is None or regime.kind != "klein":
        set_system_warning(session, "kleinunternehmer", None)
        return "Keine Kleinunternehmerregelung aktiv."
    status = limit_status(session, day)
    used = f"{_eur(status.current_year)} von {_eur(status.current_limit)}"
    if not status.previous_ok:
        text = (
            f"Der Vorjahresumsatz ({_eur(status.previous_year)}) liegt über "
            f"{_eur(PREVIOUS_YEAR_LIMIT)}: die Kleinunternehmerregelung gilt in diesem Jahr "
            "nicht. Bitte Besteuerung anpassen."
        )
    elif status.current_year > status.current_limit:
        text = f"Umsatzgrenze nach § 19 UStG überschritten ({used}). Keine §-19-Rechnungen mehr."
    elif status.ratio >= WARN_RATIO:
        text = f"Umsatz nähert sich der Grenze nach § 19 UStG: {used}."
    else:
        set_system_warning(session, "kleinunternehmer", None)
        return f"Umsatz {used}: im Rahmen."
    set_system_warning(session, "kleinunternehmer", text)
    return text
