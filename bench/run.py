"""`make bench`: every measurement of docs/performance.md against a floor from the same run.

    python -m bench.run [--scale small|large] [--runs 7] [--warmups 2] [--skip backup,…]
    python -m bench.run --once            # one pass, no budgets (the CI smoke test)

Each figure is the median, min and max of `--runs` timed runs after `--warmups` untimed
ones, and its ratio to a floor measured in the same process and run (absolute times drift
on shared machines; ratios drift far less). SQLite always; PostgreSQL as well when
KMS_TEST_POSTGRES_URL is set (a fresh schema per run). Results go to bench/results.json with
n, cores, RAM, database versions and the git SHA; a regression check compares every ratio
with the last committed results.json and flags changes over 20 %.

Instances: the benchmark instance (`python -m kms bench-data`, generated once per data dir
and reused) and an empty instance (the same login and company data, no business data).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
REGRESSION = 0.20
PAGES = (
    "start",
    "personen",
    "organisationen",
    "dokumente",
    "rechnungen",
    "schreiben",
    "einnahmen-ausgaben",
    "konten",
    "kontoauszuege",
    "berichte",
    "einstellungen",
    "hilfe",
    "fehlermeldungen",
)
GROUPS = ("pages", "queries", "issue", "bank", "backup", "login", "process", "browser")
BROWSER_SESSIONS = 5
# The list page with the most work per render: 25 invoices of all, their status and sums.
LIST_PAGE = "rechnungen"
NOT_YET_MEASURED: tuple[str, ...] = ()


@dataclass
class Stat:
    """Timings of one thing in seconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": round(self.median, 7),
            "min": round(min(self.samples), 7),
            "max": round(max(self.samples), 7),
            "n": len(self.samples),
        }


@dataclass
class Row:
    """One line of the table: a measurement, its floor and the budget it is held to."""

    key: str
    label: str
    value: Stat
    floor: Stat | None = None
    floor_label: str = ""
    budget: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor.median <= 0:
            return None
        return self.value.median / self.floor.median

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            **self.value.as_dict(),
            "floor": self.floor.as_dict() if self.floor else None,
            "floor_label": self.floor_label,
            "ratio": round(self.ratio, 3) if self.ratio is not None else None,
            "budget": self.budget,
        }


@dataclass
class Settings:
    runs: int
    warmups: int
    scale: str
    skip: set[str] = field(default_factory=set)
    pages: tuple[str, ...] = PAGES


def timed(
    fn: Callable[[], Any], settings: Settings, setup: Callable[[], Any] | None = None
) -> Stat:
    """Warm-ups, then timed runs; `setup` (untimed) runs before each call."""
    samples = []
    for n in range(settings.warmups + settings.runs):
        if setup is not None:
            setup()
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
        if n >= settings.warmups:
            samples.append(elapsed)
    return Stat(samples)


BATCH_SECONDS = 0.02


def timed_batched(fn: Callable[[], Any], settings: Settings) -> Stat:
    """Like `timed`, for calls that may take well under a millisecond: each sample is the
    mean of as many calls in a row as fill BATCH_SECONDS (like timeit's autorange), sized
    after the warm-ups. A single call of some microseconds is mostly the timer's and the
    scheduler's noise, and nine calls do not warm it up (CPython specializes a function's
    code only after it ran several times). Slow calls still run once per sample."""
    started = time.perf_counter()
    for _ in range(max(1, settings.warmups)):
        fn()
    each = (time.perf_counter() - started) / max(1, settings.warmups)
    calls = max(1, min(10_000, int(BATCH_SECONDS / max(each, 1e-9))))
    for _ in range(min(calls, 1_000)):
        fn()  # the warm-up proper for fast calls
    samples = []
    for _ in range(settings.runs):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls)
    return Stat(samples)


# --- instances ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """A data dir and its database URL."""

    name: str
    data: Path
    url: str


@contextmanager
def use(instance: Instance) -> Iterator[None]:
    """Point KMS (config, engines) at an instance for the duration of the block."""
    from kms.config import reset_config
    from kms.db import dispose_engines

    saved = {k: os.environ.get(k) for k in ("KMS_DATA_DIR", "KMS_DATABASE_URL")}
    os.environ["KMS_DATA_DIR"] = str(instance.data)
    os.environ["KMS_DATABASE_URL"] = instance.url
    reset_config()
    dispose_engines()
    try:
        yield
    finally:
        dispose_engines()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_config()


