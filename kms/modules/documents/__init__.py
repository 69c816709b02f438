"""Dokumente: uploads and the documents KMS generates, linked to persons and organisations."""

from datetime import timedelta

from kms.backups import FUNCTIONS as BACKUP_FUNCTIONS
from kms.functions import AutomatismSpec
from kms.modules.documents import retention
from kms.permissions import Permission
from kms.registry import DocumentType, ModuleSpec, PageSpec


def _sweep(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.documents.service import sweep_orphans

    return sweep_orphans(session, now)


SPEC = ModuleSpec(
    key="documents",
    title="Dokumente",
    requires=("contacts",),
    models="kms.modules.documents.models",
    demo="kms.modules.documents.demo.load",
    contact_panel="kms.modules.documents.ui.panel",
    contact_references="kms.modules.documents.service.count_for_contact",
    contact_export="kms.modules.documents.service.export_for_contact",
    routes="kms.modules.documents.routes.routes",
    # Dokumente's own types; invoices, letters and backups declare theirs in their SPECs.
    document_types=(
        DocumentType("upload", "Upload"),
        DocumentType(
            "received_invoice", "Eingangsrechnung", retention.INVOICE_YEARS, retention.INVOICES
        ),
        DocumentType("books", "Bücher und Aufzeichnungen", retention.BOOK_YEARS, retention.BOOKS),
        DocumentType("other", "Sonstiges"),
    ),
    pages=(
        PageSpec(
            "pages/dokumente.py",
            "Dokumente",
            ":material/description:",
            "dokumente",
            "Kunden",
            functions=BACKUP_FUNCTIONS,  # ▶ Backup erzeugen / wiederherstellen / löschen
            permission=Permission.DOCUMENTS_READ,
        ),
    ),
    automatisms=(
        AutomatismSpec(
            key="documents_sweep",
            label="Verwaiste Dateien aufräumen",
            description="Entfernt gespeicherte Dateien, zu denen es seit über einer Stunde "
            "kein Dokument mehr gibt (z. B. nach einem Absturz beim Speichern oder Löschen), "
            "und meldet Dokumente, deren Datei fehlt.",
            interval=timedelta(hours=1),
            run=_sweep,
        ),
    ),
)
