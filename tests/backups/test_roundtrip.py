"""Backup → wipe → restore gives back every row and every file, on and across databases."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from kms import audit
from kms.backups import hooks
from kms.backups.archive import read_archive
from kms.backups.service import (
    BackupError,
    apply_restore,
    create_backup,
    list_backups,
    prepare_restore,
)
from kms.config import get_config
from kms.db import get_engine, session_scope
from kms.models import FunctionRun, KeyValue
from kms.modules.contacts import service as contacts
from kms.modules.contacts.models import Contact
from kms.notices import RESTORE_KEY
from tests.backups.helpers import (
    archive_members,
    audit_problems,
    db_snapshot,
    file_snapshot,
    make_data,
    restore_events,
    rewrite,
    table_rows,
    to_format_1,
    use_database,
    wipe,
)
from tests.conftest import _drop_schema, _fresh_postgres


def restore(path, passphrase=None):  # type: ignore[no-untyped-def]
    plan = prepare_restore(path, passphrase=passphrase)
    return apply_restore(plan, confirmation="WIEDERHERSTELLEN", username="erika")


@pytest.mark.parametrize("passphrase", [None, "Korrekt Pferd Batterie Heftklammer"])
def test_restore_gives_back_every_row_and_file(db_url: str, passphrase: str | None) -> None:
    """After wiping everything, a restore brings back each table row and file byte for byte."""
    make_data()
    rows, files = db_snapshot(), file_snapshot()
    tables = ("users", "contacts", "tags", "contact_tags", "bug_reports", "audit_events")
    assert all(rows[t] for t in tables)
    with session_scope(write=False) as s:
        head = audit.head(s)
    backup = create_backup(passphrase=passphrase)
    wipe()
    assert db_snapshot() != rows and file_snapshot() != files

    result = restore(backup.path, passphrase)

    assert db_snapshot() == rows
    assert file_snapshot() == files
    # The restore is audited once, chained onto the restored log, which stays intact.
    [event] = restore_events()
    assert (event.entity, event.entity_id, event.actor) == ("backup", backup.name, "erika")
    assert json.loads(event.payload)["source"] == backup.name
    assert event.prev_hash == head
    assert audit_problems() == []
    assert result.safety_backup.kind == "safety"
    with session_scope(write=False) as s:
        assert s.get(KeyValue, RESTORE_KEY) is None
        logged = s.scalar(select(FunctionRun).where(FunctionRun.key == "backup_restore"))
        assert logged is not None and logged.status == "ok" and logged.username == "erika"


def test_archive_of_the_previous_format_still_restores(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Format 1 (one JSON object per row, gzip level 6) verifies and restores row for row."""
    from kms.backups.restore import verify_backup

    make_data()
    rows, files = db_snapshot(), file_snapshot()
    old = to_format_1(create_backup().path, tmp_path / "format-1.tar")
    assert json.loads(archive_members(old)["manifest.json"])["format_version"] == 1
    first = json.loads(
        gzip.decompress(archive_members(old)["database/contacts.jsonl.gz"]).split(b"\n")[0]
    )
    assert isinstance(first, dict) and "last_name" in first
    assert verify_backup(old).format_version == 1
    wipe()
    assert db_snapshot() != rows

    restore(old)

    assert db_snapshot() == rows
    assert file_snapshot() == files
    assert audit_problems() == []


def test_rows_are_arrays_in_the_manifests_column_order(db_url: str) -> None:
    """Format 2 writes each row as a JSON array, as wide as the manifest's column list."""
    make_data()
    backup = create_backup()
    members = archive_members(backup.path)
    manifest = json.loads(members["manifest.json"])
    assert manifest["format_version"] == 2
    contacts_part = next(t for t in manifest["tables"] if t["name"] == "contacts")
    lines = gzip.decompress(members[contacts_part["part"]]).splitlines()
    assert len(lines) == contacts_part["rows"] > 0
    assert all(len(json.loads(line)) == len(contacts_part["columns"]) for line in lines)
    assert "Mustermann" in {r["last_name"] for r in table_rows(backup.path, "contacts")}


