"""Backup wiederherstellen: check everything first, then replace data in one step.

prepare_restore() reads and checks the whole archive and builds the restored database
beside the live one (a temp SQLite file, or a temp PostgreSQL schema): Alembic creates the
schema at the backup's revision, the rows go in, and Alembic upgrades it to head. Nothing
live is touched, so a refused archive changes nothing. apply_restore() then takes a
safety backup, switches KMS to read-only, swaps the stored files by renames and the
database in one transaction (SQLite: the sqlite3 backup API into the live file;
PostgreSQL: the restored tables move into the live schema in place of the live ones, or,
where something else depends on those, TRUNCATE + INSERT … SELECT; then sequence reset and
ANALYZE), and undoes the file swap if the database step fails. A journal
(kms.backups.journal) covers a process that is killed meanwhile: the next start rolls the
restore back or completes it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import kms
from kms.backups import hooks, journal
from kms.backups.archive import (
    DATA_PREFIX,
    EXCLUDED_TOP,
    Manifest,
    is_temp_name,
    read_archive,
)
from kms.backups.archive import data_files as live_data_files
from kms.backups.create import create_locked, sqlite_path
from kms.backups.documents import activity_filter, sync_backup_documents
from kms.backups.errors import BackupError, disk_errors
from kms.backups.parallel import load_database
from kms.backups.store import (
    RESTORE_PREFIX,
    BackupInfo,
    ProgressCallback,
    Tracker,
    backups_dir,
    exclusive,
    remove,
)
from kms.config import ensure_dirs, get_config
from kms.db import (
    alembic_config,
    dispose_engine,
    dispose_engines,
    ensure_migrated,
    get_engine,
    reflect,
    session_scope,
)
from kms.models import Base, KeyValue, set_value
from kms.notices import RESTORE_KEY, SKIP_GUARD
from kms.permissions import Permission, require_permission
from kms.registry import import_models

if TYPE_CHECKING:
    from kms.jobs import JobHandle

log = logging.getLogger(__name__)

CONFIRM_WORD = "WIEDERHERSTELLEN"
# Tables the loss report names in words; others appear under their technical name.
TABLE_LABELS = {
    "contacts": "Kontakte (Personen und Organisationen)",
    "invoices": "Rechnungen",
    "documents": "Dokumente",
    "bookings": "Buchungen",
    "ledger_entries": "Buchungen",
    "letters": "Schreiben",
    "users": "Benutzer",
    "bug_reports": "Fehlermeldungen",
    "notices": "Hinweise",
    "company_profile": "Firmendaten",
    "tax_regimes": "Besteuerung",
    "tags": "Schlagwörter",
    "bank_imports": "Kontoauszug-Importe",
    "bank_lines": "Importierte Kontoumsätze",
    "bank_rules": "Buchungsregeln (Kontoauszüge)",
    "bank_csv_mappings": "CSV-Zuordnungen (Kontoauszüge)",
    "ledger_bookings": "Buchungen (Einnahmen/Ausgaben)",
    "ledger_booking_lines": "Buchungspositionen",
    "ledger_accounts": "Geldkonten",
    "ledger_categories": "Kategorien (Einnahmen/Ausgaben)",
    "ledger_assets": "Anlagenverzeichnis",
    "ledger_settings": "Einstellungen Einnahmen/Ausgaben",
    "period_locks": "Festgeschriebene Zeiträume (GoBD)",
    "datev_settings": "DATEV-Einstellungen",
    "datev_account_map": "DATEV-Geldkonten",
    "datev_category_map": "DATEV-Sachkonten der Kategorien",
    "pricing_overheads": "Gemeinkosten (Preiskalkulation)",
    "pricing_basis": "Kalkulationsgrundlagen (Preiskalkulation)",
    "pricing_offerings": "Angebote (Preiskalkulation)",
    "pricing_invoice_links": "Zuordnungen der Nachkalkulation",
}
# Technical logs and schedules: not worth a line in "what would be lost".
QUIET_TABLES = {
    "login_attempts",
    "login_sessions",
    "function_runs",
    "error_log",
    "automatism_state",
    "key_values",
}


def parse_version(value: str) -> tuple[int, ...]:
    """ "1.2.3" → (1, 2, 3); anything else is refused."""
    try:
        parts = tuple(int(p) for p in str(value).split("."))
    except ValueError:
        parts = ()
    if not parts or len(parts) > 4 or any(p < 0 for p in parts):
        raise BackupError(
            f"Das Inhaltsverzeichnis nennt eine ungültige KMS-Version „{value}“; das Backup "
            "ist beschädigt oder stammt nicht von KMS."
        )
    return parts


def check_compatible(manifest: Manifest) -> datetime:
    """Refuse backups from a newer KMS or an unknown schema; return the creation time."""
    if parse_version(manifest.kms_version) > parse_version(kms.__version__):
        raise BackupError(
            f"Das Backup stammt von KMS {manifest.kms_version}, diese Installation ist "
            f"KMS {kms.__version__}. Bitte aktualisieren Sie zuerst KMS, dann stellen Sie das "
            "Backup wieder her."
        )
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if manifest.schema_revision not in known:
        raise BackupError(
            f"Das Backup hat die Datenbank-Revision „{manifest.schema_revision}“, die diese "
            "KMS-Installation nicht kennt (neuere oder fremde Version). Es wird nicht "
            "wiederhergestellt."
        )
    try:
        created = datetime.fromisoformat(manifest.created_at)
    except (TypeError, ValueError) as exc:
        raise BackupError("Das Inhaltsverzeichnis nennt keine gültige Erstellungszeit.") from exc
    if created.tzinfo is None:
        raise BackupError("Das Inhaltsverzeichnis nennt keine gültige Erstellungszeit.")
    return created.astimezone(UTC)


@dataclass(frozen=True)
class Loss:
    """What restoring would take away from one table."""

    table: str
    label: str
    current_rows: int
    backup_rows: int
    newer_rows: int


@dataclass
class RestorePlan:
    """A checked archive with its restored database ready beside the live one."""

    source: Path
    manifest: Manifest
    created_at: datetime
    encrypted: bool
    work: Path
    temp_url: str
    temp_schema: str | None
    losses: list[Loss] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    backup_files: int = 0

    @property
    def data_dir(self) -> Path:
        return self.work / "archive" / DATA_PREFIX.rstrip("/")

    @property
    def table_parts(self) -> dict[str, Path]:
        base = self.work / "archive"
        return {t["name"]: base / t["part"] for t in self.manifest.tables}


@dataclass(frozen=True)
class RestoreResult:
    """What apply_restore() did."""

    safety_backup: BackupInfo
    counters_raised: dict[str, int]
    created_at: datetime


def verify_backup(
    path: Path, *, passphrase: str | None = None, progress: ProgressCallback = None
) -> Manifest:
    """Check an archive without restoring it; raises BackupError saying what is wrong."""
    tracker = Tracker(progress)
    tracker.set_phase("Backup prüfen", total=path.stat().st_size)
    result = read_archive(path, passphrase=passphrase, progress=tracker.advance)
    check_compatible(result.manifest)
    return result.manifest


def prepare_restore(
    path: Path, *, passphrase: str | None = None, progress: ProgressCallback = None
) -> RestorePlan:
    """Read, check and stage a backup; returns the plan with what would be lost."""
    require_permission(Permission.BACKUPS)
    with exclusive():
        return _prepare_locked(path, passphrase=passphrase, progress=progress)


def _prepare_locked(
    path: Path, *, passphrase: str | None, progress: ProgressCallback
) -> RestorePlan:
    ensure_migrated()
    import_models()
    tracker = Tracker(progress)
    work = backups_dir() / f"{RESTORE_PREFIX}{uuid.uuid4().hex}"
    plan: RestorePlan | None = None
    try:
        with disk_errors("Backup wiederherstellen"):
            work.mkdir()
            tracker.set_phase("Backup prüfen und entpacken", total=path.stat().st_size)
            result = read_archive(
                path, passphrase=passphrase, extract_to=work / "archive", progress=tracker.advance
            )
            created_at = check_compatible(result.manifest)
            temp_url, temp_schema = _temp_database(work)
            plan = RestorePlan(
                source=path,
                manifest=result.manifest,
                created_at=created_at,
                encrypted=result.encrypted,
                work=work,
                temp_url=temp_url,
                temp_schema=temp_schema,
            )
            total_rows = sum(int(t["rows"]) for t in result.manifest.tables)
            tracker.set_phase("Datenbank aufbauen", total=total_rows)
            _build_database(plan, tracker)
            tracker.set_phase("Unterschiede ermitteln", total=1)
            _report_losses(plan)
            tracker.advance(1)
        return plan
    except BaseException:
        if plan is not None:
            discard_plan(plan)
        else:
            remove(work)
        raise


def _temp_database(work: Path) -> tuple[str, str | None]:
    """A URL for the restored database: a temp file (SQLite) or a temp schema (PostgreSQL)."""
    live = make_url(get_config().database_url)
    if live.get_backend_name() == "sqlite":
        return f"sqlite:///{work / 'restore.sqlite3'}", None
    schema = f"kms_restore_{uuid.uuid4().hex[:12]}"
    with get_engine().begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    options = [o for o in live.query.get("options", "").split() if "search_path" not in o]  # type: ignore[union-attr]
    options.append(f"-csearch_path={schema}")
    url = live.update_query_dict({"options": " ".join(options)})
    return url.render_as_string(hide_password=False), schema


_LOAD_PRAGMAS = ("synchronous", "cache_size", "journal_mode")


def _build_database(plan: RestorePlan, tracker: Tracker) -> None:
    """Schema at the backup's revision, its rows, then every later migration."""
    from alembic import command

    cfg = alembic_config(plan.temp_url)
    # Data migrations that move bytes into files (1301: originals into Dokumente) write to
    # the restored files, which are swapped in together with this database.
    cfg.set_main_option("kms_files_dir", str(plan.data_dir / "files").replace("%", "%%"))
    command.upgrade(cfg, plan.manifest.schema_revision)
    engine = get_engine(plan.temp_url)
    metadata = reflect(engine)
    metadata.remove(metadata.tables["alembic_version"])
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection if engine.dialect.name == "sqlite" else None
        if raw is not None:
            # The temp file is thrown away if the load fails, so the load needs no fsync; a
            # large page cache keeps the indexes in memory while the rows go in; a rollback
            # journal instead of WAL writes each page once, not to the WAL and then again
            # (a new file's journal holds only its few schema pages). All are set back
            # before anything else writes to it (read-only flag, journal id).
            settings = [raw.execute(f"PRAGMA {p}").fetchone()[0] for p in _LOAD_PRAGMAS]
            raw.execute("PRAGMA synchronous = OFF")
            raw.execute("PRAGMA cache_size = -262144")
            raw.execute("PRAGMA journal_mode = DELETE")
        counts = load_database(
            conn,
            metadata,
            plan.table_parts,
            columns={t["name"]: list(t["columns"]) for t in plan.manifest.tables},
            objects=plan.manifest.format_version < 2,
            progress=tracker.advance,
            work=plan.work,
        )
        if raw is not None:
            for pragma, value in zip(_LOAD_PRAGMAS, settings, strict=True):
                raw.execute(f"PRAGMA {pragma} = {value}")  # values SQLite itself returned
    wrong = [
        f"{t['name']}: {counts.get(t['name'], 0)} statt {t['rows']}"
        for t in plan.manifest.tables
        if counts.get(t["name"], 0) != t["rows"]
    ]
    if wrong:
        raise BackupError("Nicht alle Zeilen ließen sich einlesen: " + "; ".join(wrong))
    command.upgrade(cfg, "head")
    if plan.temp_schema is not None:
        _vacuum_restored(plan.temp_url)


