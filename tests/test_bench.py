"""The benchmark instance and `make bench` work end to end (smoke test, no time budgets).

`python -m kms bench-data --scale small` fills an empty instance reproducibly with fictitious
data that passes the audit check and keeps invoice numbers gapless, refuses an instance with
data, and flags itself in the banner; one pass of every `make bench` measurement runs on it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import case, func, select

from bench import run as bench
from kms import audit
from kms.benchdata import BANNER_TEXT, FLAG_KEY, SCALES, Scale, generate
from kms.cli import main
from kms.db import ensure_migrated, session_scope
from kms.models import KeyValue
from kms.modules.contacts.models import Contact
from kms.modules.invoices.models import Invoice, InvoiceLine, NumberCounter, Payment
from kms.modules.ledger.models import Booking, BookingLine
from kms.modules.ledger.sync import sync_payments_unchecked
from kms.modules.letters.models import Letter
from kms.notices import USERS, banner

TINY = Scale(
    contacts=30, invoices=200, lines=500, payments=120, documents=10, letters=10, bookings=400
)


def _invoice_facts() -> list[tuple[str, str, str]]:
    with session_scope(write=False) as s:
        return [
            (n, str(g), str(d))
            for n, g, d in s.execute(
                select(Invoice.number, Invoice.gross_total, Invoice.issue_date).order_by(Invoice.id)
            )
        ]


def test_small_instance_via_cli_is_complete_and_consistent(capsys) -> None:
    """The CLI builds the small scale: counts as promised, audit chain intact, numbers gapless
    per range and year with counters at the last number, the banner names benchmark data."""
    assert main(["bench-data", "--scale", "small"]) == 0
    assert "Benchmark-Daten (small) erzeugt" in capsys.readouterr().out
    small = SCALES["small"]
    with session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == small.contacts
        assert s.scalar(select(func.count()).select_from(Invoice)) == small.invoices
        assert s.scalar(select(func.count()).select_from(InvoiceLine)) == small.lines
        assert s.scalar(select(func.count()).select_from(Payment)) == small.payments
        assert s.scalar(select(func.count()).select_from(Letter)) == small.letters
        assert s.scalar(select(func.count()).select_from(Booking)) == small.bookings
        assert audit.verify(s) == []
        assert s.get(KeyValue, FLAG_KEY).value["scale"] == "small"
        warnings = banner(s, audience=USERS).system_warnings  # shown after login
        assert any(text == BANNER_TEXT for _level, text in warnings)
        numbers: dict[tuple[str, int], list[int]] = defaultdict(list)
        for number, day in s.execute(
            select(Invoice.number, Invoice.issue_date).order_by(Invoice.issue_date, Invoice.id)
        ):
            prefix, year, counter = re.fullmatch(r"(RE|ST)-(\d{4})-(\d+)", number).groups()
            assert int(year) == day.year
            numbers[(prefix, int(year))].append(int(counter))
        counters = {
            (c.range_key, c.period): c.last_number for c in s.scalars(select(NumberCounter))
        }
    for (prefix, year), taken in numbers.items():
        assert taken == list(range(1, len(taken) + 1)), (prefix, year)  # ascending, no gap
        assert counters[("rechnung" if prefix == "RE" else "storno", year)] == len(taken)
    assert main(["audit", "verify"]) == 0


def test_the_books_hold_every_payment_once_and_ten_years_of_expenses() -> None:
    """Each payment has the income booking the ledger's sync would make (so the sync finds
    nothing left), lines add up to the payment, and hand-entered expenses reach back ten
    years; the audit chain covers the bookings."""
    generate(TINY)
    with session_scope() as s:
        payments = dict(s.execute(select(Payment.id, Payment.amount)).all())
        booked = dict(
            s.execute(
                select(Booking.payment_id, func.sum(BookingLine.amount))
                .join(BookingLine, BookingLine.booking_id == Booking.id)
                .where(Booking.payment_id.is_not(None))
                .group_by(Booking.payment_id)
            ).all()
        )
        assert booked == payments
        assert s.scalar(select(func.count()).select_from(Booking)) == TINY.bookings
        assert sync_payments_unchecked(s) == "nichts zu buchen"
        first, last = s.execute(
            select(func.min(Booking.booking_date), func.max(Booking.booking_date)).where(
                Booking.kind == "ausgabe"
            )
        ).one()
        assert last.year - first.year == TINY.ledger_years - 1
        wrong_total = s.scalar(
            select(func.count())
            .select_from(Booking)
            .where(
                Booking.total
                != select(func.sum(BookingLine.amount))
                .where(BookingLine.booking_id == Booking.id)
                .scalar_subquery()
                * case((Booking.kind == "ausgabe", -1), else_=1)
            )
        )
        assert wrong_total == 0
        assert audit.verify(s) == []


def test_refuses_an_instance_with_data(capsys) -> None:
    """A real contact makes bench-data refuse in German and write nothing."""
    ensure_migrated()
    with session_scope() as s:
        s.add(Contact(kind="person", last_name="Echt"))
    assert main(["bench-data", "--scale", "small"]) == 2
    assert "enthält bereits Kontakte" in capsys.readouterr().err
    with session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 1
        assert s.scalar(select(func.count()).select_from(Invoice)) == 0
        assert s.get(KeyValue, FLAG_KEY) is None


def test_refuses_to_run_twice(capsys) -> None:
    """A second run on a benchmark instance is refused instead of doubling the data."""
    generate(TINY)
    assert main(["bench-data", "--scale", "small"]) == 2
    assert "bereits Benchmark-Daten" in capsys.readouterr().err


def test_same_seed_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two instances from the same seed hold the same invoices, amounts and dates."""
    from kms.config import reset_config
    from kms.db import dispose_engines

    generate(TINY)
    first = _invoice_facts()
    other = tmp_path / "other"
    monkeypatch.setenv("KMS_DATA_DIR", str(other))
    monkeypatch.setenv("KMS_DATABASE_URL", f"sqlite:///{other / 'kms.sqlite3'}")
    reset_config()
    dispose_engines()
    generate(TINY)
    assert _invoice_facts() == first
    assert len(first) == TINY.invoices


