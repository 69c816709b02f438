"""The operator's support contact (sidebar, bug reports)."""

from __future__ import annotations

import os

from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.models import get_value, set_value
from kms.permissions import Permission, require_permission

SUPPORT_KEY = "support.contact"
FIELDS = ("name", "email", "phone")


def support_contact() -> dict[str, str]:
    """Name, e-mail and phone; KMS_SUPPORT_* variables override the stored values."""
    with session_scope(write=False) as session:
        stored = dict(get_value(session, SUPPORT_KEY) or {})
    return {f: os.environ.get(f"KMS_SUPPORT_{f.upper()}") or stored.get(f, "") for f in FIELDS}


def set_support_contact(session: Session, **values: str) -> None:
    """Store the support contact (operator: `python -m kms support set`)."""
    require_permission(Permission.SETTINGS, session)
    current = dict(get_value(session, SUPPORT_KEY) or {})
    current.update({k: v.strip() for k, v in values.items() if k in FIELDS and v is not None})
    set_value(session, SUPPORT_KEY, current)
