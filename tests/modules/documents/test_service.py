"""Dokumente service: storing, refusing, deduplicating, retention, crash safety, listing."""

from __future__ import annotations

import hashlib
import io
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms.errors import KmsError, ReadOnlyError, ValidationError
from kms.modules.documents import service, storage
from kms.modules.documents.filetypes import FileRefused, clean_filename
from kms.modules.documents.models import Document, DocumentBlob, DocumentContact
from kms.paging import Page
from kms.types import utcnow
from tests.modules.documents import samples
from tests.modules.documents.conftest import stored_files

RANDOM_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}\.[a-z]+$")


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


GOOD = [
    ("Rechnung.pdf", samples.pdf(), "application/pdf"),
    ("foto.PNG", samples.image("PNG"), "image/png"),
    ("scan.jpeg", samples.image("JPEG"), "image/jpeg"),
    ("logo.gif", samples.image("GIF"), "image/gif"),
    ("bild.webp", samples.image("WEBP"), "image/webp"),
    ("fax.tif", samples.image("TIFF"), "image/tiff"),
    ("notiz.txt", "Grüße aus Köln\n".encode(), "text/plain"),
    ("liste.csv", "Name;Betrag\nMüller;1.234,56\n".encode("cp1252"), "text/plain"),
    ("rechnung.xml", samples.XML, "application/xml"),
    ("grafik.svg", samples.SVG, "image/svg+xml"),
    (
        "brief.docx",
        samples.docx(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "tabelle.xlsx",
        samples.xlsx(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("text.odt", samples.odt(), "application/vnd.oasis.opendocument.text"),
    ("archiv.zip", samples.zipped({"a.txt": b"a"}), "application/zip"),
    ("alt.doc", samples.OLE, "application/msword"),
    ("alt.xls", samples.OLE, "application/vnd.ms-excel"),
    ("brief.rtf", b"{\\rtf1\\ansi Hallo}", "application/rtf"),
    ("ohne-endung", samples.pdf(), "application/pdf"),
]


@pytest.mark.parametrize(("filename", "content", "mime"), GOOD, ids=[g[0] for g in GOOD])
def test_allowed_files_are_stored_under_random_names_with_sha256(
    session: Session, contacts: list[int], filename: str, content: bytes, mime: str
) -> None:
    """Each allowed kind is stored by its real type, under a generated name, hash recorded."""
    result = service.upload(
        session, content=content, filename=filename, contact_ids=[contacts[0]], tags="Test"
    )
    session.commit()
    doc = result.document
    assert not result.duplicate
    assert doc.filename == filename
    assert doc.blob.mime_type == mime
    assert doc.blob.sha256 == hashlib.sha256(content).hexdigest()
    assert doc.blob.size == len(content)
    assert RANDOM_NAME.match(doc.blob.storage_name)
    assert service.path_of(doc).read_bytes() == content
    assert service.path_of(doc).is_relative_to(storage.root())
    assert doc.contact_ids == [contacts[0]]
    assert stored_files() == [service.path_of(doc)]


HOSTILE_NAMES = [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\win.ini.pdf", "win.ini.pdf"),
    ("/absolute/path/x.pdf", "x.pdf"),
    ("rech\u202egpj.pdf", "rechgpj.pdf"),
    ("evil\x00name\r\n.pdf", "evil name .pdf"),
    ("   ...   ", "datei"),
    ("<script>alert(1)</script>.pdf", "alert(1)<.pdf"),
]


@pytest.mark.parametrize(("name", "expected"), HOSTILE_NAMES)
def test_hostile_file_names_become_harmless_metadata(
    session: Session, name: str, expected: str
) -> None:
    """Directory parts, control and bidi characters go; the name never becomes a path."""
    if name.startswith("<script>"):
        # The "/" in "</script>" is a directory separator: only the last part stays.
        expected = "script>.pdf"
    doc = service.upload(session, content=samples.pdf(name), filename=name).document
    session.commit()
    assert doc.filename == expected
    assert RANDOM_NAME.match(doc.blob.storage_name)
    assert stored_files() == [service.path_of(doc)]


def test_overlong_names_are_shortened_keeping_the_extension() -> None:
    """A 500-character name is cut to 120 characters and keeps ".pdf"."""
    name = clean_filename("ä" * 500 + ".pdf")
    assert len(name) == 120
    assert name.endswith("ä.pdf")


PNG = samples.image("PNG")
REFUSED = [
    ("leer.pdf", b"", "„leer.pdf“ ist leer (0 Bytes) und wurde nicht gespeichert."),
    (
        "rechnung.pdf",
        PNG,
        "„rechnung.pdf“ wurde nicht gespeichert: Die Endung „.pdf“ passt nicht zum Inhalt "
        "(erkannt: ein PNG-Bild). Bitte prüfen Sie die Datei oder benennen Sie sie passend um.",
    ),
    (
        "vertrag.pdf",
        samples.docx(),
        "„vertrag.pdf“ wurde nicht gespeichert: Die Endung „.pdf“ passt nicht zum Inhalt "
        "(erkannt: ein Word-Dokument). Bitte prüfen Sie die Datei oder benennen Sie sie "
        "passend um.",
    ),
    (
        "seite.html",
        samples.HTML,
        "„seite.html“ ist eine HTML-Seite. HTML-Dateien nimmt KMS nicht an, weil sie Skripte "
        "enthalten können. Bitte speichern Sie die Seite als PDF.",
    ),
    ("harmlos.txt", samples.HTML, "„harmlos.txt“ ist eine HTML-Seite."),
    ("daten.xml", samples.XHTML, "„daten.xml“ ist eine HTML-Seite."),
    (
        "bild.png",
        samples.SVG,
        "Die Endung „.png“ passt nicht zum Inhalt (erkannt: eine SVG-Grafik)",
    ),
    ("programm.exe", b"MZ\x90\x00" + b"\x00" * 100, "Dieser Dateityp ist nicht erlaubt."),
    ("rechnung.pdf", b"MZ\x90\x00" + b"\x00" * 100, "Dieser Dateityp ist nicht erlaubt."),
    ("kaputt.zip", b"PK\x03\x04" + b"\x00" * 40, "ist ein beschädigtes ZIP-Archiv"),
]


@pytest.mark.parametrize(("filename", "content", "message"), REFUSED)
def test_refused_files_leave_neither_record_nor_file(
    session: Session, filename: str, content: bytes, message: str
) -> None:
    """Empty, mismatched, HTML and unknown files are refused with a German message."""
    with pytest.raises(FileRefused) as err:
        service.upload(session, content=content, filename=filename)
    assert message in err.value.message
    session.rollback()
    assert _count(session, Document) == 0
    assert _count(session, DocumentBlob) == 0
    assert stored_files() == []


def test_size_limit_comes_from_the_setting(session: Session) -> None:
    """Files above the configured limit are refused; exactly the limit is fine. 1 MB is
    1,000,000 bytes, as the uploader widget counts it."""
    assert service.max_upload_mb(session) == service.DEFAULT_MAX_UPLOAD_MB
    service.set_max_upload_mb(session, 1)
    session.commit()
    limit = 1_000_000  # 1 MB in the one unit KMS uses (kms.formatting.MEGABYTE)
    big = b"x" * (limit + 1)
    with pytest.raises(FileRefused) as err:
        service.upload(session, content=big, filename="gross.txt")
    assert err.value.message.startswith("„gross.txt“ ist 1,0 MB groß; erlaubt sind höchstens 1 MB")
    doc = service.upload(session, content=b"x" * limit, filename="genau.txt").document
    session.commit()
    assert doc.blob.size == limit


@pytest.mark.parametrize("value", [0, 201, "viel", None, -5])
def test_size_limit_setting_refuses_nonsense(session: Session, value: object) -> None:
    """The limit must be 1 to 200 MB."""
    with pytest.raises(ValidationError) as err:
        service.set_max_upload_mb(session, value)
    assert err.value.message == "Bitte eine Größe von 1 bis 200 MB angeben."


def test_same_file_twice_is_linked_not_stored_again(session: Session, contacts: list[int]) -> None:
    """The second upload of identical bytes links the existing document to the new contact."""
    content = samples.pdf("Vertrag")
    first = service.upload(
        session, content=content, filename="vertrag.pdf", contact_ids=[contacts[0]], tags="A"
    )
    session.commit()
    second = service.upload(
        session, content=content, filename="kopie.pdf", contact_ids=[contacts[1]], tags="B"
    )
    session.commit()
    assert second.duplicate
    assert second.document.id == first.document.id
    assert second.document.contact_ids == sorted(contacts)
    assert second.document.tag_names == ["A", "B"]
    assert "war schon vorhanden" in second.message
    assert _count(session, Document) == 1
    assert len(stored_files()) == 1


def test_shared_file_goes_only_with_its_last_record(session: Session) -> None:
    """An upload and a generated letter with the same bytes share one file until both go."""
    content = samples.pdf("Brief")
    upload = service.upload(session, content=content, filename="brief.pdf").document
    letter = service.store_generated(
        session,
        content=content,
        filename="brief-2020.pdf",
        doc_type="letter",
        mime_type="application/pdf",
        issued_on=date(2020, 5, 1),
    )
    session.commit()
    assert upload.blob_id == letter.blob_id
    path = service.path_of(upload)
    assert stored_files() == [path]

    service.delete_document(session, upload.id)
    session.commit()
    assert path.exists(), "the letter still needs the file"
    assert _count(session, DocumentBlob) == 1

    service.delete_document(session, letter.id, today=date(2027, 1, 1))
    assert path.exists(), "the file goes only after commit"
    session.commit()
    assert not path.exists()
    assert _count(session, DocumentBlob) == 0
    assert stored_files() == []


RETENTION = [
    ("invoice", date(2025, 3, 1), date(2033, 12, 31), service._INVOICES),
    ("cancellation", date(2025, 12, 31), date(2033, 12, 31), service._INVOICES),
    ("invoice_xml", date(2026, 1, 1), date(2034, 12, 31), service._INVOICES),
    ("received_invoice", date(2025, 7, 9), date(2033, 12, 31), service._INVOICES),
    ("books", date(2025, 7, 9), date(2035, 12, 31), service._BOOKS),
    ("letter", date(2025, 7, 9), date(2031, 12, 31), service._LETTERS),
    ("dunning", date(2025, 7, 9), date(2031, 12, 31), service._LETTERS),
]


@pytest.mark.parametrize(("doc_type", "issued", "until", "basis"), RETENTION)
def test_retained_documents_cannot_be_deleted_before_the_end_of_their_period(
    session: Session, doc_type: str, issued: date, until: date, basis: str
) -> None:
    """§ 147 AO / § 14b UStG: refused up to 31.12. of the last year, allowed the day after."""
    doc = service.store_generated(
        session,
        content=samples.pdf(doc_type),
        filename=f"{doc_type}.pdf",
        doc_type=doc_type,
        mime_type="application/pdf",
        issued_on=issued,
    )
    session.commit()
    assert doc.retain_until == until
    with pytest.raises(KmsError) as err:
        service.delete_document(session, doc.id, today=until)
    assert err.value.message == (
        f"Dieses Dokument ist aufbewahrungspflichtig bis {until:%d.%m.%Y} ({basis}) "
        "und kann erst danach gelöscht werden."
    )
    session.rollback()
    assert service.path_of(doc).exists()
    service.delete_document(session, doc.id, today=until + timedelta(days=1))
    session.commit()
    assert _count(session, Document) == 0


def test_invoice_message_names_the_year_exactly(session: Session) -> None:
    """An invoice of 2025 is "aufbewahrungspflichtig bis 31.12.2033"."""
    doc = service.store_generated(
        session,
        content=samples.pdf("R-2025-001"),
        filename="R-2025-001.pdf",
        doc_type="invoice",
        mime_type="application/pdf",
        issued_on=date(2025, 3, 1),
    )
    session.commit()
    with pytest.raises(KmsError, match=r"aufbewahrungspflichtig bis 31\.12\.2033"):
        service.delete_document(session, doc.id, today=date(2026, 1, 1))


@pytest.mark.parametrize("doc_type", ["upload", "other"])
def test_uploads_and_other_documents_have_no_retention(session: Session, doc_type: str) -> None:
    """Upload and Sonstiges can be deleted at once."""
    doc = service.upload(
        session, content=samples.pdf(doc_type), filename="x.pdf", doc_type=doc_type
    ).document
    session.commit()
    assert doc.retain_until is None
    service.delete_document(session, doc.id)
    session.commit()
    assert stored_files() == []


def test_crash_between_commit_and_unlink_is_cleaned_by_the_sweeper(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is gone at once; the left-over file is swept once it is an hour old."""
    keep = service.upload(session, content=samples.pdf("bleibt"), filename="bleibt.pdf").document
    doc = service.upload(session, content=samples.pdf("weg"), filename="weg.pdf").document
    session.commit()
    path = service.path_of(doc)

    def crash(_path: Path) -> None:
        raise OSError("simulated crash before unlink")

    monkeypatch.setattr(storage, "_unlink", crash)
    service.delete_document(session, doc.id)
    session.commit()
    monkeypatch.undo()
    assert session.get(Document, doc.id) is None
    assert path.exists()

    assert service.sweep_orphans(session, utcnow()) == "0 verwaiste Datei(en) entfernt."
    assert path.exists(), "young files may belong to a transaction in progress"
    message = service.sweep_orphans(session, utcnow() + timedelta(hours=2))
    session.commit()
    assert message == "1 verwaiste Datei(en) entfernt."
    assert not path.exists()
    assert stored_files() == [service.path_of(keep)]


class FailingReader(io.RawIOBase):
    """A file that breaks after the first megabyte (disk or network failure)."""

    def __init__(self) -> None:
        self.reads = 0
        self.data = samples.pdf("abgebrochen") + b"\x00" * (3 * storage.CHUNK)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return len(self.data) if whence == io.SEEK_END else 0

    def tell(self) -> int:
        return len(self.data)

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 3:  # the type check reads twice, then one chunk is copied
            raise OSError("simulated disk failure while writing")
        return self.data[: max(size, 0) or storage.CHUNK]


def test_failure_while_writing_leaves_no_record_and_no_file(session: Session) -> None:
    """A write that breaks off midway raises; nothing is recorded, the temp file is gone."""
    with pytest.raises(OSError, match="simulated disk failure"):
        service.upload(session, content=FailingReader(), filename="gross.pdf")  # type: ignore[arg-type]
    session.rollback()
    assert _count(session, Document) == 0
    assert _count(session, DocumentBlob) == 0
    assert stored_files() == []


def test_rolled_back_upload_removes_its_new_file(session: Session) -> None:
    """A file written for a transaction that rolls back does not stay behind."""
    doc = service.upload(session, content=samples.pdf("egal"), filename="egal.pdf").document
    path = service.path_of(doc)
    assert path.exists()
    session.rollback()
    assert not path.exists()
    assert stored_files() == []


def test_upload_during_maintenance_is_refused_and_leaves_no_file(session: Session) -> None:
    """Business data is read-only in a maintenance window; the written file is undone."""
    from kms.notices import add_notice

    now = utcnow()
    add_notice(
        session,
        text="Wartung",
        maintenance=True,
        start=now - timedelta(minutes=5),
        end=now + timedelta(hours=1),
    )
    session.commit()
    with pytest.raises(ReadOnlyError):
        service.upload(session, content=samples.pdf("wartung"), filename="w.pdf")
    session.rollback()
    assert stored_files() == []


def test_store_generated_keeps_each_issued_document_as_its_own_record(
    session: Session, contacts: list[int]
) -> None:
    """Invoice PDF and XML of one invoice are two records, typed and linked, retained 8 years."""
    pdf = service.store_generated(
        session,
        content=samples.pdf("R-2026-0001"),
        filename="R-2026-0001.pdf",
        doc_type="invoice",
        mime_type="application/pdf",
        contact_ids=[contacts[0]],
        issued_on=date(2026, 11, 26),
        title="Rechnung R-2026-0001",
    )
    xml = service.store_generated(
        session,
        content=samples.XML,
        filename="R-2026-0001.xml",
        doc_type="invoice_xml",
        mime_type="application/xml",
        contact_ids=[contacts[0]],
        issued_on=date(2026, 11, 26),
    )
    session.commit()
    assert (pdf.source, pdf.doc_type, pdf.retain_until) == (
        "generated",
        "invoice",
        date(2034, 12, 31),
    )
    assert xml.blob.storage_name.endswith(".xml")
    assert service.count_for_contact(session, contacts[0]) == 2
    assert service.count_for_contact(session, contacts[1]) == 0
    with pytest.raises(KmsError, match="nicht ändern"):
        service.update_document(session, pdf.id, doc_type="other")


def test_adopt_file_moves_a_large_file_into_the_store(session: Session, tmp_path: Path) -> None:
    """A backup archive is renamed into documents/backups/, not read; its size is checked."""
    source = tmp_path / "kms-backup.zip"
    content = samples.zipped({"kms.sqlite3": os.urandom(200_000)})
    source.write_bytes(content)
    sha = hashlib.sha256(content).hexdigest()
    with pytest.raises(KmsError, match="statt"):
        service.adopt_file(
            session,
            path=source,
            filename=source.name,
            doc_type="backup",
            sha256=sha,
            size=len(content) + 1,
            mime_type="application/zip",
        )
    inode = source.stat().st_ino
    doc = service.adopt_file(
        session,
        path=source,
        filename=source.name,
        doc_type="backup",
        sha256=sha,
        size=len(content),
        mime_type="application/zip",
    )
    session.commit()
    path = service.path_of(doc)
    assert not source.exists()
    assert path.stat().st_ino == inode, "renamed, not copied"
    assert doc.blob.storage_name.startswith("backups/")
    assert doc.retain_until is None
    with service.open_stream(doc) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == sha


def test_adopt_file_hashes_by_streaming_and_reuses_a_stored_file(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a given SHA-256 the file is hashed in chunks (never read whole); a file with
    the same bytes already in the store is reused and the adopted one goes after commit."""
    from kms.modules.documents import storage

    content = samples.pdf("Groß") + b"%" * (3 * storage.CHUNK)
    first = tmp_path / "gross.pdf"
    first.write_bytes(content)
    reads: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh = fh

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return self.fh.read(size)

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    def counting_open(path, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        fh = real_open(path, mode, *args, **kwargs)
        return Counting(fh) if Path(path) == first and mode == "rb" else fh

    monkeypatch.setattr("builtins.open", counting_open)
    doc = service.adopt_file(
        session, path=first, filename="gross.pdf", doc_type="other", mime_type="application/pdf"
    )
    monkeypatch.undo()
    session.commit()
    assert reads and all(0 < size <= storage.CHUNK for size in reads)
    assert doc.blob.sha256 == hashlib.sha256(content).hexdigest()
    assert doc.blob.size == len(content)
    second = tmp_path / "kopie.pdf"
    second.write_bytes(content)
    again = service.adopt_file(
        session, path=second, filename="kopie.pdf", doc_type="other", mime_type="application/pdf"
    )
    session.commit()
    assert again.blob_id == doc.blob_id
    assert not second.exists()
    assert len(stored_files()) == 1


def test_adopted_file_goes_back_when_the_transaction_rolls_back(
    session: Session, tmp_path: Path
) -> None:
    """Nothing is lost: a rolled-back adoption moves the file back where it was."""
    source = tmp_path / "backup.zip"
    content = samples.zipped({"a": b"b"})
    source.write_bytes(content)
    service.adopt_file(
        session,
        path=source,
        filename="backup.zip",
        doc_type="backup",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        mime_type="application/zip",
    )
    assert not source.exists()
    session.rollback()
    assert source.read_bytes() == content
    assert stored_files() == []


def _seed(session: Session, contacts: list[int]) -> None:
    service.upload(
        session,
        content=samples.pdf("Büro"),
        filename="buerobedarf.pdf",
        title="Büromaterial März",
        doc_type="received_invoice",
        issued_on=date(2026, 3, 28),
        contact_ids=[contacts[0]],
        tags="Büro, Steuer 2026",
    )
    service.upload(
        session,
        content=samples.pdf("Vertrag"),
        filename="vertrag.pdf",
        issued_on=date(2026, 5, 4),
        contact_ids=[contacts[1]],
        tags="Vertrag",
    )
    for i in range(3):
        content = samples.zipped({"n": str(i).encode()})
        service.store_generated(
            session,
            content=content,
            filename=f"backup-{i}.zip",
            doc_type="backup",
            mime_type="application/zip",
            issued_on=date(2026, 6, 1 + i),
        )
    session.commit()


def _names(page: Page[Document]) -> list[str]:
    return [d.filename for d in page.items]


def test_list_filters_sorts_and_pages_in_sql(session: Session, contacts: list[int]) -> None:
    """Search folds umlauts; type, contact, tag, dates and backups filter; pages are bounded."""
    _seed(session, contacts)
    assert _names(service.list_documents(session, search="BUERO")) == ["buerobedarf.pdf"]
    assert _names(service.list_documents(session, search="büro steuer")) == ["buerobedarf.pdf"]
    assert _names(service.list_documents(session, doc_types=["upload"])) == ["vertrag.pdf"]
    assert _names(service.list_documents(session, contact_id=contacts[1])) == ["vertrag.pdf"]
    assert _names(service.list_documents(session, tag="Vertrag")) == ["vertrag.pdf"]
    assert _names(
        service.list_documents(session, date_from=date(2026, 5, 1), date_to=date(2026, 6, 1))
    ) == ["backup-0.zip", "vertrag.pdf"]
    assert service.list_documents(session).total == 5
    assert service.list_documents(session, hide_backups=True).total == 2
    assert service.list_documents(session, doc_types=["backup"]).total == 3
    oldest = service.list_documents(session, sort="alt", page=2, page_size=2)
    assert (oldest.total, oldest.pages, _names(oldest)) == (5, 3, ["backup-0.zip", "backup-1.zip"])
    by_title = service.list_documents(session, sort="titel", hide_backups=True)
    assert _names(by_title) == ["buerobedarf.pdf", "vertrag.pdf"]
    page = service.list_documents(session, contact_id=contacts[0])
    ids = [d.id for d in page.items]
    assert service.contact_names(session, ids) == {ids[0]: ["Erika Mustermann"]}
    assert service.list_documents(session, search="100%_").total == 0


def test_editing_changes_tags_and_contacts_but_never_shortens_retention(
    session: Session, contacts: list[int]
) -> None:
    """Tags and contacts are replaced; turning a received invoice into "Sonstiges" is refused."""
    _seed(session, contacts)
    doc = service.list_documents(session, search="buero").items[0]
    service.update_document(session, doc.id, title="Büro", tags="Neu", contact_ids=[contacts[1]])
    session.commit()
    assert (doc.title, doc.tag_names, doc.contact_ids) == ("Büro", ["Neu"], [contacts[1]])
    assert service.list_documents(session, search="neu").total == 1
    with pytest.raises(KmsError) as err:
        service.update_document(session, doc.id, doc_type="other")
    assert "aufbewahrungspflichtig bis 31.12.2034" in err.value.message
    assert "nicht verkürzen" in err.value.message
    session.rollback()
    service.update_document(session, doc.id, doc_type="books")
    session.commit()
    assert doc.retain_until == date(2036, 12, 31)


def test_links_to_unknown_contacts_are_refused(session: Session) -> None:
    """A document cannot point to a contact that does not exist."""
    with pytest.raises(ValidationError, match="gibt es nicht"):
        service.upload(session, content=samples.pdf(), filename="a.pdf", contact_ids=[999])
    session.rollback()
    assert stored_files() == []


def test_contact_export_holds_metadata_and_file(session: Session, contacts: list[int]) -> None:
    """The Auskunft (Art. 15 DSGVO) gets every linked document with its bytes."""
    _seed(session, contacts)
    export = service.export_for_contact(session, contacts[1])
    assert export == [
        {
            "Titel": "vertrag.pdf",
            "Typ": "Upload",
            "Datum": "2026-05-04",
            "Schlagwörter": ["Vertrag"],
            "Datei": {"vertrag.pdf": samples.pdf("Vertrag")},
        }
    ]


def test_a_file_changed_on_disk_is_refused_in_the_auskunft(
    session: Session, contacts: list[int]
) -> None:
    """Every read checks the stored SHA-256: changed bytes are a German error, never sent."""
    _seed(session, contacts)
    session.commit()
    [doc] = service.list_documents(session, contact_id=contacts[1]).items
    service.path_of(doc).write_bytes(samples.pdf("Vertrag") + b"% geaendert")
    with pytest.raises(service.ChecksumMismatch, match="Prüfsumme"):
        service.export_for_contact(session, contacts[1])


def test_downloads_are_attachments_and_active_content_is_not_sniffed(session: Session) -> None:
    """SVG goes as octet-stream attachment; non-ASCII names use RFC 5987 encoding."""
    svg = service.upload(session, content=samples.SVG, filename="grafik.svg").document
    pdf = service.upload(session, content=samples.pdf(), filename='Grüße "x".pdf').document
    session.commit()
    headers = service.download_headers(svg)
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="grafik.svg"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert service.download_headers(pdf)["Content-Disposition"] == (
        "attachment; filename*=utf-8''Gr%C3%BC%C3%9Fe%20%22x%22.pdf"
    )
    assert service.preview_kind(svg) == "none"
    assert service.preview_kind(pdf) == "pdf"


def test_previews_render_pdf_pages_and_reencode_images(session: Session) -> None:
    """PDF pages become PNGs of the requested width; images are re-encoded, bounded PNGs."""
    pdf = service.upload(session, content=samples.pdf("Vorschau", pages=3), filename="v.pdf")
    big = service.upload(session, content=samples.image("JPEG", (3000, 1000)), filename="b.jpg")
    session.commit()
    assert service.pdf_page_count(pdf.document) == 3
    png = service.render_pdf_page(service.path_of(pdf.document), 2, width=600)
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        assert (img.format, img.width) == ("PNG", 600)
    with Image.open(io.BytesIO(service.render_image(service.path_of(big.document)))) as img:
        assert (img.format, img.size) == ("PNG", (1600, 533))


def test_broken_pdf_preview_gives_a_german_message(session: Session) -> None:
    """A file that starts like a PDF but is none cannot be previewed, with a message."""
    doc = service.upload(session, content=b"%PDF-1.7 kaputt", filename="kaputt.pdf").document
    session.commit()
    with pytest.raises(KmsError, match="lässt sich nicht öffnen"):
        service.pdf_page_count(doc)


def test_modules_can_register_their_own_document_types() -> None:
    """A type is added once; a conflicting redefinition is a programming error."""
    offer = service.DocumentType("offer_test", "Angebot", 6, service._LETTERS)
    assert service.register_type(offer) is offer
    assert service.register_type(offer) is offer
    assert service.retention_end("offer_test", date(2026, 1, 1)) == date(2032, 12, 31)
    with pytest.raises(ValueError, match="already registered"):
        service.register_type(service.DocumentType("offer_test", "Offerte"))
    with pytest.raises(ValidationError, match="Unbekannter Dokumenttyp"):
        service.get_type("gibtsnicht")


def test_module_is_registered_with_page_panel_and_sweeper() -> None:
    from kms.db import session_scope
    from kms.registry import MODULE_PATHS, automatisms, check, contact_panels, page_by_url

    assert (
        MODULE_PATHS.index("kms.modules.documents")
        == MODULE_PATHS.index("kms.modules.contacts") + 1
    )
    page = page_by_url("dokumente")
    assert page is not None and (page.title, page.section) == ("Dokumente", "Kunden")
    from kms.modules.documents.ui import panel

    with session_scope(write=False) as session:
        assert ("Dokumente", panel) in contact_panels(session)
    assert "Verwaiste Dateien aufräumen" in [a.label for a in automatisms()]
    assert check() == []


def test_contact_links_disappear_with_the_contact(session: Session, contacts: list[int]) -> None:
    """Deleting a contact (when its module allows it) drops the links, not the documents."""
    from kms.modules.contacts.models import Contact

    doc = service.upload(
        session, content=samples.pdf(), filename="a.pdf", contact_ids=contacts
    ).document
    session.commit()
    session.delete(session.get(Contact, contacts[0]))
    session.commit()
    session.expire_all()
    assert _count(session, DocumentContact) == 1
    assert session.get(Document, doc.id).contact_ids == [contacts[1]]


def test_concurrent_identical_adoption_uses_the_existing_file(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another transaction stored the same bytes first, the unique SHA-256 wins: the
    new record shares that file and the adopted copy is removed after commit."""
    content = samples.zipped({"a": b"gleich"})
    first = service.store_generated(
        session, content=content, filename="a.zip", doc_type="other", mime_type="application/zip"
    )
    session.commit()
    source = tmp_path / "b.zip"
    source.write_bytes(content)
    real = service._existing_blob
    calls = iter([None])  # the first look-up misses, as if the other commit came just after
    monkeypatch.setattr(service, "_existing_blob", lambda s, sha: next(calls, None) or real(s, sha))
    doc = service.adopt_file(
        session,
        path=source,
        filename="b.zip",
        doc_type="backup",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        mime_type="application/zip",
    )
    assert source.exists(), "kept until the commit"
    session.commit()
    assert doc.blob_id == first.blob_id
    assert not source.exists()
    assert stored_files() == [service.path_of(first)]


def test_titles_keep_slashes_and_are_refused_not_cut_when_too_long(session: Session) -> None:
    """A title is text, not a file name: "A/B" stays; over 200 characters is a German error
    on upload and on edit (nothing stored or changed); KMS's own long titles end in "…"."""
    doc = service.upload(session, content=b"x", filename="a.txt", title="Angebot A/B").document
    assert doc.title == "Angebot A/B"
    with pytest.raises(ValidationError, match="201 Zeichen; erlaubt sind höchstens 200"):
        service.upload(session, content=b"y", filename="b.txt", title="t" * 201)
    with pytest.raises(ValidationError, match="höchstens 200"):
        service.update_document(session, doc.id, title="t" * 300)
    assert doc.title == "Angebot A/B"
    assert service.clean_title("s" * 300, strict=False) == "s" * 199 + "…"


def test_an_oversized_pdf_page_is_stored_but_not_previewed(session: Session) -> None:
    """The 440-byte PDF with a 225 × 20,000 pt page is stored; its preview is refused in German."""
    from tests.rendering.test_preview_bounds import tall_pdf

    stored = service.upload(session, content=tall_pdf(20_000), filename="lang.pdf")
    session.commit()
    path = service.path_of(stored.document)
    assert path.read_bytes() == tall_pdf(20_000)
    assert service.pdf_page_count(stored.document) == 1
    with pytest.raises(KmsError, match="keine Vorschau: die Seite oder das Bild ist zu groß"):
        service.render_pdf_page(path, 0)


def test_contact_pickers_label_like_the_contact_without_loading_contacts(
    session: Session, contacts: list[int]
) -> None:
    """Picker labels are `display_name` plus town; they read columns, not Contact objects."""
    from kms.modules.contacts.models import Contact
    from kms.modules.contacts.service import create_organisation, create_person

    org = create_organisation(session, name="Beispiel GmbH", city="Köln").id
    doc = create_person(session, title="Dr.", first_name="Anna", last_name="Zander").id
    session.commit()
    session.expunge_all()
    choices = service.contact_choices(session, limit=500)
    labels = service.contact_labels(session, [org, doc])
    assert not any(isinstance(o, Contact) for o in session.identity_map.values())
    assert choices == {
        org: "Beispiel GmbH, Köln",
        contacts[0]: "Erika Mustermann",
        contacts[1]: "Max Mustermann",
        doc: "Dr. Anna Zander",
    }
    assert list(choices) == [org, contacts[0], contacts[1], doc]
    assert labels == {org: "Beispiel GmbH, Köln", doc: "Dr. Anna Zander"}
    for contact_id, label in choices.items():
        contact = session.get(Contact, contact_id)
        assert contact is not None
        assert label.split(",")[0] == contact.display_name
    assert service.contact_choices(session, search="zand") == {doc: "Dr. Anna Zander"}


def test_contact_picker_is_reused_until_a_contact_changes(
    session: Session, contacts: list[int]
) -> None:
    """Dokumente draws two pickers per rerun: the list is reused while contacts are
    unchanged, and a rename, a new contact or an archived one shows at once. A caller may
    change its copy without changing the next caller's."""
    from kms import querycache
    from kms.db import session_scope
    from kms.modules.contacts.models import Contact
    from kms.modules.contacts.service import archive_contact, create_person, update_person

    def choices() -> dict[int, str]:
        with session_scope(write=False) as s:
            return service.contact_choices(s, limit=500)

    first = choices()
    hits = querycache.stats()["hits"]
    first[0] = "verändert"
    again = choices()
    assert querycache.stats()["hits"] == hits + 1
    assert again == {k: v for k, v in first.items() if k}

    erika = session.get(Contact, contacts[0])
    assert erika is not None
    update_person(session, erika.id, version=erika.version, first_name="Erika Maria")
    new = create_person(session, first_name="Anna", last_name="Zander").id
    session.commit()
    after = choices()
    assert after[contacts[0]] == "Erika Maria Mustermann" and after[new] == "Anna Zander"

    archive_contact(session, new)
    session.commit()
    assert new not in choices()
