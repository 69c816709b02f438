"""Hilfe and Tutorial Ersteinrichtung."""

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
        ),
        PageSpec("pages/hilfe.py", "Hilfe", ":material/help:", "hilfe", "Sonstiges"),
    ),
)
