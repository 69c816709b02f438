"""Schreiben: DIN 5008 letters to contacts, templates, Serienbrief and e-mail."""

from kms.functions import FunctionSpec
from kms.modules.documents import retention
from kms.permissions import Permission
from kms.registry import DocumentType, ModuleSpec, PageSpec

PAGE = "schreiben"
MAIL_MERGE = FunctionSpec(
    "letters.serienbrief",
    "Serienbrief",
    PAGE,
    "Eine Vorlage an eine gefilterte Gruppe von Kontakten: ein PDF je Empfänger und ein "
    "Gesamt-PDF zum Drucken; Empfänger ohne Anschrift werden übersprungen und aufgelistet.",
    Permission.LETTERS_WRITE,
)
MARK_SENT = FunctionSpec(
    "letters.mark_sent",
    "Als versendet markieren",
    PAGE,
    "Der ausgewählte Entwurf wurde per Post verschickt: sein PDF wird endgültig gespeichert.",
    Permission.LETTERS_WRITE,
)
SEND_EMAIL = FunctionSpec(
    "letters.send_email",
    "Per E-Mail senden",
    PAGE,
    "Den ausgewählten Entwurf als PDF-Anhang über Ihren Mailserver senden; danach ist er "
    "versendet und unveränderlich.",
    Permission.LETTERS_WRITE,
)
COPY = FunctionSpec(
    "letters.copy",
    "Als neuen Entwurf kopieren",
    PAGE,
    "Den ausgewählten Brief als neuen, bearbeitbaren Entwurf mit heutigem Datum kopieren.",
    Permission.LETTERS_WRITE,
)

SPEC = ModuleSpec(
    key="letters",
    title="Schreiben",
    requires=("contacts", "documents", "settings"),
    models="kms.modules.letters.models",
    demo="kms.modules.letters.demo.load",
    contact_panel="kms.modules.letters.ui.panel",
    contact_references="kms.modules.letters.contact_hooks.count_for_contact",
    contact_export="kms.modules.letters.contact_hooks.export_for_contact",
    # Sent letters, filed in Dokumente.
    document_types=(DocumentType("letter", "Brief", retention.LETTER_YEARS, retention.LETTERS),),
    pages=(
        PageSpec(
            "pages/schreiben.py",
            "Schreiben",
            ":material/mail:",
            PAGE,
            "Rechnungen & Schreiben",
            functions=(MAIL_MERGE, MARK_SENT, SEND_EMAIL, COPY),
            permission=Permission.LETTERS_READ,
        ),
    ),
    overview="kms.modules.letters.overview.overview",
)
