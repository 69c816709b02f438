"""Tests for kms.validation: tables of good and bad inputs per validator.

Test data is fictitious: the IBAN DE02120300000000202051 is a published test IBAN, the VAT ID,
tax number and Leitweg-ID below are made-up numbers with computed check digits.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kms.errors import FieldErrors, KmsError, ValidationError, ValidationErrors
from kms.validation import (
    LEGAL_FORMS,
    format_iban,
    get_legal_form,
    optional,
    parse_date,
    parse_decimal,
    parse_money,
    register_required,
    representation_required,
    validate_bic,
    validate_email,
    validate_iban,
    validate_leitweg_id,
    validate_phone,
    validate_postcode,
    validate_register_court,
    validate_register_number,
    validate_tax_number,
    validate_vat_id,
    validate_website,
)

TEST_IBAN = "DE02120300000000202051"


def _rejects(validator, value, *args, field: str, contains: str = "", **kwargs) -> None:
    """Assert that `validator` raises a ValidationError for `field` with a German message."""
    with pytest.raises(ValidationError) as info:
        validator(value, *args, **kwargs)
    assert info.value.field == field
    assert info.value.message == str(info.value)
    assert contains in info.value.message


# --- Errors and collector ---------------------------------------------------------------------


def test_validation_error_is_value_error_and_kms_error():
    """ValidationError carries field and message and fits both KmsError and ValueError handlers."""
    error = ValidationError("iban", "Die IBAN ist ungültig.")
    assert isinstance(error, KmsError) and isinstance(error, ValueError)
    assert (error.field, error.message, str(error)) == (
        "iban",
        "Die IBAN ist ungültig.",
        error.message,
    )


def test_field_errors_collects_all_fields():
    """FieldErrors gathers one message per field and raises them together."""
    errors = FieldErrors()
    with errors.field("iban"):
        validate_iban("DE00 0000")
    with errors.field("email"):
        validate_email("kein-at")
    with errors.field("postcode"):
        assert validate_postcode("10115") == "10115"
    assert errors
    with pytest.raises(ValidationErrors) as info:
        errors.raise_if_any()
    assert set(info.value.errors) == {"iban", "email"}
    assert "IBAN" in info.value.errors["iban"]


def test_field_errors_without_errors_does_not_raise():
    """An empty collector is falsy and raise_if_any does nothing."""
    errors = FieldErrors()
    with errors.field("email"):
        validate_email("info@example.org")
    assert not errors
    errors.raise_if_any()


def test_field_errors_lets_other_exceptions_through():
    """Programming errors are not swallowed as field errors."""
    errors = FieldErrors()
    with pytest.raises(TypeError), errors.field("email"):
        validate_email(None)  # type: ignore[arg-type]


def test_optional_skips_blank_values():
    """optional() returns None for None and blank input and validates anything else."""
    assert optional(validate_email, None) is None
    assert optional(validate_email, "  \t") is None
    assert optional(validate_postcode, "1010", country="AT") == "1010"
    with pytest.raises(ValidationError):
        optional(validate_email, "x")


# --- E-mail -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("info@example.org", "info@example.org"),
        ("  Max.Mustermann@Example.ORG \n", "Max.Mustermann@example.org"),
        ("vorname.nachname+rechnung@sub.example.org", "vorname.nachname+rechnung@sub.example.org"),
        ("o'brien@example.org", "o'brien@example.org"),
        ("info@Bücher.example", "info@bücher.example"),
        ("info@xn--bcher-kva.example", "info@xn--bcher-kva.example"),
        ("a@b-c.de", "a@b-c.de"),
    ],
)
def test_email_accepts(value, expected):
    """Pragmatic addresses are accepted; the domain comes back lower-case."""
    assert validate_email(value) == expected


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("", "Bitte eine E-Mail-Adresse angeben"),
        ("   ", "Bitte"),
        ("info.example.org", "@"),
        ("info@@example.org", "@"),
        ("a@b@example.org", "@"),
        ("@example.org", "vor und nach"),
        ("info@", "vor und nach"),
        ("max mustermann@example.org", "Leerzeichen"),
        ("info@example .org", "Leerzeichen"),
        ("info@localhost", "Endung"),
        ("info@example.c", "Endung"),
        ("info@example.123", "Endung"),
        ("info@-example.org", "Domain"),
        ("info@example..org", "Domain"),
        (".info@example.org", "vor dem @"),
        ("in..fo@example.org", "vor dem @"),
        ("müller@example.org", "vor dem @"),
        ('"quoted"@example.org', "vor dem @"),
        ("a" * 65 + "@example.org", "vor dem @"),
        ("info@" + "a" * 64 + ".org", "Domain"),
    ],
)
def test_email_rejects(value, contains):
    """Malformed addresses raise a German message for field "email"."""
    _rejects(validate_email, value, field="email", contains=contains)


def test_email_field_name_is_configurable():
    """The form field name given by the caller travels with the error."""
    with pytest.raises(ValidationError) as info:
        validate_email("x", field="invoice_email")
    assert info.value.field == "invoice_email"


# --- Postcode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "country", "expected"),
    [
        ("10115", "DE", "10115"),
        (" 01067 ", "DE", "01067"),
        ("99998", "de", "99998"),
        ("1010", "AT", "1010"),
        ("8001", "CH", "8001"),
        ("sw1a  1aa", "GB", "SW1A 1AA"),
        ("75008", "FR", "75008"),
        ("1234-567", "PT", "1234-567"),
        ("NL-1234", "NL", "NL-1234"),
    ],
)
def test_postcode_accepts(value, country, expected):
    """Postcodes are trimmed, upper-cased and checked per country."""
    assert validate_postcode(value, country) == expected


@pytest.mark.parametrize(
    ("value", "country"),
    [
        ("1011", "DE"),
        ("101155", "DE"),
        ("00123", "DE"),
        ("1O115", "DE"),
        ("D-10115", "DE"),
        ("１０１１５", "DE"),  # full-width digits
        ("10115", "AT"),
        ("101", "CH"),
        ("12345678901", "GB"),
        ("12#45", "FR"),
        ("-123", "NL"),
        ("", "DE"),
    ],
)
def test_postcode_rejects(value, country):
    """Postcodes that break the country rule are refused."""
    _rejects(validate_postcode, value, country, field="postcode")


# --- Phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("030 1234567", "030 1234567"),
        ("+49 30 1234567", "+49 30 1234567"),
        ("+49 (0)30 / 123-456", "+49 (0)30 / 123-456"),
        ("  0171   1234567 ", "0171 1234567"),
        ("123456", "123456"),
        ("0800-123456-99", "0800-123456-99"),
    ],
)
def test_phone_accepts(value, expected):
    """Lenient phone numbers pass with whitespace collapsed."""
    assert validate_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("12345", "6 und 20"),
        ("+49 30 12345678901234567890", "6 und 20"),
        ("030 12+3456", "nur Ziffern"),
        ("++49 30 123456", "nur Ziffern"),
        ("030 1234567 ext. 5", "nur Ziffern"),
        ("030.1234567", "nur Ziffern"),
        ("tel:+4930123456", "nur Ziffern"),
        ("０３０ １２３４５６７", "nur Ziffern"),  # full-width digits
        ("", "Bitte"),
    ],
)
def test_phone_rejects(value, contains):
    """Letters, dots, misplaced + and too few or many digits are refused."""
    _rejects(validate_phone, value, field="phone", contains=contains)


# --- USt-IdNr., Steuernummer, Leitweg-ID -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("DE123456788", "DE123456788"),
        ("de 123 456 788", "DE123456788"),
        (" DE-123.456.788 ", "DE123456788"),
        ("ATU12345675", "ATU12345675"),
    ],
)
def test_vat_id_accepts(value, expected):
    """Valid VAT IDs come back compact and upper-case."""
    assert validate_vat_id(value) == expected


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("DE123456789", "(Prüfziffer)"),
        ("DE12345678", "(falsche Länge)"),
        ("DE12345678A", "(falsches Format)"),
        ("XX123456789", "Länderkürzel"),
        ("123456788", "Länderkürzel"),
        ("", "Bitte eine USt-IdNr. angeben"),
    ],
)
def test_vat_id_rejects(value, contains):
    """Wrong check digit, length, format or country prefix get a specific German message."""
    _rejects(validate_vat_id, value, field="vat_id", contains=contains)


def test_vat_id_message_names_the_number():
    """The message quotes the input so the user sees what was checked."""
    _rejects(validate_vat_id, "DE123456789", field="vat_id", contains="„DE123456789“ ist ungültig")


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("181/815/08155", None, "18181508155"),  # regional layout FFF/BBB/UUUUP
        (" 181 815 08155 ", None, "18181508155"),
        ("9181081508155", None, "9181081508155"),  # 13-digit federal (ELSTER) layout
        ("181/815/08155", "Bayern", "18181508155"),
        ("21/815/08150", "Berlin", "2181508150"),
    ],
)
def test_tax_number_accepts(value, region, expected):
    """Regional and federal Steuernummer layouts are accepted and compacted to digits."""
    assert validate_tax_number(value, region=region) == expected


@pytest.mark.parametrize(
    ("value", "region", "contains"),
    [
        ("12345", None, "falsche Länge"),
        ("181/815/0815A", None, "falsches Format"),
        ("181/815/08155", "Berlin", "passt nicht zum Bundesland Berlin"),
        ("", None, "Bitte eine Steuernummer angeben"),
    ],
)
def test_tax_number_rejects(value, region, contains):
    """Wrong length, letters or the wrong Bundesland are refused."""
    _rejects(validate_tax_number, value, region=region, field="tax_number", contains=contains)


def test_tax_number_unknown_region_is_a_programming_error():
    """An unknown Bundesland name is a bug in the caller, not user input."""
    with pytest.raises(ValueError, match="unknown region"):
        validate_tax_number("181/815/08155", region="Atlantis")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("04011000-1234512345-06", "04011000-1234512345-06"),
        (" 04011000-1234512345-06 ", "04011000-1234512345-06"),
        ("99112345-abc-85", "99112345-ABC-85"),
        ("04011000-45", "04011000-45"),
    ],
)
def test_leitweg_id_accepts(value, expected):
    """Leitweg-IDs with valid MOD 97-10 check digits pass, upper-cased."""
    assert validate_leitweg_id(value) == expected


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("04011000-1234512345-07", "Prüfziffer"),
        ("04011000-1234512345", "Format"),
        ("0401 1000-45", "Format"),
        ("1-45", "Länge"),
        ("00011000-45", "Kennzahl"),
        ("", "Bitte eine Leitweg-ID angeben"),
    ],
)
def test_leitweg_id_rejects(value, contains):
    """Wrong check digits, layout or state code are refused."""
    _rejects(validate_leitweg_id, value, field="leitweg_id", contains=contains)


# --- IBAN and BIC -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TEST_IBAN, TEST_IBAN),
        ("de02 1203 0000 0000 2020 51", TEST_IBAN),
        ("  DE02\u00a01203 0000 0000 2020 51\n", TEST_IBAN),
        ("AT61 1904 3002 3457 3201", "AT611904300234573201"),
        ("CH93 0076 2011 6238 5295 7", "CH9300762011623852957"),
    ],
)
def test_iban_accepts(value, expected):
    """IBANs are accepted with any whitespace and any case and come back compact."""
    assert validate_iban(value) == expected


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("DE02120300000000202052", "Prüfziffer"),
        ("DE0212030000000020205", "Länge"),
        ("XX02120300000000202051", "Länderkürzel"),
        ("DE02-1203-0000-0000-2020-51", "ungültig"),
        ("DE02 1203 0000 0000 2020 5Ä", "ungültig"),
        ("", "Bitte eine IBAN angeben"),
    ],
)
def test_iban_rejects(value, contains):
    """Typos, wrong lengths, unknown countries and stray characters are refused."""
    _rejects(validate_iban, value, field="iban", contains=contains)


def test_format_iban_groups_by_four():
    """The display helper groups a valid IBAN in blocks of four."""
    assert format_iban("de02120300000000202051") == "DE02 1203 0000 0000 2020 51"
    with pytest.raises(ValidationError):
        format_iban("DE02120300000000202052")


@pytest.mark.parametrize(
    ("value", "iban", "expected"),
    [
        ("BYLADEM1001", None, "BYLADEM1001"),
        (" byladem1001 ", TEST_IBAN, "BYLADEM1001"),
        ("DEUTDEFF", TEST_IBAN, "DEUTDEFF"),
        ("BKAUATWWXXX", "AT611904300234573201", "BKAUATWWXXX"),
        ("BYLADEM1001", "", "BYLADEM1001"),
    ],
)
def test_bic_accepts(value, iban, expected):
    """Well-formed BICs pass, also when their country matches the IBAN's."""
    assert validate_bic(value, iban=iban) == expected


