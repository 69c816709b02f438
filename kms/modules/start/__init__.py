"""Start page: the overview after login."""

from kms.registry import ModuleSpec, PageSpec

SPEC = ModuleSpec(
    key="start",
    title="Start",
    pages=(PageSpec("pages/start.py", "Übersicht", ":material/home:", "start", ""),),
)
