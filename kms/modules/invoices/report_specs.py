"""The invoice module's reports as declared to the registry (functions in reports.py).

Kept free of SQLAlchemy and pandas so the module's SPEC stays cheap to import."""

from __future__ import annotations

from kms.reporting import Column, ReportSpec

ZM = "zm"
OPEN_ITEMS = "open_items"
REVENUE_BY_MONTH = "revenue_by_month"
REVENUE_BY_CUSTOMER = "revenue_by_customer"

ZM_COLUMNS = (
    Column("Land", "text", "Länderkennzeichen der USt-IdNr. des Kunden (z. B. AT, FR, EL)."),
    Column("USt-IdNr.", "text", "USt-IdNr. des Kunden, wie auf der Rechnung angegeben."),
    Column("Kunde", "text", "Name des Kunden, wie auf der Rechnung angegeben."),
    Column(
        "Lieferungen (K)",
        "money",
        "Netto der innergemeinschaftlichen Lieferungen (Steuerkategorie K), in Euro.",
    ),
    Column(
        "Sonstige Leistungen (AE)",
        "money",
        "Netto der im übrigen Gemeinschaftsgebiet steuerpflichtigen sonstigen Leistungen "
        "(§ 13b, Steuerkategorie AE, Kunde in einem anderen EU-Staat), in Euro.",
    ),
)
OPEN_ITEMS_COLUMNS = (
    Column("Kunde", "text"),
    Column("Nummer", "text", "Rechnungsnummer."),
    Column("Datum", "date", "Rechnungsdatum."),
    Column("Fällig", "date", "Fälligkeitsdatum."),
    Column("Betrag", "money", "Rechnungsbetrag brutto."),
    Column("Offen", "money", "Noch offener Betrag brutto (ohne Überzahlungen, mit Skonto)."),
    Column("Tage überfällig", "int", "Tage seit Fälligkeit; 0, solange nicht überfällig."),
    Column("Bucket", "text", "Altersklasse: 0–30, 31–60, 61–90 oder > 90 Tage überfällig."),
)
REVENUE_BY_MONTH_COLUMNS = (
    Column("Monat", "text"),
    Column("Rechnungen", "int", "Ausgestellte Rechnungen (ohne Stornorechnungen)."),
    Column("Stornos", "int", "Ausgestellte Stornorechnungen."),
    Column("Netto", "money", "Nettoumsatz nach Rechnungsdatum; Stornorechnungen negativ."),
    Column("Umsatzsteuer", "money", "Ausgewiesene Umsatzsteuer; Stornorechnungen negativ."),
    Column("Brutto", "money", "Bruttobetrag; Stornorechnungen negativ."),
)
REVENUE_BY_CUSTOMER_COLUMNS = (
    Column("Kunde", "text"),
    Column("Kundennummer", "text"),
    Column("Rechnungen", "int", "Ausgestellte Rechnungen (ohne Stornorechnungen)."),
    Column("Netto", "money", "Nettoumsatz des Jahres; Stornorechnungen negativ."),
    Column("Anteil", "percent", "Anteil am Nettoumsatz des Jahres in Prozent."),
)

REPORTS = (
    ReportSpec(
        ZM,
        "Zusammenfassende Meldung",
        "kms.modules.invoices.reports.zm",
        ZM_COLUMNS,
        "period",
        "Innergemeinschaftliche Lieferungen und sonstige Leistungen an EU-Kunden je "
        "USt-IdNr. (§ 18a UStG), aus den Rechnungen.",
        note="kms.modules.invoices.reports.zm_note",
    ),
    ReportSpec(
        OPEN_ITEMS,
        "Offene Posten",
        "kms.modules.invoices.reports.open_items",
        OPEN_ITEMS_COLUMNS,
        "none",
        "Offene Rechnungen mit Stand heute, nach Tagen überfällig gruppiert.",
        chart="Offen",
    ),
    ReportSpec(
        REVENUE_BY_MONTH,
        "Umsatz nach Monaten",
        "kms.modules.invoices.reports.revenue_by_month",
        REVENUE_BY_MONTH_COLUMNS,
        "year",
        "Nettoumsatz der ausgestellten Rechnungen je Monat eines Jahres (Rechnungsdatum).",
        chart="Netto",
    ),
    ReportSpec(
        REVENUE_BY_CUSTOMER,
        "Umsatz nach Kunden",
        "kms.modules.invoices.reports.revenue_by_customer",
        REVENUE_BY_CUSTOMER_COLUMNS,
        "year",
        "Nettoumsatz der ausgestellten Rechnungen eines Jahres je Kunde.",
        chart="Netto",
    ),
)
SPECS = {spec.key: spec for spec in REPORTS}
