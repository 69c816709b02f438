"""Einstellungen: company master data, logo and mail server, validated per field."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kms.config import get_config
from kms.errors import ConflictError, FieldErrors, KmsError, ValidationError
from kms.mail import SmtpSettings
from kms.models import get_value, set_value
from kms.modules.settings.models import CompanyProfile
from kms.permissions import Permission, require_permission
from kms.rendering.glyphs import validate_printable
from kms.secretbox import decrypt, encrypt
from kms.validation import (
    LEGAL_FORMS,
    LegalForm,
    get_legal_form,
    optional,
    validate_bic,
    validate_creditor_id,
    validate_email,
    validate_iban,
    validate_phone,
    validate_postcode,
    validate_register_court,
    validate_register_number,
    validate_tax_number,
    validate_vat_id,
    validate_website,
)

LEGAL_FORM_NAMES = tuple(form.name for form in LEGAL_FORMS)
LOGO_MAX_BYTES = 1_000_000
LOGO_TYPES = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg")}
SMTP_KEY = "smtp.settings"
SECURITY = ("starttls", "ssl", "none")
CONFLICT_MESSAGE = (
    "Die Einstellungen wurden inzwischen anderswo gespeichert. Ihre Eingaben stehen noch "
    "im Formular; bitte laden Sie die Seite neu und übernehmen Sie sie."
)


def get_profile(session: Session) -> CompanyProfile:
    """The company profile; an unsaved empty one before the first save."""
    profile = session.scalar(select(CompanyProfile).limit(1))
    return profile if profile is not None else CompanyProfile(id=None, version=0)


def _required(data: dict[str, Any], name: str, label: str) -> str:
    value = str(data.get(name) or "").strip()
    if not value:
        raise ValidationError(name, f"Bitte {label} angeben.")
    return value


def _register_missing(form: LegalForm, label: str) -> str:
    """Why a register entry is required, citing the rule for business letters."""
    return f"Bitte {label} angeben: für die Rechtsform {form.name} Pflicht ({form.legal_basis})."


def _clean_profile(values: dict[str, Any]) -> dict[str, Any]:
    """Validate every field; collect all problems so the form can show them at once."""
    v = {k: (x.strip() if isinstance(x, str) else x) for k, x in values.items()}
    out: dict[str, Any] = {}
    errors = FieldErrors()
    with errors.field("company_name"):
        out["company_name"] = _required(v, "company_name", "den Firmennamen")
    form = None
    with errors.field("legal_form"):
        form = get_legal_form(_required(v, "legal_form", "die Rechtsform"))
        out["legal_form"] = form.name
    with errors.field("representative"):
        out["representative"] = str(v.get("representative") or "")
        if form is not None and form.representation_required and not out["representative"]:
            raise ValidationError(
                "representative",
                f"Für die Rechtsform {form.name} müssen Geschäftsbriefe die Vertretung nennen "
                f"({form.legal_basis}): bitte Geschäftsführer/in bzw. Vorstand angeben.",
            )
    with errors.field("register_court"):
        court = str(v.get("register_court") or "")
        if not court and form is not None and form.register_required:
            raise ValidationError("register_court", _register_missing(form, "das Registergericht"))
        out["register_court"] = validate_register_court(court) if court else ""
    with errors.field("register_number"):
        number = str(v.get("register_number") or "")
        if not number and form is not None and form.register_required:
            raise ValidationError("register_number", _register_missing(form, "die Registernummer"))
        if number:
            out["register_number"] = validate_register_number(
                number, legal_form=form.name if form else None
            )
        else:
            out["register_number"] = ""
    out["country"] = (str(v.get("country") or "DE")).upper()
    with errors.field("street"):
        out["street"] = _required(v, "street", "Straße und Hausnummer")
    with errors.field("postcode"):
        out["postcode"] = validate_postcode(str(v.get("postcode") or ""), out["country"])
    with errors.field("city"):
        out["city"] = _required(v, "city", "den Ort")
    # XRechnung requires a seller contact with phone and e-mail (BR-DE-2, BR-DE-6, BR-DE-7).
    with errors.field("contact_name"):
        out["contact_name"] = _required(v, "contact_name", "eine Ansprechperson")
    with errors.field("phone"):
        out["phone"] = validate_phone(str(v.get("phone") or ""))
    with errors.field("email"):
        out["email"] = validate_email(str(v.get("email") or ""))
    with errors.field("website"):
        out["website"] = optional(validate_website, v.get("website")) or ""
    with errors.field("tax_number"):
        entered = " ".join(str(v.get("tax_number") or "").split())
        # Checked, but stored as the owner wrote it: the Finanzamt's "143/456/78901" is what
        # documents print and customers recognise, not the bare digits "14345678901".
        out["tax_number"] = entered if optional(validate_tax_number, entered) else ""
    with errors.field("vat_id"):
        out["vat_id"] = optional(validate_vat_id, v.get("vat_id")) or ""
    # §14 Abs. 4 Nr. 2 UStG: an invoice carries the Steuernummer or the USt-IdNr.
    if not errors.errors.get("tax_number") and not errors.errors.get("vat_id"):
        if not out["tax_number"] and not out["vat_id"]:
            errors.add(
                "tax_number",
                "Bitte Steuernummer oder USt-IdNr. angeben (§ 14 Abs. 4 Nr. 2 UStG).",
            )
    out["bank_name"] = str(v.get("bank_name") or "")
    with errors.field("iban"):
        out["iban"] = optional(validate_iban, v.get("iban")) or ""
    with errors.field("bic"):
        out["bic"] = optional(validate_bic, v.get("bic"), iban=out.get("iban") or None) or ""
    with errors.field("creditor_id"):
        out["creditor_id"] = optional(validate_creditor_id, v.get("creditor_id")) or ""
    with errors.field("payment_term_days"):
        try:
            raw = v.get("payment_term_days")
            days = int(str(raw)) if raw not in (None, "") else 14
        except (TypeError, ValueError):
            days = -1
        if not 0 <= days <= 365:
            raise ValidationError("payment_term_days", "Das Zahlungsziel muss 0 bis 365 Tage sein.")
        out["payment_term_days"] = days
    start = v.get("business_start")
    with errors.field("business_start"):
        if start is not None and not isinstance(start, date):
            raise ValidationError("business_start", "Bitte ein gültiges Datum angeben.")
        out["business_start"] = start
    for name, value in out.items():  # letterhead, footer and invoices print these
        if isinstance(value, str) and name not in errors.errors:
            with errors.field(name):
                validate_printable(value, field=name)
    errors.raise_if_any()
    return out


def save_profile(session: Session, *, version: int, **values: Any) -> CompanyProfile:
    """Validate and save; refuse if someone saved a newer version meanwhile."""
    require_permission(Permission.SETTINGS, session)
    data = _clean_profile(values)
    profile = session.scalar(select(CompanyProfile).limit(1))
    current = profile.version if profile is not None else 0
    if current != version:
        raise ConflictError(CONFLICT_MESSAGE)
    if profile is None:
        profile = CompanyProfile()
        session.add(profile)
    for key, value in data.items():
        setattr(profile, key, value)
    try:
        session.flush()
    except StaleDataError as exc:  # saved elsewhere between our read and our write
        raise ConflictError(CONFLICT_MESSAGE) from exc
    return profile


def save_logo(session: Session, content: bytes) -> CompanyProfile:
    """Store a PNG/JPEG logo (≤ 1 MB) under a content-derived name; never overwrite a file."""
    require_permission(Permission.SETTINGS, session)
    from PIL import Image, UnidentifiedImageError

    if not content:
        raise KmsError("Die Logo-Datei ist leer.")
    if len(content) > LOGO_MAX_BYTES:
        raise KmsError("Das Logo ist größer als 1 MB. Bitte eine kleinere Datei wählen.")
    from kms.rendering.errors import RenderError
    from kms.rendering.preview import check_pixels

    try:
        with Image.open(io.BytesIO(content)) as img:
            kind = img.format
            size = img.size
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise KmsError("Die Datei ist kein lesbares PNG- oder JPEG-Bild.") from exc
    try:
        check_pixels(*size)  # every letter and invoice decodes the logo
    except RenderError as exc:
        raise KmsError(str(exc)) from exc
    if kind not in LOGO_TYPES:
        raise KmsError("Als Logo sind nur PNG- und JPEG-Bilder erlaubt.")
    mime, ext = LOGO_TYPES[kind]
    profile = session.scalar(select(CompanyProfile).limit(1))
    if profile is None:
        raise KmsError("Bitte speichern Sie zuerst die Firmendaten, dann das Logo.")
    name = f"logo-{hashlib.sha256(content).hexdigest()[:16]}{ext}"
    path = get_config().files_dir / name
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)
    profile.logo_file, profile.logo_mime = name, mime
    session.flush()
    return profile


def logo_bytes(profile: CompanyProfile) -> bytes | None:
    """The stored logo's bytes, if any."""
    if not profile.logo_file:
        return None
    path = get_config().files_dir / profile.logo_file
    return path.read_bytes() if path.exists() else None