def test_one_pass_of_every_measurement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bench.run --once` prepares both instances and runs every measurement once
    (the Chromium rows have their own browser test: tests/browser/test_bench_browser.py)."""
    monkeypatch.delenv("KMS_TEST_POSTGRES_URL", raising=False)  # the smoke test stays on SQLite
    monkeypatch.setattr("kms.benchdata.SCALES", {**SCALES, "small": TINY})
    settings = bench.Settings(runs=1, warmups=0, scale="small", skip={"browser"})
    results = bench.run_all(settings, tmp_path)
    rows = results["databases"]["sqlite"]["rows"]
    expected = {f"page.{p}" for p in bench.PAGES} | {
        "search.contacts",
        "search.invoices",
        "list.invoices",
        "overview",
        "overdue",
        "issue",
        "bank.import",
        "login",
        "backup.create",
        "backup.verify",
        "backup.restore",
        "backup.safety",
        "db.upgrade",
        "db.migration",
        "import.pages",
    }
    assert set(rows) == expected
    assert all(row["median"] > 0 and row["n"] == 1 for row in rows.values())
    assert all(row["ratio"] is not None for row in rows.values())
    assert results["machine"]["cores"] and results["databases"]["sqlite"]["version"]
    # The newest migration was undone and applied again: the instance is back at the head.
    head, _doc = bench._newest_migration()
    assert rows["db.migration"]["label"].startswith(f"python -m kms db upgrade applying {head} (")
    db = sqlite3.connect(tmp_path / "sqlite-small" / "bench" / "kms.sqlite3")
    try:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
    finally:
        db.close()


def test_fast_calls_are_timed_in_batches_and_slow_ones_once() -> None:
    """A call of microseconds is timed as the mean of a batch filling about 20 ms; a call
    longer than that batch runs once per sample. Either way a sample is one call's time."""
    calls = {"fast": 0, "slow": 0}

    def fast() -> None:
        calls["fast"] += 1

    def slow() -> None:
        calls["slow"] += 1
        time.sleep(bench.BATCH_SECONDS * 1.5)

    settings = bench.Settings(runs=3, warmups=2, scale="small")
    quick = bench.timed_batched(fast, settings)
    assert calls["fast"] > 3 * 1000 and len(quick.samples) == 3
    assert max(quick.samples) < 0.001
    timed_slow = bench.timed_batched(slow, settings)
    assert calls["slow"] == 2 + 1 + 3 and len(timed_slow.samples) == 3
    assert min(timed_slow.samples) >= bench.BATCH_SECONDS * 1.5


def test_regression_check_flags_changes_over_twenty_percent() -> None:
    """A ratio 30 % above the committed one is flagged as slower; 10 % is not flagged."""

    def results(ratio: float, median: float) -> dict:
        return {"databases": {"sqlite": {"rows": {"x": {"ratio": ratio, "median": median}}}}}

    assert bench.regressions(results(1.3, 1.0), results(1.0, 1.0)) == [
        "sqlite x: ratio 1.000 → 1.300 (+30%, slower)"
    ]
    assert bench.regressions(results(1.1, 5.0), results(1.0, 1.0)) == []
    assert bench.regressions(results(1.0, 1.0), None) == []


def test_a_failure_midway_leaves_no_rows_and_no_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """If generation fails after files were written, rows roll back and the files go too."""
    from kms.config import get_config

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr("kms.benchdata._letters", broken)
    with pytest.raises(RuntimeError):
        generate(TINY)
    with session_scope(write=False) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
        assert s.get(KeyValue, FLAG_KEY) is None
    stored = get_config().files_dir / "documents"
    left = [p for p in stored.rglob("*") if p.is_file()] if stored.exists() else []
    assert left == []


def test_a_new_postgres_bench_instance_gets_its_planner_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    """On PostgreSQL the freshly loaded instance is vacuumed and analysed, as autovacuum
    keeps a live instance: without statistics the planner guesses, and `count(*)` (the
    query cache's fingerprint) reads whole tables instead of an index."""
    from urllib.parse import unquote

    from sqlalchemy import create_engine, text

    from kms.db import dispose_engines
    from tests.conftest import _drop_schema

    monkeypatch.setattr("kms.benchdata.SCALES", {**SCALES, "small": TINY})
    instance, empty = bench.prepare(tmp_path, "postgresql", "small")
    schemas = [unquote(i.url).rsplit("search_path=", 1)[1] for i in (instance, empty)]
    try:
        engine = create_engine(instance.url)
        with engine.connect() as conn:
            analysed = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stats "
                    "WHERE schemaname = current_schema() AND tablename = 'invoices'"
                )
            ).scalar()
        engine.dispose()
        assert analysed and analysed > 0
    finally:
        dispose_engines()
        for schema in schemas:
            _drop_schema(schema)
