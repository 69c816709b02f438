"""Migration 1301: invoice files and sent letters move from database bytes into Dokumente,
checked by hash, exactly once (a second run changes nothing), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from kms.config import get_config
from kms.db import alembic_config, get_engine, session_scope
from tests.conftest import database_at

VERSIONS = Path(__file__).parents[1] / "kms" / "migrations" / "versions"
MIGRATION = VERSIONS / "1301_generated_files_in_documents.py"
PDF_A = b"%PDF-1.7\n% Rechnung RE-2026-0001\n%%EOF\n"
XML_A = b"<?xml version='1.0'?><rsm:CrossIndustryInvoice/>"
PDF_STORNO = b"%PDF-1.7\n% Storno ST-2026-0001\n%%EOF\n"
PDF_REMINDER = b"%PDF-1.7\n% Zahlungserinnerung\n%%EOF\n"
PDF_LETTER_1 = b"%PDF-1.7\n% Brief 1\n%%EOF\n"
PDF_LETTER_2 = b"%PDF-1.7\n% Brief 2\n%%EOF\n"
PDF_DRAFT = b"%PDF-1.7\n% Entwurf\n%%EOF\n"
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_1301", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgres"])
def url_1211(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of its own, migrated up to revision 1211 only."""
    with database_at("1211", request.param, monkeypatch) as url:
        yield url


def _dummy(column: sa.Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return NOW
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.Integer | sa.Numeric):
        return 0
    if isinstance(kind, sa.LargeBinary):
        return b""
    if isinstance(kind, sa.JSON):
        return {}
    return "x"


def insert(conn: sa.Connection, table: sa.Table, **values: Any) -> int:
    """Insert a row, filling any other required column with a harmless value."""
    for column in table.columns:
        if column.name in values or column.nullable or column.server_default is not None:
            continue
        if column.primary_key and column.name == "id":
            continue
        values[column.name] = _dummy(column)
    return int(conn.execute(sa.insert(table).values(**values).returning(table.c.id)).scalar_one())


def store_blob(conn: sa.Connection, t: dict[str, sa.Table], content: bytes, name: str) -> int:
    """A Dokumente file as the store keeps it today (file on disk plus blob row)."""
    path = get_config().files_dir / "documents" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return insert(
        conn,
        t["document_blobs"],
        sha256=sha(content),
        size=len(content),
        mime_type="application/pdf",
        storage_name=name,
        created_at=NOW,
    )


