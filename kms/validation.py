"""Validators for German master data; each returns the normalised value or raises ValidationError.

Every validator takes the raw form input and a keyword `field` (the form field the error belongs
to). Blank input is an error; wrap optional fields in `optional(...)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import schwifty
from schwifty import exceptions as schwifty_errors
from stdnum import exceptions as stdnum_errors
from stdnum.de import leitweg as stdnum_leitweg
from stdnum.de import stnr as stdnum_stnr
from stdnum.eu import at_02 as stdnum_creditor_id
from stdnum.eu import vat as stdnum_vat

from kms.errors import FieldErrors, KmsError, ValidationError, ValidationErrors

__all__ = [
    "LEGAL_FORMS",
    "FieldErrors",
    "KmsError",
    "LegalForm",
    "ValidationError",
    "ValidationErrors",
    "clean_text",
    "format_iban",
    "get_legal_form",
    "optional",
    "parse_decimal",
    "parse_money",
    "register_required",
    "representation_required",
    "validate_bic",
    "validate_email",
    "validate_iban",
    "validate_leitweg_id",
    "validate_phone",
    "validate_postcode",
    "validate_register_court",
    "validate_register_number",
    "validate_tax_number",
    "validate_vat_id",
    "validate_website",
]

T = TypeVar("T")


def optional(validator: Callable[..., T], value: str | None, /, **kwargs: object) -> T | None:
    """Run `validator` unless the value is None or blank, in which case return None."""
    if value is None or not str(value).strip():
        return None
    return validator(value, **kwargs)


def _clean(value: str, field: str, label: str) -> str:
    """Strip, NFC-normalise and require a non-blank value."""
    if not isinstance(value, str):
        raise TypeError(f"{field}: expected str, got {type(value).__name__}")
    cleaned = unicodedata.normalize("NFC", value).strip()
    if not cleaned:
        raise ValidationError(field, f"Bitte {label} angeben.")
    return cleaned


# --- Domains (shared by e-mail and website) -------------------------------------------------

# RFC 1035 §2.3.1 / RFC 5891: labels of letters, digits and hyphens, 1..63 octets, no hyphen at
# either end; the whole name at most 253 octets in its ASCII (Punycode) form.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def _domain_problem(domain: str) -> str | None:
    """Return why `domain` is not a usable internet domain name, or None when it is fine."""
    if "." not in domain:
        return "die Domain braucht eine Endung wie .de"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "die Domain enthält unzulässige Zeichen"
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return "die Domain ist ungültig"
    if not re.fullmatch(r"[a-z]{2,63}|xn--[a-z0-9-]+", labels[-1]):
        return "die Domain-Endung ist ungültig"
    return None


# --- E-mail -----------------------------------------------------------------------------------

# Pragmatic subset of RFC 5322 §3.4.1: an ASCII dot-atom local part (no quoted strings, no
# comments), which every mail server accepts without SMTPUTF8; the domain may be an IDN.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def validate_email(value: str, *, field: str = "email") -> str:
    """Check an e-mail address (local@domain.tld) and return it with a lower-case domain."""
    address = _clean(value, field, "eine E-Mail-Adresse")
    problem = _email_problem(address)
    if problem:
        raise ValidationError(field, f"Die E-Mail-Adresse „{address}“ ist ungültig: {problem}.")
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _email_problem(address: str) -> str | None:
    """Return why `address` is not a usable e-mail address, or None."""
    if any(char.isspace() for char in address):
        return "sie enthält Leerzeichen"
    if address.count("@") != 1:
        return "sie muss genau ein @ enthalten"
    local, domain = address.split("@")
    if not local or not domain:
        return "vor und nach dem @ muss etwas stehen"
    # RFC 5321 §4.5.3.1.1: the local part is at most 64 octets.
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        return "der Teil vor dem @ enthält unzulässige Zeichen"
    return _domain_problem(domain.lower())


# --- Postcode, phone --------------------------------------------------------------------------

# Country rules: DE five digits (Deutsche Post, no code starts with 00), AT and CH four digits.
_POSTCODE_RULES = {
    "DE": (re.compile(r"(?!00)[0-9]{5}"), "fünf Ziffern"),
    "AT": (re.compile(r"[0-9]{4}"), "vier Ziffern"),
    "CH": (re.compile(r"[0-9]{4}"), "vier Ziffern"),
}
_FOREIGN_POSTCODE = re.compile(r"[A-Z0-9](?:[A-Z0-9 -]{0,8}[A-Z0-9])?")


def validate_postcode(value: str, country: str = "DE", *, field: str = "postcode") -> str:
    """Check a postcode against the rules of `country` (ISO 3166-1 alpha-2)."""
    code = " ".join(_clean(value, field, "eine Postleitzahl").upper().split())
    country = country.strip().upper()
    pattern, description = _POSTCODE_RULES.get(
        country, (_FOREIGN_POSTCODE, "höchstens 10 Buchstaben, Ziffern, Leerzeichen oder -")
    )
    if not pattern.fullmatch(code):
        raise ValidationError(
            field, f"Die Postleitzahl „{code}“ ist für {country} ungültig ({description})."
        )
    return code


_PHONE_CHARS = re.compile(r"\+?[0-9 /()\-]+")


def validate_phone(value: str, *, field: str = "phone") -> str:
    """Check a phone number leniently (digits, spaces, + / - parentheses; 6 to 20 digits)."""
    number = " ".join(_clean(value, field, "eine Telefonnummer").split())
    if not _PHONE_CHARS.fullmatch(number):
        raise ValidationError(
            field,
            f"Die Telefonnummer „{number}“ darf nur Ziffern, Leerzeichen und + / - ( ) enthalten"
            " (das + nur am Anfang).",
        )
    # E.164 allows 15 digits; 20 leaves room for extensions like "-123".
    digits = sum(char.isdigit() for char in number)
    if not 6 <= digits <= 20:
        raise ValidationError(
            field, f"Die Telefonnummer „{number}“ muss zwischen 6 und 20 Ziffern haben."
        )
    return number


# --- Tax identifiers (python-stdnum) ----------------------------------------------------------


def _stdnum_check(
    validate: Callable[[str], str], value: str, *, field: str, label: str, component: str
) -> str:
    """Run a stdnum validator; turn its exception into a German ValidationError about `label`."""
    text = _clean(value, field, f"eine {label}")
    try:
        return validate(text)
    except stdnum_errors.InvalidChecksum:
        reason = "Prüfziffer"
    except stdnum_errors.InvalidLength:
        reason = "falsche Länge"
    except stdnum_errors.InvalidFormat:
        reason = "falsches Format"
    except stdnum_errors.InvalidComponent:
        reason = component
    except stdnum_errors.ValidationError:
        reason = "falscher Aufbau"
    raise ValidationError(field, f"Die {label} „{text}“ ist ungültig ({reason}).")


def validate_vat_id(value: str, *, field: str = "vat_id") -> str:
    """Check an EU VAT ID (USt-IdNr.) offline and return it compact, e.g. "DE123456788"."""
    # stdnum checks country prefix, length and the national check digit (for DE: ISO 7064
    # MOD 11,10); whether the number is actually assigned needs an online VIES/BZSt query.
    return _stdnum_check(
        stdnum_vat.validate,
        value,
        field=field,
        label="USt-IdNr.",
        component="unbekanntes EU-Länderkürzel, z. B. DE",
    )


def validate_tax_number(value: str, *, region: str | None = None, field: str = "tax_number") -> str:
    """Check a German Steuernummer (regional 10/11 or federal 13 digits) and return digits only."""
    # stdnum.de.stnr knows each Bundesland's regional layout (e.g. "181/815/08155") and the
    # 13-digit ELSTER layout; it checks structure only - it verifies no check digit, so a
    # typo inside a valid layout passes. `region` (e.g. "Bayern") narrows the layouts.
    if region is not None and region not in stdnum_stnr.REGIONS:
        raise ValueError(f"unknown region {region!r}; expected one of stdnum.de.stnr.REGIONS")
    number = _stdnum_check(
        stdnum_stnr.validate, value, field=field, label="Steuernummer", component="Bundesland"
    )
    if region is not None and not stdnum_stnr.is_valid(number, region):
        raise ValidationError(
            field, f"Die Steuernummer „{value.strip()}“ passt nicht zum Bundesland {region}."
        )
    return number


def validate_creditor_id(value: str, *, field: str = "creditor_id") -> str:
    """Check a SEPA creditor identifier (Gläubiger-ID, AT-02) and return it compact and
    upper-case, e.g. "DE98ZZZ09999999999"."""
    # stdnum.eu.at_02 checks the ISO 7064 MOD 97-10 check digits (over the national part and
    # the country, skipping the creditor business code); the Bundesbank's German layout is
    # stricter: 18 characters, the national part 11 digits.
    number = _stdnum_check(
        stdnum_creditor_id.validate,
        value,
        field=field,
        label="Gläubiger-Identifikationsnummer",
        component="falscher Aufbau",
    ).upper()
    if number.startswith("DE") and not (len(number) == 18 and number[7:].isdigit()):
        raise ValidationError(
            field,
            f"Die Gläubiger-Identifikationsnummer „{value.strip()}“ ist ungültig (eine deutsche "
            "hat 18 Zeichen, z. B. DE98ZZZ09999999999).",
        )
    return number


def validate_leitweg_id(value: str, *, field: str = "leitweg_id") -> str:
    """Check a Leitweg-ID (buyer reference for XRechnung) and return it upper-case."""
    # python-stdnum 2.2 ships stdnum.de.leitweg, implementing the KoSIT "Formatspezifikation
    # Leitweg-ID" v2.0.2: coarse part 2-12 digits, optional fine part up to 30 alphanumerics,
    # two check digits per ISO 7064 MOD 97-10 over the whole ID without hyphens.
    return _stdnum_check(
        stdnum_leitweg.validate,
        value,
        field=field,
        label="Leitweg-ID",
        component="unbekannte Kennzahl von Bund oder Land am Anfang",
    )


# --- Bank details (schwifty) ------------------------------------------------------------------


def validate_iban(value: str, *, field: str = "iban") -> str:
    """Check an IBAN (ISO 13616 check digits and country length) and return it compact."""
    text = _clean(value, field, "eine IBAN")
    try:
        return str(schwifty.IBAN(text))
    except schwifty_errors.InvalidChecksumDigits:
        reason = "Prüfziffer – bitte auf Tippfehler prüfen"
    except schwifty_errors.InvalidCountryCode:
        reason = "unbekanntes Länderkürzel am Anfang"
    except schwifty_errors.InvalidLength:
        reason = "falsche Länge für dieses Land"
    except schwifty_errors.SchwiftyException:
        reason = "unzulässige Zeichen oder falscher Aufbau"
    raise ValidationError(field, f"Die IBAN „{text}“ ist ungültig ({reason}).")


def format_iban(value: str) -> str:
    """Validate an IBAN and return it in groups of four, e.g. "DE02 1203 0000 …"."""
    from kms.formatting import format_iban as group_iban

    return group_iban(validate_iban(value))


def validate_bic(value: str, *, iban: str | None = None, field: str = "bic") -> str:
    """Check a BIC (ISO 9362) and, when an IBAN is given, that both belong to the same country."""
    text = _clean(value, field, "einen BIC")
    try:
        bic = schwifty.BIC(text)
    except schwifty_errors.InvalidCountryCode:
        raise ValidationError(
            field, f"Der BIC „{text}“ enthält ein unbekanntes Länderkürzel."
        ) from None
    except schwifty_errors.SchwiftyException:
        raise ValidationError(
            field, f"Der BIC „{text}“ ist ungültig (8 oder 11 Zeichen, z. B. BYLADEM1001)."
        ) from None
    if iban and iban.strip():
        iban_object = schwifty.IBAN(iban, allow_invalid=True)
        iban_country = iban_object.country_code
        # Compare only where schwifty knows the IBAN's country; validate_iban reports the rest.
        if iban_object.country is not None and bic.country_code != iban_country:
            raise ValidationError(
                field,
                f"Der BIC „{bic}“ gehört zu einer Bank in {bic.country_code}, "
                f"die IBAN aber zu {iban_country}.",
            )
    return str(bic)


# --- Commercial register and legal forms ------------------------------------------------------


@dataclass(frozen=True)
class LegalForm:
    """A German legal form and what it implies for register data and business letters."""

    name: str
    register_type: str | None  # register section the entity is entered in, None if none
    register_required: bool  # register court and number are mandatory master data
    representation_required: bool  # managing directors / board must appear on business letters
    legal_basis: str  # where the duties on business letters come from


LEGAL_FORMS: tuple[LegalForm, ...] = (
    # Kleingewerbe without Kaufmann status (§ 1 Abs. 2 HGB): no register, no letter duties
    # beyond name and address.
    LegalForm("Einzelunternehmen", None, False, False, "—"),
    # Liberal professions (§ 18 EStG) are not trades and are not entered in any register.
    LegalForm("Freiberufler/in", None, False, False, "—"),
    # Since the MoPeG (1 Jan 2024) a GbR *may* enter the Gesellschaftsregister (§ 707 BGB,
    # then "eGbR"); registration is optional, so court and number are not required.
    LegalForm("GbR", "GsR", False, False, "§ 707 BGB (Eintragung freiwillig)"),
    # § 29 HGB: a Kaufmann must register; § 37a HGB: firm, "e.K.", seat, court, number.
    LegalForm("e.K.", "HRA", True, False, "§ 37a HGB"),
    # § 125 HGB (until 2023 § 125a HGB) for OHG, § 177a HGB for KG: legal form, seat, court,
    # number; partners' data only when no partner is a natural person (GmbH & Co. KG below).
    LegalForm("OHG", "HRA", True, False, "§ 125 HGB"),
    LegalForm("KG", "HRA", True, False, "§ 177a HGB i. V. m. § 125 HGB"),
    # § 35a GmbHG: legal form, seat, court, number and all managing directors by name.
    LegalForm("GmbH", "HRB", True, True, "§ 35a GmbHG"),
    LegalForm("UG (haftungsbeschränkt)", "HRB", True, True, "§ 35a GmbHG, § 5a GmbHG"),
    # § 177a S. 2 i. V. m. § 125 Abs. 1 S. 2 HGB: no natural person is personally liable, so
    # the general partner GmbH and its managing directors (§ 35a GmbHG) must be named.
    LegalForm("GmbH & Co. KG", "HRA", True, True, "§ 177a HGB i. V. m. § 125 HGB, § 35a GmbHG"),
    # § 80 AktG: all members of the Vorstand and the chair of the Aufsichtsrat.
    LegalForm("AG", "HRB", True, True, "§ 80 AktG"),
    # § 25a GenG: Genossenschaftsregister, all members of the Vorstand, chair of the Aufsichtsrat.
    LegalForm("eG", "GnR", True, True, "§ 25a GenG"),
    # § 21 BGB: an e.V. exists only through entry in the Vereinsregister; there is no statutory
    # duty for business letters, the Vorstand (§ 26 BGB) belongs in the Impressum.
    LegalForm("e.V.", "VR", True, False, "§ 21 BGB, § 64 BGB"),
    # § 4 PartGG registration in the Partnerschaftsregister; § 7 Abs. 5 PartGG applies § 125 HGB
    # to business letters; partners are natural persons, so no representatives to list.
    LegalForm("PartG", "PR", True, False, "§ 7 Abs. 5 PartGG i. V. m. § 125 HGB"),
    LegalForm("PartG mbB", "PR", True, False, "§ 8 Abs. 4 PartGG, § 7 Abs. 5 PartGG"),
)

_LEGAL_FORMS_BY_KEY = {form.name.casefold().replace(" ", ""): form for form in LEGAL_FORMS}


def get_legal_form(name: str, *, field: str = "legal_form") -> LegalForm:
    """Look up a legal form by name (case and spaces ignored)."""
    form = _LEGAL_FORMS_BY_KEY.get(str(name).casefold().replace(" ", ""))
    if form is None:
        raise ValidationError(field, f"Die Rechtsform „{name}“ ist unbekannt.")
    return form


def register_required(legal_form: str) -> bool:
    """Return whether this legal form must state register court and register number."""
    return get_legal_form(legal_form).register_required


def representation_required(legal_form: str) -> bool:
    """Return whether business letters must name the managing directors / board."""
    return get_legal_form(legal_form).representation_required


def validate_register_court(value: str, *, field: str = "register_court") -> str:
    """Check that a register court (e.g. "Amtsgericht München") is given; collapse spaces."""
    court = " ".join(_clean(value, field, "das Registergericht").split())
    if not any(char.isalpha() for char in court):
        raise ValidationError(field, f"„{court}“ ist kein Name eines Registergerichts.")
    return court


# Register sections: HRA/HRB (§ 3 HRV), GnR (GenRegV), PR (PRV), VR (VRV), GsR (GesRV, since
# MoPeG). Numbers have no leading zero; some courts append a letter suffix (Berlin "HRB 1234 B").
_REGISTER_TYPES = {"HRA": "HRA", "HRB": "HRB", "GNR": "GnR", "PR": "PR", "VR": "VR", "GSR": "GsR"}
_REGISTER_NUMBER = re.compile(
    r"(?P<type>[A-Z]{2,3})\s*(?P<number>[1-9][0-9]{0,5})(?:\s*(?P<suffix>[A-Z]{1,3}))?"
)


def validate_register_number(
    value: str, *, legal_form: str | None = None, field: str = "register_number"
) -> str:
    """Check a register number like "HRB 12345" and return it as "HRB 12345" (or with suffix)."""
    text = " ".join(_clean(value, field, "die Registernummer").split())
    match = _REGISTER_NUMBER.fullmatch(text.upper())
    if not match or match["type"] not in _REGISTER_TYPES:
        raise ValidationError(
            field,
            f"Die Registernummer „{text}“ ist ungültig "
            "(z. B. „HRB 12345“; Register HRA, HRB, GnR, PR, VR oder GsR).",
        )
    register = _REGISTER_TYPES[match["type"]]
    if legal_form is not None:
        expected = get_legal_form(legal_form).register_type
        if expected is not None and expected != register:
            raise ValidationError(
                field,
                f"Die Rechtsform „{legal_form}“ wird im Register {expected} geführt, "
                f"nicht im {register}.",
            )
    return " ".join(part for part in (register, match["number"], match["suffix"]) if part)


# --- Dates ------------------------------------------------------------------------------------


def parse_date(value: str | date | None, *, field: str = "date") -> date | None:
    """A typed date: TT.MM.JJJJ (as German users write it) or JJJJ-MM-TT; empty is None.

    For optional dates a page asks in a text box: Streamlit's empty date box shows the English
    placeholder "YYYY/MM/DD" and cannot be cleared again."""
    if value is None or isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        day = (
            datetime.strptime(text, "%d.%m.%Y").date() if "." in text else date.fromisoformat(text)
        )
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2199:  # "31.12.27" would be the year 27
        raise ValidationError(
            field, f"„{text}“ ist kein Datum: bitte als TT.MM.JJJJ angeben, z. B. 31.12.2027."
        )
    return day


# --- Numbers ----------------------------------------------------------------------------------

# [0-9], not \d: \d also matches Arabic-Indic, full-width and other Unicode digits.
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
# Thousands groups start with 1-9, so "0.123" is plain notation and never ambiguous.
_GERMAN_NUMBER = re.compile(r"([1-9][0-9]{0,2}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?")
_AMBIGUOUS_NUMBER = re.compile(r"[1-9][0-9]{0,2}\.[0-9]{3}")
_MAX_INTEGER_DIGITS = 15


def parse_decimal(
    value: str | int | Decimal, *, max_scale: int = 4, field: str = "amount"
) -> Decimal:
    """Parse German ("1.234,56") or plain ("1234.56") notation; at most `max_scale` places."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise TypeError(f"{field}: expected str, int or Decimal, got {type(value).__name__}")
    text = str(value) if not isinstance(value, str) else _clean(value, field, "eine Zahl")
    number = _to_decimal(text, field)
    return _limit_scale(number, text, max_scale, field)


