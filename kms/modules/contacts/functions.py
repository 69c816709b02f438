"""The ▶ functions of the Personen and Organisationen pages (no Streamlit import here)."""

from __future__ import annotations

from kms.functions import FunctionSpec
from kms.permissions import Permission


def functions(page: str, kind: str) -> tuple[FunctionSpec, ...]:
    """The ▶ functions of the Personen or Organisationen page."""
    many = "Organisationen" if kind == "organisation" else "Personen"
    common = (
        FunctionSpec(
            f"{page}_import",
            "Import (CSV)",
            page,
            "Kontakte aus einer CSV-Datei übernehmen: erst Vorschau mit Fehlern je Zeile, dann "
            "alles oder nichts.",
            Permission.CONTACTS_WRITE,
        ),
        FunctionSpec(
            f"{page}_export",
            "Export (CSV/Excel)",
            page,
            f"{many} als CSV (Excel-tauglich) oder XLSX herunterladen.",
            Permission.EXPORT,
        ),
    )
    if kind == "organisation":
        return (
            *common,
            FunctionSpec(
                "kunden_nummernformat",
                "Kundennummern-Format",
                page,
                "Aufbau neuer Kundennummern festlegen, z. B. K-{NNNNN}.",
                Permission.CONTACTS_WRITE,
            ),
        )
    return (
        *common,
        FunctionSpec(
            f"{page}_auskunft",
            "Auskunft (Art. 15 DSGVO)",
            page,
            "Alles, was KMS über die geöffnete Person gespeichert hat, als ZIP herunterladen.",
            Permission.EXPORT,
        ),
        FunctionSpec(
            f"{page}_anonymisieren",
            "Anonymisieren (Art. 17 DSGVO)",
            page,
            "Personenbezogene Daten der geöffneten Person löschen; Verweise (z. B. Rechnungen) "
            "bleiben gültig.",
            Permission.CONTACTS_WRITE,
        ),
    )


PERSON_FUNCTIONS = functions("personen", "person")
ORGANISATION_FUNCTIONS = functions("organisationen", "organisation")
