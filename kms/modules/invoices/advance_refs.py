"""What an Abschlags-, Schlussrechnung or Rechnungskorrektur adds to its EN 16931 document.

Kept apart from `advance` (the guarded services) so that `issuing` can import it without a
cycle: the type code (BT-3) and the preceding invoices (BG-3, BT-25/26): the advances a final
invoice deducts, or the invoice a Rechnungskorrektur corrects.
"""

from __future__ import annotations

from kms.einvoice.model import DocumentType, InvoiceReference
from kms.modules.invoices.models import (
    BILLING_ADVANCE,
    BILLING_CORRECTION,
    BILLING_FINAL,
    Invoice,
)


def billing_type_code(invoice: Invoice) -> DocumentType:
    """386 for an Abschlagsrechnung, 384 for a Rechnungskorrektur, 380 otherwise."""
    if invoice.billing == BILLING_ADVANCE:
        return DocumentType.PREPAYMENT_INVOICE
    if invoice.billing == BILLING_CORRECTION:
        return DocumentType.CORRECTED_INVOICE
    return DocumentType.INVOICE


def preceding_references(invoice: Invoice) -> tuple[InvoiceReference, ...]:
    """BG-3 of the document: the corrected invoice (BR-DE-26), else the deducted advances."""
    original = invoice.corrects if invoice.is_correction else None
    if original is not None and original.number is not None:
        return (InvoiceReference(original.number, original.issue_date),)
    return deducted_references(invoice)


def deducted_references(invoice: Invoice) -> tuple[InvoiceReference, ...]:
    """Each advance a Schlussrechnung deducts, once, in the order of its lines."""
    refs: list[InvoiceReference] = []
    for line in invoice.lines:
        advance = line.deducts
        if advance is None or advance.number is None:
            continue
        ref = InvoiceReference(advance.number, advance.issue_date)
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)


def final_problem(invoice: Invoice) -> str:
    """Why a Schlussrechnung draft cannot be issued: its deduction lines lost their link to
    the advances (e.g. the lines were saved anew in the editor), so BG-3 would be missing."""
    if invoice.billing != BILLING_FINAL:
        return ""
    if any(line.deducts_invoice_id is not None for line in invoice.lines):
        return ""
    return (
        "Diese Schlussrechnung zieht keine Abschlagsrechnung mehr ab (die Abzugszeilen wurden "
        "verändert). Bitte den Entwurf löschen und die Schlussrechnung neu erstellen."
    )
