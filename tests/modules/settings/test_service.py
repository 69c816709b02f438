"""Einstellungen: per-field validation, optimistic locking, the logo and the mail server."""

from __future__ import annotations

import io
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from kms.config import get_config, reset_config
from kms.errors import ConflictError, KmsError, ValidationErrors
from kms.mail import build_message, send_message
from kms.modules.settings import service
from kms.modules.settings.models import CompanyProfile
from tests.smtp_fixtures import AUTH_PASSWORD, AUTH_USER, SENDER

SOLE_TRADER: dict[str, Any] = {
    "company_name": "Musterfirma Erika Mustermann",
    "legal_form": "Einzelunternehmen",
    "street": "Musterstraße 1",
    "postcode": "12345",
    "city": "Musterstadt",
    "contact_name": "Erika Mustermann",
    "phone": "+49 30 1234567",
    "email": "erika@example.org",
    "tax_number": "2181508150",
    "iban": "DE02120300000000202051",
    "bic": "BYLADEM1001",
    "payment_term_days": 14,
}
GMBH = SOLE_TRADER | {
    "company_name": "Musterfirma GmbH",
    "legal_form": "GmbH",
    "representative": "Erika Mustermann",
    "register_court": "Amtsgericht München",
    "register_number": "HRB 12345",
    "vat_id": "DE136695976",
}
EK = SOLE_TRADER | {
    "company_name": "Musterfirma e.K.",
    "legal_form": "e.K.",
    "register_court": "Amtsgericht Köln",
    "register_number": "HRA 4711",
}


def _save(session: Session, values: dict[str, Any]) -> CompanyProfile:
    return service.save_profile(session, version=service.get_profile(session).version, **values)


@pytest.mark.parametrize(
    ("values", "stored"),
    [
        (SOLE_TRADER, {"register_court": "", "representative": "", "vat_id": ""}),
        (GMBH, {"register_number": "HRB 12345", "representative": "Erika Mustermann"}),
        (EK, {"legal_form": "e.K.", "register_number": "HRA 4711"}),
        (SOLE_TRADER | {"tax_number": "", "vat_id": "de 136 695 976"}, {"vat_id": "DE136695976"}),
        (SOLE_TRADER | {"iban": "de02 1203 0000 0000 2020 51"}, {"iban": "DE02120300000000202051"}),
        (SOLE_TRADER | {"iban": "", "bic": ""}, {"iban": "", "bic": ""}),
        (SOLE_TRADER | {"payment_term_days": 0}, {"payment_term_days": 0}),
        (SOLE_TRADER | {"payment_term_days": "365"}, {"payment_term_days": 365}),
        (SOLE_TRADER | {"payment_term_days": ""}, {"payment_term_days": 14}),
        (SOLE_TRADER | {"legal_form": "gmbh & co. kg", **GMBH}, {"legal_form": "GmbH"}),
        (SOLE_TRADER | {"business_start": date(2023, 4, 1)}, {"business_start": date(2023, 4, 1)}),
        (SOLE_TRADER | {"city": "  Musterstadt  "}, {"city": "Musterstadt"}),
    ],
)
def test_good_company_data_is_saved_normalised(
    session: Session, values: dict[str, Any], stored: dict[str, Any]
) -> None:
    """Valid input is saved, normalised (compact IBAN, upper-case USt-IdNr., trimmed)."""
    profile = _save(session, values)
    session.commit()
    session.expire_all()
    reread = service.get_profile(session)
    assert reread.id == profile.id and reread.version == 1
    assert {key: getattr(reread, key) for key in stored} == stored


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            GMBH | {"register_court": ""},
            "register_court",
            "Registergericht angeben: für die Rechtsform GmbH Pflicht (§ 35a GmbHG)",
        ),
        (
            GMBH | {"register_number": ""},
            "register_number",
            "Registernummer angeben: für die Rechtsform GmbH Pflicht (§ 35a GmbHG)",
        ),
        (
            EK | {"register_court": ""},
            "register_court",
            "für die Rechtsform e.K. Pflicht (§ 37a HGB)",
        ),
        (EK | {"register_number": ""}, "register_number", "(§ 37a HGB)"),
        (GMBH | {"representative": ""}, "representative", "Vertretung nennen (§ 35a GmbHG)"),
        (GMBH | {"register_number": "HRA 12345"}, "register_number", "im Register HRB"),
        (GMBH | {"register_court": "12345"}, "register_court", "kein Name eines Registergerichts"),
        (SOLE_TRADER | {"iban": "DE02120300000000202052"}, "iban", "Prüfziffer"),
        (SOLE_TRADER | {"iban": "DE0212030000"}, "iban", "falsche Länge"),
        (SOLE_TRADER | {"bic": "XYZ"}, "bic", "Der BIC „XYZ“ ist ungültig"),
        (SOLE_TRADER | {"vat_id": "DE136695977"}, "vat_id", "USt-IdNr. „DE136695977“ ist ungültig"),
        (SOLE_TRADER | {"vat_id": "XX123"}, "vat_id", "Länderkürzel"),
        (SOLE_TRADER | {"tax_number": "123"}, "tax_number", "Steuernummer „123“ ist ungültig"),
        (SOLE_TRADER | {"tax_number": ""}, "tax_number", "Steuernummer oder USt-IdNr."),
        (SOLE_TRADER | {"payment_term_days": 366}, "payment_term_days", "0 bis 365 Tage"),
        (SOLE_TRADER | {"payment_term_days": -1}, "payment_term_days", "0 bis 365 Tage"),
        (SOLE_TRADER | {"payment_term_days": "zwei Wochen"}, "payment_term_days", "0 bis 365"),
        (SOLE_TRADER | {"company_name": " "}, "company_name", "Bitte den Firmennamen angeben."),
        (SOLE_TRADER | {"legal_form": "Ltd."}, "legal_form", "Rechtsform „Ltd.“ ist unbekannt"),
        (SOLE_TRADER | {"postcode": "1234"}, "postcode", "Postleitzahl „1234“ ist für DE"),
        (SOLE_TRADER | {"email": "erika@"}, "email", "E-Mail-Adresse „erika@“ ist ungültig"),
        (SOLE_TRADER | {"phone": "Festnetz"}, "phone", "Telefonnummer „Festnetz“"),
        (SOLE_TRADER | {"contact_name": ""}, "contact_name", "eine Ansprechperson"),
        (SOLE_TRADER | {"business_start": "1.4.2023"}, "business_start", "gültiges Datum"),
    ],
)
def test_bad_company_data_is_refused_per_field(
    sqlite_session: Session, values: dict[str, Any], field: str, message: str
) -> None:
    """Each bad field gets its German message under its own name; nothing is saved."""
    # Validation runs before any SQL, so one database is enough here.
    with pytest.raises(ValidationErrors) as excinfo:
        _save(sqlite_session, values)
    assert list(excinfo.value.errors) == [field]
    assert message in excinfo.value.errors[field]
    assert service.get_profile(sqlite_session).id is None