def test_row_that_does_not_fit_the_columns_is_refused(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A row with fewer values than the manifest's columns (hashes made to match) stops the
    restore before anything live changes."""
    make_data()
    rows = db_snapshot()
    source = create_backup().path
    members = archive_members(source)
    del members["manifest.json"]
    key = "database/contacts.jsonl.gz"
    lines = gzip.decompress(members[key]).splitlines()
    lines[0] = json.dumps(json.loads(lines[0])[:-1]).encode()
    members[key] = gzip.compress(b"\n".join(lines) + b"\n")
    parts = [
        {"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for n, d in members.items()
    ]
    broken = rewrite(
        source,
        tmp_path / "short.tar",
        lambda _m: members,
        fix_manifest=lambda m: m.update(parts=parts),
    )
    with pytest.raises(BackupError, match="passt nicht zu den Spalten"):
        prepare_restore(broken)
    assert db_snapshot() == rows


def test_safety_backup_holds_the_state_before_the_restore(db_url: str) -> None:
    """The automatic safety backup restores the data that the restore replaced."""
    make_data()
    backup = create_backup()
    wipe()
    replaced_rows, replaced_files = db_snapshot(), file_snapshot()
    result = restore(backup.path)
    restore(result.safety_backup.path)
    assert db_snapshot() == replaced_rows
    assert file_snapshot() == replaced_files
    assert restore_events()[-1].entity_id == result.safety_backup.name
    assert audit_problems() == []


def test_new_records_after_restore_get_fresh_ids(db_url: str) -> None:
    """Sequences continue after the restored rows (PostgreSQL setval), so inserts work."""
    make_data()
    backup = create_backup()
    wipe()
    restore(backup.path)
    with session_scope() as s:
        newest = s.scalar(sa.func.max(Contact.id).select())
        person = contacts.create_person(s, first_name="Max", last_name="Mustermann")
        s.flush()
        assert person.id > newest


def test_secrets_and_earlier_backups_are_never_inside(db_url: str) -> None:
    """data/secrets and data/backups stay out of the archive; restore keeps the secrets."""
    from kms.auth import cookie_key
    from tests.backups.helpers import archive_members

    make_data()
    key = cookie_key()
    (get_config().data_dir / "secrets" / "extra").write_text("geheim")
    first = create_backup()
    second = create_backup()
    names = archive_members(second.path)
    assert not [n for n in names if "secrets" in n or "backups" in n]
    assert first.name not in str(list(names))
    restore(second.path)
    assert cookie_key() == key
    assert (get_config().data_dir / "secrets" / "extra").read_text() == "geheim"
    assert {b.name for b in list_backups()} >= {first.name, second.name}


def test_monotonic_counters_never_go_backwards(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared counter keeps max(before restore, backup), per counter name."""

    def read(session):  # type: ignore[no-untyped-def]
        row = session.get(KeyValue, "dummy.counters")
        return dict(row.value) if row else {}

    def write(session, values):  # type: ignore[no-untyped-def]
        row = session.get(KeyValue, "dummy.counters")
        row.value = values

    counter = hooks.MonotonicCounter("rechnungen", read=read, write=write)
    monkeypatch.setattr("kms.registry.backup_counters", lambda: [counter])
    with session_scope() as s:
        s.add(KeyValue(key="dummy.counters", value={"RE-2026": 5, "GS-2026": 7}))
    backup = create_backup()
    with session_scope() as s:
        s.get(KeyValue, "dummy.counters").value = {"RE-2026": 12, "GS-2026": 3}
    result = restore(backup.path)
    with session_scope(write=False) as s:
        assert s.get(KeyValue, "dummy.counters").value == {"RE-2026": 12, "GS-2026": 7}
    assert result.counters_raised == {"rechnungen.RE-2026": 12}


def test_audit_provider_gets_head_and_restore_event(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest carries the audit head; the restore is written to the audit log."""
    monkeypatch.setattr(hooks, "AUDIT", [])
    events: list[tuple[str, dict]] = []

    class Audit:
        def head(self, session):  # type: ignore[no-untyped-def]
            return "abc123"

        def record(self, session, event, details):  # type: ignore[no-untyped-def]
            events.append((event, details))

    backup = create_backup()
    from tests.backups.helpers import archive_members

    assert json.loads(archive_members(backup.path)["manifest.json"])["audit_head"] is None
    hooks.register_audit(Audit())
    backup = create_backup()
    assert json.loads(archive_members(backup.path)["manifest.json"])["audit_head"] == "abc123"
    restore(backup.path)
    assert [e for e, _ in events] == ["backup.restore"]
    assert events[0][1]["source"] == backup.name


def test_exact_values_survive_storage_types(db_url: str) -> None:
    """Money, Quantity, NUMERIC, binary, dates and aware times keep their exact values."""
    from kms.backups.rows import dump_table, load_tables
    from kms.types import Money, Quantity, UTCDateTime

    meta = sa.MetaData()
    probe = sa.Table(
        "probe_values",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("money", Money()),
        sa.Column("qty", Quantity()),
        sa.Column("num", sa.Numeric(20, 6)),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("day", sa.Date),
        sa.Column("at", UTCDateTime()),
        sa.Column("parent_id", sa.ForeignKey("probe_values.id")),
    )
    from datetime import UTC, date, datetime

    values = {
        "id": 1,
        "money": Decimal("-1234567.89"),
        "qty": Decimal("0.3333"),
        "num": Decimal("1234.567891"),  # SQLite NUMERIC is a float: keep to 15 digits
        "blob": bytes(range(256)),
        "day": date(2026, 2, 28),
        "at": datetime(2026, 10, 25, 0, 59, 59, 999999, tzinfo=UTC),
        "parent_id": 2,
    }
    engine = get_engine(db_url)
    meta.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(
                probe.insert(), [{**values, "parent_id": None}, {**dict.fromkeys(values), "id": 2}]
            )
            conn.execute(probe.update().where(probe.c.id == 1).values(parent_id=2))
        import tempfile
        from pathlib import Path

        part = Path(tempfile.mkdtemp()) / "probe"
        with engine.connect() as conn:
            dump = dump_table(conn, probe, part)
        with engine.begin() as conn:
            conn.execute(probe.delete())
        target = sa.MetaData()
        target.reflect(engine, only=["probe_values"])
        with engine.begin() as conn:
            load_tables(
                conn, target, {"probe_values": part}, columns={"probe_values": dump.columns}
            )
        with engine.connect() as conn:
            back = conn.execute(select(probe).where(probe.c.id == 1)).one()._asdict()
        assert back == values
    finally:
        meta.drop_all(engine)


def test_backup_is_refused_while_the_lock_is_held(db_url: str) -> None:
    """Two backups never run at once; the second gets a German message."""
    from kms.backups.store import exclusive

    with exclusive(), pytest.raises(BackupError, match="läuft schon"):
        create_backup()


@pytest.fixture
def own_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """KMS on a PostgreSQL schema of this test's own (restores replace its tables), dropped
    afterwards."""
    schema = _fresh_postgres(monkeypatch)
    try:
        use_database(monkeypatch, get_config().database_url)
        yield
    finally:
        from kms.db import dispose_engines

        dispose_engines()
        _drop_schema(schema)


@pytest.mark.postgres
def test_a_restore_into_postgres_leaves_the_planner_its_statistics(own_postgres: None) -> None:
    """pg_stats describes the restored tables at once, without waiting for autovacuum: the
    first reruns after a restore are planned on real row counts."""
    make_data()
    backup = create_backup()
    wipe()
    restore(backup.path)
    with get_engine().connect() as conn:
        analysed = set(
            conn.scalars(
                sa.text(
                    "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
                )
            )
        )
        count = conn.scalar(sa.text("SELECT count(*) FROM contacts"))
        estimate = conn.scalar(
            sa.text("SELECT reltuples FROM pg_class WHERE oid = 'contacts'::regclass")
        )
    assert {
        "users",
        "contacts",
        "tags",
        "contact_tags",
        "bug_reports",
        "audit_events",
    } - analysed == set()
    assert count and estimate == count


@pytest.mark.postgres
def test_sqlite_backup_restores_into_postgres_and_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """An owner moves from the embedded SQLite to PostgreSQL (and back) with one backup."""
    sqlite_url = get_config().database_url
    use_database(monkeypatch, sqlite_url)
    make_data()
    rows, files = db_snapshot(), file_snapshot()
    from_sqlite = create_backup()

    schema = _fresh_postgres(monkeypatch)
    try:
        use_database(monkeypatch, get_config().database_url)
        assert get_engine().dialect.name == "postgresql"
        restore(from_sqlite.path)
        assert db_snapshot() == rows
        assert file_snapshot() == files
        assert audit_problems() == []  # the hash chain verifies on the other database
        with session_scope() as s:
            contacts.create_person(s, first_name="Nur", last_name="Postgres")
        pg_rows = db_snapshot()
        from_postgres = create_backup()
        assert table_rows(from_postgres.path, "contacts")[-1]["last_name"] == "Postgres"

        use_database(monkeypatch, sqlite_url)
        restore(from_postgres.path)
        assert db_snapshot() == pg_rows
        assert audit_problems() == []
        assert [e.entity_id for e in restore_events()] == [from_sqlite.name, from_postgres.name]
        # The keyed chain and its anchors (file and the next backup's manifest) agree too.
        again = create_backup()
        from kms.cli import main

        assert main(["audit", "verify"]) == 0
        assert read_archive(again.path).manifest.audit_anchor is not None
    finally:
        from kms.db import dispose_engines

        dispose_engines()
        _drop_schema(schema)


def _definitions() -> list[str]:
    """Every index and constraint of the live schema, as PostgreSQL prints it."""
    with get_engine().connect() as conn:
        return list(
            conn.scalars(
                sa.text(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                    " UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid)"
                    " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
                    " ORDER BY 1"
                )
            )
        )


def _contacts_oid() -> int:
    with get_engine().connect() as conn:
        return int(conn.scalar(sa.text("SELECT 'contacts'::regclass::oid")) or 0)


@pytest.mark.postgres
def test_a_restore_into_postgres_puts_the_restored_tables_in_place(
    own_postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The restored tables take the live ones' place in the catalog (no row is copied a
    second time): every row, index and constraint is there (the restore's schema made its
    indexes and foreign keys again after the rows), the replaced tables are gone with
    their schema, and new records get fresh ids."""
    from kms.backups import restore as restoring

    make_data()
    rows = db_snapshot()
    backup = create_backup()
    wipe()
    before, keys = _contacts_oid(), _definitions()
    moved: list[str] = []
    original = restoring._move_tables

    def spy(conn: sa.Connection, temp_schema: str, names: list[str]) -> None:
        moved.append(temp_schema)
        original(conn, temp_schema, names)

    monkeypatch.setattr(restoring, "_move_tables", spy)
    restore(backup.path)
    assert len(moved) == 1 and _contacts_oid() != before
    assert db_snapshot() == rows
    assert _definitions() == keys and any("FOREIGN KEY" in k for k in keys)
    with get_engine().connect() as conn:
        indexes = set(
            conn.scalars(
                sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
            )
        )
        # The restore's schema and the replaced tables are gone.
        left = conn.scalar(
            sa.text(
                "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = :temp)"
                " + (SELECT count(*) FROM pg_class WHERE oid = :old)"
            ),
            {"temp": moved[0], "old": before},
        )
        highest = conn.scalar(sa.text("SELECT max(id) FROM contacts"))
        # Vacuumed before the move (visibility map, statistics), and it came along.
        vacuumed = conn.scalar(
            sa.text(
                "SELECT vacuum_count FROM pg_stat_user_tables"
                " WHERE relname = 'contacts' AND schemaname = current_schema()"
            )
        )
    assert "ix_invoices_list_order" in indexes and left == 0 and vacuumed == 1
    with session_scope() as s:
        new = contacts.create_person(s, first_name="Nach", last_name="Wiederherstellung")
        s.flush()
        assert highest and new.id == highest + 1


@pytest.mark.parametrize(
    ("setup", "check"),
    [
        (
            "CREATE VIEW kontakte_bericht AS SELECT id, last_name FROM contacts",
            "SELECT count(*) = (SELECT count(*) FROM contacts) FROM kontakte_bericht",
        ),
        (
            "GRANT SELECT ON contacts TO PUBLIC",
            "SELECT has_table_privilege('public', 'contacts', 'SELECT')",
        ),
        (
            "CREATE INDEX von_hand ON contacts (last_name, id)",
            "SELECT count(*) = 1 FROM pg_indexes WHERE indexname = 'von_hand'"
            " AND schemaname = current_schema()",
        ),
    ],
    ids=["view", "grant", "index"],
)
@pytest.mark.postgres
def test_what_else_depends_on_the_live_tables_keeps_them(
    own_postgres: None, setup: str, check: str
) -> None:
    """A view, a privilege or an index that an owner added to a live table would go with
    it: then the rows are copied into the live tables instead, and the addition stays."""
    make_data()
    rows = db_snapshot()
    backup = create_backup()
    wipe()
    with get_engine().begin() as conn:
        conn.execute(sa.text(setup))
    before = _contacts_oid()
    restore(backup.path)
    assert _contacts_oid() == before
    assert db_snapshot() == rows
    with get_engine().connect() as conn:
        assert conn.scalar(sa.text(check)) is True
