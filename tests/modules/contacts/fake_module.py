"""A stand-in add-on that refers to contacts: references, export with files, and a panel."""

from __future__ import annotations

from typing import Any

from kms.registry import ModuleSpec

# contact id -> invoice numbers "issued" to it
INVOICES: dict[int, list[str]] = {}

SPEC = ModuleSpec(
    key="fakeinvoices",
    title="Fremdmodul",
    contact_references="tests.modules.contacts.fake_module.count",
    contact_export="tests.modules.contacts.fake_module.export",
    contact_panel="tests.modules.contacts.fake_module.panel",
)


def count(_session: Any, contact_id: int) -> int:
    return len(INVOICES.get(contact_id, []))


def export(_session: Any, contact_id: int) -> dict[str, Any]:
    numbers = INVOICES.get(contact_id, [])
    return {
        "Rechnungen": numbers,
        "Belege": {f"{n}.pdf": b"%PDF-1.7 " + n.encode() for n in numbers},
    }


def panel(contact_id: int) -> None:
    import streamlit as st

    numbers = INVOICES.get(contact_id, [])
    st.write("Rechnungen: " + (", ".join(numbers) or "keine"))