def _to_decimal(text: str, field: str) -> Decimal:
    """Turn a German or plain number literal with optional sign and € into a Decimal."""
    body = re.sub(r"\s*(€|EUR)$", "", text, flags=re.IGNORECASE)
    sign = ""
    if body[:1] in ("-", "−", "+"):  # ASCII minus, Unicode minus sign, plus
        sign, body = ("" if body[0] == "+" else "-"), body[1:]
    if _AMBIGUOUS_NUMBER.fullmatch(body):
        # "1.234" could be 1234 (German thousands) or 1,234 (plain decimal point): refuse.
        raise ValidationError(
            field,
            f"„{text}“ ist mehrdeutig: Bitte ohne Tausenderpunkt (1234) oder mit Komma (1,234).",
        )
    if _PLAIN_NUMBER.fullmatch(body):
        literal = body
    elif _GERMAN_NUMBER.fullmatch(body):
        literal = body.replace(".", "").replace(",", ".")
    else:
        raise ValidationError(field, f"„{text}“ ist keine gültige Zahl (Beispiel: 1.234,56).")
    if len(literal.split(".")[0].lstrip("0")) > _MAX_INTEGER_DIGITS:
        raise ValidationError(field, f"Die Zahl „{text}“ ist zu groß.")
    number = Decimal(sign + literal)
    return number.copy_abs() if number.is_zero() else number