def test_all_field_errors_are_reported_at_once(sqlite_session: Session) -> None:
    """One save attempt lists every invalid field, so the form can show them together."""
    values = GMBH | {
        "register_court": "",
        "representative": "",
        "iban": "DE00",
        "vat_id": "DE1",
        "payment_term_days": 400,
        "email": "kein-at",
    }
    with pytest.raises(ValidationErrors) as excinfo:
        _save(sqlite_session, values)
    assert set(excinfo.value.errors) == {
        "register_court",
        "representative",
        "iban",
        "vat_id",
        "payment_term_days",
        "email",
    }
    assert all(message.endswith(".") for message in excinfo.value.errors.values())


# --- optimistic locking --------------------------------------------------------------------


def test_saving_with_a_stale_version_is_refused_and_changes_nothing(session: Session) -> None:
    """A form opened before someone else saved cannot overwrite their change."""
    first = service.save_profile(session, version=0, **SOLE_TRADER)
    session.commit()
    assert first.version == 1
    service.save_profile(session, version=1, **SOLE_TRADER | {"city": "Berlin"})
    session.commit()
    with pytest.raises(ConflictError, match="inzwischen anderswo gespeichert"):
        service.save_profile(session, version=1, **SOLE_TRADER | {"city": "Hamburg"})
    session.rollback()
    with pytest.raises(ConflictError):
        service.save_profile(session, version=0, **SOLE_TRADER)  # a second "first" save
    session.rollback()
    session.expire_all()
    profile = service.get_profile(session)
    assert (profile.city, profile.version) == ("Berlin", 2)


