"""Rechnungseingang: received e-invoices (XRechnung CII/UBL, ZUGFeRD/Factur-X) and other
invoices and receipts: safe parsing, offline validation, the unchanged original archived as a
Buchungsbeleg, duplicate detection, and ▶ "Als Ausgabe buchen"."""

from datetime import timedelta

from kms.functions import AutomatismSpec, FunctionSpec
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


def _poll(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.intake.imap import poll

    return poll(session, now)


SPEC = ModuleSpec(
    key="intake",
    title="Rechnungseingang",
    requires=("ledger", "documents", "contacts", "settings"),
    models="kms.modules.intake.models",
    cli="kms.modules.intake.cli.register",
    contact_references="kms.modules.intake.service.count_for_contact",
    contact_export="kms.modules.intake.service.export_for_contact",
    automatisms=(
        AutomatismSpec(
            key="intake_imap_poll",
            label="Rechnungen aus dem E-Mail-Postfach holen",
            description="Liest die Anhänge (XRechnung, ZUGFeRD/Factur-X, PDF, Fotos) neuer "
            "E-Mails im eingerichteten IMAP-Ordner in den Rechnungseingang ein und verschiebt "
            "jede verarbeitete E-Mail in den Ordner für verarbeitete Mails.",
            interval=timedelta(minutes=15),
            run=_poll,
        ),
    ),
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
