"""Benutzer: logins with roles (Inhaber, Mitarbeiter, Steuerberater); Mein Zugang for everyone."""

from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SPEC = ModuleSpec(
    key="users",
    title="Benutzer",
    pages=(
        PageSpec(
            "pages/benutzer.py",
            "Benutzer",
            ":material/group:",
            "benutzer",
            "Sonstiges",
            permission=Permission.USERS,
        ),
        # Every logged-in user: change one's own password.
        PageSpec("pages/konto.py", "Mein Zugang", ":material/key:", "konto", "Sonstiges"),
    ),
)