@pytest.mark.parametrize(
    ("value", "iban", "contains"),
    [
        ("BYLADEM", None, "8 oder 11"),
        ("BYLADEM10", None, "8 oder 11"),
        ("BYLA DEM1 001!", None, "8 oder 11"),
        ("BYLAXXM1001", None, "Länderkürzel"),
        ("BKAUATWW", TEST_IBAN, "in AT, die IBAN aber zu DE"),
        ("", None, "Bitte einen BIC angeben"),
    ],
)
def test_bic_rejects(value, iban, contains):
    """Malformed BICs and BICs from another country than the IBAN are refused."""
    _rejects(validate_bic, value, iban=iban, field="bic", contains=contains)


# --- Register and legal forms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "legal_form", "expected"),
    [
        ("HRB 12345", None, "HRB 12345"),
        ("hrb12345", None, "HRB 12345"),
        ("  HRA   123 ", "e.K.", "HRA 123"),
        ("HRB 12345 B", "GmbH", "HRB 12345 B"),
        ("hrb 1234b", None, "HRB 1234 B"),
        ("GnR 42", "eG", "GnR 42"),
        ("PR 7", "PartG mbB", "PR 7"),
        ("VR 999999", "e.V.", "VR 999999"),
        ("GsR 1", "GbR", "GsR 1"),
        ("HRA 5", "GmbH & Co. KG", "HRA 5"),
    ],
)
def test_register_number_accepts(value, legal_form, expected):
    """Register numbers are normalised to "<register> <number> [suffix]"."""
    assert validate_register_number(value, legal_form=legal_form) == expected


