"""From a contact to what a letter prints: address lines, Anrede, Grußformel, placeholders.

Pure functions over Contact and CompanyProfile objects; no database access.
"""

from __future__ import annotations

from datetime import date

from kms.errors import ValidationError
from kms.formatting import format_date
from kms.modules.contacts.models import Contact
from kms.modules.settings.models import CompanyProfile
from kms.rendering.din5008 import build_address_lines, check_address_lines, country_name
from kms.rendering.errors import RenderError
from kms.rendering.models import Company, PostalAddress
from kms.validation import representation_required

FORMAL_CLOSING = "Mit freundlichen Grüßen"
NEUTRAL_CLOSING = "Freundliche Grüße"
TO_ALL = "Sehr geehrte Damen und Herren,"
# DIN 5008: the address names a man in the accusative ("Herrn"); the salutation says "Herr".
ADDRESS_WORD = {"frau": "Frau", "herr": "Herrn"}
SALUTATION_WORD = {"frau": "Frau", "herr": "Herr"}
# Sole traders and freelancers have no legal-form suffix in their name.
NO_SUFFIX_FORMS = ("Einzelunternehmen", "Freiberufler/in")


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _t(value: str | None) -> str:
    """A column value as stripped text (unsaved objects may still hold None)."""
    return (value or "").strip()


def organisation_name(org: Contact) -> str:
    """ "Musterfirma GmbH": the name with its legal form unless the name already ends in it."""
    if org.legal_form and not _t(org.name).endswith(_t(org.legal_form)):
        return _join(org.name, org.legal_form)
    return _t(org.name)


def _is_person(contact: Contact) -> bool:
    return contact.kind == "person" and bool(_t(contact.last_name))


def suggest_salutation(contact: Contact | None) -> str:
    """ "Sehr geehrte Frau Dr. Muster," / "Guten Tag Kim Muster," / "Sehr geehrte Damen und …"."""
    if contact is None or not _is_person(contact):
        return TO_ALL
    word = SALUTATION_WORD.get(contact.salutation)
    if word == "Frau":
        return f"Sehr geehrte Frau {_join(contact.title, contact.last_name)},"
    if word == "Herr":
        return f"Sehr geehrter Herr {_join(contact.title, contact.last_name)},"
    # divers or no Anrede: no gendered form; the full name instead.
    return f"Guten Tag {_join(contact.title, contact.first_name, contact.last_name)},"


def suggest_closing(contact: Contact | None) -> str:
    """The Grußformel that matches the suggested Anrede's tone."""
    if suggest_salutation(contact).startswith("Guten Tag"):
        return NEUTRAL_CLOSING
    return FORMAL_CLOSING


def _person_line(contact: Contact) -> str:
    """ "Frau Dr. Erika Muster", "Herrn Max Mustermann" or "Kim Muster" (DIN 5008)."""
    return _join(
        ADDRESS_WORD.get(contact.salutation, ""),
        contact.title,
        contact.first_name,
        contact.last_name,
    )


def _address_source(contact: Contact) -> Contact:
    """Whose street to print: the person's own, else their organisation's."""
    org = contact.organisation if contact.kind == "person" else None
    if org is not None and not _t(contact.street) and _t(org.street):
        return org
    return contact


def address_lines(contact: Contact) -> list[str]:
    """DIN 5008 recipient lines; a German error when the contact has no usable address."""
    name = contact.display_name or contact.name
    if contact.kind == "organisation":
        names = [organisation_name(contact)]
    elif contact.organisation is not None:
        names = [organisation_name(contact.organisation), _person_line(contact)]
    else:
        names = [_person_line(contact)]
    source = _address_source(contact)
    street = _t(source.street)
    postcode, town = _t(source.postcode), _t(source.city)
    if not street or not town:
        raise ValidationError(
            "recipient",
            f"Für {name or 'diesen Kontakt'} ist keine vollständige Anschrift hinterlegt "
            "(Straße, PLZ und Ort). Bitte die Anschrift beim Kontakt ergänzen.",
        )
    if _t(source.address_extra):
        names.append(source.address_extra)
    try:
        return build_address_lines(names, street, postcode, town, _t(source.country) or "DE")
    except RenderError as exc:
        raise ValidationError("recipient", f"Anschrift von {name}: {exc}") from exc


def free_address_lines(text: str) -> list[str]:
    """Lines typed by hand; the same DIN 5008 checks (≤ 6 lines, width) apply."""
    try:
        return check_address_lines(text.splitlines())
    except RenderError as exc:
        raise ValidationError("free_address", str(exc)) from exc


def contact_values(contact: Contact | None) -> dict[str, str]:
    """Placeholder values of the recipient (empty dict for a free address)."""
    if contact is None:
        return {}
    source = _address_source(contact)
    if contact.kind == "organisation":
        firma = organisation_name(contact)
    else:
        firma = organisation_name(contact.organisation) if contact.organisation else ""
    try:
        land = country_name(_t(source.country) or "DE")
    except RenderError:
        land = source.country
    return {
        "anrede": SALUTATION_WORD.get(contact.salutation, "") if _is_person(contact) else "",
        "briefanrede": suggest_salutation(contact),
        "titel": contact.title,
        "vorname": contact.first_name,
        "nachname": contact.last_name,
        "name": organisation_name(contact)
        if contact.kind == "organisation"
        else contact.display_name,
        "firma": firma,
        "kundennummer": contact.customer_number or "",
        "strasse": source.street,
        "plz": source.postcode,
        "ort": source.city,
        "land": land,
        "email": contact.email,
    }


def company_values(company: Company) -> dict[str, str]:
    """Placeholder values of the sender."""
    return {
        "absender_firma": company.display_name,
        "absender_name": company.contact_person,
        "absender_strasse": company.address.street,
        "absender_plz": company.address.postcode,
        "absender_ort": company.address.town,
        "absender_telefon": company.phone,
        "absender_email": company.email,
        "absender_website": company.website,
    }


def placeholder_values(contact: Contact | None, company: Company, letter_date: date) -> dict:
    """Every value a letter to `contact` can fill (contact ones only with a contact)."""
    return {**contact_values(contact), "datum": format_date(letter_date), **company_values(company)}


def _names_representative(profile: CompanyProfile) -> bool:
    try:
        return representation_required(profile.legal_form)
    except ValidationError:
        return False


def sender_from_profile(profile: CompanyProfile, logo: bytes | None = None) -> Company:
    """The rendering sender from Einstellungen; a German error while the profile is empty."""
    if not _t(profile.company_name) or not _t(profile.city):
        raise ValidationError(
            "sender",
            "Bitte tragen Sie zuerst Ihre Firmendaten unter Einstellungen ein (mindestens "
            "Firmenname und Anschrift); sie stehen im Briefkopf.",
        )
    return Company(
        name=profile.company_name,
        legal_form="" if profile.legal_form in NO_SUFFIX_FORMS else profile.legal_form,
        address=PostalAddress(profile.street, profile.postcode, profile.city, profile.country),
        contact_person=profile.contact_name,
        phone=profile.phone,
        email=profile.email,
        website=profile.website,
        tax_number=profile.tax_number,
        vat_id=profile.vat_id,
        bank_name=profile.bank_name,
        iban=profile.iban,
        bic=profile.bic,
        register_court=profile.register_court,
        register_number=profile.register_number,
        # § 35a GmbHG, § 80 AktG …: representatives on business letters where the law asks.
        managing_director=profile.representative if _names_representative(profile) else "",
        logo=logo,
    )
