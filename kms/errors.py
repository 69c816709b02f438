"""Domain errors of KMS: every error carries a German message that the UI can show as is."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class KmsError(Exception):
    """Base of all KMS domain errors; `.message` is a German text for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(KmsError, ValueError):
    """One form field holds an invalid value; `.field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __repr__(self) -> str:
        return f"ValidationError(field={self.field!r}, message={self.message!r})"


class ValidationErrors(KmsError, ValueError):
    """Several form fields are invalid; `.errors` maps field name to German message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__(" ".join(self.errors.values()))


class FieldErrors:
    """Collects the errors of several fields so a form can show all of them at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    @contextmanager
    def field(self, name: str) -> Iterator[None]:
        """Record a ValidationError raised in the block under `name` instead of raising it."""
        try:
            yield
        except ValidationError as exc:
            self.add(name, exc.message)
        except ValidationErrors as exc:
            for message in exc.errors.values():
                self.add(name, message)

    def add(self, name: str, message: str) -> None:
        """Record `message` for field `name`; the first message per field wins."""
        self.errors.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        """Raise ValidationErrors when at least one field error was recorded."""
        if self.errors:
            raise ValidationErrors(self.errors)


class NotFoundError(KmsError):
    """The requested record does not exist (any more)."""


class ReadOnlyError(KmsError):
    """Business data cannot be saved right now (maintenance window or restore)."""


class ConflictError(KmsError):
    """Someone else changed the record in the meantime (optimistic locking)."""
