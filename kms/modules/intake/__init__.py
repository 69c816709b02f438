"""Rechnungseingang: received e-invoices (XRechnung CII/UBL, ZUGFeRD/Factur-X) and other
invoices and receipts: safe parsing, offline validation, the unchanged original archived as a
Buchungsbeleg, duplicate detection, and ▶ "Als Ausgabe buchen"."""

from kms.functions import FunctionSpec
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

PAGE = "rechnungseingang"

BOOK = FunctionSpec(
    "intake.book",
    "Als Ausgabe buchen",
    PAGE,
    "Bucht die ausgewählte Eingangsrechnung als Ausgabe: je Steuersatz eine Position mit "
    "dem passenden Steuerschlüssel (Vorsteuer 19 %/7 %, § 13b als Leistungsempfänger, ohne "
    "Vorsteuer), der Lieferant wird per USt-IdNr. oder IBAN gefunden oder als Organisation "
    "angelegt, die Buchung verweist auf das archivierte Original.",
    Permission.LEDGER_WRITE,
)

SPEC = ModuleSpec(
    key="intake",
    title="Rechnungseingang",
    requires=("ledger", "documents", "contacts", "settings"),
    models="kms.modules.intake.models",
    cli="kms.modules.intake.cli.register",
    contact_references="kms.modules.intake.service.count_for_contact",
    contact_export="kms.modules.intake.service.export_for_contact",
    pages=(
        PageSpec(
            "pages/rechnungseingang.py",
            "Rechnungseingang",
            ":material/inbox:",
            PAGE,
            "Finanzen",
            functions=(BOOK,),
            permission=Permission.LEDGER_READ,
        ),
    ),
)
