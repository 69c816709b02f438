"""Demo company: a fictitious sole trader who was a Kleinunternehmer until 2024."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from kms.modules.settings import taxation
from kms.modules.settings.service import get_profile, save_profile

COMPANY = {
    "company_name": "Musterfirma Erika Mustermann",
    "legal_form": "Einzelunternehmen",
    "representative": "Erika Mustermann",
    "street": "Musterstraße 1",
    "postcode": "12345",
    "city": "Musterstadt",
    "country": "DE",
    "contact_name": "Erika Mustermann",
    "phone": "+49 30 1234567",
    "email": "erika@example.org",
    "website": "https://www.example.org",
    "tax_number": "2181508150",
    "vat_id": "DE136695976",
    "bank_name": "Testbank",
    "iban": "DE02120300000000202051",
    "bic": "BYLADEM1001",
    "payment_term_days": 14,
    "business_start": date(2023, 4, 1),
}


def load(session: Session) -> str:
    """Company profile and a Besteuerung that switches regime at a year boundary."""
    profile = get_profile(session)
    if not profile.company_name:
        save_profile(session, version=profile.version or 0, **COMPANY)
    if taxation.regime_on(session, date(2024, 1, 1)) is None:
        taxation.set_regime(session, valid_from=date(2023, 4, 1), kind="klein")
        taxation.set_regime(
            session,
            valid_from=date(2025, 1, 1),
            kind="regel",
            cash_basis=True,
            filing_period="quartal",
        )
        taxation.set_declared_turnover(session, 2023, Decimal("14250.00"))
        taxation.set_declared_turnover(session, 2024, Decimal("31800.00"))
    return "Firmendaten und Besteuerung"
