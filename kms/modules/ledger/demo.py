"""Demo bookings: filled in below."""

from __future__ import annotations

from sqlalchemy.orm import Session


def load(session: Session) -> str:
    return "Einnahmen/Ausgaben"
