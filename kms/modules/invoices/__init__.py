"""Rechnungen: lawful German invoices from draft to paid (numbers, PDF/A-3 + XML, payments)."""

from datetime import timedelta

from kms.functions import AutomatismSpec, FunctionSpec
from kms.modules.documents import retention
from kms.modules.invoices.report_specs import REPORTS
from kms.permissions import Permission
from kms.registry import DocumentType, ModuleSpec, PageSpec


def _overdue_watch(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.invoices.payments import overdue_watch

    return overdue_watch(session, now)


def _recurring(session, now):  # type: ignore[no-untyped-def]
    from kms.modules.invoices.recurring.service import automatism

    return automatism(session, now)


def _fn(key: str, label: str, description: str) -> FunctionSpec:
    return FunctionSpec(
        key=f"invoices_{key}",
        label=label,
        page="rechnungen",
        description=description,
        permission=Permission.INVOICES_WRITE,
    )


FUNCTIONS = (
    _fn(
        "issue",
        "Rechnung abschließen",
        "Prüft den Entwurf vollständig, vergibt die nächste Rechnungsnummer und erzeugt "
        "PDF/A-3 mit Factur-X-XML (und auf Wunsch XRechnung). Danach unveränderlich.",
    ),
    _fn(
        "cancel",
        "Stornieren",
        "Erzeugt eine Stornorechnung mit eigener Nummer, die die Rechnung vollständig aufhebt.",
    ),
    _fn(
        "correct",
        "Korrigieren",
        "Storniert die Rechnung und legt einen neuen Entwurf mit ihren Daten an.",
    ),
    _fn(
        "amend",
        "Teilkorrektur erstellen",
        "Legt eine Rechnungskorrektur (Typ 384) mit eigener Nummer an, die nur die Differenz "
        "enthält; die Rechnung bleibt bestehen, ihr offener Betrag ändert sich.",
    ),
    _fn(
        "payment",
        "Zahlung erfassen",
        "Erfasst einen Zahlungseingang, auf Wunsch mit Skonto, und aktualisiert den Status.",
    ),
    _fn(
        "payment_return",
        "Rückbuchung erfassen",
        "Nimmt eine erfasste Zahlung zurück (Rücklastschrift, Rückbuchung des "
        "Zahlungsdienstes): eine Gegenbuchung, die Rechnung ist wieder offen.",
    ),
    _fn(
        "dunning",
        "Zahlungserinnerung/Mahnung",
        "Erstellt eine kostenlose Zahlungserinnerung oder eine Mahnung (Stufe 1–3) mit "
        "Verzugszinsen nach § 288 BGB ab Verzugsbeginn, als PDF-Brief mit GiroCode.",
    ),
    _fn(
        "mail",
        "Per E-Mail senden",
        "Sendet Rechnung, Stornorechnung oder Mahnung mit PDF (und XRechnung) an den Kunden.",
    ),
)

SEPA_FUNCTIONS = (
    FunctionSpec(
        key="invoices_sepa_run",
        label="Lastschriftdatei erzeugen",
        page="lastschriften",
        description="Sammelt die fälligen, offenen Rechnungen mit SEPA-Mandat in einer "
        "pain.008-Datei (Erst- und Folgelastschriften getrennt) zum Einreichen bei der Bank.",
        permission=Permission.INVOICES_WRITE,
    ),
)


SPEC = ModuleSpec(
    key="invoices",
    title="Rechnungen",
    models="kms.modules.invoices.models",
    demo="kms.modules.invoices.demo.load",
    contact_panel="kms.modules.invoices.ui.panel",
    contact_references="kms.modules.invoices.service.count_invoices_for_contact",
    contact_export="kms.modules.invoices.contact_hooks.export_for_contact",
    requires=("contacts", "documents", "settings"),
    cli="kms.modules.invoices.cli.register",
    backup_counter="kms.modules.invoices.backup_hooks.COUNTER",
    # The originals of issued invoices and dunning letters, filed in Dokumente.
    document_types=(
        DocumentType("invoice", "Rechnung", retention.INVOICE_YEARS, retention.INVOICES),
        DocumentType("cancellation", "Stornorechnung", retention.INVOICE_YEARS, retention.INVOICES),
        DocumentType("invoice_xml", "Rechnungs-XML", retention.INVOICE_YEARS, retention.INVOICES),
        DocumentType("dunning", "Mahnung", retention.LETTER_YEARS, retention.LETTERS),
    ),
    pages=(
        PageSpec(
            "pages/rechnungen.py",
            "Rechnungen",
            ":material/receipt_long:",
            "rechnungen",
            "Rechnungen & Schreiben",
            functions=FUNCTIONS,
            permission=Permission.INVOICES_READ,
        ),
        # The price list whose items fill positions (Verkauf, #17); beside the invoices, as
        # quotes and recurring templates will take their positions from it too.
        PageSpec(
            "pages/artikel.py",
            "Leistungen & Artikel",
            ":material/inventory_2:",
            "artikel",
            "Rechnungen & Schreiben",
            permission=Permission.INVOICES_READ,
        ),
        PageSpec(
            "pages/lastschriften.py",
            "Lastschriften",
            ":material/account_balance:",
            "lastschriften",
            "Rechnungen & Schreiben",
            functions=SEPA_FUNCTIONS,
            permission=Permission.INVOICES_READ,
        ),
        PageSpec(
            "pages/wiederkehrende_rechnungen.py",
            "Wiederkehrende Rechnungen",
            ":material/event_repeat:",
            "wiederkehrende_rechnungen",
            "Rechnungen & Schreiben",
            permission=Permission.INVOICES_READ,
        ),
        # Quotes to customers (Verkauf, #17); the Preiskalkulation's offerings keep their
        # own page "Angebote", so this one is named after its addressees.
        PageSpec(
            "pages/kundenangebote.py",
            "Angebote an Kunden",
            ":material/request_quote:",
            "kundenangebote",
            "Rechnungen & Schreiben",
            permission=Permission.INVOICES_READ,
        ),
    ),
    automatisms=(
        AutomatismSpec(
            key="invoices_overdue",
            label="Überfällige Rechnungen melden",
            description="Prüft täglich, welche Rechnungen ihr Zahlungsziel überschritten haben, "
            "meldet jede neu überfällige Rechnung einmal im Prüfprotokoll und zeigt die "
            "überfälligen Rechnungen im Hinweisbanner an.",
            interval=timedelta(hours=6),
            run=_overdue_watch,
        ),
        AutomatismSpec(
            key="invoices_recurring",
            label="Wiederkehrende Rechnungen erstellen",
            description="Erstellt stündlich aus jeder aktiven Vorlage die fälligen Rechnungen, "
            "jeden Zeitraum genau einmal – auch nachträglich nach einer Pause des Servers oder "
            "einem Wartungsfenster (Rechnungsdatum: der Tag der Erstellung; "
            "Leistungszeitraum: der geplante Zeitraum). Je nach Vorlage werden sie "
            "ausgestellt und per E-Mail versendet, nur ausgestellt oder als Entwurf angelegt.",
            interval=timedelta(hours=1),
            run=_recurring,
        ),
    ),
    overview="kms.modules.invoices.overview.overview",
    reports=REPORTS,
)
