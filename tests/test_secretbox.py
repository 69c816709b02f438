"""Secrets in the database: encrypted with a key that lives outside it."""

from __future__ import annotations

import stat

import pytest

from kms.config import get_config, reset_config
from kms.errors import KmsError
from kms.secretbox import decrypt, encrypt


def test_secrets_round_trip_and_never_show_in_the_ciphertext() -> None:
    """encrypt/decrypt round-trips umlauts; the token reveals nothing; the key file is 0600."""
    token = encrypt("Grüße-2026")
    assert "Grüße" not in token and "2026" not in token
    assert decrypt(token) == "Grüße-2026"
    assert encrypt("Grüße-2026") != token  # random IV: equal secrets look different
    key_file = get_config().secrets_dir / "fernet_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_key_from_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """With KMS_SECRET_KEY set, tokens of the file key no longer decrypt, and vice versa."""
    from_file = encrypt("geheim")
    monkeypatch.setenv("KMS_SECRET_KEY", "Betreiber-Schlüssel")
    reset_config()
    from_env = encrypt("geheim")
    assert decrypt(from_env) == "geheim"
    with pytest.raises(KmsError, match="lässt sich nicht entschlüsseln"):
        decrypt(from_file)


@pytest.mark.parametrize("token", ["", "kein-token", "gAAAAA" + "x" * 80])
def test_garbage_gives_a_german_message(token: str) -> None:
    """A damaged stored value asks for the password again instead of crashing."""
    with pytest.raises(KmsError, match="Bitte geben Sie es in den Einstellungen neu ein"):
        decrypt(token)
