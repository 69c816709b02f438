"""Licences for the add-on modules (Preiskalkulation, Podcasts): Ed25519-signed tokens.

A licence is `base64url(payload JSON) "." base64url(signature)`; the payload names the
module, the licensee and the last valid day. Licences are verified against the trusted
public keys (KMS_LICENSE_PUBLIC_KEYS, comma-separated, base64url raw Ed25519 keys) and
installed into the database. `require("podcasts")` raises ModuleLocked when no valid
licence covers the module today.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import date, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.models import get_value, set_value
from kms.notices import set_system_warning
from kms.permissions import Permission, require_permission
from kms.types import BERLIN, today

LICENCES_KEY = "licences.installed"
WARN_DAYS = 30


class ModuleLocked(KmsError):
    """The add-on module has no valid licence."""


@dataclass(frozen=True)
class Licence:
    """A verified licence."""

    module: str
    licensee: str
    valid_until: date
    token: str

    def valid_on(self, day: date) -> bool:
        return day <= self.valid_until


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def trusted_keys() -> list[Ed25519PublicKey]:
    """Public keys whose signatures KMS accepts."""
    raw = os.environ.get("KMS_LICENSE_PUBLIC_KEYS", "")
    return [Ed25519PublicKey.from_public_bytes(_unb64(k.strip())) for k in raw.split(",") if k]


def generate_keypair() -> tuple[str, str]:
    """(private, public) as base64url raw keys, for whoever issues licences."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    secret = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return _b64(secret), _b64(public)


def issue(private_key: str, *, module: str, licensee: str, valid_until: date) -> str:
    """Sign a licence token (vendor side)."""
    key = Ed25519PrivateKey.from_private_bytes(_unb64(private_key))
    payload = json.dumps(
        {"module": module, "licensee": licensee, "valid_until": valid_until.isoformat()},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_b64(key.sign(payload))}"


def verify(token: str) -> Licence:
    """Check a token's signature against the trusted keys and parse it."""
    try:
        payload_b64, sig_b64 = token.strip().split(".")
        payload, signature = _unb64(payload_b64), _unb64(sig_b64)
        data = json.loads(payload)
        licence = Licence(
            module=str(data["module"]),
            licensee=str(data["licensee"]),
            valid_until=date.fromisoformat(data["valid_until"]),
            token=token.strip(),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise KmsError("Das ist kein gültiger KMS-Lizenzschlüssel.") from exc
    for key in trusted_keys():
        try:
            key.verify(signature, payload)
            return licence
        except InvalidSignature:
            continue
    raise KmsError("Die Signatur des Lizenzschlüssels ist ungültig.")


def install(session: Session, token: str) -> Licence:
    """Verify and store a licence (replacing an older one for the same module)."""
    require_permission(Permission.LICENCES, session)
    licence = verify(token)
    tokens = dict(get_value(session, LICENCES_KEY) or {})
    tokens[licence.module] = licence.token
    set_value(session, LICENCES_KEY, tokens)
    return licence


def installed(session: Session) -> dict[str, Licence]:
    """Installed licences that still verify, by module."""
    result: dict[str, Licence] = {}
    for module, token in (get_value(session, LICENCES_KEY) or {}).items():
        try:
            result[module] = verify(token)
        except KmsError:
            continue
    return result


def is_licensed(session: Session, module: str, day: date | None = None) -> bool:
    """True when a valid licence covers the module on `day` (today by default)."""
    licence = installed(session).get(module)
    return licence is not None and licence.valid_on(day or today())


def require(session: Session, module: str, title: str | None = None) -> None:
    """Raise ModuleLocked unless the add-on is licensed today."""
    if not is_licensed(session, module):
        raise ModuleLocked(
            f"Das Zusatzmodul „{title or module}“ ist nicht lizenziert oder die Lizenz ist "
            "abgelaufen. Ihre Daten bleiben erhalten; mit einer gültigen Lizenz ist es sofort "
            "wieder verfügbar."
        )


def licence_watch(session: Session, now: datetime) -> str:
    """⊕ Warn before an add-on licence expires; expired add-ons lock themselves via require()."""
    from kms.registry import modules

    day = now.astimezone(BERLIN).date()  # licences end at midnight in Germany
    licences = installed(session)
    notes = []
    for spec in modules():
        if not spec.licensed or spec.key not in licences:
            continue
        left = (licences[spec.key].valid_until - day).days
        if left < 0:
            notes.append(f"Lizenz für „{spec.title}“ ist abgelaufen; das Modul ist gesperrt.")
        elif left <= WARN_DAYS:
            notes.append(f"Lizenz für „{spec.title}“ läuft in {left} Tagen ab.")
    set_system_warning(session, "licences", " ".join(notes) or None)
    return " ".join(notes) or "Alle Lizenzen gültig."