def test_a_save_racing_another_one_is_a_conflict_not_a_crash(session: Session) -> None:
    """If the row changes between our read and our write, a German ConflictError follows."""
    service.save_profile(session, version=0, **SOLE_TRADER)
    session.commit()
    ours = service.get_profile(session)  # read: version 1, held in our identity map
    assert ours.version == 1
    # Another writer saves in the meantime (plain SQL, unseen by our identity map).
    session.connection().execute(
        text("UPDATE company_profile SET city = 'Berlin', version = version + 1")
    )
    with pytest.raises(ConflictError, match="inzwischen anderswo gespeichert"):
        service.save_profile(session, version=1, **SOLE_TRADER | {"city": "Hamburg"})


# --- logo ----------------------------------------------------------------------------------


def _image(kind: str, size: tuple[int, int] = (40, 20), noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (0, 90, 160))
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


@pytest.fixture
def profile(session: Session) -> CompanyProfile:
    saved = service.save_profile(session, version=0, **SOLE_TRADER)
    session.commit()
    return saved


@pytest.mark.parametrize(
    ("kind", "mime", "ext"), [("PNG", "image/png", ".png"), ("JPEG", "image/jpeg", ".jpg")]
)
def test_png_and_jpeg_logos_are_stored(
    session: Session, profile: CompanyProfile, kind: str, mime: str, ext: str
) -> None:
    """The logo is stored under a content-derived name and read back byte for byte."""
    content = _image(kind)
    saved = service.save_logo(session, content)
    assert saved.logo_mime == mime and saved.logo_file.endswith(ext)
    assert service.logo_bytes(saved) == content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Die Logo-Datei ist leer."),
        (b"Das ist kein Bild, nur Text in einer .png-Datei\n", "kein lesbares PNG- oder JPEG-Bild"),
        (_image("PNG")[:40], "kein lesbares PNG- oder JPEG-Bild"),
        (_image("GIF"), "nur PNG- und JPEG-Bilder"),
        (b"\x89PNG\r\n\x1a\n" + bytes(1_000_000), "größer als 1 MB"),
    ],
)
def test_bad_logos_are_refused(
    session: Session, profile: CompanyProfile, content: bytes, message: str
) -> None:
    """Empty, fake, truncated, GIF and oversized files are refused and nothing is stored."""
    with pytest.raises(KmsError, match=message):
        service.save_logo(session, content)
    assert profile.logo_file == ""
    assert list(get_config().files_dir.iterdir()) == []


def test_a_real_png_over_one_megabyte_is_refused(session: Session, profile: CompanyProfile) -> None:
    """A genuine but too large image is refused as well."""
    content = _image("PNG", (640, 640), noise=True)
    assert len(content) > service.LOGO_MAX_BYTES
    with pytest.raises(KmsError, match="größer als 1 MB"):
        service.save_logo(session, content)


def test_a_stored_logo_file_is_never_overwritten(session: Session, profile: CompanyProfile) -> None:
    """A new logo gets a new file; the old file and a re-upload stay untouched."""
    first = _image("PNG")
    old_name = service.save_logo(session, first).logo_file
    old_path = get_config().files_dir / old_name
    written = old_path.stat().st_mtime_ns
    second = _image("PNG", (80, 40))
    new_name = service.save_logo(session, second).logo_file
    assert new_name != old_name
    assert old_path.read_bytes() == first
    assert service.save_logo(session, first).logo_file == old_name
    assert old_path.stat().st_mtime_ns == written


def test_logo_needs_company_data_first(session: Session) -> None:
    """Before the first save of the company data there is nothing to attach a logo to."""
    with pytest.raises(KmsError, match="zuerst die Firmendaten"):
        service.save_logo(session, _image("PNG"))


# --- mail server ---------------------------------------------------------------------------

SMTP_PASSWORD = "Streng-Geheim-Ümlaut-42"


def _save_smtp(session: Session, server: Any, password: str | None = SMTP_PASSWORD) -> None:
    service.save_smtp(
        session,
        host=server.host,
        port=server.port,
        security=server.security,
        username=AUTH_USER,
        sender_address=SENDER,
        sender_name="Büro Müller",
        password=password,
    )
    session.commit()


