"""The ledger's reports (kms.reporting.ReportSpec), offered by the Berichte page, kms.reports
and `python -m kms report`."""

from kms.reporting import Column, ReportSpec

_R = "kms.modules.ledger.reports"

ANLAGE_AVUER_COLUMNS = (
    Column("Bezeichnung", "text", "Anlagegut; die letzte Zeile „Summe“"),
    Column("Anschaffung", "date", "Tag der Anschaffung"),
    Column("Methode", "text", "AfA-Methode und Nutzungsdauer"),
    Column("Anschaffungskosten", "money", "Anschaffungskosten netto"),
    Column("Buchwert Anfang", "money", "Buchwert am 1. Januar"),
    Column("Zugänge", "money", "Anschaffungen im Jahr"),
    Column("AfA", "money", "Abschreibung des Jahres (GWG: Sofortabschreibung)"),
    Column("Abgänge", "money", "Restbuchwert der im Jahr ausgeschiedenen Anlagegüter"),
    Column("Buchwert Ende", "money", "Buchwert am 31. Dezember"),
)

REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        key="euer",
        title="EÜR",
        function=f"{_R}.euer",
        columns=(
            Column(
                "Bereich", "text", "Betriebseinnahmen, Betriebsausgaben, Nicht abziehbar, Summe"
            ),
            Column("Kennzahl", "text", "Kennzahl der Anlage EÜR des Jahres"),
            Column("Zeile", "text", "Zeile im Vordruck (nur zur Orientierung)"),
            Column("Bezeichnung", "text"),
            Column("Betrag", "money", "Euro"),
        ),
        period="year",
        description="Einnahmenüberschussrechnung des Jahres nach Kennzahlen der Anlage EÜR.",
        chart="Betrag",
        note=f"{_R}.euer_note",
    ),
    ReportSpec(
        key="anlage_avuer",
        title="Anlagenverzeichnis (Anlage AVEÜR)",
        function=f"{_R}.anlage_avuer",
        columns=ANLAGE_AVUER_COLUMNS,
        period="year",
        description="Anlagegüter des Jahres mit Buchwert, Zugängen, AfA und Abgängen.",
        chart="AfA",
    ),
    ReportSpec(
        key="ustva",
        title="USt-Voranmeldung",
        function=f"{_R}.ustva",
        columns=(
            Column("Kennzahl", "text"),
            Column("Bezeichnung", "text"),
            Column("Bemessungsgrundlage", "money", "Euro, netto"),
            Column("Steuer", "money", "Euro"),
        ),
        period="period",
        description="Umsatzsteuer-Voranmeldung eines Monats oder Quartals nach Kennzahlen.",
        note=f"{_R}.ustva_note",
    ),
    ReportSpec(
        key="expenses_by_category",
        title="Ausgaben nach Kategorie",
        function=f"{_R}.expenses_by_category",
        columns=(
            Column("Kategorie", "text"),
            Column("EÜR-Kennzahl", "text"),
            Column("Netto", "money"),
            Column("Vorsteuer", "money"),
            Column("Brutto", "money"),
            Column("Nicht abziehbar", "money"),
        ),
        period="period",
        description="Ausgaben des Zeitraums je Kategorie.",
        chart="Netto",
    ),
    ReportSpec(
        key="cashbook",
        title="Kassenbuch",
        function=f"{_R}.cashbook",
        columns=(
            Column("Datum", "date"),
            Column("Kasse", "text"),
            Column("Einnahmen", "money"),
            Column("Ausgaben", "money"),
            Column("Bestand", "money", "Bestand am Ende des Tages"),
        ),
        period="period",
        description="Kassenbuch: Einnahmen, Ausgaben und Bestand je Kasse und Tag.",
    ),
)