# --- mail server ---------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpForm:
    """The mail server settings as the form shows them (password never shown)."""

    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    sender_address: str = ""
    sender_name: str = ""
    has_password: bool = False


def get_smtp_form(session: Session) -> SmtpForm:
    """Stored SMTP settings without the password."""
    data = dict(get_value(session, SMTP_KEY) or {})
    return SmtpForm(
        host=data.get("host", ""),
        port=int(data.get("port", 587)),
        security=data.get("security", "starttls"),
        username=data.get("username", ""),
        sender_address=data.get("sender_address", ""),
        sender_name=data.get("sender_name", ""),
        has_password=bool(data.get("password_enc")),
    )


def save_smtp(
    session: Session,
    *,
    host: str,
    port: int,
    security: str,
    username: str,
    sender_address: str,
    sender_name: str = "",
    password: str | None = None,
) -> None:
    """Save SMTP settings; the password is stored encrypted (None keeps the old one)."""
    require_permission(Permission.SETTINGS, session)
    errors = FieldErrors()
    with errors.field("host"):
        if not host.strip() or " " in host.strip():
            raise ValidationError("host", "Bitte den Namen des Mailservers angeben.")
    with errors.field("port"):
        if not 0 < int(port) < 65536:
            raise ValidationError("port", "Der Port muss zwischen 1 und 65535 liegen.")
    with errors.field("security"):
        if security not in SECURITY:
            raise ValidationError("security", "Unbekannte Verschlüsselung.")
    with errors.field("sender_address"):
        sender_address = validate_email(sender_address)
    errors.raise_if_any()
    data = dict(get_value(session, SMTP_KEY) or {})
    data.update(
        host=host.strip(),
        port=int(port),
        security=security,
        username=username.strip(),
        sender_address=sender_address,
        sender_name=sender_name.strip(),
    )
    if password is not None:
        data["password_enc"] = encrypt(password) if password else ""
    set_value(session, SMTP_KEY, data)


def smtp_settings(session: Session) -> SmtpSettings:
    """Settings to send with; KMS_SMTP_* variables (operator) override stored values."""
    data = dict(get_value(session, SMTP_KEY) or {})
    env = os.environ
    host = env.get("KMS_SMTP_HOST") or data.get("host", "")
    sender = env.get("KMS_SMTP_SENDER") or data.get("sender_address", "")
    if not host or not sender:
        raise KmsError("Es ist noch kein Mailserver eingerichtet (Einstellungen → Mailserver).")
    password = env.get("KMS_SMTP_PASSWORD")
    if password is None:
        password = decrypt(data["password_enc"]) if data.get("password_enc") else ""
    return SmtpSettings(
        host=host,
        port=int(env.get("KMS_SMTP_PORT") or data.get("port", 587)),
        security=env.get("KMS_SMTP_SECURITY") or data.get("security", "starttls"),  # type: ignore[arg-type]
        username=env.get("KMS_SMTP_USER") or data.get("username", ""),
        password=password,
        sender_address=sender,
        sender_name=data.get("sender_name", ""),
    )
