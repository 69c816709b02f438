"""Kontoauszüge in a real browser (issue 14): on the demo data, upload a CAMT.053 statement
of the demo Girokonto with the payment of an open invoice, see the match in the preview,
confirm it, and find the invoice paid on the Rechnungen page. Screenshots:
docs/screenshots/kontoauszuege*.png.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from kms.modules.ledger.demo import DEMO_IBAN
from kms.types import today
from tests.browser.test_browser import browser, kms_server, log_in, open_fresh  # noqa: F401
from tests.browser.test_ledger_browser import cell, select_box, shoot
from tests.browser_support import choose, settle
from tests.modules.bank.camt_factory import camt053_bytes

pytestmark = pytest.mark.browser

OPEN_INVOICE = """
SELECT i.number, i.gross_total - COALESCE(
    (SELECT SUM(p.amount - p.overpayment + p.skonto) FROM invoice_payments p
     WHERE p.invoice_id = i.id), 0) AS open_cents
FROM invoices i
WHERE i.issued_at IS NOT NULL AND i.cancels_id IS NULL AND i.number IS NOT NULL
  AND i.id NOT IN (SELECT cancels_id FROM invoices WHERE cancels_id IS NOT NULL)
  AND i.gross_total - COALESCE((SELECT SUM(p.amount - p.overpayment + p.skonto)
      FROM invoice_payments p WHERE p.invoice_id = i.id), 0) > 0
ORDER BY i.id LIMIT 1
"""


def _open_invoice(data_dir: Path) -> tuple[str, Decimal]:
    """Number and open amount of the first open invoice of the demo (read-only)."""
    with sqlite3.connect(f"file:{data_dir / 'kms.sqlite3'}?mode=ro", uri=True) as db:
        number, cents = db.execute(OPEN_INVOICE).fetchone()
    return number, (Decimal(cents) / 100).quantize(Decimal("0.01"))


def test_import_a_statement_and_see_the_invoice_paid(browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    with kms_server(tmp_path / "data", demo=True) as server:
        number, open_amount = _open_invoice(tmp_path / "data")
        amount = f"{open_amount:.2f}"
        shown = f"{open_amount:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        statement = camt053_bytes(
            DEMO_IBAN,
            [
                {"amount": amount, "booking_date": today(), "name": "Musterfirma GmbH",
                 "purpose": [f"Rechnung {number[:-2]}", f"{number[-2:]} vielen Dank"],
                 "iban": "DE89370400440532013000"},
                {"amount": "-4.99", "booking_date": today(), "purpose": "Kaffee",
                 "name": "Café Beispiel"},
            ],
        )  # fmt: skip
        page = open_fresh(browser, f"{server.url}/kontoauszuege")
        log_in(page)
        expect(page.locator("h1")).to_have_text("Kontoauszüge")
        choose(page, select_box(page, "Konto"), "Girokonto (Beispiel)")
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "auszug.xml", "mimeType": "application/xml", "buffer": statement}]
        )
        settle(page)
        expect(page.get_by_text("auszug.xml")).to_be_visible()
        shoot(page, "kontoauszuege")
        page.get_by_role("button", name="Vorschau anzeigen").click()
        settle(page)
        expect(
            page.get_by_text(re.compile(r"auszug\.xml · Konto Girokonto \(Beispiel\) · 2 Umsätze"))
        ).to_be_visible()
        # The match and its reason in the preview table (the number was split in two lines).
        reason = f"Rechnungsnummer {number} im Verwendungszweck, Betrag = offener Betrag"
        expect(cell(page, f"{reason}, Name des Kunden").or_(cell(page, reason))).to_have_count(1)
        expect(cell(page, f"{shown}\xa0€")).to_have_count(1)
        shoot(page, "kontoauszuege-vorschau")

        page.get_by_role("button", name="Importieren …").click()
        settle(page)
        expect(page.get_by_text("Wirklich importieren?", exact=False)).to_be_visible()
        page.get_by_role("button", name="Ja, importieren").click()
        settle(page)
        expect(
            page.get_by_text(
                "Kontoauszug importiert: 1 Zeile(n) gebucht, davon 1 Rechnungszahlung(en); "
                "0 bereits importiert, 1 nicht gebucht."
            )
        ).to_be_visible()
        page.get_by_role("tab", name="Frühere Importe").click()
        settle(page)
        expect(cell(page, "auszug.xml")).to_have_count(1)

        # The invoice is paid on the Rechnungen page.
        page.goto(f"{server.url}/rechnungen")
        settle(page)
        search = page.get_by_label("Suche (Nummer, Kunde, Position)", exact=True)
        search.fill(number)
        search.press("Enter")
        settle(page)
        expect(cell(page, number)).to_have_count(1)
        status = page.locator('[data-testid="stDataFrame"] td').filter(
            has_text=re.compile(r"^bezahlt( · versendet)?$")
        )
        expect(status).to_have_count(1)
        shoot(page, "kontoauszuege-rechnung-bezahlt")
