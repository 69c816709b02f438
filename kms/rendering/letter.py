"""DIN 5008 Form B business letters: LetterData in, PDF bytes out."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

import pikepdf

from kms.formatting import format_date
from kms.rendering.din5008 import (
    BODY_LH,
    FONT,
    TEXT_X,
    Din5008Pdf,
    RenderError,
    render_paginated,
)
from kms.rendering.girocode import GiroCode, girocode_png
from kms.rendering.models import Company, PostalAddress
from kms.types import utcnow

__all__ = [
    "Company",
    "LetterData",
    "PostalAddress",
    "RenderError",
    "render_letter",
    "render_letters_combined",
]

A4_POINTS = (595.28, 841.89)


@dataclass(frozen=True)
class LetterData:
    """Everything a letter prints; body is the safe Markdown subset of kms.rendering.markdown."""

    sender: Company
    recipient: tuple[str, ...]
    date: date
    subject: str
    body: str
    salutation: str = "Sehr geehrte Damen und Herren,"
    closing: str = "Mit freundlichen Grüßen"
    signature: str = ""
    info: tuple[tuple[str, str], ...] = ()
    attachments: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    show_sender_contact: bool = True
    # A payment request (e.g. a dunning letter) prints its EPC069-12 GiroCode below the body.
    girocode: GiroCode | None = None


def render_letter(letter: LetterData, *, created_at: datetime | None = None) -> bytes:
    """Render a letter to PDF; a fixed created_at gives identical bytes for identical input."""
    _validate(letter)
    created = created_at or utcnow()  # one timestamp for both layout passes
    return render_paginated(lambda total: _build(letter, total, created))


def _validate(letter: LetterData) -> None:
    """Refuse letters without subject or body (German messages for the UI)."""
    if not letter.subject.strip():
        raise RenderError("Der Betreff darf nicht leer sein.")
    if not letter.body.strip():
        raise RenderError("Der Brieftext darf nicht leer sein.")


def _build(letter: LetterData, page_total: int | None, created_at: datetime) -> Din5008Pdf:
    """Lay out the whole letter once."""
    pdf = Din5008Pdf(
        letter.sender,
        running_title=letter.subject,
        date_text=format_date(letter.date),
        page_total=page_total,
    )
    pdf.set_document_info(letter.subject, created_at)
    pdf.add_page()
    pdf.draw_address(letter.recipient, letter.notes)
    info_bottom = pdf.draw_info_block(info_pairs(letter))
    # DIN 5008: subject two blank lines below the address field (or the information block).
    pdf.set_y(max(90.0, info_bottom) + 2 * BODY_LH)
    pdf.write_line(letter.subject, style="B")
    pdf.blank_line(2)
    if letter.salutation.strip():
        pdf.write_line(letter.salutation)
        pdf.blank_line()
    pdf.write_markdown(letter.body)
    if letter.girocode is not None:
        _girocode(pdf, letter.girocode)
    _closing(pdf, letter)
    return pdf


def info_pairs(letter: LetterData) -> list[tuple[str, str]]:
    """The information block: given pairs, the sender's contact (unless given), then the date."""
    pairs = list(letter.info)
    labels = {label for label, _ in pairs}
    sender = letter.sender
    if letter.show_sender_contact:
        contact = [("Name", sender.contact_person), ("Telefon", sender.phone)]
        contact.append(("E-Mail", sender.email))
        pairs += [(label, value) for label, value in contact if value and label not in labels]
    if "Datum" not in labels:
        pairs.append(("Datum", format_date(letter.date)))
    return pairs


GIRO_W = 30.0  # mm; EPC069-12 recommends at least 2 × 2 cm


def _girocode(pdf: Din5008Pdf, code: GiroCode) -> None:
    """The GiroCode at the text margin with a short explanation beside it."""
    png = girocode_png(code)  # validates every EPC field (RenderError with a German message)
    pdf.blank_line()
    pdf.ensure_space(GIRO_W + 2)
    top = pdf.get_y()
    pdf.place_png(png, TEXT_X, top, GIRO_W)
    pdf.set_font(FONT, "", 9)
    pdf.set_xy(TEXT_X + GIRO_W + 5, top + 8)
    pdf.multi_cell(
        90, 4.5, "GiroCode: mit der Banking-App scannen, um Betrag und Verwendungszweck "
        "zu übernehmen.", align="L",
    )  # fmt: skip
    pdf.set_y(top + GIRO_W + 1)


def _closing(pdf: Din5008Pdf, letter: LetterData) -> None:
    """Closing formula, room for the handwritten signature, name, then the attachments."""
    attachments = [a for a in letter.attachments if a.strip()]
    needed = (6 + (len(attachments) + 2 if attachments else 0)) * BODY_LH
    pdf.blank_line()
    pdf.ensure_space(needed)  # keep the closing block together on one page
    pdf.write_line(letter.closing)
    pdf.blank_line(3)  # DIN 5008: three blank lines for the signature
    if letter.signature.strip():
        pdf.write_line(letter.signature)
    if attachments:
        pdf.blank_line()
        pdf.write_line("Anlage" if len(attachments) == 1 else "Anlagen", style="B")
        for attachment in attachments:
            pdf.write_line(attachment)


def render_letters_combined(letters: Sequence[bytes]) -> bytes:
    """Concatenate letter PDFs for duplex printing: every letter starts on an odd page."""
    if not letters:
        raise RenderError("Es wurden keine Briefe zum Zusammenfügen übergeben.")
    combined = pikepdf.new()
    # qpdf copies stream data lazily: the sources must stay open until the result is saved.
    with ExitStack() as stack:
        for index, data in enumerate(letters):
            source = stack.enter_context(pikepdf.open(BytesIO(data)))
            combined.pages.extend(source.pages)
            # A blank back side after an odd page count, but not after the last letter.
            if len(combined.pages) % 2 and index < len(letters) - 1:
                combined.add_blank_page(page_size=A4_POINTS)
        out = BytesIO()
        combined.save(out, deterministic_id=True)
    return out.getvalue()
