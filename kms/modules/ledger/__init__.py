"""Einnahmen/Ausgaben: the books of an Einnahmenüberschussrechner (accounts, bookings,
tax keys, categories mapped to the EÜR, GoBD Festschreibung, income from invoices)."""

from datetime import timedelta

from kms.functions import AutomatismSpec, FunctionSpec
from kms.modules.documents import retention
from kms.modules.ledger.report_specs import REPORTS
from kms.permissions import Permission
from kms.registry import DocumentType, ModuleSpec, PageSpec

PAGE = "einnahmen-ausgaben"
ACCOUNTS_PAGE = "konten"


def _sync(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.ledger.sync import sync_payments

    return sync_payments(session, now)


def _auto_lock(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.ledger.service import auto_lock

    return auto_lock(session, now)


LOCK = FunctionSpec(
    "ledger.lock",
    "Zeitraum festschreiben",
    PAGE,
    "Schreibt einen abgelaufenen Monat und alle offenen Monate davor fest (GoBD): Buchungen "
    "und Zahlungen darin können danach nicht mehr geändert oder gelöscht werden; "
    "Korrekturen nur als Gegenbuchung in einem offenen Zeitraum.",
    Permission.LEDGER_LOCK,
)
REVERSE = FunctionSpec(
    "ledger.reverse",
    "Gegenbuchung",
    PAGE,
    "Bucht die ausgewählte Buchung mit umgekehrtem Vorzeichen in einem offenen Zeitraum "
    "(Korrektur festgeschriebener Buchungen).",
    Permission.LEDGER_WRITE,
)
DATEV_EXPORT = FunctionSpec(
    "ledger.datev",
    "DATEV-Export",
    PAGE,
    "Schreibt die Buchungen eines Zeitraums (innerhalb eines Wirtschaftsjahres) als DATEV-"
    "Buchungsstapel (EXTF) zum Import bei der Steuerkanzlei. Berater-Nr., Mandanten-Nr., SKR "
    "und Konten stehen unter Einstellungen → DATEV.",
    Permission.LEDGER_READ,
)
KANZLEIPAKET = FunctionSpec(
    "ledger.kanzleipaket",
    "Kanzleipaket",
    PAGE,
    "Ein ZIP für die Steuerkanzlei: EÜR, USt-Voranmeldungen, Journal, DATEV-Datei, "
    "Anlagenverzeichnis und alle Belege des Zeitraums (Belegarchiv mit Verzeichnis).",
    Permission.LEDGER_READ,
)

SPEC = ModuleSpec(
    key="ledger",
    title="Einnahmen/Ausgaben",
    requires=("contacts", "documents", "invoices", "settings"),
    models="kms.modules.ledger.models",
    demo="kms.modules.ledger.demo.load",
    contact_panel="kms.modules.ledger.ui.panel",
    contact_references="kms.modules.ledger.contact_hooks.count_for_contact",
    contact_export="kms.modules.ledger.contact_hooks.export_for_contact",
    overview="kms.modules.ledger.overview.overview",
    cli="kms.modules.ledger.cli.register",
    routes="kms.modules.ledger.routes.routes",
    reports=REPORTS,
    # Receipts of bookings are Buchungsbelege: 8 years (§ 147 Abs. 1 Nr. 4, Abs. 3 AO).
    document_types=(
        DocumentType(
            "booking_receipt", "Buchungsbeleg", retention.INVOICE_YEARS, retention.RECEIPTS
        ),
    ),
    # The one § 19 turnover computation (the tax key decides what counts); invoices no
    # longer declares its own source, so no payment is counted twice.
    turnover_source="kms.modules.ledger.turnover.received_turnover",
    pages=(
        PageSpec(
            "pages/einnahmen-ausgaben.py",
            "Einnahmen/Ausgaben",
            ":material/account_balance_wallet:",
            PAGE,
            "Finanzen",
            functions=(LOCK, REVERSE, DATEV_EXPORT, KANZLEIPAKET),
            permission=Permission.LEDGER_READ,
        ),
        PageSpec(
            "pages/konten.py",
            "Konten",
            ":material/account_balance:",
            ACCOUNTS_PAGE,
            "Finanzen",
            permission=Permission.LEDGER_READ,
        ),
    ),
    automatisms=(
        AutomatismSpec(
            key="ledger_sync_payments",
            label="Rechnungszahlungen buchen",
            description="Bucht jede Zahlung zu einer Rechnung genau einmal als Einnahme "
            "(je Steuersatz eine Position, Skonto anteilig) und die Erstattung, wenn eine "
            "bezahlte Rechnung storniert wurde.",
            interval=timedelta(minutes=5),
            run=_sync,
        ),
        AutomatismSpec(
            key="ledger_auto_lock",
            label="Zeiträume automatisch festschreiben",
            description="Schreibt jeden Monat fest, sobald seine Frist abgelaufen ist (Ende "
            "des Folgemonats, mit Dauerfristverlängerung einen Monat später), und erinnert "
            "eine Woche vorher im Hinweisbanner.",
            interval=timedelta(hours=6),
            run=_auto_lock,
        ),
    ),
)