def seed(url: str) -> dict[str, int]:
    """Rows as 1211 knew them: bytes in invoice_files.content and letters.pdf; some of them
    also in Dokumente already (the double copy), one upload sharing a file's bytes."""
    engine = get_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        ids["contact"] = insert(conn, t["contacts"], kind="organisation", name="Beispiel GmbH")
        ids["invoice"] = insert(
            conn,
            t["invoices"],
            kind="rechnung",
            number="RE-2026-0001",
            issue_date=date(2026, 3, 1),
            contact_id=ids["contact"],
        )
        ids["storno"] = insert(
            conn,
            t["invoices"],
            kind="storno",
            number="ST-2026-0001",
            issue_date=date(2026, 3, 5),
            contact_id=ids["contact"],
        )
        ids["reminder"] = insert(
            conn,
            t["invoice_reminders"],
            invoice_id=ids["invoice"],
            level=0,
            letter_date=date(2026, 4, 1),
            new_due_date=date(2026, 4, 15),
        )
        # Today's double copy: the invoice PDF is also a Dokumente document.
        blob_a = store_blob(conn, t, PDF_A, "aa/rechnung.pdf")
        doc_a = insert(
            conn,
            t["documents"],
            blob_id=blob_a,
            doc_type="invoice",
            source="generated",
            filename="RE-2026-0001.pdf",
            issued_on=date(2026, 3, 1),
        )
        # An upload whose bytes equal the Storno PDF: its file is reused, not written again.
        blob_storno = store_blob(conn, t, PDF_STORNO, "bb/upload.pdf")
        insert(
            conn,
            t["documents"],
            blob_id=blob_storno,
            doc_type="upload",
            source="upload",
            filename="storno-kopie.pdf",
            issued_on=date(2026, 3, 5),
        )
        blob_letter = store_blob(conn, t, PDF_LETTER_1, "cc/brief.pdf")
        doc_letter = insert(
            conn,
            t["documents"],
            blob_id=blob_letter,
            doc_type="letter",
            source="generated",
            filename="Brief.pdf",
            issued_on=date(2026, 2, 1),
        )
        ids["doc_invoice_pdf"], ids["doc_letter_1"] = doc_a, doc_letter
        files = t["invoice_files"]
        pdf, xml = "application/pdf", "application/xml"
        for key, invoice, reminder, role, name, mime, content, document in (
            ("f_pdf", "invoice", None, "pdf", "RE-2026-0001.pdf", pdf, PDF_A, doc_a),
            ("f_xml", "invoice", None, "facturx_xml", "factur-x.xml", xml, XML_A, None),
            ("f_storno", "storno", None, "pdf", "ST-2026-0001.pdf", pdf, PDF_STORNO, None),
            ("f_rem", "invoice", "reminder", "pdf", "erinnerung.pdf", pdf, PDF_REMINDER, None),
        ):
            ids[key] = insert(
                conn,
                files,
                invoice_id=ids[invoice],
                reminder_id=ids[reminder] if reminder else None,
                role=role,
                filename=name,
                mime_type=mime,
                sha256=sha(content),
                size=len(content),
                content=content,
                document_id=document,
                created_at=NOW,
            )
        letters = t["letters"]
        for key, status, pdf, document in (
            ("l_sent_doc", "versendet", PDF_LETTER_1, doc_letter),
            ("l_sent", "versendet", PDF_LETTER_2, None),
            ("l_draft", "entwurf", PDF_DRAFT, None),
        ):
            ids[key] = insert(
                conn,
                letters,
                contact_id=ids["contact"],
                subject=f"Betreff {key}",
                printed_subject=f"Betreff {key}",
                letter_date=date(2026, 2, 1),
                body="Text",
                status=status,
                pdf=pdf,
                pdf_sha256=sha(pdf),
                document_id=document,
            )
    return ids


def counts(url: str) -> tuple[int, int, int]:
    with get_engine(url).connect() as conn:
        return (
            conn.execute(sa.text("SELECT COUNT(*) FROM documents")).scalar_one(),
            conn.execute(sa.text("SELECT COUNT(*) FROM document_blobs")).scalar_one(),
            conn.execute(sa.text("SELECT COUNT(*) FROM document_contacts")).scalar_one(),
        )


def check_originals(url: str, ids: dict[str, int]) -> None:
    """Every original is read back through Dokumente with the right bytes and hash."""
    from kms.modules.documents.service import get_document, read_verified
    from kms.modules.invoices import storage
    from kms.modules.invoices.models import InvoiceFile
    from kms.modules.letters.models import Letter
    from kms.modules.letters.service import letter_pdf

    expected = {
        "f_pdf": (PDF_A, "invoice"),
        "f_xml": (XML_A, "invoice_xml"),
        "f_storno": (PDF_STORNO, "cancellation"),
        "f_rem": (PDF_REMINDER, "dunning"),
    }
    with session_scope(url, write=False) as session:
        for key, (content, doc_type) in expected.items():
            file = session.get(InvoiceFile, ids[key])
            assert file is not None
            assert storage.read(session, file).content == content
            document = get_document(session, file.document_id)
            assert document.doc_type == doc_type
            assert document.blob.sha256 == file.sha256 == sha(content)
            if key != "f_pdf":  # created by the migration: linked, retained as the law says
                assert document.contact_ids == [ids["contact"]]
                years = 6 if doc_type == "dunning" else 8
                assert document.retain_until == date(document.issued_on.year + years, 12, 31)
        assert session.get(InvoiceFile, ids["f_pdf"]).document_id == ids["doc_invoice_pdf"]
        for key, content in (("l_sent_doc", PDF_LETTER_1), ("l_sent", PDF_LETTER_2)):
            letter = session.get(Letter, ids[key])
            assert letter.draft_pdf is None  # the original lives once, in Dokumente
            assert read_verified(session, letter.document_id, letter.pdf_sha256) == content
            assert letter_pdf(session, letter.id) == content
        assert session.get(Letter, ids["l_sent_doc"]).document_id == ids["doc_letter_1"]
        draft = session.get(Letter, ids["l_draft"])
        assert draft.draft_pdf == PDF_DRAFT and draft.document_id is None


