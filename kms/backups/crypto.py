"""Passphrase encryption of backup archives: scrypt + AES-256-GCM in authenticated chunks.

Layout (all integers big-endian)::

    header  = MAGIC(8) | version(1) | log2_n(1) | r(1) | p(1) | salt(16) | nonce_prefix(7)
    check   = AES-GCM(key, nonce(check), b"KMS-BACKUP", aad=header)       (26 bytes)
    chunk*  = length(4) | AES-GCM(key, nonce(counter, last), plaintext, aad=header)

Each chunk's nonce is ``nonce_prefix | counter(4) | last(1)`` (the STREAM construction of
Hoang, Reyhanitabar, Rogaway and Vizár): chunks cannot be reordered, dropped or swapped
between archives, and a stream that ends without a chunk marked "last" is truncated. The
check block tells a wrong passphrase apart from a damaged archive. Streaming in both
directions: memory use is one chunk, whatever the archive's size.
"""

from __future__ import annotations

import io
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from kms.backups.errors import (
    DAMAGED,
    TRUNCATED,
    WRONG_PASSPHRASE,
    BackupError,
    WrongPassphrase,
)

MAGIC = b"KMSBKENC"
VERSION = 1
# OWASP's scrypt recommendation (2^17, 8, 1): about 128 MiB and a fraction of a second.
SCRYPT_LOG2_N = 17
SCRYPT_R = 8
SCRYPT_P = 1
CHUNK = 1 << 20
TAG = 16
HEADER_LEN = 8 + 4 + 16 + 7
CHECK_PLAIN = b"KMS-BACKUP"
CHECK_LEN = len(CHECK_PLAIN) + TAG
_CHECK_COUNTER = 0xFFFFFFFF


def is_encrypted(head: bytes) -> bool:
    """True if the first bytes of a file are those of an encrypted backup."""
    return head.startswith(MAGIC)


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise BackupError("Die Passphrase darf nicht leer sein.")
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


class EncryptingWriter(io.RawIOBase):
    """A write-only stream that encrypts into `target`; close() writes the final chunk."""

    def __init__(self, target: BinaryIO, passphrase: str) -> None:
        super().__init__()
        self._target = target
        salt, prefix = os.urandom(16), os.urandom(7)
        self._header = MAGIC + bytes([VERSION, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P]) + salt + prefix
        self._aead = AESGCM(_derive(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P))
        self._prefix = prefix
        self._counter = 0
        self._buffer = bytearray()
        check = self._aead.encrypt(_nonce(prefix, _CHECK_COUNTER, True), CHECK_PLAIN, self._header)
        target.write(self._header + check)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        if self._counter >= _CHECK_COUNTER:  # pragma: no cover - 4 PiB
            raise BackupError("Das Backup ist zu groß für die Verschlüsselung.")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plain, self._header)
        self._target.write(struct.pack(">I", len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only stream of the plaintext; raises BackupError on any tampering."""

    def __init__(self, source: BinaryIO, passphrase: str) -> None:
        super().__init__()
        self._source = source
        header = source.read(HEADER_LEN)
        if len(header) < HEADER_LEN or not header.startswith(MAGIC):
            raise BackupError(TRUNCATED if len(header) < HEADER_LEN else DAMAGED)
        version, log2_n, r, p = header[8:12]
        if version != VERSION or not (10 <= log2_n <= 22) or r < 1 or p < 1:
            raise BackupError(
                "Das verschlüsselte Backup hat ein unbekanntes Format (neuere KMS-Version?)."
            )
        self._header = header
        self._prefix = header[28:35]
        self._aead = AESGCM(_derive(passphrase, header[12:28], log2_n, r, p))
        check = source.read(CHECK_LEN)
        if len(check) < CHECK_LEN:
            raise BackupError(TRUNCATED)
        try:
            self._aead.decrypt(_nonce(self._prefix, _CHECK_COUNTER, True), check, header)
        except InvalidTag as exc:
            raise WrongPassphrase(WRONG_PASSPHRASE) from exc
        self._counter = 0
        self._plain = b""
        self._pos = 0
        self._finished = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        raw_len = self._source.read(4)
        if len(raw_len) < 4:
            raise BackupError(TRUNCATED)
        (length,) = struct.unpack(">I", raw_len)
        if length < TAG or length > CHUNK + TAG:
            raise BackupError(DAMAGED)
        sealed = self._source.read(length)
        if len(sealed) < length:
            raise BackupError(TRUNCATED)
        for last in (False, True):
            try:
                plain = self._aead.decrypt(
                    _nonce(self._prefix, self._counter, last), sealed, self._header
                )
            except InvalidTag:
                continue
            self._counter += 1
            self._plain, self._pos = plain, 0
            if last:
                self._finished = True
                if self._source.read(1):
                    raise BackupError(DAMAGED + " (Daten nach dem Ende der Verschlüsselung)")
            return
        raise BackupError(DAMAGED + " (eine Prüfsumme der Verschlüsselung stimmt nicht)")

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._pos >= len(self._plain):
            if self._finished:
                return 0
            self._next_chunk()
        n = min(len(buffer), len(self._plain) - self._pos)
        buffer[:n] = self._plain[self._pos : self._pos + n]
        self._pos += n
        return n