def _limit_scale(number: Decimal, text: str, max_scale: int, field: str) -> Decimal:
    """Drop trailing zeros beyond max_scale; refuse significant digits beyond it."""
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # pragma: no cover - the regexes only let digits through
        raise ValidationError(field, f"„{text}“ ist keine Zahl.")
    if -exponent <= max_scale:
        return number
    try:
        reduced = number.quantize(Decimal(1).scaleb(-max_scale))
    except InvalidOperation:
        reduced = None
    if reduced is None or reduced != number:
        raise ValidationError(
            field, f"„{text}“ hat zu viele Nachkommastellen (höchstens {max_scale})."
        )
    return reduced


def parse_money(value: str | int | Decimal, *, field: str = "amount") -> Decimal:
    """Parse an amount of money (at most 2 decimal places) and return it with exactly 2."""
    return parse_decimal(value, max_scale=2, field=field).quantize(Decimal("0.01"))


# --- Website ----------------------------------------------------------------------------------


def validate_website(value: str, *, field: str = "website") -> str:
    """Check an http(s) URL; add "https://" when no scheme is given; lower-case the host."""
    text = _clean(value, field, "eine Webadresse")
    # "scheme:" not followed by a port number means another scheme (mailto:, javascript:).
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!//|[0-9])", text):
        raise ValidationError(
            field, f"Die Webadresse „{text}“ ist ungültig: nur http:// und https:// sind erlaubt."
        )
    url = text if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text) else f"https://{text}"
    problem = _url_problem(url)
    if problem:
        raise ValidationError(field, f"Die Webadresse „{text}“ ist ungültig: {problem}.")
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()))


def _url_problem(url: str) -> str | None:
    """Return why `url` is not a usable public web address, or None."""
    if any(char.isspace() for char in url):
        return "sie enthält Leerzeichen"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return "nur http:// und https:// sind erlaubt"
    if "@" in parts.netloc:
        return "Zugangsdaten gehören nicht in die Adresse"
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return "die Portangabe ist ungültig"
    return _domain_problem((parts.hostname or "").lower())


# Control characters (Unicode category Cc: NUL, ESC, DEL, C1 …) are never meaningful in a
# typed field; NUL even breaks PostgreSQL text (ASVS 4.0.3 V5.1.3). Tabs become spaces in
# one-line fields; text areas keep line breaks and tabs.
_KEEP_MULTILINE = {"\n", "\t"}


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Typed text without control characters (line breaks kept in multi-line fields)."""
    if value.isprintable() and "\n" not in value:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        value = value.replace("\t", " ").replace("\n", " ")
    return "".join(
        ch
        for ch in value
        if (multiline and ch in _KEEP_MULTILINE) or unicodedata.category(ch) != "Cc"
    )
