"""What Schreiben stores about a contact: references (delete vs. archive) and the Auskunft.

Sent letters' PDFs reach the Auskunft through Dokumente; this export adds every letter record,
drafts included, with the text as typed and as printed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.formatting import format_date
from kms.modules.letters.models import SENT_VIA_LABELS, STATUS_LABELS, Letter


def count_for_contact(session: Session, contact_id: int) -> int:
    """Letters and drafts addressed to the contact (such a contact is archived, not deleted)."""
    return int(
        session.scalar(
            select(func.count()).select_from(Letter).where(Letter.contact_id == contact_id)
        )
        or 0
    )


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every letter to the contact, drafts included, for the Auskunft (Art. 15 DSGVO)."""
    letters = session.scalars(
        select(Letter)
        .where(Letter.contact_id == contact_id)
        .order_by(Letter.letter_date, Letter.id)
    ).all()
    return [
        {
            "Datum": format_date(letter.letter_date),
            "Status": STATUS_LABELS.get(letter.status, letter.status),
            "Betreff": letter.printed_subject or letter.subject,
            "Anschrift": letter.recipient_lines,
            "Anrede": letter.salutation,
            "Text": letter.body,
            "Grußformel": letter.closing,
            "Anlagen": letter.attachments,
            "Versendet per": SENT_VIA_LABELS.get(letter.sent_via, letter.sent_via),
            "Versendet an": letter.sent_to,
        }
        for letter in letters
    ]
