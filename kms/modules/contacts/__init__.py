"""Kunden: Personen (and, later, Organisationen and Dokumente)."""

from kms.registry import ModuleSpec, PageSpec

SPEC = ModuleSpec(
    key="contacts",
    title="Kunden",
    demo="kms.modules.contacts.demo.load",
    models="kms.modules.contacts.models",
    pages=(PageSpec("pages/personen.py", "Personen", ":material/person:", "personen", "Kunden"),),
)