def _pg_schema_url(base: str, label: str) -> str:
    """A new schema on the PostgreSQL server for this run."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def prepare(workdir: Path, database: str, scale: str) -> tuple[Instance, Instance]:
    """The benchmark instance (generated once, then reused) and an empty one."""
    from kms.benchdata import generate, is_bench_instance
    from kms.db import ensure_migrated, session_scope

    base = workdir / f"{database}-{scale}"
    if database == "sqlite":
        bench = Instance("bench", base / "bench", f"sqlite:///{base / 'bench' / 'kms.sqlite3'}")
        empty_dir = base / f"empty-{uuid.uuid4().hex[:6]}"
        empty = Instance("empty", empty_dir, f"sqlite:///{empty_dir / 'kms.sqlite3'}")
    else:
        pg = os.environ["KMS_TEST_POSTGRES_URL"]
        marker = base / "bench" / "postgres-url"
        url = marker.read_text() if marker.exists() else _pg_schema_url(pg, scale)
        bench = Instance("bench", base / "bench", url)
        empty_dir = base / f"empty-{uuid.uuid4().hex[:6]}"
        empty = Instance("empty", empty_dir, _pg_schema_url(pg, "empty"))
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(url)
    bench.data.mkdir(parents=True, exist_ok=True)
    with use(bench):
        ensure_migrated()
        with session_scope(write=False) as session:
            ready = is_bench_instance(session)
        if not ready:
            report = generate(scale)
            print("  " + report.lines()[0], flush=True)
            if database != "sqlite":
                _vacuum_analyze()
    empty.data.mkdir(parents=True, exist_ok=True)
    with use(empty):
        ensure_migrated()
        _empty_instance()
    return bench, empty


def _vacuum_analyze() -> None:
    """After the bulk load on PostgreSQL, what autovacuum does on a live instance: planner
    statistics, and the visibility map that lets `count(*)` read an index instead of the
    table (the Rechnungen list's fingerprint: 100 ms before, 17 ms after, 100,000 invoices)."""
    from kms.db import get_engine
    from kms.models import Base
    from kms.registry import import_models

    import_models()
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM ANALYZE {tables}")


def _empty_instance() -> None:
    """The bench login and the fictitious company, nothing else."""
    from kms import auth
    from kms.benchdata import BENCH_PASSWORD, BENCH_USER, _settings
    from kms.db import session_scope
    from kms.onboarding import mark_done
    from kms.types import today

    with session_scope() as session:
        if not auth.has_users(session):
            auth.create_user(
                session,
                username=BENCH_USER,
                password=BENCH_PASSWORD,
                display_name="Erika Mustermann (Benchmark)",
                is_owner=True,
            )
        _settings(session, today().replace(month=1, day=1))
        mark_done(session)


# --- measurements ---------------------------------------------------------------------------


def _apptest(url_path: str) -> Any:
    """A logged-in AppTest of one page (the tests' own login helper)."""
    from kms.benchdata import BENCH_USER
    from tests import ui_helpers as ui

    at = ui.open_page(url_path, user=None)
    ui.log_in(at, BENCH_USER, "Erika Mustermann (Benchmark)")
    at.default_timeout = 300
    return at


def page_rows(bench: Instance, empty: Instance, settings: Settings) -> list[Row]:
    """Every page's rerun, logged in, default view, warm (AppTest) vs. the empty instance."""
    rows = []
    for url_path in settings.pages:
        stats = {}
        for instance in (empty, bench):
            with use(instance):
                at = _apptest(url_path)
                at.run()  # the first run imports the page; reruns are what a user waits for
                if at.exception:
                    raise RuntimeError(f"{url_path}: {[e.value for e in at.exception]}")
                stats[instance.name] = timed(at.run, settings)
        rows.append(
            Row(
                f"page.{url_path}",
                f"page rerun {url_path}",
                stats["bench"],
                stats["empty"],
                "same page, empty instance",
                "≤ max(1.5 × floor, floor + 50 ms); median ≤ 300 ms",
            )
        )
    return rows


def query_rows(bench: Instance, settings: Settings) -> list[Row]:
    """Searches, the invoice list, the overdue automatism and the Übersicht vs. bare SQL."""
    from sqlalchemy import text

    from kms.db import session_scope
    from kms.modules.contacts.service import list_persons
    from kms.modules.invoices import payments, service
    from kms.registry import overview_providers
    from kms.types import today

    rows = []
    with use(bench), session_scope(write=False) as session:
        day = today()
        number = session.scalar(text("SELECT max(number) FROM invoices WHERE kind = 'rechnung'"))
        sql = session.execute

        def bare(statement: str, **params: Any) -> Callable[[], Any]:
            return lambda: sql(text(statement), params).all()

        def search_persons() -> Any:
            return list_persons(session, search="müller")

        def search_invoices() -> Any:
            return service.list_invoices(session, search=number or "", day=day)

        cases = [
            (
                "search.contacts",
                'search Personen "müller"',
                search_persons,
                replayed(session, search_persons),
                "its SQL statements, bare",
                "≤ 300 ms; ≤ 5 × the query",
            ),
            (
                "search.invoices",
                "search Rechnungen by number",
                search_invoices,
                replayed(session, search_invoices),
                "its SQL statements, bare",
                "≤ 300 ms; ≤ 5 × the query",
            ),
            (
                "list.invoices",
                "Rechnungen list, first page with sums",
                lambda: service.list_invoices(session, day=day),
                bare("SELECT count(*), sum(gross_total) FROM invoices"),
                "bare count and sum",
                "reported",
            ),
            (
                "overview",
                "Übersicht key figures (all modules)",
                lambda: [
                    f for _t, provide in overview_providers(session) for f in provide(session)
                ],
                bare(
                    "SELECT i.kind, count(*), sum(i.gross_total), sum(p.s) FROM invoices i "
                    "LEFT JOIN (SELECT invoice_id, sum(amount) AS s FROM invoice_payments "
                    "GROUP BY invoice_id) p ON p.invoice_id = i.id GROUP BY i.kind"
                ),
                "bare SQL aggregates",
                "≤ 2 ×",
            ),
            (
                "overdue",
                "⊕ overdue: overdue_invoices()",
                lambda: payments.overdue_invoices(session, day),
                bare(
                    "SELECT id FROM invoices WHERE issued_at IS NOT NULL AND due_date < :d",
                    d=day,
                ),
                "bare SQL filter",
                "reported",
            ),
        ]
        for key, label, fn, floor, floor_label, budget in cases:
            rows.append(
                Row(
                    key,
                    label,
                    timed_batched(fn, settings),
                    timed_batched(floor, settings),
                    floor_label,
                    budget,
                )
            )
    return rows


def replayed(session: Any, fn: Callable[[], Any]) -> Callable[[], None]:
    """The floor of a search: the very SQL statements `fn` sends (caught on one call),
    sent again through the driver with the same parameters, every row fetched; without
    SQLAlchemy's statement building, the ORM and the Python around them."""
    from sqlalchemy import event

    conn = session.connection()
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        caught.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", catch)
    try:
        fn()
    finally:
        event.remove(conn, "before_cursor_execute", catch)
    raw = conn.connection.dbapi_connection

    def replay() -> None:
        cursor = raw.cursor()
        try:
            for statement, parameters in caught:
                cursor.execute(statement, parameters)
                cursor.fetchall()
        finally:
            cursor.close()

    return replay


def issue_rows(bench: Instance, settings: Settings) -> list[Row]:
    """Issuing one invoice (number, PDF/A-3, XML, schematron) vs. rendering its PDF alone."""
    from sqlalchemy import select

    from kms.db import session_scope
    from kms.modules.contacts.models import Contact
    from kms.modules.invoices import issuing, service
    from kms.types import today, utcnow

    drafts: list[int] = []

    def new_draft() -> None:
        with session_scope() as session:
            contact_id = session.scalar(
                select(Contact.id).where(Contact.kind == "organisation").limit(1)
            )
            lines = [
                {
                    "description": "Beratung",
                    "quantity": "2",
                    "unit_code": "HUR",
                    "unit_price": "95.00",
                    "tax": "S19",
                },
                {
                    "description": "Fachbuch",
                    "quantity": "1",
                    "unit_code": "C62",
                    "unit_price": "39.00",
                    "tax": "S7",
                },
            ]
            draft = service.save_draft(
                session, contact_id=contact_id, lines=lines, service_date_is_issue_date=True
            )
            drafts.append(draft.id)

    with use(bench):
        issue = timed(lambda: issuing.issue_invoice(drafts[-1], actor="bench"), settings, new_draft)
        with session_scope(write=False) as session:
            invoice = service.get_invoice(session, drafts[-1])
            snapshot = invoice.snapshot or {}
            doc = issuing.build_document(
                invoice,
                snapshot,
                number=invoice.number or "",
                issue_date=invoice.issue_date or today(),
            )
            render = timed(
                lambda: issuing._render_files(session, invoice, doc, snapshot, utcnow()), settings
            )
    return [
        Row(
            "issue",
            "issue one invoice (number, PDF/A-3, XML, schematron)",
            issue,
            render,
            "rendering the same PDF + XML alone",
            "≤ 1 s",
        )
    ]


BANK_LINES = 5_000
BANK_IBAN = "DE02120300000000202051"  # the benchmark's Girokonto (test IBAN)
BANK_RULE_IBAN = "DE02100500000054540402"  # a supplier booked by a learned rule


def _bank_entries(token: str, count: int, *, base: bool = False) -> list[dict[str, Any]]:
    """Statement entries: 1,000 already imported (`base`), then per run half rule-booked
    payments to a supplier and half incoming payments without a match (listed, not booked)."""
    from kms.types import today

    day = today()
    PAYER = "DE89370400440532013000"  # noqa: N806 - a customer's test IBAN
    entries: list[dict[str, Any]] = []
    for i in range(count):
        if base or i < 1_000:
            entries.append({"amount": "-1.00", "booking_date": day, "purpose": f"Bestand {i}",
                            "name": "Bürohaus Beispiel", "iban": BANK_RULE_IBAN})  # fmt: skip
        elif i % 2:
            entries.append({"amount": "-12.34", "booking_date": day, "name": "Bürohaus Beispiel",
                            "purpose": f"Abo {token} {i}", "iban": BANK_RULE_IBAN})  # fmt: skip
        else:
            entries.append({"amount": f"{100 + i % 900}.{i % 100:02d}", "booking_date": day,
                            "purpose": [f"Gutschrift {token}", f"Zeile {i}"],
                            "name": "Erika Mustermann", "iban": PAYER})  # fmt: skip
    return entries


def bank_rows(bench: Instance, settings: Settings) -> list[Row]:
    """Importing a 5,000-line CAMT.053 statement (parse, duplicate check against 1,000 lines
    imported before, matching against every open invoice, 2,000 rule bookings, the file in
    Dokumente) vs. parsing the same file alone."""
    from sqlalchemy import select

    from kms.db import session_scope
    from kms.modules.bank import service
    from kms.modules.bank.formats import parse_statement
    from kms.modules.bank.rules import save_rule
    from kms.modules.ledger import service as ledger
    from kms.modules.ledger.models import Account
    from tests.modules.bank.camt_factory import camt053_bytes

    files: list[bytes] = []

    def new_file() -> None:
        files.append(camt053_bytes(BANK_IBAN, _bank_entries(uuid.uuid4().hex[:8], BANK_LINES)))

    def run_import() -> None:
        data = files[-1]
        with session_scope() as session:
            statement = parse_statement(data, "auszug.xml")
            service.confirm(session, account_id, statement, None, data, "auszug.xml", "bench")

    with use(bench):
        with session_scope() as session:
            account = session.scalar(select(Account).where(Account.iban == BANK_IBAN))
            if account is None:
                account = ledger.save_account(
                    session, name="Benchmark Girokonto", kind="bank", iban=BANK_IBAN
                )
            porto = ledger.category_by_key(session, "buerobedarf").id
            save_rule(session, category_id=porto, iban=BANK_RULE_IBAN, tax_key="V19")
            account_id = account.id
        base = camt053_bytes(BANK_IBAN, _bank_entries("", 1_000, base=True))
        with session_scope() as session:  # the lines every run finds already imported
            statement = parse_statement(base, "bestand.xml")
            service.confirm(session, account_id, statement, None, base, "bestand.xml", "bench")
        imported = timed(run_import, settings, new_file)
        parse = timed(lambda: parse_statement(files[-1], "auszug.xml"), settings, new_file)
    return [
        Row(
            "bank.import",
            f"import a {BANK_LINES:,}-line CAMT statement (duplicates, matching, booking)",
            imported,
            parse,
            "parsing the same file alone",
            "≤ 60 s",
        )
    ]


def _floor_dump(instance: Instance, out: Path) -> None:
    """sqlite3 .backup (or pg_dump -Fc) plus a tar of the files: what a backup must approach."""
    if instance.url.startswith("sqlite"):
        import sqlite3

        source = sqlite3.connect(instance.url.removeprefix("sqlite:///"))
        target = sqlite3.connect(out / "db.sqlite3")
        source.backup(target)
        source.close()
        target.close()
    else:
        url = instance.url.replace("postgresql+psycopg", "postgresql")
        base, _, options = url.partition("?options=-csearch_path%3D")
        subprocess.run(
            ["pg_dump", "-Fc", "-n", options, "-f", str(out / "db.dump"), base], check=True
        )
    with tarfile.open(out / "files.tar", "w") as tar:
        tar.add(instance.data / "files", arcname="files")


def backup_rows(bench: Instance, settings: Settings) -> list[Row]:
    """Backup create and verify vs. a database dump plus tar of the files."""
    from kms.backups.restore import verify_backup
    from kms.backups.service import create_backup
    from kms.backups.store import delete_archive

    made: list[Path] = []
    with use(bench):

        def create() -> None:
            made.append(create_backup().path)

        def cleanup() -> None:
            while made:
                delete_archive(made.pop())

        create_stat = timed(create, settings, cleanup)
        archive = made[-1]
        verify_stat = timed(lambda: verify_backup(archive), settings)
        cleanup()
        restore_stat, safety_stat = _restore_stats(bench, settings)
    with tempfile.TemporaryDirectory() as tmp:
        floor = timed(lambda: _floor_dump(bench, Path(tmp)), settings)
        verify_floor = timed(lambda: _hash_and_list(Path(tmp)), settings)
        restore_floor = timed(
            lambda: _floor_restore(bench, Path(tmp)), settings, lambda: _clear_restored(Path(tmp))
        )
        _clear_restored(Path(tmp))
    return [
        Row(
            "backup.create", "backup create", create_stat, floor, "db dump + tar of files", "≤ 2 ×"
        ),
        Row(
            "backup.verify",
            "backup verify",
            verify_stat,
            verify_floor,
            "SHA-256 of the db dump and the tar + tar -t",
            "≤ 1.5 ×",
        ),
        Row(
            "backup.restore",
            "backup restore (without the safety backup)",
            restore_stat,
            restore_floor,
            "restore of the db dump + untar of the files",
            "≤ 3 ×",
        ),
        Row(
            "backup.safety",
            "safety backup taken by the restore",
            safety_stat,
            floor,
            "db dump + tar of files",
            "≤ 2 × (like backup create)",
        ),
    ]


def _hash_and_list(out: Path) -> None:
    """What verify must approach (issue 12: "hashing plus tar -t"): read and hash every byte
    of the floor's dump and tar, and list the tar."""
    import hashlib

    for name in ("db.sqlite3", "db.dump", "files.tar"):
        path = out / name
        if path.exists():
            with open(path, "rb") as fh:
                hashlib.file_digest(fh, "sha256")
    _list_tar(out / "files.tar")


def _list_tar(path: Path) -> None:
    """tar -t: a new TarFile each time (one TarFile caches its members after the first call)."""
    with tarfile.open(path) as tar:
        tar.getmembers()


def _restore_stats(bench: Instance, settings: Settings) -> tuple[Stat, Stat]:
    """Restore a backup of the instance into itself (prepare + apply), timing the safety
    backup that apply takes first separately, through the restore's progress phases."""
    from kms.backups.restore import CONFIRM_WORD, apply_restore, prepare_restore
    from kms.backups.service import create_backup
    from kms.backups.store import delete_archive

    archive = create_backup().path
    restore: list[float] = []
    safety: list[float] = []
    try:
        for n in range(settings.warmups + settings.runs):
            safety_at: list[float] = []

            def progress(phase: str, _fraction: float, marks: list[float] = safety_at) -> None:
                if phase.startswith("Sicherung des jetzigen Stands"):
                    marks.append(time.perf_counter())

            started = time.perf_counter()
            plan = prepare_restore(archive)
            result = apply_restore(plan, confirmation=CONFIRM_WORD, progress=progress)
            elapsed = time.perf_counter() - started
            delete_archive(result.safety_backup.path)
            # The safety phase runs from its first progress call to its last one.
            spent = safety_at[-1] - safety_at[0] if len(safety_at) > 1 else 0.0
            if n >= settings.warmups:
                restore.append(elapsed - spent)
                safety.append(spent)
    finally:
        delete_archive(archive)
    return Stat(restore), Stat(safety)


def _clear_restored(out: Path) -> None:
    shutil.rmtree(out / "restored", ignore_errors=True)


def _floor_restore(instance: Instance, out: Path) -> None:
    """What a restore must approach: the dump of `_floor_dump` back into a new database
    (SQLite: `.backup` into a new file; PostgreSQL: `pg_restore` into a new database), plus
    untarring the files."""
    target = out / "restored"
    target.mkdir()
    if instance.url.startswith("sqlite"):
        import sqlite3

        source = sqlite3.connect(out / "db.sqlite3")
        restored = sqlite3.connect(target / "kms.sqlite3")
        source.backup(restored)
        source.close()
        restored.close()
    else:
        url = instance.url.replace("postgresql+psycopg", "postgresql")
        base = url.partition("?")[0]
        name = f"bench_restore_{uuid.uuid4().hex[:8]}"
        server = base.rpartition("/")[0]
        subprocess.run(
            ["createdb", f"--maintenance-db={base}", name], check=True, capture_output=True
        )
        try:
            subprocess.run(
                ["pg_restore", "--no-owner", "-d", f"{server}/{name}", str(out / "db.dump")],
                check=True,
                capture_output=True,
            )
        finally:
            subprocess.run(
                ["dropdb", f"--maintenance-db={base}", name], check=True, capture_output=True
            )
    with tarfile.open(out / "files.tar") as tar:
        tar.extractall(target, filter="data")


def login_rows(bench: Instance, settings: Settings) -> list[Row]:
    """Login through the form up to the first page vs. one bcrypt verify."""
    from kms import auth
    from kms.benchdata import BENCH_PASSWORD, BENCH_USER
    from kms.db import session_scope
    from tests import ui_helpers as ui

    with use(bench):
        with session_scope(write=False) as session:
            hashed = auth.get_user(session, BENCH_USER).password_hash

        forms: list[Any] = []

        def login_form() -> None:
            """Untimed: the login page as the browser shows it before anyone types."""
            at = ui.open_app(user=None)
            at.default_timeout = 300
            ui.fill(at, {"Benutzername": BENCH_USER, "Passwort": BENCH_PASSWORD})
            forms.append(at)

        def login() -> None:
            """Timed: "Anmelden" → password check, session, the Übersicht rendered."""
            at = forms.pop()
            ui.click(at, "Anmelden")
            if at.exception or "Übersicht" not in ui.values(at.title):
                raise RuntimeError("login did not reach the Übersicht")

        login_stat = timed(login, settings, login_form)
        with session_scope() as session:
            auth.unlock(session, BENCH_USER)
    bcrypt_stat = timed(lambda: auth.verify_password(BENCH_PASSWORD, hashed), settings)
    return [
        Row(
            "login",
            "login (Anmelden → password check, first page; AppTest)",
            login_stat,
            bcrypt_stat,
            "one bcrypt verify",
            "≤ 1.5 s",
        )
    ]


def _newest_migration() -> tuple[str, str]:
    """The head revision and the first line of its docstring."""
    from alembic.script import ScriptDirectory

    from kms.db import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    script = scripts.get_revision(head) if head else None
    if head is None or script is None:
        raise RuntimeError("no migration head")
    return head, (script.doc or "").splitlines()[0]


def _step_back(bench: Instance) -> Callable[[], None]:
    """Undo the newest migration on the instance (untimed), so the next upgrade applies it."""

    def setup() -> None:
        from alembic import command

        from kms.db import alembic_config

        with use(bench):
            command.downgrade(alembic_config(), "-1")

    return setup


def process_rows(bench: Instance, settings: Settings) -> list[Row]:
    """Fresh processes: `kms db upgrade` with nothing to do and with the newest migration to
    apply to the instance's data, and importing the pages' code."""
    env = {**os.environ, "KMS_DATA_DIR": str(bench.data), "KMS_DATABASE_URL": bench.url}
    python = sys.executable

    def run(*args: str) -> Callable[[], None]:
        return lambda: subprocess.run(
            [python, *args], cwd=ROOT, env=env, check=True, capture_output=True
        )

    pages = "; ".join(
        f"import {m}"
        for m in (
            "kms.ui.page",
            "kms.modules.start.ui",
            "kms.modules.invoices.ui",
            "kms.modules.contacts.ui",
        )
    )
    upgrade = run("-m", "kms", "db", "upgrade")
    nothing_to_do = timed(upgrade, settings)
    head, what = _newest_migration()
    return [
        Row(
            "db.upgrade",
            "python -m kms db upgrade, nothing to do",
            nothing_to_do,
            timed(run("-c", "pass"), settings),
            "python -c pass",
            "≤ 2 s",
        ),
        Row(
            "db.migration",
            f"python -m kms db upgrade applying {head} ({what})",
            timed(upgrade, settings, _step_back(bench)),
            nothing_to_do,
            "the same with nothing to do",
            "reported",
        ),
        Row(
            "import.pages",
            "import the page code (Übersicht, Rechnungen, Personen)",
            timed(run("-c", pages), settings),
            timed(run("-c", "import streamlit"), settings),
            'python -c "import streamlit"',
            "cold start ≤ 5 s",
        ),
    ]


def _server_env(instance: Instance) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMS_")}
    env.update(KMS_DATA_DIR=str(instance.data), KMS_DATABASE_URL=instance.url, KMS_SCHEDULER="0")
    return env


@contextmanager
def _server(instance: Instance, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m kms serve` on a free port; yields the process and URL once it answers."""
    import urllib.request

    from tests.browser_support import START_TIMEOUT, free_port

    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kms", "serve", "--port", str(port), "--address", "127.0.0.1"],
            env=_server_env(instance),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT * 3
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + log.read_text())
            time.sleep(0.05)
        yield process, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hanging server
            process.kill()
            process.wait()


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process in bytes, from /proc."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


def _login_page(browser: Any, url: str) -> Any:
    """A new browser context (no cookie) with the login form shown."""
    from tests.browser_support import IDLE

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.get_by_label("Benutzername").wait_for(timeout=120_000)
    return page


def _logged_in(browser: Any, url: str) -> Any:
    """A new browser session, logged in as the bench user, on the Übersicht."""
    from kms.benchdata import BENCH_PASSWORD, BENCH_USER

    page = _login_page(browser, url)
    page.get_by_label("Benutzername").fill(BENCH_USER)
    page.get_by_label("Passwort", exact=True).fill(BENCH_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.locator("h1", has_text="Übersicht").wait_for(timeout=120_000)
    return page


def _visit(page: Any, url_path: str) -> None:
    """Click the page in the sidebar; return once it is rendered and the script has ended."""
    from kms.registry import page_by_url
    from tests.browser_support import IDLE

    spec = page_by_url(url_path)
    assert spec is not None
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("link", name=spec.title, exact=True).click()
    page.locator("h1", has_text=spec.title).wait_for(timeout=120_000)
    page.wait_for_selector(IDLE, timeout=120_000)


def _visit_list(page: Any) -> None:
    """`_visit` of the list page, until its list (the first table, open tab) is visible."""
    _visit(page, LIST_PAGE)
    tables = page.locator('[data-testid="stDataFrame"]')
    if tables.count():
        tables.first.wait_for(state="visible", timeout=120_000)


def _archives(instance: Instance) -> set[str]:
    """The names of the instance's backup archives."""
    from kms.backups.store import parse_name

    folder = instance.data / "backups"
    return {p.name for p in folder.iterdir() if parse_name(p)} if folder.is_dir() else set()


def _start_backup(page: Any) -> None:
    """▶ Backup erzeugen (no passphrase) on the Dokumente page, as a user starts it."""
    from tests.browser_support import IDLE

    _visit(page, "dokumente")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name="▶ Backup erzeugen", exact=True).click()
    page.get_by_role("button", name="Backup starten", exact=True).click()
    page.wait_for_selector(IDLE, timeout=120_000)


def _wait_for_new_archive(instance: Instance, before: set[str], timeout: float = 3600) -> None:
    """Until the backup started by _start_backup is published (an archive appears only
    when it is complete); raises at once if its job failed or was abandoned."""
    from kms.backups.worker import CREATE
    from kms.db import session_scope
    from kms.jobs import FAILED, recent_jobs

    deadline = time.monotonic() + timeout
    while not _archives(instance) - before:
        with use(instance), session_scope(write=False) as session:
            for job in recent_jobs(session, CREATE, 1):
                if job.status == FAILED or job.is_stale():
                    raise RuntimeError(f"the backup started in the browser failed: {job.message}")
        if time.monotonic() > deadline:
            raise RuntimeError("the backup started in the browser did not finish")
        time.sleep(0.2)


def _list_page_stat(instance: Instance, browser: Any, log: Path, settings: Settings) -> Stat:
    """From the click in the sidebar to the largest list page rendered in Chromium."""
    with _server(instance, log) as (_process, url):
        page = _logged_in(browser, url)
        stat = timed(lambda: _visit_list(page), settings, lambda: _visit(page, "start"))
        page.context.close()
    return stat


def browser_rows(bench: Instance, empty: Instance, settings: Settings) -> list[Row]:
    """Cold start to the first page in Chromium, the largest list page in Chromium against
    the empty instance, and the server's peak RSS with 5 sessions."""
    from tests.browser_support import CHROMIUM, chromium

    if not CHROMIUM.exists():
        print(f"    skipped: no chromium at {CHROMIUM}", flush=True)
        return []
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        log = Path(tmp) / "server.log"
        list_page = _list_page_stat(bench, browser, log, settings)
        list_floor = _list_page_stat(empty, browser, log, settings)

        def cold_start() -> None:
            with _server(bench, log) as (_process, url):
                _login_page(browser, url).context.close()

        cold = timed(cold_start, settings)
        with _server(bench, log) as (process, url):
            after_start = _memory(process.pid)["VmRSS"]
            sessions = [_logged_in(browser, url) for _ in range(BROWSER_SESSIONS)]
            archives = _archives(bench)
            _start_backup(sessions[0])  # runs in the server's job thread meanwhile
            for url_path in PAGES:  # every session visits every page, all sessions stay open
                for page in sessions:
                    _visit(page, url_path)
            _wait_for_new_archive(bench, archives)
            peak = _memory(process.pid)["VmHWM"]
            for page in sessions:
                page.context.close()
    floor = Stat([float(after_start)])
    return [
        Row(
            "cold_start.chromium",
            "cold start: kms serve → login page rendered in Chromium",
            cold,
            timed(
                lambda: subprocess.run([sys.executable, "-c", "import streamlit"], check=True),
                settings,
            ),
            'python -c "import streamlit"',
            "≤ 5 s",
        ),
        Row(
            "list_page.chromium",
            f"largest list page ({LIST_PAGE}) in Chromium: sidebar click → rendered",
            list_page,
            list_floor,
            "same page, empty instance",
            "≤ 2 ×",
        ),
        Row(
            "server.rss",
            f"peak RSS of the server (bytes): {BROWSER_SESSIONS} sessions, every page, a backup",
            Stat([float(peak)]),
            floor,
            "RSS of the server once it answers",
            "≤ 600 MB",
        ),
    ]


# --- report ---------------------------------------------------------------------------------


def database_version(instance: Instance) -> str:
    from sqlalchemy import text

    from kms.db import session_scope

    with use(instance), session_scope(write=False) as session:
        if instance.url.startswith("sqlite"):
            return "SQLite " + str(session.scalar(text("SELECT sqlite_version()")))
        return str(session.scalar(text("SHOW server_version"))).join(("PostgreSQL ", ""))


def machine() -> dict[str, Any]:
    ram = 0
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # pragma: no cover - not on Linux
        pass
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "git_sha": sha,
        "cores": os.cpu_count(),
        "ram_bytes": ram,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def ms(seconds: float) -> str:
    """Milliseconds, with three decimals below one (a search of some microseconds)."""
    return f"{seconds * 1000:,.{3 if seconds < 0.001 else 1}f}".replace(",", " ")


def print_table(database: str, rows: list[Row]) -> None:
    print(f"\n{database}: median / min / max in ms; floor median; ratio; budget")
    for row in rows:
        v = row.value
        if row.key.endswith(".rss"):  # bytes, not seconds
            ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
            floor_mb = f"{row.floor.median / 1e6:,.0f} MB" if row.floor else "—"
            print(
                f"  {row.label[:52]:52s} {v.median / 1e6:>7,.0f} MB {'':>10} {'':>10} | "
                f"{floor_mb:>10} {ratio:>8} | {row.budget}"
            )
            continue
        floor = ms(row.floor.median) if row.floor else "—"
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        print(
            f"  {row.label[:52]:52s} {ms(v.median):>10} {ms(min(v.samples)):>10} "
            f"{ms(max(v.samples)):>10} | {floor:>10} {ratio:>8} | {row.budget}"
        )


def regressions(results: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """Ratios (or, without a floor, medians) that grew or shrank more than 20 %."""
    flagged: list[str] = []
    if not previous:
        return flagged
    for database, current in results.get("databases", {}).items():
        before = previous.get("databases", {}).get(database, {}).get("rows", {})
        for key, row in current["rows"].items():
            old = before.get(key)
            if not old:
                continue
            measure = "ratio" if row.get("ratio") and old.get("ratio") else "median"
            if not old.get(measure):
                continue
            change = row[measure] / old[measure] - 1
            if abs(change) > REGRESSION:
                word = "slower" if change > 0 else "faster"
                flagged.append(
                    f"{database} {key}: {measure} {old[measure]:.3f} → {row[measure]:.3f} "
                    f"({change:+.0%}, {word})"
                )
    return flagged


def committed_results() -> dict[str, Any] | None:
    shown = subprocess.run(
        ["git", "show", "HEAD:bench/results.json"], cwd=ROOT, capture_output=True, text=True
    )
    return json.loads(shown.stdout) if shown.returncode == 0 and shown.stdout else None


def run_all(settings: Settings, workdir: Path) -> dict[str, Any]:
    databases = ["sqlite"] + (["postgresql"] if os.environ.get("KMS_TEST_POSTGRES_URL") else [])
    results: dict[str, Any] = {
        "machine": machine(),
        "settings": {"runs": settings.runs, "warmups": settings.warmups, "scale": settings.scale},
        "not_yet_measured": list(NOT_YET_MEASURED),
        "databases": {},
    }
    os.environ.setdefault("KMS_SCHEDULER", "0")
    from streamlit import logger

    logger.set_log_level("error")  # AppTest outside a server warns about every script context
    for database in databases:
        print(f"preparing {database} ({settings.scale}) …", flush=True)
        bench, empty = prepare(workdir, database, settings.scale)
        rows: list[Row] = []
        steps: list[tuple[str, Callable[..., list[Row]], tuple[Any, ...]]] = [
            ("queries", query_rows, (bench, settings)),
            ("pages", page_rows, (bench, empty, settings)),
            ("issue", issue_rows, (bench, settings)),
            ("bank", bank_rows, (bench, settings)),
            ("login", login_rows, (bench, settings)),
            ("backup", backup_rows, (bench, settings)),
            ("process", process_rows, (bench, settings)),
            ("browser", browser_rows, (bench, empty, settings)),
        ]
        for group, step, step_args in steps:
            if group in settings.skip:
                continue
            print(f"  {group} …", flush=True)
            rows += step(*step_args)
        print_table(database, rows)
        results["databases"][database] = {
            "version": database_version(bench),
            "rows": {row.key: row.as_dict() for row in rows},
        }
        shutil.rmtree(empty.data, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scale", choices=["small", "large"], default="small")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--once", action="store_true", help="one run, no warm-up, no file")
    parser.add_argument("--skip", default="", help=f"comma-separated groups of {GROUPS}")
    parser.add_argument("--only", default="", help="comma-separated groups to run (others skipped)")
    parser.add_argument("--pages", default="", help=f"comma-separated pages of {PAGES}")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "kms-bench")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = Settings(
        runs=1 if args.once else max(7, args.runs),
        warmups=0 if args.once else max(2, args.warmups),
        scale=args.scale,
        skip={s for s in args.skip.split(",") if s},
    )
    if args.only:
        only = {s for s in args.only.split(",") if s}
        settings.skip |= set(GROUPS) - only
    if args.pages:
        settings.pages = tuple(p for p in args.pages.split(",") if p)
    if args.only or args.pages:
        args.output = args.output if args.output != RESULTS else None
    from kms.permissions import SYSTEM, acting_as

    # Like the CLI, the benchmark acts as the system when it calls services directly (bulk data,
    # drafts, backups); the pages it drives run as their logged-in user in Streamlit's thread.
    with acting_as(SYSTEM):
        results = run_all(settings, args.workdir)
    if NOT_YET_MEASURED:
        print("\nnot yet measured: " + "; ".join(NOT_YET_MEASURED))
    if args.once:
        return 0
    committed = committed_results()
    if committed and committed.get("settings", {}).get("scale") != settings.scale:
        print(f"the committed bench/results.json is not a {settings.scale} run: not compared")
        committed = None
    flagged = regressions(results, committed)
    for line in flagged:
        print("CHANGE > 20 %: " + line)
    if not flagged:
        print("no change over 20 % against the committed bench/results.json")
    if args.output is None:  # a partial run never replaces the committed full one
        print("partial run: no results file written (give --output to keep it)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"written {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
