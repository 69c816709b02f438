"""Demo documents: a few small PDFs made with fpdf2 and linked to the demo contacts."""

from __future__ import annotations

from datetime import date, datetime

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.config import ROOT
from kms.modules.contacts.models import Contact
from kms.modules.documents.models import Document
from kms.modules.documents.service import upload

FONTS = ROOT / "kms" / "rendering" / "fonts"
# (file name, title, type, e-mail of the linked demo contact, date, tags, lines of text)
DOCUMENTS = [
    (
        "angebot-website-relaunch.pdf",
        "Angebot Website-Relaunch",
        "letter",
        "max@example.org",
        date(2026, 3, 12),
        "Angebot, Web",
        ["Angebot Nr. A-2026-007", "Website-Relaunch für Max Mustermann", "Gesamt: 2.380,00 €"],
    ),
    (
        "eingangsrechnung-buerobedarf.pdf",
        "Büromaterial März",
        "received_invoice",
        "juergen.mueller@example.org",
        date(2026, 3, 28),
        "Büro",
        ["Rechnung Nr. 4711 von Jürgen Müller", "Druckerpapier, Ordner, Stifte", "119,00 €"],
    ),
    (
        "vertrag-wartung.pdf",
        "Wartungsvertrag",
        "upload",
        "anna@example.org",
        date(2026, 5, 4),
        "Vertrag",
        ["Wartungsvertrag mit Anna Beispiel", "Laufzeit 12 Monate", "Monatlich 49,00 €"],
    ),
    (
        "notizen-erstgespraech.pdf",
        "Notizen Erstgespräch",
        "other",
        "lena.schmidt@example.org",
        date(2026, 6, 17),
        "Notiz",
        ["Erstgespräch mit Lena Schmidt", "Wünscht Angebot für Fotoshooting", "Rückruf bis 30.06."],
    ),
]


def demo_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page A4 PDF with a title and a few lines (fixed dates: identical on every run)."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 1, 1))
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 14, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 12)
    for line in lines:
        pdf.cell(0, 9, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.set_y(-25)
    pdf.cell(0, 5, "Demodaten – frei erfunden (example.org)")
    return bytes(pdf.output())


def load(session: Session) -> str:
    """Add the demo documents that are not there yet (matched by title)."""
    existing = set(session.scalars(select(Document.title)))
    added = 0
    for filename, title, doc_type, email, issued, tags, lines in DOCUMENTS:
        if title in existing:
            continue
        contact_id = session.scalar(select(Contact.id).where(Contact.email == email).limit(1))
        upload(
            session,
            content=demo_pdf(title, lines),
            filename=filename,
            doc_type=doc_type,
            contact_ids=[contact_id] if contact_id else [],
            tags=tags,
            title=title,
            issued_on=issued,
            created_by="demo",
        )
        added += 1
    return f"{added} Dokumente"
