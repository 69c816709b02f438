"""Encryption for secrets that must live in the database (e.g. the SMTP password).

The key comes from KMS_SECRET_KEY or a file in the secrets dir, which backups never
contain: a stolen backup does not reveal the password.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from kms.config import get_config, write_secret
from kms.errors import KmsError


def _fernet() -> Fernet:
    """Fernet keyed by KMS_SECRET_KEY (any string, hashed to 32 bytes) or the key file."""
    env = get_config().secret_key_env
    if env:
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(env.encode()).digest()))
    return Fernet(_file_key().encode())


def _file_key() -> str:
    path = get_config().secrets_dir / "fernet_key"
    if path.exists():
        return path.read_text().strip()
    key = Fernet.generate_key().decode()
    write_secret("fernet_key", key)
    return key


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Decrypt a stored secret; a changed key gives a clear German message."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise KmsError(
            "Ein gespeichertes Passwort lässt sich nicht entschlüsseln (Schlüssel geändert?). "
            "Bitte geben Sie es in den Einstellungen neu ein."
        ) from exc
