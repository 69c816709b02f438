"""Fehlermeldungen: write bug reports and send them to support."""

from kms.functions import FunctionSpec
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SEND = FunctionSpec(
    key="bugreport_send",
    label="Fehlermeldung versenden",
    page="fehlermeldungen",
    description="Sendet eine Fehlermeldung mit der KMS-Version per E-Mail an den Support.",
    permission=Permission.BUGREPORTS,
)

SPEC = ModuleSpec(
    key="bugreports",
    title="Fehlermeldungen",
    requires=("settings",),
    models="kms.modules.bugreports.models",
    pages=(
        PageSpec(
            "pages/fehlermeldungen.py",
            "Fehlermeldungen",
            ":material/bug_report:",
            "fehlermeldungen",
            "Sonstiges",
            functions=(SEND,),
            permission=Permission.BUGREPORTS,
        ),
    ),
)
