"""Einnahmen/Ausgaben: the books of an Einnahmenüberschussrechner (accounts, bookings,
tax keys, categories mapped to the EÜR, GoBD Festschreibung, income from invoices)."""

from kms.registry import ModuleSpec

SPEC = ModuleSpec(
    key="ledger",
    title="Einnahmen/Ausgaben",
    requires=("contacts", "documents", "invoices", "settings"),
    models="kms.modules.ledger.models",
    contact_references="kms.modules.ledger.contact_hooks.count_for_contact",
    contact_export="kms.modules.ledger.contact_hooks.export_for_contact",
)
