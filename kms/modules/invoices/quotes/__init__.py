"""Angebote an Kunden: quotes with the invoices' positions, totals, numbering and PDF
(models, service, pdf) and their page (ui)."""
