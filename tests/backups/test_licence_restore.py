"""Installed licences and the instance id travel in backups and still unlock after a restore
into PostgreSQL (they are not secrets; the signature is checked again there)."""

from __future__ import annotations

from datetime import date

import pytest

from kms import licensing
from kms.backups.service import create_backup
from kms.config import get_config
from kms.db import get_engine, session_scope
from kms.registry import ModuleSpec
from tests.backups.helpers import use_database
from tests.backups.test_roundtrip import restore
from tests.conftest import _drop_schema, _fresh_postgres

ADDON = ModuleSpec(key="podcasts", title="Podcasts", licensed=True)


@pytest.mark.postgres
def test_a_licence_survives_a_sqlite_to_postgres_restore(monkeypatch: pytest.MonkeyPatch) -> None:
    from kms import registry

    real = registry.modules()
    monkeypatch.setattr(registry, "modules", lambda: (*real, ADDON))
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    sqlite_url = get_config().database_url
    use_database(monkeypatch, sqlite_url)
    with session_scope() as session:
        instance = licensing.instance_id(session)
        token = licensing.issue(
            private,
            module="podcasts",
            licensee="Musterfirma",
            instance=instance,
            valid_from=date(2020, 1, 1),
            valid_until=date(2099, 12, 31),
        )
        licensing.install(session, token)
    backup = create_backup()

    schema = _fresh_postgres(monkeypatch)
    try:
        use_database(monkeypatch, get_config().database_url)
        assert get_engine().dialect.name == "postgresql"
        with session_scope() as session:
            assert licensing.stored_instance_id(session) is None
        restore(backup.path)
        with session_scope() as session:
            assert licensing.stored_instance_id(session) == instance
            assert licensing.state(session, "podcasts").usable
            licensing.require(session, "podcasts")
    finally:
        from kms.db import dispose_engines

        dispose_engines()
        _drop_schema(schema)
