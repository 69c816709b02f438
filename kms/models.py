"""The declarative base and the infrastructure tables every module relies on."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from kms.types import UTCDateTime, utcnow

# Deterministic constraint names keep Alembic batch migrations on SQLite working.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """One base for every KMS table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}

    # Business data is frozen during maintenance windows and restores; infrastructure
    # tables (logins, logs, notices) stay writable.
    __business_data__: ClassVar[bool] = False


class BusinessData:
    """Mixin marking a table as business data (refused while KMS is read-only)."""

    __business_data__: ClassVar[bool] = True


class Timestamps:
    """Created/updated times in UTC."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    """A login; passwords are stored as bcrypt hashes only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    password_hash: Mapped[str] = mapped_column(String(100))
    # The login created by the first-run setup; what a login may do comes from `role`.
    is_owner: Mapped[bool] = mapped_column(default=False)
    # kms.permissions.Role: inhaber | mitarbeiter | steuerberater (what the login may do).
    role: Mapped[str] = mapped_column(String(20), default="inhaber", server_default="inhaber")
    # A deactivated login cannot log in; its open sessions end at the next click.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    # Login cookies issued before this instant are refused (logout revokes them).
    sessions_valid_after: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(Base):
    """One login attempt, kept for the persistent back-off."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_user_at", "username", "at"),
        Index("ix_login_attempts_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(default=False)


class LoginSession(Base):
    """A browser's login, known by the hashes of its one-time ticket and its cookie.

    The cookie itself never reaches the database: a stolen table reveals no session.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """An operator notice or a planned maintenance window for the banner."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10), default="info")
    is_maintenance: Mapped[bool] = mapped_column(default=False)
    starts_at: Mapped[datetime | None] = mapped_column(default=None)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyValue(Base):
    """Small instance-wide state and settings as JSON (one row per key)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def get_value(session: Session, key: str, default: Any = None) -> Any:
    """The stored value of a key, or `default` when the key is missing or null."""
    row = session.get(KeyValue, key)
    return default if row is None or row.value is None else row.value


def set_value(session: Session, key: str, value: Any) -> None:
    """Store `value` under `key` (created on first use). Assign a new dict or list, never a
    mutated one: the JSON column notices replacement, not mutation."""
    row = session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value))
    else:
        row.value = value


class AutomatismState(Base):
    """Schedule and lease of one automatism; the lease keeps several processes apart."""

    __tablename__ = "automatism_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(default=None)
    last_finished_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[str] = mapped_column(String(20), default="")
    last_message: Mapped[str] = mapped_column(Text, default="")
    next_run_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class FunctionRun(Base):
    """The log of every run of a function (▶) or automatism (⊕)."""

    __tablename__ = "function_runs"
    __table_args__ = (Index("ix_function_runs_key_started", "key", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))  # "function" | "automatism"
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(20), default="running")
    message: Mapped[str] = mapped_column(Text, default="")
    username: Mapped[str | None] = mapped_column(String(64), default=None)


class ErrorLog(Base):
    """Unexpected errors caught on a page: logged server-side, never shown as a traceback."""

    __tablename__ = "error_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    page: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)


__all__ = [
    "AutomatismState",
    "Base",
    "BusinessData",
    "ErrorLog",
    "FunctionRun",
    "KeyValue",
    "LoginAttempt",
    "Notice",
    "Timestamps",
    "User",
]
