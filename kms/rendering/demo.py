"""Obviously fictitious demo data for previews, tests and screenshots.

Run `python -m kms.rendering.demo letter.pdf` to write a two-page sample letter.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

from kms.rendering.din5008 import build_address_lines
from kms.rendering.letter import Company, LetterData, PostalAddress, render_letter

DEMO_CREATED_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

_PARAGRAPH = (
    "Für die Gestaltung Ihres Jahresberichts haben wir die Entwürfe überarbeitet. Die "
    "Änderungen betreffen vor allem die Schriftgrößen, die Farbflächen und die Grafiken "
    "auf den Seiten über Umsätze in €."
)


def demo_company() -> Company:
    """A fictitious sole trader with every footer field filled in."""
    return Company(
        name="Grafikbüro Beispiel",
        legal_form="GmbH",
        address=PostalAddress("Beispielweg 7", "54321", "Beispielstadt"),
        contact_person="Jörg Beispiel",
        phone="+49 123 456789-0",
        email="post@beispiel.example.org",
        website="www.beispiel.example.org",
        tax_number="12/345/67890",
        vat_id="DE123456789",
        bank_name="Beispielbank",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        register_court="Amtsgericht Beispielstadt",
        register_number="HRB 12345",
        managing_director="Jörg Beispiel",
    )


def demo_letter(paragraphs: int = 12) -> LetterData:
    """A letter to Erika Mustermann; about 12 paragraphs give two pages."""
    bullets = "- **Schriftgrößen** angepasst\n- *Farbflächen* aufgehellt\n- Grafiken über Umsätze"
    body = [_PARAGRAPH, bullets] + [_PARAGRAPH] * max(0, paragraphs - 1)
    return LetterData(
        sender=demo_company(),
        recipient=tuple(
            build_address_lines(
                ["Frau", "Erika Mustermann"], "Musterstraße 1", "12345", "Musterstadt"
            )
        ),
        date=date(2026, 11, 26),
        subject="Überarbeitete Entwürfe für Ihren Jahresbericht",
        salutation="Sehr geehrte Frau Mustermann,",
        body="\n\n".join(body),
        signature="Jörg Beispiel",
        info=(("Ihr Zeichen", "EM-2026-11"), ("Kundennummer", "K-10042")),
        attachments=("Entwurf Jahresbericht (PDF)", "Kostenübersicht"),
    )


def main(argv: list[str]) -> None:
    """Write the demo letter to the path given on the command line."""
    target = Path(argv[1] if len(argv) > 1 else "letter-sample.pdf")
    target.write_bytes(render_letter(demo_letter(), created_at=DEMO_CREATED_AT))


if __name__ == "__main__":
    main(sys.argv)