@pytest.mark.parametrize(
    ("value", "legal_form", "contains"),
    [
        ("HRB", None, "ungültig"),
        ("12345", None, "ungültig"),
        ("HRB 012345", None, "ungültig"),
        ("HRB 1234567", None, "ungültig"),
        ("HRC 123", None, "ungültig"),
        ("HRB 123 ABCD", None, "ungültig"),
        ("HRB-123", None, "ungültig"),
        ("HRA 123", "GmbH", "Register HRB"),
        ("HRB 123", "KG", "Register HRA"),
        ("", None, "Bitte die Registernummer angeben"),
    ],
)
def test_register_number_rejects(value, legal_form, contains):
    """Unknown registers, leading zeros and a register that does not fit the legal form fail."""
    _rejects(
        validate_register_number,
        value,
        legal_form=legal_form,
        field="register_number",
        contains=contains,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Amtsgericht München", "Amtsgericht München"),
        ("  AG   Berlin (Charlottenburg) ", "AG Berlin (Charlottenburg)"),
    ],
)
def test_register_court_accepts(value, expected):
    """The court name is kept as written, with whitespace collapsed."""
    assert validate_register_court(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "123", "-/-"])
def test_register_court_rejects(value):
    """A court name needs letters."""
    _rejects(validate_register_court, value, field="register_court")


