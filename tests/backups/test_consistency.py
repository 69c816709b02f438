"""A backup taken while KMS is in use is one consistent snapshot; old backups migrate forward."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from kms.backups import create
from kms.backups.service import apply_restore, create_backup, prepare_restore
from kms.db import dispose_engines, ensure_migrated, session_scope
from kms.modules.bugreports.models import BugReport
from kms.modules.contacts.models import Contact
from kms.permissions import carry
from tests.backups.helpers import head_revision, make_data, table_rows

PROBE = """\"\"\"probe: a later migration that changes data\"\"\"
from alembic import op

revision = "9999"
down_revision = "@HEAD@"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE bug_reports SET title = title || ' (migriert)'")


def downgrade():
    pass
"""


def test_backup_never_holds_half_a_transaction(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A writer commits a contact and a bug report together while the backup runs:
    the backup holds both of every pair or neither, though the writer went on meanwhile."""
    stop = threading.Event()
    written = {"n": 0}
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                marker = f"paar-{written['n']}"
                with session_scope() as s:
                    s.add(Contact(kind="person", last_name=marker))
                    s.add(BugReport(title=marker, description="Paar"))
                written["n"] += 1
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    original = create.dump_table

    def slow_dump(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.1)  # give the writer time to commit between two tables
        return original(*args, **kwargs)

    monkeypatch.setattr(create, "dump_table", slow_dump)
    thread = threading.Thread(target=carry(writer))
    thread.start()
    try:
        while written["n"] < 3:
            time.sleep(0.01)
        before = written["n"]
        backup = create_backup()
        during = written["n"] - before
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert during > 5, "the writer must have committed while the backup ran"
    people = {r["last_name"] for r in table_rows(backup.path, "contacts")}
    reports = {r["title"] for r in table_rows(backup.path, "bug_reports")}
    assert people == reports
    assert len(people) >= 3


@pytest.fixture(params=["sqlite", "postgres"])
def private_db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Like db_url, but PostgreSQL gets a schema of its own: this test adds a migration."""
    from kms.config import get_config
    from tests.conftest import _drop_schema, _fresh_postgres

    schema = _fresh_postgres(monkeypatch) if request.param == "postgres" else None
    url = get_config().database_url
    ensure_migrated(url)
    yield url
    dispose_engines()
    if schema:
        _drop_schema(schema)


def test_old_backup_is_migrated_to_the_current_schema(
    private_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A backup of an older revision restores into a newer schema: its rows are loaded at
    the backup's revision, then the later migrations run over them."""
    from kms import db
    from kms.backups import restore

    make_data()
    old = create_backup()
    old_head = head_revision()
    scripts = tmp_path / "migrations"
    shutil.copytree(Path(db.__file__).parent / "migrations", scripts)
    (scripts / "versions" / "9999_probe.py").write_text(PROBE.replace("@HEAD@", old_head))
    original = db.alembic_config

    def patched(url=None):  # type: ignore[no-untyped-def]
        cfg = original(url)
        cfg.set_main_option("script_location", str(scripts))
        return cfg

    monkeypatch.setattr(db, "alembic_config", patched)
    monkeypatch.setattr(restore, "alembic_config", patched)
    # The newer release's scripts are also what the fast head check reads.
    monkeypatch.setattr(db, "MIGRATIONS_DIR", scripts)
    dispose_engines()
    ensure_migrated()
    with session_scope() as s:
        s.add(BugReport(title="Neu", description="nach dem Update"))
    plan = prepare_restore(old.path)
    assert plan.manifest.schema_revision == old_head
    apply_restore(plan, confirmation="WIEDERHERSTELLEN")
    from sqlalchemy import select, text

    with session_scope(write=False) as s:
        assert list(s.scalars(select(BugReport.title))) == ["Absturz (migriert)"]
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == "9999"
