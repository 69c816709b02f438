"""German messages for everything that can go wrong with a backup."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from kms.errors import KmsError


class BackupError(KmsError):
    """A backup could not be created, read, verified or restored; `.problems` lists details."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class WrongPassphrase(BackupError):
    """The passphrase does not open the encrypted backup."""


class PassphraseRequired(BackupError):
    """The backup is encrypted and no passphrase was given."""


DISK_FULL = (
    "Nicht genug Speicherplatz: Das Backup konnte nicht vollständig geschrieben werden. "
    "Es wurde nichts Halbfertiges gespeichert. Bitte schaffen Sie Platz (z. B. mit "
    "„Alte Backups löschen“) und versuchen Sie es erneut."
)
TRUNCATED = (
    "Das Backup ist unvollständig (abgeschnitten): Es endet, bevor alle Teile und das "
    "Inhaltsverzeichnis gelesen waren. Bitte laden Sie die Datei erneut herunter oder "
    "nehmen Sie ein anderes Backup."
)
DAMAGED = "Das Backup ist beschädigt und kann nicht verwendet werden."
WRONG_PASSPHRASE = "Die Passphrase ist falsch: Das verschlüsselte Backup lässt sich nicht öffnen."  # noqa: S105
NEEDS_PASSPHRASE = "Dieses Backup ist verschlüsselt. Bitte geben Sie die Passphrase an."  # noqa: S105
BUSY = (
    "Gerade läuft schon eine Sicherung oder Wiederherstellung. Bitte warten Sie, bis sie "
    "fertig ist."
)


def is_disk_full(exc: BaseException) -> bool:
    """True for "no space left on device" and "quota exceeded"."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def disk_errors(action: str) -> Iterator[None]:
    """Turn OS write errors into German messages (disk full, permissions, I/O)."""
    try:
        yield
    except KmsError:
        raise
    except OSError as exc:
        if is_disk_full(exc):
            raise BackupError(DISK_FULL) from exc
        if isinstance(exc, PermissionError):
            raise BackupError(
                f"{action}: keine Schreibberechtigung für {exc.filename or 'das Datenverzeichnis'}."
            ) from exc
        raise BackupError(f"{action}: Fehler beim Lesen oder Schreiben ({exc.strerror}).") from exc