@pytest.mark.parametrize(
    ("legal_form", "register", "representation"),
    [
        ("Einzelunternehmen", False, False),
        ("Freiberufler/in", False, False),
        ("GbR", False, False),
        ("e.K.", True, False),
        ("OHG", True, False),
        ("KG", True, False),
        ("GmbH", True, True),
        ("UG (haftungsbeschränkt)", True, True),
        ("GmbH & Co. KG", True, True),
        ("AG", True, True),
        ("eG", True, True),
        ("e.V.", True, False),
        ("PartG", True, False),
        ("PartG mbB", True, False),
    ],
)
def test_legal_form_duties(legal_form, register, representation):
    """Each legal form states whether register data and representatives are required."""
    assert register_required(legal_form) is register
    assert representation_required(legal_form) is representation


def test_legal_forms_table_is_complete_and_cites_a_rule():
    """All 14 forms are listed once; every registered form names its register and legal basis."""
    names = [form.name for form in LEGAL_FORMS]
    assert len(names) == len(set(names)) == 14
    for form in LEGAL_FORMS:
        if form.register_required:
            assert form.register_type and "§" in form.legal_basis


def test_legal_form_lookup_is_tolerant_and_strict():
    """Lookup ignores case and spaces; unknown forms raise a ValidationError."""
    assert get_legal_form("gmbh&co.kg").name == "GmbH & Co. KG"
    assert register_required(" UG (haftungsbeschränkt) ".strip())
    _rejects(get_legal_form, "Limited", field="legal_form", contains="unbekannt")


