"""A pricing licence token for tests, bound to this instance and valid from today."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from kms import licensing


def pricing_token(
    session: Session, private: str, valid_until: date, valid_from: date | None = None
) -> str:
    return licensing.issue(
        private,
        module="pricing",
        licensee="Erika Mustermann",
        instance=licensing.instance_id(session),
        valid_until=valid_until,
        valid_from=valid_from,
    )