def stored_files(store: Path) -> list[Path]:
    return sorted(
        p.relative_to(store)
        for p in store.rglob("*")
        if p.is_file() and p.relative_to(store).parts[0] != "tmp"
    )


def test_upgrade_moves_the_bytes_once_and_a_second_run_changes_nothing(url_1211: str) -> None:
    ids = seed(url_1211)
    before = counts(url_1211)
    command.upgrade(alembic_config(url_1211), "head")
    with get_engine(url_1211).connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("invoice_files")}
        letter_columns = {c["name"] for c in sa.inspect(conn).get_columns("letters")}
    assert "content" not in columns and "document_id" in columns
    assert "pdf" not in letter_columns and "draft_pdf" in letter_columns
    # New documents: factur-x.xml, Storno, reminder, the letter without one (4);
    # new files: all but the Storno PDF, whose bytes were in the store already (3).
    after = counts(url_1211)
    assert after[:2] == (before[0] + 4, before[1] + 3)
    assert after[2] == before[2] + 4  # each new document is linked to the customer
    check_originals(url_1211, ids)
    store = get_config().files_dir / "documents"
    stored = stored_files(store)
    assert len(stored) == after[1]

    # The data step again: nothing left to move, nothing added.
    migration = load_migration()
    with get_engine(url_1211).begin() as conn:
        moved = migration.move_generated_files(conn, store)
    assert moved == {"invoice_files": 0, "letters": 0, "documents": 0, "blobs": 0}
    assert counts(url_1211) == after

    # Down (bytes back into the rows) and up again: the documents are reused, not doubled.
    command.downgrade(alembic_config(url_1211), "1211")
    with get_engine(url_1211).connect() as conn:
        row = conn.execute(
            sa.text("SELECT content FROM invoice_files WHERE id = :i"), {"i": ids["f_xml"]}
        ).scalar_one()
        assert bytes(row) == XML_A
        pdf = conn.execute(
            sa.text("SELECT pdf FROM letters WHERE id = :i"), {"i": ids["l_sent"]}
        ).scalar_one()
        assert bytes(pdf) == PDF_LETTER_2
    command.upgrade(alembic_config(url_1211), "head")
    assert counts(url_1211) == after
    check_originals(url_1211, ids)
    assert stored_files(store) == stored


def test_bytes_that_do_not_match_their_hash_stop_the_migration(url_1211: str) -> None:
    ids = seed(url_1211)
    with get_engine(url_1211).begin() as conn:
        conn.execute(
            sa.text("UPDATE invoice_files SET content = :c WHERE id = :i"),
            {"c": b"%PDF-1.7 verfaelscht", "i": ids["f_storno"]},
        )
    migration = load_migration()
    with pytest.raises(migration.MigrationRefused, match="passt nicht zu ihrer gespeicherten"):
        with get_engine(url_1211).begin() as conn:
            migration.move_generated_files(conn, get_config().files_dir / "documents")
    with get_engine(url_1211).connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM documents")).scalar_one() == 3
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "1211"


def test_a_restore_migrates_into_its_staged_files(url_1211: str, tmp_path: Path) -> None:
    """Restoring an older backup migrates it beside the live data (kms.backups.restore sets
    `kms_files_dir` to the staged files): the moved originals land there, not in the live
    store that the swap replaces."""
    import inspect

    from kms.backups import restore

    assert '"kms_files_dir"' in inspect.getsource(restore._build_database)
    seed(url_1211)
    live = get_config().files_dir / "documents"
    before = stored_files(live)
    staged = tmp_path / "staged" / "files"
    shutil.copytree(live, staged / "documents")  # the backup's files, as extracted
    cfg = alembic_config(url_1211)
    cfg.set_main_option("kms_files_dir", str(staged))
    command.upgrade(cfg, "head")
    assert stored_files(live) == before
    with get_engine(url_1211).connect() as conn:
        names = set(conn.scalars(sa.text("SELECT storage_name FROM document_blobs")))
    assert {str(p) for p in stored_files(staged / "documents")} == names
    assert len(names) == len(before) + 3
