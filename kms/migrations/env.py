"""Alembic environment: batch mode on SQLite, all module models imported."""

from __future__ import annotations

from typing import Any

from alembic import context

from kms.db import get_engine
from kms.models import Base
from kms.registry import import_models

import_models()
target_metadata = Base.metadata


def _raw(connection: Any) -> Any:
    """The DBAPI connection, outside SQLAlchemy's transaction handling."""
    return connection.connection.dbapi_connection


def run_migrations_online() -> None:
    """Migrate through the process's engine (so SQLite pragmas apply)."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = get_engine(url)
    is_sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if is_sqlite:
            # Batch migrations copy tables; foreign keys must be off meanwhile (SQLite docs §7).
            # The pragma is a no-op inside a transaction, so it goes to the raw connection.
            _raw(connection).execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=is_sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if is_sqlite:
            _raw(connection).execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():  # pragma: no cover - KMS always migrates online
    raise SystemExit("Offline migrations are not supported; use `python -m kms db upgrade`.")
run_migrations_online()
