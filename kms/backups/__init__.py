"""Backups: ▶ Backup erzeugen / wiederherstellen / Alte Backups löschen, ⊕ reminders.

The ▶ functions belong to the Dokumente page (module Kunden): its PageSpec lists
`FUNCTIONS` and its script calls `kms.backups.ui.render_functions(ctx)`.
"""

from datetime import timedelta

from kms.functions import AutomatismSpec, FunctionSpec
from kms.permissions import Permission
from kms.registry import DocumentType, FileStore, ModuleSpec


def _watch(session, now):  # type: ignore[no-untyped-def]
    from kms.backups.automatisms import watch

    return watch(session, now)


def _daily(session, now):  # type: ignore[no-untyped-def]
    from kms.backups.automatisms import daily

    return daily(session, now)


CREATE = FunctionSpec(
    key="backup_create",
    label="Backup erzeugen",
    page="dokumente",
    permission=Permission.BACKUPS,
    description="Sichert Datenbank und alle gespeicherten Dateien in ein Archiv mit "
    "Prüfsummen, auf Wunsch mit Passphrase verschlüsselt.",
)
RESTORE = FunctionSpec(
    key="backup_restore",
    label="Backup wiederherstellen",
    page="dokumente",
    permission=Permission.BACKUPS,
    description="Prüft ein Backup, zeigt, was verloren ginge, sichert den jetzigen Stand und "
    "ersetzt dann alle Daten durch die des Backups.",
)
PRUNE = FunctionSpec(
    key="backup_prune",
    label="Alte Backups löschen",
    page="dokumente",
    permission=Permission.BACKUPS,
    description="Löscht alte Backups und behält je Tag der letzten 7 Tage und je Woche der "
    "letzten 4 Wochen das neueste (einstellbar) sowie immer das neueste Backup.",
)
FUNCTIONS = (CREATE, RESTORE, PRUNE)

WATCH_KEY = "backup_watch"  # re-run soon after every new backup (kms.backups.create)

SPEC = ModuleSpec(
    key="backups",
    title="Backups",
    requires=("documents",),
    routes="kms.backups.routes.routes",
    # Archives stay in data/backups (the "backups" store) and are listed in Dokumente.
    document_types=(
        DocumentType(
            "backup",
            "Backup",
            user_selectable=False,
            delete_with="kms.backups.documents.delete_backup_document",
        ),
    ),
    file_stores=(
        FileStore("backups", "kms.backups.store.backups_dir", "kms.backups.routes.download_url"),
    ),
    # Finishes a restore that a killed process left, then lists the archives in Dokumente.
    on_start="kms.backups.documents.sync_now",
    automatisms=(
        # The daily backup first: in one tick the reminder then judges the backup just made
        # (Hilfe showed "Es gibt noch kein Backup" beside "Tägliches Backup … erzeugt").
        AutomatismSpec(
            key="backup_daily",
            label="Tägliches Backup",
            description="Erzeugt einmal am Tag ein Backup und löscht danach alte Backups nach "
            "den Aufbewahrungsregeln (abschaltbar unter Dokumente → Backups).",
            interval=timedelta(hours=1),
            run=_daily,
        ),
        AutomatismSpec(
            key=WATCH_KEY,
            label="An Backups erinnern",
            description="Warnt im Hinweisbanner, wenn das neueste Backup älter als 7 Tage ist "
            "(älter als 1 Tag, wenn an 3 der letzten 7 Tage Geschäftsdaten gespeichert wurden).",
            interval=timedelta(hours=1),
            run=_watch,
            runs_in_maintenance=True,
        ),
    ),
    overview="kms.backups.overview.overview",
    cli="kms.backups.cli.register",
)