def _vacuum_restored(url: str) -> None:
    """PostgreSQL: VACUUM (ANALYZE) the restored tables while they are still the restore's
    own, outside the read-only window. Freshly loaded tables have an empty visibility map,
    so counts and index-only scans read every heap page until autovacuum comes round (the
    Rechnungen list of the large instance took 164 instead of 72 ms), and no planner
    statistics. Tables that are moved into place keep both (docs/performance.md, tenth
    round)."""
    engine = get_engine(url)
    quote = engine.dialect.identifier_preparer.quote
    tables = ", ".join(quote(t.name) for t in Base.metadata.sorted_tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {tables}")


def _timestamp_columns(table: sa.Table) -> list[sa.Column[Any]]:
    return [table.c[n] for n in ("created_at", "updated_at") if n in table.c]


def _dropped_locks(live: Any, restored: Any, table: sa.Table) -> str:
    """GoBD: name the festgeschriebenen months the restore would open again."""
    from kms.periods import month_label

    now = set(live.scalars(sa.select(table.c.month)))
    then = set(restored.scalars(sa.select(table.c.month)))
    gone = sorted(now - then)
    return (": " + ", ".join(month_label(m) for m in gone) + " wären wieder offen") if gone else ""


def _report_losses(plan: RestorePlan) -> None:
    """Rows per table newer than the backup, and files that would disappear."""
    temp = get_engine(plan.temp_url)
    lost: list[Loss] = []
    with session_scope(write=False) as live, temp.connect() as restored:
        for table in Base.metadata.sorted_tables:
            if table.name in QUIET_TABLES:
                continue
            # Backup documents describe the disk and are synced after the restore.
            own = activity_filter(table)
            current = live.scalar(sa.select(sa.func.count()).select_from(table).where(*own)) or 0
            backup = restored.scalar(sa.select(sa.func.count()).select_from(table).where(*own)) or 0
            stamps = _timestamp_columns(table)
            newer = 0
            if stamps:
                newer = (
                    live.scalar(
                        sa.select(sa.func.count())
                        .select_from(table)
                        .where(sa.or_(*[c > plan.created_at for c in stamps]))
                        .where(*own)
                    )
                    or 0
                )
            if newer or current > backup:
                label = TABLE_LABELS.get(table.name, table.name)
                if table.name == "period_locks":
                    label += _dropped_locks(live, restored, table)
                lost.append(Loss(table.name, label, current, backup, newer))
    plan.losses = lost
    in_backup = {p["path"][len(DATA_PREFIX) :] for p in plan.manifest.parts}
    in_backup.discard("")
    plan.backup_files = sum(1 for p in plan.manifest.parts if p["path"].startswith(DATA_PREFIX))
    config = get_config()
    db_file = sqlite_path(config.database_url)
    plan.files_removed = [
        rel
        for rel, _path in live_data_files(config.data_dir, {db_file} if db_file else set())
        if rel not in in_backup
    ]


def discard_plan(plan: RestorePlan) -> None:
    """Throw away a prepared restore (cancelled, failed or done)."""
    dispose_engine(plan.temp_url)
    drop_temp_schema(plan.temp_schema)
    remove(plan.work)


def drop_temp_schema(schema: str | None) -> None:
    """Drop a restore's temporary PostgreSQL schema (None: SQLite, nothing to do)."""
    if schema:
        try:
            with get_engine().begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        except sa.exc.SQLAlchemyError:
            log.exception("could not drop restore schema %s", schema)


def apply_restore(
    plan: RestorePlan,
    *,
    confirmation: str,
    username: str | None = None,
    progress: ProgressCallback = None,
    job: JobHandle | None = None,
) -> RestoreResult:
    """Replace the instance's data with the prepared backup (after a safety backup).

    `job`: the kms.jobs job this restore runs as; its row is copied into the restored
    database just before the swap, so the job's final state lands in the database that is
    live afterwards (and stays in the old one if the swap fails).
    """
    require_permission(Permission.BACKUPS)
    if (confirmation or "").strip() != CONFIRM_WORD:
        raise BackupError(f"Zur Bestätigung bitte genau „{CONFIRM_WORD}“ eingeben.")
    if not plan.work.is_dir():
        raise BackupError(
            "Die vorbereitete Wiederherstellung gibt es nicht mehr; bitte neu starten."
        )
    tracker = Tracker(progress)
    with exclusive():
        if journal.pending():  # never overwrite the journal of a killed restore
            discard_plan(plan)
            raise BackupError(journal.INTERRUPTED)
        try:
            result = _apply_locked(plan, tracker, username, job)
        except BaseException as exc:
            message = getattr(exc, "message", None) or f"Fehler: {exc!r}"
            log_restore(
                username, "fehler", f"Wiederherstellung abgebrochen, nichts geändert. {message}"
            )
            raise
        finally:
            discard_plan(plan)
        journal.finish()
    when = result.created_at.isoformat(timespec="seconds")
    log_restore(
        username,
        "ok",
        f"Backup vom {when} wiederhergestellt ({plan.source.name}); Sicherung davor: "
        f"{result.safety_backup.name}.",
        audit={"source": plan.source.name, "backup_created_at": when},
    )
    return result


def log_restore(
    username: str | None,
    status: str,
    message: str,
    audit: dict[str, Any] | None = None,
    *,
    event: str = "backup.restore",
) -> None:
    """The restore in the audit log (if one is registered) and in the function log."""
    from kms.functions import log_function_run

    if audit is not None:
        with session_scope() as session:
            session.info[SKIP_GUARD] = True
            hooks.audit_record(session, event, {**audit, "user": username})
    log_function_run("backup_restore", username, status, message)


def set_read_only(on: bool, url: str | None = None) -> None:
    """Switch every session to read-only (the banner and write guard honour the flag)."""
    with session_scope(url) as session:
        session.info[SKIP_GUARD] = True
        if on:
            set_value(session, RESTORE_KEY, True)
        else:
            session.execute(sa.delete(KeyValue).where(KeyValue.key == RESTORE_KEY))


def _apply_locked(
    plan: RestorePlan, tracker: Tracker, username: str | None, job: JobHandle | None = None
) -> RestoreResult:
    config = get_config()
    # The journal comes first: a process killed from here on is rolled back or completed
    # at the next start (kms.backups.journal), never left half swapped.
    entry = journal.begin(
        source=plan.source.name,
        user=username,
        work=str(plan.work),
        staged=str(plan.data_dir),
        data_dir=str(config.data_dir),
        temp_schema=plan.temp_schema,
    )
    tracker.set_phase("Schreibschutz einschalten", total=1)
    swapped = False
    try:
        set_read_only(True)
        journal.crash_point("begun")

        def safety_progress(phase: str, fraction: float) -> None:
            if tracker.callback is not None:
                tracker.callback(f"Sicherung des jetzigen Stands: {phase}", fraction)

        safety = create_locked(kind="safety", progress=safety_progress)
        with session_scope(write=False) as session:
            before = hooks.read_counters(session)
        # The restored database arrives read-only too, until counters are merged, and
        # names the journal: recovery asks the live database which side of the swap it is.
        set_read_only(True, plan.temp_url)
        _set_key(plan.temp_url, journal.RESTORE_ID_KEY, entry["id"])
        dispose_engine(plan.temp_url)
        incoming = sorted(p.name for p in plan.data_dir.iterdir()) if plan.data_dir.is_dir() else []
        journal.step(entry, "safety", safety=safety.name, counters=before, incoming=incoming)
        tracker.set_phase("Daten ersetzen", total=1)
        if job is not None:
            job.carry_to(plan.temp_url)  # the job's row lives on in the restored database
        with disk_errors("Backup wiederherstellen"):
            undo = _swap_files(config.data_dir, plan)
            try:
                journal.step(entry, "files")
                _swap_database(plan)
                journal.crash_point("swapped")
            except BaseException:
                undo()
                raise
        swapped = True
    finally:
        if not swapped:
            dispose_engines()
            set_read_only(False)
            journal.finish()
    journal.step(entry, "database")
    dispose_engines()
    try:
        with session_scope() as session:
            session.info[SKIP_GUARD] = True
            raised = hooks.merge_counters(session, before)
            session.execute(sa.delete(KeyValue).where(KeyValue.key == journal.RESTORE_ID_KEY))
            # Backup documents describe the disk: the archives made after the backup (the
            # safety backup among them) are listed, pruned ones are not.
            sync_backup_documents(session)
        journal.step(entry, "finishing")
    finally:
        set_read_only(False)
        ensure_dirs(config)
        remove(plan.work / "old")
    tracker.set_phase("fertig", total=1)
    tracker.advance(1)
    return RestoreResult(safety, raised, plan.created_at)


def _set_key(url: str, key: str, value: Any) -> None:
    with session_scope(url) as session:
        session.info[SKIP_GUARD] = True
        set_value(session, key, value)


def _swap_files(data_dir: Path, plan: RestorePlan):  # type: ignore[no-untyped-def]
    """Move the stored files aside and the restored ones in; returns an undo function."""
    old = plan.work / "old"
    old.mkdir(exist_ok=True)
    db_file = sqlite_path(get_config().database_url)
    moved_out: list[str] = []
    moved_in: list[str] = []

    def undo() -> None:
        for name in reversed(moved_in):
            os.rename(data_dir / name, plan.data_dir / name)
        for name in reversed(moved_out):
            os.rename(old / name, data_dir / name)

    try:
        for entry in sorted(data_dir.iterdir()):
            if (
                entry.name in EXCLUDED_TOP
                or is_temp_name(entry.name)
                or entry.is_symlink()
                or (db_file is not None and entry.resolve() == db_file)
            ):
                continue
            os.rename(entry, old / entry.name)
            moved_out.append(entry.name)
        journal.crash_point("files_out")
        if plan.data_dir.is_dir():
            for entry in sorted(plan.data_dir.iterdir()):
                os.rename(entry, data_dir / entry.name)
                moved_in.append(entry.name)
    except BaseException:
        undo()
        raise
    return undo


def _swap_database(plan: RestorePlan) -> None:
    """Replace the live database's content with the restored one, all or nothing."""
    dispose_engines()
    live_url = get_config().database_url
    live_file = sqlite_path(live_url)
    if live_file is not None:
        _swap_sqlite(Path(make_url(plan.temp_url).database or ""), live_file)
    else:
        _swap_postgres(plan, live_url)


def _swap_sqlite(source: Path, live: Path) -> None:
    """sqlite3's online backup API copies the restored file into the live one atomically."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(live, timeout=30)
    try:
        sizes = [c.execute("PRAGMA page_size").fetchone()[0] for c in (src, dst)]
        if sizes[0] != sizes[1]:
            raise BackupError(
                "Die wiederhergestellte Datenbank hat eine andere Seitengröße als die laufende; "
                "bitte KMS anhalten und das Backup mit `python -m kms backup restore` einspielen."
            )
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _swap_postgres(plan: RestorePlan, live_url: str) -> None:
    """One transaction: the restored tables replace the live ones, sequences are reset and
    the planner gets statistics for the new rows."""
    engine = get_engine(live_url)
    dispose_engine(plan.temp_url)  # the load's and the VACUUM's connections are done
    quote = engine.dialect.identifier_preparer.quote
    tables = [t for t in Base.metadata.sorted_tables]
    names = [t.name for t in tables]
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL lock_timeout = '60s'"))
        schema = plan.temp_schema or ""
        moved = _can_move(conn, schema, names)
        if moved:
            _move_tables(conn, schema, names)
        else:
            temp = reflect(get_engine(plan.temp_url))  # the columns each copy can take
            dispose_engine(plan.temp_url)
            _copy_tables(conn, schema, tables, temp)
        for table in tables:
            for col in table.primary_key.columns:
                if isinstance(col.type, sa.Integer):
                    conn.execute(
                        sa.text(
                            "SELECT setval(seq, COALESCE((SELECT MAX("  # noqa: S608
                            f"{quote(col.name)}) FROM {quote(table.name)}), 0) + 1, false) "
                            "FROM pg_get_serial_sequence(:t, :c) AS seq WHERE seq IS NOT NULL"
                        ),
                        {"t": quote(table.name), "c": col.name},
                    )
        # Planner statistics for the new rows, in the same transaction: a bulk load leaves
        # none until autovacuum's next round (tables under its threshold never get any), and
        # the first reruns after a restore would be planned on the old data's counts. Moved
        # tables brought theirs along (_vacuum_restored).
        if not moved:
            conn.execute(sa.text("ANALYZE " + ", ".join(quote(t.name) for t in tables)))


# Why the restored tables may not simply take the live ones' place, as SQL over the live
# tables (:live, their oids) and the restored ones (:temp). Each query finds a reason or
# nothing: another object that depends on a live table (a view, a trigger, a foreign key
# from a table of someone else's), privileges or an owner that differ, or an index the
# restored table lacks. Any of them keeps the slower copy, which leaves them all in place.
_MOVE_OBSTACLES = (
    # Normal dependencies other than the foreign keys among the KMS tables themselves.
    """SELECT 1 FROM pg_depend d
       LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
       WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(:live)
         AND d.deptype = 'n' AND (k.oid IS NULL OR k.conrelid <> ALL(:live))""",
    "SELECT 1 FROM pg_trigger WHERE tgrelid = ANY(:live) AND NOT tgisinternal",
    "SELECT 1 FROM pg_policy WHERE polrelid = ANY(:live)",
    "SELECT 1 FROM pg_publication_rel WHERE prrelid = ANY(:live)",
    "SELECT 1 FROM pg_inherits WHERE inhrelid = ANY(:live) OR inhparent = ANY(:live)",
    "SELECT 1 FROM pg_attribute WHERE attrelid = ANY(:live) AND attacl IS NOT NULL",
    # Privileges granted on a live table's sequence.
    """SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ANY(:live)
         AND s.relacl IS NOT NULL""",
    # The right to move tables into the live schema (and to make the one for the old ones).
    """SELECT 1 WHERE NOT has_schema_privilege(current_schema(), 'CREATE')
       OR NOT has_database_privilege(current_database(), 'CREATE')""",
    # Owner, privileges and options of each live table against its restored one.
    """SELECT 1 FROM pg_class l JOIN pg_class t ON t.relname = l.relname
       WHERE l.oid = ANY(:live) AND t.oid = ANY(:temp)
         AND (l.relowner <> t.relowner OR l.relacl::text IS DISTINCT FROM t.relacl::text
              OR l.reloptions::text IS DISTINCT FROM t.reloptions::text
              OR l.relpersistence <> t.relpersistence
              OR NOT pg_has_role(l.relowner, 'USAGE'))""",
    # An index on a live table (one added by hand) that its restored table does not have.
    """SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
       JOIN pg_class l ON l.oid = i.indrelid
       WHERE i.indrelid = ANY(:live) AND NOT EXISTS (
         SELECT 1 FROM pg_index j JOIN pg_class y ON y.oid = j.indexrelid
         JOIN pg_class t ON t.oid = j.indrelid
         WHERE j.indrelid = ANY(:temp) AND t.relname = l.relname AND y.relname = x.relname)""",
)


def _oids(conn: sa.Connection, schema: str, names: list[str]) -> list[int]:
    return list(
        conn.scalars(
            sa.text(
                "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relname = ANY(:names) AND c.relkind = 'r'"
            ),
            {"schema": schema, "names": names},
        )
    )


def _can_move(conn: sa.Connection, temp_schema: str, names: list[str]) -> bool:
    """Whether the restored tables can take the live ones' place as they are (see
    _MOVE_OBSTACLES): both schemas hold every table, and nothing else depends on them."""
    live_schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    live, temp = _oids(conn, live_schema, names), _oids(conn, temp_schema, names)
    if len(live) != len(names) or len(temp) != len(names):
        return False
    params = {"live": live, "temp": temp}
    return not any(conn.execute(sa.text(q), params).first() for q in _MOVE_OBSTACLES)


def _move_tables(conn: sa.Connection, temp_schema: str, names: list[str]) -> None:
    """The live tables move to a schema of their own and are dropped with it; the restored
    ones (with their indexes, constraints and sequences) move into the live schema. Only
    the catalog changes: no row is copied, and no index is built again."""
    quote = conn.dialect.identifier_preparer.quote
    live = quote(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
    old = quote(f"kms_replaced_{uuid.uuid4().hex[:12]}")
    temp = quote(temp_schema)
    conn.execute(sa.text(f"CREATE SCHEMA {old}"))
    for name in names:
        conn.execute(sa.text(f"ALTER TABLE {live}.{quote(name)} SET SCHEMA {old}"))
    for name in names:
        conn.execute(sa.text(f"ALTER TABLE {temp}.{quote(name)} SET SCHEMA {live}"))
    conn.execute(sa.text(f"DROP SCHEMA {old} CASCADE"))


def _copy_tables(
    conn: sa.Connection, temp_schema: str, tables: list[sa.Table], temp: sa.MetaData
) -> None:
    """Every live table emptied and filled from its restored one (INSERT … SELECT)."""
    quote = conn.dialect.identifier_preparer.quote
    schema = quote(temp_schema)
    conn.execute(sa.text("TRUNCATE " + ", ".join(quote(t.name) for t in tables)))
    for table in tables:
        source = temp.tables.get(table.name)
        if source is None:
            continue
        cols = ", ".join(quote(c.name) for c in table.columns if c.name in source.c)
        conn.execute(
            sa.text(
                f"INSERT INTO {quote(table.name)} ({cols}) "  # noqa: S608 - quoted identifiers
                f"SELECT {cols} FROM {schema}.{quote(table.name)}"
            )
        )
