"""Kunden: Personen and Organisationen (one contacts table)."""

from kms.modules.contacts.functions import ORGANISATION_FUNCTIONS, PERSON_FUNCTIONS
from kms.permissions import Permission
from kms.registry import ModuleSpec, PageSpec

SPEC = ModuleSpec(
    key="contacts",
    title="Kunden",
    demo="kms.modules.contacts.demo.load",
    models="kms.modules.contacts.models",
    pages=(
        PageSpec(
            "pages/personen.py",
            "Personen",
            ":material/person:",
            "personen",
            "Kunden",
            functions=PERSON_FUNCTIONS,
            permission=Permission.CONTACTS_READ,
        ),
        PageSpec(
            "pages/organisationen.py",
            "Organisationen",
            ":material/apartment:",
            "organisationen",
            "Kunden",
            functions=ORGANISATION_FUNCTIONS,
            permission=Permission.CONTACTS_READ,
        ),
    ),
    overview="kms.modules.contacts.overview.overview",
    cli="kms.modules.contacts.cli.register",
)
