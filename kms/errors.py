"""Domain errors: each carries a German message that the UI shows as it is."""

from __future__ import annotations


class KmsError(Exception):
    """Base of all errors whose message is meant for the user (German)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(KmsError):
    """The requested record does not exist (any more)."""


class ReadOnlyError(KmsError):
    """Business data cannot be saved right now (maintenance window or restore)."""


class ConflictError(KmsError):
    """Someone else changed the record in the meantime (optimistic locking)."""
