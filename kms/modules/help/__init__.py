"""Hilfe and Tutorial Ersteinrichtung."""

from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SPEC = ModuleSpec(
    key="help",
    title="Hilfe",
    requires=("contacts",),
    pages=(
        PageSpec(
            "pages/ersteinrichtung.py",
            "Tutorial Ersteinrichtung",
            ":material/school:",
            "ersteinrichtung",
            "Sonstiges",
            permission=Permission.SETTINGS,
        ),
        PageSpec("pages/hilfe.py", "Hilfe", ":material/help:", "hilfe", "Sonstiges"),
    ),
)
