"""Einnahmen/Ausgaben UI: the booking list and form, accounts, the contact panel."""

from __future__ import annotations


def panel(contact_id: int) -> None:
    """The contact's bookings on its detail view."""
    import streamlit as st
    from sqlalchemy import select

    from kms.db import session_scope
    from kms.formatting import format_date, format_money
    from kms.modules.ledger.models import Booking
    from kms.ui.text import plain

    with session_scope(write=False) as session:
        rows = session.scalars(
            select(Booking)
            .where(Booking.contact_id == contact_id)
            .order_by(Booking.booking_date.desc())
            .limit(50)
        ).all()
        if not rows:
            return
        st.markdown("**Buchungen**")
        for b in rows:
            st.write(
                plain(
                    f"{format_date(b.booking_date)} · {b.kind_label} · "
                    f"{format_money(b.total)} · {b.receipt_number}"
                )
            )
