"""Kontakte import (CSV) and export (CSV, XLSX, vCard); the same code serves pages and CLI.

CSV import accepts semicolon, comma or tab as separator, UTF-8 with or without BOM or
Windows-1252, quoted fields with separators and line breaks. Row numbers in messages count
records as a spreadsheet shows them: the header is row 1, the first contact row 2.

Column headers are matched case-insensitively, ignoring spaces and punctuation
(„E-Mail“ = „email“ = „E Mail“). Recognised headers and their synonyms:

| field | header (export) | synonyms on import |
|---|---|---|
| kind | Art | Kontaktart, Typ |
| customer number | Kundennummer | Kunden-Nr., Kundennr., Debitorennummer, Debitor |
| organisation | Firma | Firmenname, Unternehmen, Organisation, Organisationsname |
| legal form | Rechtsform | – |
| Leitweg-ID | Leitweg-ID | Käuferreferenz, Buyer Reference |
| e-invoice format | E-Rechnungsformat | E-Rechnung, Rechnungsformat (key or label as exported) |
| salutation | Anrede | – (Frau, Herr, divers, keine/leer) |
| title | Titel | Akademischer Titel |
| first name | Vorname | – |
| last name | Nachname | Familienname |
| function | Funktion | Position, Jobtitel |
| street | Straße | Strasse, Str., Straße und Hausnummer, Adresse |
| house number | – | Hausnummer, Hausnr. (appended to the street) |
| address extra | Adresszusatz | Zusatz |
| postcode | PLZ | Postleitzahl |
| town | Ort | Stadt |
| country | Land | Ländercode, Country (ISO code or name: DE, Deutschland, Germany) |
| delivery street | Lieferadresse Straße | Lieferstraße |
| delivery extra | Lieferadresse Zusatz | – |
| delivery postcode | Lieferadresse PLZ | Liefer-PLZ |
| delivery town | Lieferadresse Ort | Lieferort |
| delivery country | Lieferadresse Land | Lieferland |
| e-mail | E-Mail | Email, E-Mail-Adresse, Mail |
| phone | Telefon | Tel., Telefonnummer, Mobil, Handy (first non-empty) |
| website | Website | Webseite, Homepage, Internet, URL |
| VAT ID | USt-IdNr. | USt-ID, UStIdNr, Umsatzsteuer-ID, VAT ID |
| roles | Rollen | Rolle (Kunde, Interessent, Lieferant, Inhaber/in; comma-separated) |
| tags | Tags | Schlagworte, Schlagwörter, Stichwörter |
| notes | Notizen | Notiz, Bemerkung, Bemerkungen, Kommentar |

Rows: with a column Art the row is what it says (a person's Firma names the organisation it
belongs to). Without one, a row with Firma and a person's name creates the organisation
(with customer number, address, VAT ID, roles, tags) and the linked person (name, function,
e-mail, phone); Firma alone an organisation, a name alone a person. An organisation named
in several rows, or already in KMS, is created once and linked. Rows without a role get Kunde.
Other columns are ignored (the preview lists them).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kms import tabular
from kms.einvoice.model import EINVOICE_FORMAT_LABELS
from kms.errors import KmsError, ValidationError
from kms.formatting import neutralise
from kms.modules.contacts import service
from kms.modules.contacts.models import KINDS, ROLES, SALUTATIONS, Contact
from kms.permissions import Permission, require_permission

# field → (export header, import synonyms)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kind": ("Art", ("Kontaktart", "Typ")),
    "customer_number": (
        "Kundennummer",
        ("Kunden-Nr.", "Kundennr.", "Debitorennummer", "Debitor"),
    ),
    "organisation": (
        "Firma",
        ("Firmenname", "Unternehmen", "Organisation", "Organisationsname"),
    ),
    "legal_form": ("Rechtsform", ()),
    "buyer_reference": ("Leitweg-ID", ("Käuferreferenz", "Buyer Reference")),
    "salutation": ("Anrede", ()),
    "title": ("Titel", ("Akademischer Titel",)),
    "first_name": ("Vorname", ()),
    "last_name": ("Nachname", ("Familienname",)),
    "job_title": ("Funktion", ("Position", "Jobtitel")),
    "street": ("Straße", ("Strasse", "Str.", "Straße und Hausnummer", "Adresse")),
    "house_number": ("Hausnummer", ("Hausnr.",)),
    "address_extra": ("Adresszusatz", ("Zusatz",)),
    "postcode": ("PLZ", ("Postleitzahl",)),
    "city": ("Ort", ("Stadt",)),
    "country": ("Land", ("Ländercode", "Country")),
    "delivery_street": ("Lieferadresse Straße", ("Lieferstraße", "Lieferadresse Strasse")),
    "delivery_extra": ("Lieferadresse Zusatz", ()),
    "delivery_postcode": ("Lieferadresse PLZ", ("Liefer-PLZ",)),
    "delivery_city": ("Lieferadresse Ort", ("Lieferort",)),
    "delivery_country": ("Lieferadresse Land", ("Lieferland",)),
    "email": ("E-Mail", ("Email", "E-Mail-Adresse", "Mail")),
    "phone": ("Telefon", ("Tel.", "Telefonnummer", "Mobil", "Handy")),
    "website": ("Website", ("Webseite", "Homepage", "Internet", "URL")),
    "vat_id": ("USt-IdNr.", ("USt-ID", "UStIdNr", "Umsatzsteuer-ID", "VAT ID")),
    "roles": ("Rollen", ("Rolle",)),
    "tags": ("Tags", ("Schlagworte", "Schlagwörter", "Stichwörter")),
    "notes": ("Notizen", ("Notiz", "Bemerkung", "Bemerkungen", "Kommentar")),
    # Last, so the columns of earlier exports keep their place.
    "einvoice_format": ("E-Rechnungsformat", ("E-Rechnung", "Rechnungsformat")),
}
EXPORT_FIELDS = [f for f in COLUMNS if f != "house_number"]
ORG_ROW_FIELDS = (
    "customer_number",
    "legal_form",
    "buyer_reference",
    "einvoice_format",
    "street",
    "address_extra",
    "postcode",
    "city",
    "country",
    "delivery_street",
    "delivery_extra",
    "delivery_postcode",
    "delivery_city",
    "delivery_country",
    "website",
    "vat_id",
    "notes",
)
PERSON_ROW_FIELDS = (
    "salutation",
    "title",
    "first_name",
    "last_name",
    "job_title",
    "email",
    "phone",
)


_HEADER_MAP = tabular.header_map(COLUMNS)


# --- planning the import -----------------------------------------------------------------------


@dataclass
class ImportRow:
    """One contact row of the file and what importing it would do."""

    row: int
    action: str
    organisation: dict[str, Any] | None = None
    person: dict[str, Any] | None = None
    roles: set[str] = field(default_factory=set)
    tags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def display_name(self) -> str:
        person = self.person or {}
        name = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
        return name or (self.organisation or {}).get("name", "")


@dataclass
class ImportPlan(tabular.ImportPlan):
    """The result of reading a file: rows, problems by row, and (after import) counts."""

    rows: list[ImportRow] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    created_persons: int = 0
    created_organisations: int = 0

    @property
    def warnings(self) -> list[tuple[int, str]]:
        return [(r.row, r.action) for r in self.rows if r.skipped]

    def preview(self) -> list[dict[str, str]]:
        """Rows for the preview table."""
        return [
            {
                "Zeile": str(r.row),
                "Aktion": r.action,
                "Name": r.display_name,
                "Organisation": (r.organisation or {}).get("name", ""),
                "E-Mail": (r.person or r.organisation or {}).get("email", ""),
                "PLZ": (r.organisation or r.person or {}).get("postcode", ""),
                "Ort": (r.organisation or r.person or {}).get("city", ""),
                "Kundennummer": (r.organisation or r.person or {}).get("customer_number", "") or "",
                "Fehler": " ".join(r.errors),
            }
            for r in self.rows
        ]


def _country_code(value: str) -> str:
    text = value.strip()
    if len(text) == 2:
        return text.upper()
    wanted = service.search_key(text)
    for locale_names in (service.country_names(), _english_country_names()):
        for code, name in locale_names.items():
            if service.search_key(name) == wanted:
                return code
    return text


def _english_country_names() -> dict[str, str]:
    from babel import Locale

    return {k: v for k, v in Locale("en").territories.items() if len(k) == 2}


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;|]", value) if part.strip()]


def _duplicate_keys(values: dict[str, Any], kind: str) -> list[str]:
    """What makes two contacts the same: the e-mail, or the folded name plus postcode."""
    keys = []
    if values.get("email"):
        keys.append("mail:" + values["email"].casefold())
    name = _sort_key(values, kind)
    if name and values.get("postcode"):
        keys.append(f"name:{kind}:{name}|{values['postcode'].replace(' ', '')}")
    return keys


def _sort_key(values: dict[str, Any], kind: str) -> str:
    if kind == "person":
        return service.search_key(values.get("last_name", ""), values.get("first_name", ""))[:300]
    return service.search_key(values.get("name", ""))[:300]


def _existing_duplicate(session: Session, values: dict[str, Any], kind: str) -> Contact | None:
    """A contact in KMS with the same e-mail, or the same name and postcode."""
    conditions = []
    if values.get("email"):
        conditions.append(func.lower(Contact.email) == values["email"].casefold())
    if values.get("postcode"):
        conditions.append(
            (Contact.kind == kind)
            & (Contact.sort_key == _sort_key(values, kind))
            & (Contact.postcode == values["postcode"])
        )
    if not conditions:
        return None
    return session.scalar(
        select(Contact).where(or_(*conditions), Contact.anonymised_at.is_(None)).limit(1)
    )


def _existing_organisation(session: Session, name: str) -> Contact | None:
    """An organisation in KMS with this (folded) name; active ones first."""
    return session.scalar(
        select(Contact)
        .where(
            Contact.kind == "organisation",
            Contact.sort_key == service.search_key(name)[:300],
            Contact.anonymised_at.is_(None),
        )
        .order_by(Contact.archived_at.is_not(None), Contact.id)
        .limit(1)
    )


def _messages(exc: KmsError) -> list[str]:
    return tabular.field_messages(exc, service.FIELD_LABELS)


@dataclass
class _Planner:
    """State while reading rows: what the file holds so far, for duplicates within it."""

    session: Session
    skip_duplicates: bool
    header: list[str]
    index: dict[str, list[int]]
    keys: dict[str, int] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)  # folded name -> row

    def row(self, row_no: int, record: list[str]) -> ImportRow:
        row = ImportRow(row=row_no, action="")
        if len(record) > len(self.header):
            row.errors.append(
                f"Die Zeile hat {len(record)} Felder, die Kopfzeile nur {len(self.header)}. "
                "Fehlen Anführungszeichen um einen Wert mit Trennzeichen?"
            )
            return row
        raw = {name: _cell(record, self.index, name) for name in COLUMNS}
        if raw["house_number"]:
            raw["street"] = f"{raw['street']} {raw['house_number']}".strip()
        for name in ("country", "delivery_country"):
            if raw[name]:
                raw[name] = _country_code(raw[name])
        kind = _row_kind(raw, row)
        try:
            row.roles = service.clean_roles(_split_list(raw["roles"])) or {"kunde"}
            row.tags = service.clean_tags(_split_list(raw["tags"]))
        except ValidationError as exc:
            row.errors.append(f"{service.FIELD_LABELS[exc.field]}: {exc.message}")
        if row.errors:
            return row
        self._shape(row, raw, kind)
        self._validate(row)
        if not row.errors:
            self._duplicates(row)
        return row

    def _shape(self, row: ImportRow, raw: dict[str, str], kind: str | None) -> None:
        """Decide what the row creates: an organisation, a person, or both."""
        company = raw["organisation"]
        has_name = bool(raw["last_name"] or raw["first_name"])
        if kind == "organisation" or (kind is None and company and not has_name):
            row.organisation = {"name": company, "email": raw["email"], "phone": raw["phone"]}
            row.organisation |= {k: raw[k] for k in ORG_ROW_FIELDS}
            row.action = "Organisation"
            return
        if kind == "person" or not company:
            row.person = {k: raw[k] for k in (*PERSON_ROW_FIELDS, *ORG_ROW_FIELDS)}
            del row.person["legal_form"], row.person["buyer_reference"]
            row.action = "Person"
            if company:
                row.organisation = {"name": company, "_link": True}
                row.action = f"Person bei „{company}“"
            return
        row.person = {k: raw[k] for k in PERSON_ROW_FIELDS}
        key = service.search_key(company)
        if key in self.organisations:
            row.organisation = {"name": company, "_link": True}
            row.action = f"Person bei „{company}“ (aus Zeile {self.organisations[key]})"
        elif (existing := _existing_organisation(self.session, company)) is not None:
            row.organisation = {"name": existing.name, "_link": True}
            row.action = f"Person bei bestehender Organisation „{existing.name}“"
        else:
            row.organisation = {"name": company} | {k: raw[k] for k in ORG_ROW_FIELDS}
            row.action = "Organisation + Person"

    def _validate(self, row: ImportRow) -> None:
        """The same field checks as the forms."""
        if row.organisation is not None and not row.organisation.get("_link"):
            try:
                row.organisation = service.clean_contact(
                    self.session, "organisation", row.organisation
                )
            except KmsError as exc:
                row.errors.extend(_messages(exc))
        if row.person is not None:
            values = dict(row.person)
            if values.get("salutation", "").casefold() == "firma":
                values["salutation"] = ""
            try:
                row.person = service.clean_contact(self.session, "person", values)
            except KmsError as exc:
                row.errors.extend(_messages(exc))

    def _new_contacts(self, row: ImportRow) -> list[tuple[dict[str, Any], str]]:
        out = []
        if row.organisation is not None and not row.organisation.get("_link"):
            out.append((row.organisation, "organisation"))
        if row.person is not None:
            person = dict(row.person)
            if not person.get("postcode") and out:
                person["postcode"] = out[0][0].get("postcode", "")
            out.append((person, "person"))
        return out

    def _duplicates(self, row: ImportRow) -> None:
        """Against KMS (error, or skip when asked) and against earlier rows (always an error)."""
        for values, kind in self._new_contacts(row):
            duplicate = _existing_duplicate(self.session, values, kind)
            if duplicate is None:
                continue
            number = duplicate.customer_number
            text = (
                f"„{duplicate.display_name}“{f' (Kundennummer {number})' if number else ''} "
                "gibt es schon (gleiche E-Mail oder gleicher Name und PLZ)"
            )
            if self.skip_duplicates:
                row.skipped = True
                row.action = f"übersprungen: {text}"
            else:
                row.errors.append(text + ".")
            return
        for values, kind in self._new_contacts(row):
            for key in _duplicate_keys(values, kind):
                if key in self.keys:
                    row.errors.append(
                        f"Doppelt: derselbe Kontakt steht schon in Zeile {self.keys[key]} "
                        "(gleiche E-Mail oder gleicher Name und PLZ)."
                    )
                    return
            if kind == "organisation":
                name = service.search_key(values["name"])
                if name in self.organisations:
                    row.errors.append(
                        f"Doppelt: die Organisation steht schon in Zeile "
                        f"{self.organisations[name]}."
                    )
                    return
            number = values.get("customer_number")
            if number and number in self.numbers:
                row.errors.append(
                    f"Die Kundennummer „{number}“ steht schon in Zeile {self.numbers[number]}."
                )
                return
        for values, kind in self._new_contacts(row):
            for key in _duplicate_keys(values, kind):
                self.keys[key] = row.row
            if values.get("customer_number"):
                self.numbers[values["customer_number"]] = row.row
            if kind == "organisation":
                self.organisations[service.search_key(values["name"])] = row.row


def plan_import(session: Session, data: bytes, *, skip_duplicates: bool = False) -> ImportPlan:
    """Read and check a CSV file without writing anything; every problem names its row."""
    plan = ImportPlan()
    records = plan.read(data, tabular.read_records)
    if records is None:
        return plan
    header = [cell.strip() for cell in records[0]]
    found = tabular.columns(header, _HEADER_MAP)
    index, plan.columns, plan.ignored_columns = found.index, found.names, found.ignored
    if "last_name" not in index and "organisation" not in index:
        plan.file_errors.append(
            "Die Spalte „Nachname“ oder „Firma“ fehlt in der Kopfzeile (Zeile 1). Gefunden: "
            + (", ".join(f"„{h}“" for h in header if h) or "keine Spalten")
            + "."
        )
        return plan
    if len(records) == 1:
        plan.file_errors.append("Die Datei enthält nur die Kopfzeile, aber keine Kontakte.")
        return plan
    planner = _Planner(session, skip_duplicates, header, index)
    plan.rows = [planner.row(n, record) for n, record in enumerate(records[1:], start=2)]
    return plan


def _cell(record: list[str], index: dict[str, list[int]], name: str) -> str:
    for i in index.get(name, []):
        if i < len(record) and record[i].strip():
            value = tabular.unneutralise(record[i].strip())
            return value if name == "notes" else " ".join(value.split())
    return ""


def _row_kind(raw: dict[str, str], row: ImportRow) -> str | None:
    if not raw["kind"]:
        return None
    wanted = raw["kind"].casefold()
    for key, label in KINDS.items():
        if wanted in (key, label.casefold()):
            return key
    row.errors.append(f"Art: „{raw['kind']}“ ist weder Person noch Organisation.")
    return None


# --- applying the import -----------------------------------------------------------------------


def apply_import(session: Session, plan: ImportPlan) -> ImportPlan:
    """Create every planned contact, or nothing: refuses a plan with any problem.

    Organisations first, so a person's row may name an organisation further down the file.
    """
    require_permission(Permission.CONTACTS_WRITE, session)
    if not plan.ok:
        raise KmsError(
            f"Der Import wurde nicht ausgeführt: {len(plan.problems)} Problem(e) in der Datei. "
            "Nichts wurde importiert."
        )
    rows = [r for r in plan.rows if not r.skipped]
    organisations: dict[str, Contact] = {}
    for row in rows:
        org = row.organisation
        if org is not None and not org.get("_link"):
            company_row = row.person is not None
            organisations[service.search_key(org["name"])] = service.create_contact(
                session, kind="organisation", roles=row.roles, tags=row.tags, **org
            )
            plan.created_organisations += 1
            row.organisation = org | {"_created": company_row}
    for row in rows:
        if row.person is None:
            continue
        org_id = None
        company_row = False
        if row.organisation is not None:
            key = service.search_key(row.organisation["name"])
            company_row = bool(row.organisation.get("_created"))
            linked = organisations.get(key) or _existing_organisation(
                session, row.organisation["name"]
            )
            if linked is None:
                linked = service.create_contact(
                    session, kind="organisation", name=row.organisation["name"]
                )
                plan.created_organisations += 1
            organisations[key] = linked
            org_id = linked.id
        service.create_contact(
            session,
            kind="person",
            # In an "Organisation + Person" row roles and tags belong to the company.
            roles=() if company_row else row.roles,
            tags=() if company_row else row.tags,
            **(row.person | {"organisation_id": org_id}),
        )
        plan.created_persons += 1
    plan.imported = True
    return plan


def import_contacts(
    session: Session, data: bytes, *, dry_run: bool = False, skip_duplicates: bool = False
) -> ImportPlan:
    """Plan and (unless dry_run or there are problems) import; the caller commits."""
    plan = plan_import(session, data, skip_duplicates=skip_duplicates)
    if plan.ok and not dry_run:
        apply_import(session, plan)
    return plan


# --- export ------------------------------------------------------------------------------------


def _export_values(contact: Contact) -> dict[str, str]:
    values = {k: str(v or "") for k, v in service.contact_values(contact).items()}
    values["kind"] = KINDS[contact.kind]
    values["einvoice_format"] = EINVOICE_FORMAT_LABELS.get(
        contact.einvoice_format, contact.einvoice_format
    )
    if not contact.delivery_street:
        values["delivery_country"] = ""
    if contact.kind == "organisation":
        values["organisation"] = contact.name
    else:
        values["organisation"] = contact.organisation.name if contact.organisation else ""
        values["salutation"] = SALUTATIONS[contact.salutation] if contact.salutation else ""
    values["roles"] = ", ".join(ROLES[r] for r in sorted(contact.role_keys))
    values["tags"] = ", ".join(sorted(t.name for t in contact.tags))
    return values


def export_rows(session: Session, **filters: Any) -> Iterator[list[str]]:
    """Header, then one neutralised row per contact (filters as in list_contacts)."""
    require_permission(Permission.CONTACTS_READ, session)
    require_permission(Permission.EXPORT, session)
    yield [COLUMNS[f][0] for f in EXPORT_FIELDS]
    stmt = service.filtered(**filters).order_by(Contact.kind, Contact.sort_key, Contact.id)
    for contact in session.scalars(stmt.execution_options(yield_per=500)):
        values = _export_values(contact)
        yield [neutralise(values.get(f, "")) for f in EXPORT_FIELDS]


def export_csv(session: Session, **filters: Any) -> bytes:
    """CSV for Excel: UTF-8 with BOM, semicolon, CRLF."""
    return tabular.write_csv(export_rows(session, **filters))


def export_xlsx(session: Session, **filters: Any) -> bytes:
    """An XLSX workbook (every cell text, formulas neutralised)."""
    return tabular.write_xlsx(export_rows(session, **filters), "Kontakte")


# --- vCard -------------------------------------------------------------------------------------


def _vtext(value: str) -> str:
    """RFC 6350 §3.4: escape backslash, comma, semicolon and newlines in a text value."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str) -> str:
    """RFC 6350 §3.2: lines longer than 75 octets continue on the next with a space."""
    out, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def vcard(contact: Contact) -> str:
    """A vCard 4.0 of the contact (CRLF line ends, folded, escaped)."""
    lines = ["BEGIN:VCARD", "VERSION:4.0"]
    uid = uuid.uuid5(uuid.NAMESPACE_URL, f"kms:contact:{contact.id}")
    if contact.kind == "organisation":
        lines += ["KIND:org", f"FN:{_vtext(contact.name)}", f"ORG:{_vtext(contact.name)}"]
    else:
        lines += [
            "KIND:individual",
            f"FN:{_vtext(contact.display_name)}",
            "N:"
            + ";".join(
                _vtext(p) for p in (contact.last_name, contact.first_name, "", contact.title, "")
            ),
        ]
        gender = {"frau": "F", "herr": "M", "divers": "O"}.get(contact.salutation)
        if gender:
            lines.append(f"GENDER:{gender}")
        if contact.organisation is not None:
            lines.append(f"ORG:{_vtext(contact.organisation.name)}")
        if contact.job_title:
            lines.append(f"TITLE:{_vtext(contact.job_title)}")
    if contact.email:
        lines.append(f"EMAIL;TYPE=work:{_vtext(contact.email)}")
    if contact.phone:
        lines.append(f"TEL;TYPE=voice:{_vtext(contact.phone)}")
    countries = service.country_names()
    for kind, prefix in (("work", ""), ("delivery", "delivery_")):
        street = getattr(contact, f"{prefix}street")
        if not street:
            continue
        parts = (
            "",
            getattr(contact, f"{prefix}extra" if prefix else "address_extra"),
            street,
            getattr(contact, f"{prefix}city"),
            "",
            getattr(contact, f"{prefix}postcode"),
            countries.get(getattr(contact, f"{prefix}country"), ""),
        )
        label = "TYPE=work" if kind == "work" else 'TYPE=work;LABEL="Lieferadresse"'
        lines.append(f"ADR;{label}:" + ";".join(_vtext(p) for p in parts))
    if contact.website:
        lines.append(f"URL:{contact.website}")
    if contact.tags:
        lines.append("CATEGORIES:" + ",".join(_vtext(t.name) for t in contact.tags))
    if contact.notes:
        lines.append(f"NOTE:{_vtext(contact.notes)}")
    updated: datetime = contact.updated_at
    lines += [
        f"UID:urn:uuid:{uid}",
        f"REV:{updated.strftime('%Y%m%dT%H%M%SZ')}",
        "END:VCARD",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def vcard_filename(contact: Contact) -> str:
    """A safe file name like "Erika-Mustermann.vcf"."""
    name = unicodedata.normalize("NFKD", contact.display_name)
    name = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or f"kontakt-{contact.id}"
    return f"{name}.vcf"