def _database_text(session: Session, db_url: str) -> bytes:
    """Everything the database holds on disk (SQLite) or in the settings table (PostgreSQL)."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    rows = session.execute(text("SELECT key, CAST(value AS TEXT) FROM key_values"))
    return repr(rows.all()).encode()


def test_smtp_password_is_stored_encrypted_and_decrypted_for_sending(
    session: Session, db_url: str, smtp_server_factory: Any
) -> None:
    """The password is nowhere in the database in plain text, yet login and sending work."""
    server = smtp_server_factory(security="starttls", credentials={AUTH_USER: SMTP_PASSWORD})
    _save_smtp(session, server)
    stored = _database_text(session, db_url)
    assert b"smtp.settings" in stored
    for encoding in ("utf-8", "latin-1", "utf-16-le"):
        assert SMTP_PASSWORD.encode(encoding) not in stored
    form = service.get_smtp_form(session)
    assert form.has_password and not hasattr(form, "password")
    settings = service.smtp_settings(session)
    assert settings.password == SMTP_PASSWORD
    message = build_message(
        settings=settings, to=["support@example.org"], subject="Test", body_text="Hallo"
    )
    # The umlaut in the password survives the SMTP login (SASL PLAIN is UTF-8).
    send_message(settings, message, ssl_context=server.client_context)
    assert [m.message["Subject"] for m in server.messages] == ["Test"]


def test_a_wrong_umlaut_password_gets_the_german_login_error(
    session: Session, smtp_server_auth: Any
) -> None:
    """A refused non-ASCII password is reported like any refused login, not as a crash."""
    _save_smtp(session, smtp_server_auth)
    settings = service.smtp_settings(session)
    assert settings.password != AUTH_PASSWORD
    message = build_message(settings=settings, to=["a@example.org"], subject="T", body_text="x")
    with pytest.raises(KmsError, match="Anmeldung als „buero“ abgelehnt") as excinfo:
        send_message(settings, message, ssl_context=smtp_server_auth.client_context)
    assert SMTP_PASSWORD not in excinfo.value.message
    assert smtp_server_auth.messages == []


def test_smtp_password_is_kept_or_cleared(session: Session, smtp_server: Any) -> None:
    """Saving without a password keeps the stored one; an empty one clears it."""
    _save_smtp(session, smtp_server)
    _save_smtp(session, smtp_server, password=None)
    assert service.smtp_settings(session).password == SMTP_PASSWORD
    _save_smtp(session, smtp_server, password="")
    assert service.smtp_settings(session).password == ""
    assert not service.get_smtp_form(session).has_password


def test_a_changed_secret_key_gives_a_german_message(
    session: Session, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password encrypted under another key asks to be entered again."""
    _save_smtp(session, smtp_server)
    monkeypatch.setenv("KMS_SECRET_KEY", "ein ganz anderer Schlüssel")
    reset_config()
    with pytest.raises(KmsError, match="lässt sich nicht entschlüsseln"):
        service.smtp_settings(session)


def test_environment_overrides_the_stored_mail_server(
    session: Session, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KMS_SMTP_* variables win over what the owner stored."""
    _save_smtp(session, smtp_server)
    overrides = {
        "KMS_SMTP_HOST": "mail.example.org",
        "KMS_SMTP_PORT": "465",
        "KMS_SMTP_SECURITY": "ssl",
        "KMS_SMTP_USER": "betrieb",
        "KMS_SMTP_PASSWORD": "aus-der-umgebung",
        "KMS_SMTP_SENDER": "betrieb@example.org",
    }
    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    settings = service.smtp_settings(session)
    assert (
        settings.host,
        settings.port,
        settings.security,
        settings.username,
        settings.password,
        settings.sender_address,
    ) == ("mail.example.org", 465, "ssl", "betrieb", "aus-der-umgebung", "betrieb@example.org")
    assert settings.sender_name == "Büro Müller"


def test_missing_mail_server_gives_a_german_message(session: Session) -> None:
    """Sending without any mail server configured says where to set it up."""
    with pytest.raises(KmsError, match="noch kein Mailserver eingerichtet"):
        service.smtp_settings(session)


def test_bad_mail_server_settings_are_refused_together(session: Session) -> None:
    """Host, port, encryption and sender are checked at once; nothing is stored."""
    with pytest.raises(ValidationErrors) as excinfo:
        service.save_smtp(
            session,
            host="mail example",
            port=70000,
            security="tls",
            username="",
            sender_address="kein-at",
        )
    assert set(excinfo.value.errors) == {"host", "port", "security", "sender_address"}
    assert service.get_smtp_form(session) == service.SmtpForm()


@pytest.mark.parametrize("entered", ["143/456/78901", "21/815/08150", "2181508150"])
def test_tax_number_is_stored_as_entered(session: Session, entered: str) -> None:
    """A valid Steuernummer keeps the owner's layout ("143/456/78901"), not digits only."""
    profile = _save(session, SOLE_TRADER | {"tax_number": f"  {entered} "})
    assert profile.tax_number == entered
