"""Kontoauszüge: bank statements (CAMT, MT940, CSV) imported into the ledger, matched to open
invoices, de-duplicated, with learned booking rules the user can see and delete."""

from kms.functions import FunctionSpec
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

PAGE = "kontoauszuege"

IMPORT = FunctionSpec(
    "bank.import",
    "Kontoauszug importieren",
    PAGE,
    "Liest einen Kontoauszug (CAMT.053/052/054, MT940 oder CSV) eines Kontos ein, zeigt zu "
    "jeder Zeile einen Vorschlag (Zahlung zu Rechnung, Buchung nach Regel, Geldtransit, "
    "Privat, bereits importiert) und bucht erst nach Bestätigung, alles oder nichts.",
    Permission.LEDGER_WRITE,
)

SPEC = ModuleSpec(
    key="bank",
    title="Kontoauszüge",
    requires=("ledger", "invoices", "documents", "contacts"),
    models="kms.modules.bank.models",
    cli="kms.modules.bank.cli.register",
    contact_references="kms.modules.bank.rules.count_for_contact",
    contact_export="kms.modules.bank.rules.export_for_contact",
    pages=(
        PageSpec(
            "pages/kontoauszuege.py",
            "Kontoauszüge",
            ":material/receipt_long:",
            PAGE,
            "Finanzen",
            functions=(IMPORT,),
            permission=Permission.LEDGER_READ,
        ),
    ),
)
