"""Datenschutz (DSGVO): Auskunft (Art. 15) and Anonymisieren (Art. 17) for one contact.

Other modules contribute through the registry's `contact_export` hook: their data goes into
the same ZIP under their module key.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.contacts import service
from kms.modules.contacts.models import KINDS, ROLES, Contact
from kms.modules.contacts.transfer import vcard
from kms.permissions import Permission, require_permission
from kms.types import utcnow

ANONYMISED_NAME = "Anonymisiert"


def contact_record(contact: Contact) -> dict[str, Any]:
    """Everything the contacts module stores about one contact, with German field labels."""
    record: dict[str, Any] = {
        "ID": contact.id,
        "Art": KINDS[contact.kind],
    }
    for name, value in service.contact_values(contact).items():
        if name == "organisation_id":
            continue
        record[service.FIELD_LABELS[name]] = value
    record["Organisation"] = contact.organisation.name if contact.organisation else None
    record["Rollen"] = [ROLES[r] for r in sorted(contact.role_keys)]
    record["Tags"] = sorted(t.name for t in contact.tags)
    record["Archiviert am"] = contact.archived_at
    record["Angelegt am"] = contact.created_at
    record["Zuletzt geändert am"] = contact.updated_at
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _extract_files(data: Any, prefix: str, files: dict[str, bytes]) -> Any:
    """Replace bytes values by the path of a ZIP member holding them."""
    if isinstance(data, bytes):
        name = f"{prefix}.bin" if "." not in prefix.rsplit("/", 1)[-1] else prefix
        path = f"dateien/{name}"  # the JSON names the member exactly as stored in the ZIP
        files[path] = data
        return {"Datei": path}
    if isinstance(data, dict):
        return {k: _extract_files(v, f"{prefix}/{_safe(str(k))}", files) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_extract_files(v, f"{prefix}/{i + 1}", files) for i, v in enumerate(data)]
    return data


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip("._")
    return cleaned[:80] or "datei"


def subject_access(session: Session, contact_id: int) -> bytes:
    """A ZIP with auskunft.json (contacts + every registered module), a vCard and files."""
    require_permission(Permission.CONTACTS_READ, session)
    require_permission(Permission.EXPORT, session)
    from kms.registry import contact_exporters

    contact = service.get_contact(session, contact_id)
    modules: dict[str, Any] = {"Kunden": contact_record(contact)}
    if contact.kind == "organisation":
        modules["Kunden"]["Zugeordnete Personen"] = [
            p.display_name for p in service.members(session, contact.id)
        ]
    files: dict[str, bytes] = {}
    for key, title, exporter in contact_exporters():
        modules[title] = _extract_files(exporter(session, contact_id), key, files)
    document = {
        "Auskunft nach Art. 15 DSGVO": {
            "Erstellt am": utcnow(),
            "Betroffene Person": contact.display_name,
            "Hinweis": (
                "Diese Datei enthält alle Daten, die KMS zu diesem Kontakt gespeichert hat, "
                "gegliedert nach Modulen."
            ),
        },
        "Daten": modules,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "auskunft.json",
            json.dumps(document, ensure_ascii=False, indent=2, default=_json_default),
        )
        archive.writestr("kontakt.vcf", vcard(contact))
        for path, content in files.items():
            archive.writestr(path, content)
    return out.getvalue()


def subject_access_filename(contact: Contact) -> str:
    return f"auskunft-kontakt-{contact.id}-{utcnow():%Y%m%d}.zip"


def anonymise_contact(session: Session, contact_id: int) -> Contact:
    """Erase a contact's personal data (Art. 17 DSGVO); the row stays so references hold.

    Names, addresses, e-mail, phone, website, VAT ID, notes, tags and the link to an
    organisation are replaced by placeholders or removed; id, kind, customer number and roles
    stay (they identify no one). Issued invoices keep their own frozen recipient copy, which
    §147 AO and §14b UStG require to be retained.
    """
    require_permission(Permission.CONTACTS_WRITE, session)
    contact = service.get_contact(session, contact_id)
    if contact.is_owner:
        raise KmsError("Ihre eigene Person (Inhaber/in) kann nicht anonymisiert werden.")
    if contact.anonymised_at is not None:
        raise KmsError("Dieser Kontakt ist bereits anonymisiert.")
    blank: dict[str, Any] = {
        name: "" for name in service.PERSON_FIELDS + service.ORGANISATION_FIELDS
    } | {name: "" for name in service.COMMON_FIELDS}
    blank.pop("customer_number")
    blank["organisation_id"] = None
    blank["country"] = blank["delivery_country"] = "DE"
    blank["einvoice_format"] = "facturx"  # the default format, not an empty one
    for name, value in blank.items():
        setattr(contact, name, value)
    contact.organisation = None
    if contact.kind == "organisation":
        contact.name = f"{ANONYMISED_NAME} ({contact.id})"
    else:
        contact.last_name = f"{ANONYMISED_NAME} ({contact.id})"
    contact.tags = []
    now = utcnow()
    contact.anonymised_at = now
    contact.archived_at = contact.archived_at or now
    contact.search_key = service.search_key(ANONYMISED_NAME, contact.customer_number or "")
    contact.sort_key = service.search_key(ANONYMISED_NAME)
    session.flush()
    return contact