# --- Numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.234,56", Decimal("1234.56")),
        ("1234,56", Decimal("1234.56")),
        ("1234.56", Decimal("1234.56")),
        ("1.234.567,8", Decimal("1234567.80")),
        ("1.234.567", Decimal("1234567.00")),
        ("12.5", Decimal("12.50")),
        ("0,5", Decimal("0.50")),
        ("  42 ", Decimal("42.00")),
        ("-12,30", Decimal("-12.30")),
        ("−12,30", Decimal("-12.30")),  # Unicode minus sign
        ("+7", Decimal("7.00")),
        ("12,50 €", Decimal("12.50")),
        ("12,50€", Decimal("12.50")),
        ("12,50 EUR", Decimal("12.50")),
        ("12,500", Decimal("12.50")),  # trailing zero beyond the scale carries no information
        ("-0,00", Decimal("0.00")),
        (1234, Decimal("1234.00")),
        (Decimal("19.9"), Decimal("19.90")),
    ],
)
def test_parse_money_accepts(value, expected):
    """German and plain notation give the same Decimal, always with two places."""
    result = parse_money(value)
    assert result == expected and result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("1.234", "mehrdeutig"),
        ("12.345", "mehrdeutig"),
        ("-999.000", "mehrdeutig"),
        ("0.123", "Nachkommastellen"),
        ("12,345", "Nachkommastellen"),
        ("1,234.56", "keine gültige Zahl"),
        ("1.234.56", "keine gültige Zahl"),
        ("1.23,4", "keine gültige Zahl"),
        ("12.34,5", "keine gültige Zahl"),
        ("1 234,56", "keine gültige Zahl"),
        (",5", "keine gültige Zahl"),
        ("5,", "keine gültige Zahl"),
        ("1e5", "keine gültige Zahl"),
        ("NaN", "keine gültige Zahl"),
        ("Infinity", "keine gültige Zahl"),
        ("zwölf", "keine gültige Zahl"),
        ("--5", "keine gültige Zahl"),
        ("１２", "keine gültige Zahl"),  # full-width digits
        ("1" * 16, "zu groß"),
        ("", "Bitte eine Zahl angeben"),
    ],
)
def test_parse_money_rejects(value, contains):
    """Ambiguous, malformed and over-precise amounts are refused with a German message."""
    _rejects(parse_money, value, field="amount", contains=contains)


@pytest.mark.parametrize(
    ("value", "max_scale", "expected"),
    [
        ("1,2345", 4, Decimal("1.2345")),
        ("0.0001", 4, Decimal("0.0001")),
        ("3", 4, Decimal(3)),
        ("2,50", 4, Decimal("2.50")),
        ("1,23450", 4, Decimal("1.2345")),
        ("7,5", 0, None),
        ("7,0", 0, Decimal(7)),
    ],
)
def test_parse_decimal_respects_max_scale(value, max_scale, expected):
    """Up to max_scale places are kept as typed; more significant places are refused."""
    if expected is None:
        _rejects(parse_decimal, value, max_scale=max_scale, field="amount", contains="höchstens 0")
        return
    assert parse_decimal(value, max_scale=max_scale) == expected


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_parse_money_round_trips_german_and_plain(amount):
    """Any amount written German-style with thousands dots or plain parses back exactly."""
    plain = f"{amount:.2f}"
    german = f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    assert parse_money(german) == parse_money(plain) == amount


def test_parse_decimal_refuses_float():
    """Floats are refused: they cannot hold amounts exactly."""
    with pytest.raises(TypeError):
        parse_decimal(0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_decimal(True)  # type: ignore[arg-type]


# --- Website ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("example.org", "https://example.org"),
        ("www.example.org/kontakt", "https://www.example.org/kontakt"),
        ("  HTTPS://Example.ORG/Pfad?Q=1#Anker ", "https://example.org/Pfad?Q=1#Anker"),
        ("http://example.org", "http://example.org"),
        ("example.org:8080/shop", "https://example.org:8080/shop"),
        ("bücher.example", "https://bücher.example"),
    ],
)
def test_website_accepts(value, expected):
    """http(s) URLs pass; a missing scheme becomes https://; the host is lower-cased."""
    assert validate_website(value) == expected


@pytest.mark.parametrize(
    ("value", "contains"),
    [
        ("ftp://example.org", "http"),
        ("javascript:alert(1)", "http"),
        ("mailto:info@example.org", "http"),
        ("https://", "Domain"),
        ("https://localhost", "Endung"),
        ("example", "Endung"),
        ("https://exa mple.org", "Leerzeichen"),
        ("https://user:pw@example.org", "Zugangsdaten"),
        ("https://example.org:99999", "Port"),
        ("https://-example.org", "Domain"),
        ("", "Bitte eine Webadresse angeben"),
    ],
)
def test_website_rejects(value, contains):
    """Other schemes, credentials, bad ports and hosts without a domain are refused."""
    _rejects(validate_website, value, field="website", contains=contains)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("31.12.2027", date(2027, 12, 31)),
        (" 01.03.2028 ", date(2028, 3, 1)),
        ("2027-12-31", date(2027, 12, 31)),
        ("", None),
        (None, None),
        (date(2027, 1, 2), date(2027, 1, 2)),
    ],
)
def test_parse_date_reads_german_and_iso_dates(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize("typed", ["29.02.2027", "12/31/2027", "31.12.27", "morgen"])
def test_parse_date_refuses_non_dates_in_german(typed):
    with pytest.raises(ValidationError) as err:
        parse_date(typed, field="end_date")
    assert err.value.field == "end_date"
    assert f"„{typed}“ ist kein Datum" in err.value.message
