"""Dokumente: upload, store what KMS generates, link to contacts, tag, search, delete.

Public API for other modules (invoices, letters, backups):

- ``store_generated(session, *, content, filename, doc_type, mime_type, contact_ids=(),
  issued_on=None, title="") -> Document``: bytes KMS produced (invoice PDF/XML, letters).
- ``adopt_file(session, *, path, filename, doc_type, mime_type, sha256=None, size=None,
  issued_on=None, title="", contact_ids=()) -> Document``: a large finished file is moved
  into the store (hashed by streaming when no SHA-256 is given), never read into memory.
  (Backup archives do not use it: they stay in data/backups and are listed through the
  external store "backups:", see kms.backups.documents.)
- ``read_verified(session, document_id, sha256) -> bytes``: the file of an original another
  module keeps (invoice files, sent letters), checked against the SHA-256 it recorded.
- ``open_stream(document) -> BinaryIO``, ``path_of(document) -> Path`` and
  ``download_headers(document)`` for streaming downloads.
- Document types come from ``ModuleSpec.document_types`` (``kms.registry.DocumentType``);
  ``register_type(DocumentType(...))`` adds one at run time.

All of them work inside the caller's transaction: the caller commits (session_scope does).
Files written for a transaction that rolls back are removed again; files of deleted
records are removed after commit (see storage.py).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms import querycache
from kms.errors import KmsError, NotFoundError, ValidationError
from kms.formatting import MEGABYTE, format_date, format_size
from kms.models import get_value, set_value
from kms.modules.contacts.models import Contact
from kms.modules.contacts.service import search_key as contact_search_key
from kms.modules.documents import retention, storage
from kms.modules.documents.filetypes import (
    ACTIVE_CONTENT_MIMES,
    FileKind,
    FileRefused,
    clean_filename,
    clean_text,
    detect,
    kind_for_mime,
)
from kms.modules.documents.models import Document, DocumentBlob, DocumentContact, DocumentTag
from kms.paging import Page, paginate
from kms.permissions import Permission, require_permission
from kms.registry import DocumentType
from kms.rendering.errors import RenderError
from kms.types import today as local_today
from kms.types import utcnow

# --- document types and retention -------------------------------------------------------

# Retention periods and their legal basis: kms.modules.documents.retention.
_INVOICES, _LETTERS, _BOOKS = retention.INVOICES, retention.LETTERS, retention.BOOKS


# The types and their retention are declared by the modules that file them
# (ModuleSpec.document_types); Dokumente's own are in its SPEC. `register_type` adds one at
# run time (tests, experiments); a module declares its types in its SPEC.
_EXTRA: dict[str, DocumentType] = {}


def _types() -> dict[str, DocumentType]:
    from kms.registry import document_types as declared

    found: dict[str, DocumentType] = {}
    for doc_type in [*declared(), *_EXTRA.values()]:
        found.setdefault(doc_type.key, doc_type)
    # "Sonstiges" closes every list.
    return dict(sorted(found.items(), key=lambda item: item[0] == "other"))


def register_type(doc_type: DocumentType) -> DocumentType:
    """Add a document type at run time; the same definition twice is fine."""
    existing = _types().get(doc_type.key)
    if existing is not None and existing != doc_type:
        raise ValueError(f"document type {doc_type.key!r} is already registered differently")
    _EXTRA[doc_type.key] = doc_type
    return doc_type


BACKUP = "backup"


def document_types() -> list[DocumentType]:
    """Every declared type, module by module in registry order ("Sonstiges" last)."""
    return list(_types().values())


def get_type(key: str) -> DocumentType:
    """The type registered under `key`, or a German error."""
    try:
        return _types()[key]
    except KeyError:
        raise ValidationError("doc_type", f"Unbekannter Dokumenttyp „{key}“.") from None


def type_label(key: str) -> str:
    types = _types()
    return types[key].label if key in types else key


def retention_end(doc_type: str, issued_on: date) -> date | None:
    """Last day of the retention: 31.12. of the issue year plus the retention years."""
    years = get_type(doc_type).retention_years
    return date(issued_on.year + years, 12, 31) if years else None


# --- settings ---------------------------------------------------------------------------

MAX_UPLOAD_KEY = "documents.max_upload_mb"
DEFAULT_MAX_UPLOAD_MB = 20
# Sizes use the one unit of kms.formatting: 1 MB = 1,000,000 bytes, as Streamlit's uploader
# counts it ("20.0 MB" = 20,000,000 B). The uploader and upload() use the same number.
# server.maxUploadSize in .streamlit/config.toml (which Streamlit counts in MiB, so its
# transport limit is always a little above ours); a test keeps the two equal.
HARD_MAX_UPLOAD_MB = 200


def max_upload_mb(session: Session) -> int:
    """The upload size limit in MB (setting, default 20 MB)."""
    return int(get_value(session, MAX_UPLOAD_KEY) or DEFAULT_MAX_UPLOAD_MB)


def set_max_upload_mb(session: Session, megabytes: Any) -> int:
    """Change the upload size limit (1 to 200 MB)."""
    require_permission(Permission.SETTINGS, session)
    try:
        value = int(megabytes)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= HARD_MAX_UPLOAD_MB:
        raise ValidationError(
            "max_upload_mb", f"Bitte eine Größe von 1 bis {HARD_MAX_UPLOAD_MB} MB angeben."
        )
    set_value(session, MAX_UPLOAD_KEY, value)
    session.flush()
    return value


# --- storing ----------------------------------------------------------------------------


def search_key(*parts: str) -> str:
    """Folded like contacts' search key ("Müller" finds "MUELLER"), bounded to the column."""
    return contact_search_key(*parts)[:1000]


def clean_tags(tags: Iterable[str] | str) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, unique, at most 60 characters."""
    if isinstance(tags, str):
        tags = tags.split(",")
    out: list[str] = []
    for tag in tags:
        name = clean_filename(tag, max_length=60) if str(tag).strip() else ""
        if name and name.lower() not in {t.lower() for t in out}:
            out.append(name)
    return out


def _refresh_search_key(doc: Document) -> None:
    doc.search_key = search_key(doc.title, doc.filename, *doc.tag_names)


def _check_contacts(session: Session, contact_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(i) for i in contact_ids})
    if ids:
        found = set(session.scalars(select(Contact.id).where(Contact.id.in_(ids))))
        if missing := [i for i in ids if i not in found]:
            raise ValidationError("contact_ids", f"Kontakt {missing[0]} gibt es nicht (mehr).")
    return ids


def _link(doc: Document, contact_ids: Iterable[int]) -> None:
    have = set(doc.contact_ids)
    for contact_id in contact_ids:
        if contact_id not in have:
            doc.contact_links.append(DocumentContact(contact_id=contact_id))
            have.add(contact_id)


def _add_tags(doc: Document, tags: Iterable[str]) -> None:
    have = {t.lower() for t in doc.tag_names}
    for tag in tags:
        if tag.lower() not in have:
            doc.tags.append(DocumentTag(name=tag))
            have.add(tag.lower())


def _existing_blob(session: Session, sha256: str) -> DocumentBlob | None:
    # FOR UPDATE: a concurrent delete of the last reference waits for us (PostgreSQL).
    return session.scalar(
        select(DocumentBlob).where(DocumentBlob.sha256 == sha256).with_for_update()
    )


def _store_blob(
    session: Session,
    *,
    source: Path,
    sha256: str,
    size: int,
    kind: FileKind | None,
    mime_type: str,
    folder: str = "",
    keep_source: bool = False,
) -> DocumentBlob:
    """The blob for `sha256`: the existing one (source discarded) or a newly installed file."""
    blob = _existing_blob(session, sha256)
    if blob is None:
        extension = kind.extension if kind else ".bin"
        name = storage.new_storage_name(extension, folder=folder)
        final = storage.install(session, source, name, keep_source=keep_source)
        try:
            with session.begin_nested():
                blob = DocumentBlob(
                    sha256=sha256, size=size, mime_type=mime_type, storage_name=name
                )
                session.add(blob)
                session.flush()
            return blob
        except IntegrityError:
            # Someone stored the same content a moment ago: use theirs, drop ours (an
            # adopted file goes back where it came from, and is removed after commit).
            restored = storage.undo_install(session, final)
            blob = _existing_blob(session, sha256)
            if blob is None:  # pragma: no cover - the conflicting row vanished again
                raise
            if restored is not None:
                storage.schedule_unlink(session, restored)
            return blob
    if keep_source:
        storage.schedule_unlink(session, source)
    else:
        source.unlink(missing_ok=True)
    return blob


TITLE_MAX = 200  # Document.title


def clean_title(title: str, *, strict: bool = True) -> str:
    """A title as typed, minus control and bidi characters (unlike a file name, "/" stays).

    Longer than TITLE_MAX: a German ValidationError for what a user typed (`strict`), a
    visible "…" for titles KMS makes itself (letter subjects may be longer)."""
    text = clean_text(title)
    if len(text) > TITLE_MAX:
        if strict:
            raise ValidationError(
                "title",
                f"Der Titel hat {len(text)} Zeichen; erlaubt sind höchstens {TITLE_MAX}. "
                "Bitte kürzen (nichts wurde gespeichert).",
            )
        text = text[: TITLE_MAX - 1].rstrip() + "…"
    return text


def _new_document(
    session: Session,
    *,
    blob: DocumentBlob,
    doc_type: str,
    source: str,
    filename: str,
    title: str,
    issued_on: date | None,
    contact_ids: Sequence[int],
    tags: Sequence[str] = (),
    created_by: str = "",
) -> Document:
    issued = issued_on or local_today()
    doc = Document(
        blob=blob,
        doc_type=doc_type,
        source=source,
        filename=filename,
        title=clean_title(title, strict=False),
        issued_on=issued,
        retain_until=retention_end(doc_type, issued),
        created_by=created_by,
        contact_links=[],
        tags=[],
    )
    _link(doc, contact_ids)
    _add_tags(doc, tags)
    _refresh_search_key(doc)
    session.add(doc)
    session.flush()
    return doc


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file."""

    document: Document
    duplicate: bool  # the same file was already there as an upload; it was linked instead

    @property
    def message(self) -> str:
        name = f"„{self.document.filename}“"
        if self.duplicate:
            return f"{name} war schon vorhanden und wurde nicht erneut gespeichert, nur verknüpft."
        return f"{name} wurde gespeichert."


def _size_of(fh: BinaryIO) -> int:
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


def upload(
    session: Session,
    *,
    content: bytes | BinaryIO,
    filename: str,
    doc_type: str = "upload",
    contact_ids: Sequence[int] = (),
    tags: Iterable[str] | str = (),
    title: str = "",
    issued_on: date | None = None,
    created_by: str = "",
) -> UploadResult:
    """Store a file the user uploaded, after checking type, content and size.

    The same content uploaded again is recognised (SHA-256): the existing upload gets the
    new contacts and tags instead of a second copy. Raises FileRefused with a German
    message naming the file.
    """
    require_permission(Permission.DOCUMENTS_WRITE, session)
    name = clean_filename(filename)
    title = clean_title(title)  # checked before anything is stored
    dtype = get_type(doc_type)
    if not dtype.user_selectable:
        raise ValidationError("doc_type", f"Dokumente vom Typ „{dtype.label}“ erzeugt KMS selbst.")
    fh = io.BytesIO(content) if isinstance(content, bytes | bytearray) else content
    size = _size_of(fh)
    limit_mb = max_upload_mb(session)
    if size > limit_mb * MEGABYTE:
        raise FileRefused(
            f"„{name}“ ist {format_size(size)} groß; erlaubt sind höchstens {limit_mb} MB "
            "(änderbar auf der Seite Dokumente unter „Einstellungen für Dokumente“)."
        )
    kind = detect(fh, name)
    ids = _check_contacts(session, contact_ids)
    tag_list = clean_tags(tags)
    tmp, sha, written = storage.write_temp(fh)
    try:
        existing = session.scalar(
            select(Document)
            .join(DocumentBlob)
            .where(DocumentBlob.sha256 == sha, Document.source == "upload")
            .order_by(Document.id)
            .limit(1)
        )
        if existing is not None:
            tmp.unlink(missing_ok=True)
            _link(existing, ids)
            _add_tags(existing, tag_list)
            _refresh_search_key(existing)
            session.flush()
            return UploadResult(existing, duplicate=True)
        blob = _store_blob(
            session, source=tmp, sha256=sha, size=written, kind=kind, mime_type=kind.mime
        )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    doc = _new_document(
        session,
        blob=blob,
        doc_type=dtype.key,
        source="upload",
        filename=name,
        title=title,
        issued_on=issued_on,
        contact_ids=ids,
        tags=tag_list,
        created_by=created_by,
    )
    return UploadResult(doc, duplicate=False)


def store_generated(
    session: Session,
    *,
    content: bytes,
    filename: str,
    doc_type: str,
    mime_type: str,
    contact_ids: Sequence[int] = (),
    issued_on: date | None = None,
    title: str = "",
) -> Document:
    """Keep a document KMS produced (invoice PDF or XML, letter, dunning letter).

    Always a new record (an issued document is a record of its own), sharing the stored
    file with any record of identical content. Retention follows `doc_type` and
    `issued_on` (default: today in Berlin).
    """
    dtype = get_type(doc_type)
    if not content:
        raise KmsError("Ein erzeugtes Dokument darf nicht leer sein.")
    tmp, sha, size = storage.write_temp(io.BytesIO(content))
    try:
        blob = _store_blob(
            session,
            source=tmp,
            sha256=sha,
            size=size,
            kind=kind_for_mime(mime_type),
            mime_type=mime_type,
        )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _new_document(
        session,
        blob=blob,
        doc_type=dtype.key,
        source="generated",
        filename=clean_filename(filename),
        title=title,
        issued_on=issued_on,
        contact_ids=_check_contacts(session, contact_ids),
    )


def adopt_file(
    session: Session,
    *,
    path: Path,
    filename: str,
    doc_type: str,
    mime_type: str,
    sha256: str | None = None,
    size: int | None = None,
    issued_on: date | None = None,
    title: str = "",
    contact_ids: Sequence[int] = (),
) -> Document:
    """Move a finished large file (e.g. a backup archive) into the store without reading it
    into memory.

    Without `sha256` the file is hashed here, streamed in chunks. With it (what the caller
    computed while writing the file) the hash is trusted and only the size is checked. The
    file is renamed into the store (copied in chunks across file systems); if the
    transaction rolls back, it is moved back to `path`. A stored file with the same hash is
    reused and `path` is removed after commit. Files of type Backup adopted here go under
    files_dir/documents/backups/, which a backup run leaves out; KMS's own archives are not
    adopted but listed where they are (kms.backups.documents).
    """
    dtype = get_type(doc_type)
    path = Path(path)
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        raise KmsError(f"Die Datei {path.name} gibt es nicht.") from None
    if sha256 is None:
        sha256, hashed = storage.hash_file(path)
        if size is not None and hashed != size:
            raise KmsError(f"Die Datei {path.name} hat {hashed} statt {size} Bytes.")
        size = hashed
    sha = sha256.lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise KmsError("Ungültige SHA-256-Prüfsumme.")
    if size is None:
        size = actual
    if actual != size or size == 0:
        raise KmsError(f"Die Datei {path.name} hat {actual} statt {size} Bytes.")
    blob = _store_blob(
        session,
        source=path,
        sha256=sha,
        size=size,
        kind=kind_for_mime(mime_type),
        mime_type=mime_type,
        folder="backups/" if dtype.key == BACKUP else "",
        keep_source=True,
    )
    return _new_document(
        session,
        blob=blob,
        doc_type=dtype.key,
        source="generated",
        filename=clean_filename(filename),
        title=title,
        issued_on=issued_on,
        contact_ids=_check_contacts(session, contact_ids),
    )


# --- reading ----------------------------------------------------------------------------


def get_document(session: Session, document_id: int) -> Document:
    """A document by id, or a German error."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise NotFoundError("Dieses Dokument gibt es nicht (mehr).")
    return doc


def path_of(document: Document) -> Path:
    """Where the document's file lives (for a streaming response)."""
    return storage.path_for(document.blob.storage_name)


def open_stream(document: Document) -> BinaryIO:
    """The document's file opened for binary reading; the caller closes it."""
    return storage.open_file(document.blob.storage_name)


def read_bytes(document: Document) -> bytes:
    """The whole file, checked against its SHA-256 (for downloads of ordinary documents and
    the Auskunft; large ones use open_stream). A mismatch is a German error, never bytes."""
    with open_stream(document) as fh:
        content = fh.read()
    if hashlib.sha256(content).hexdigest() != document.blob.sha256:
        raise _mismatch(document)
    return content


class ChecksumMismatch(KmsError):
    """A stored file no longer has the SHA-256 its owner recorded: never served."""


def _mismatch(document: Document) -> ChecksumMismatch:
    return ChecksumMismatch(
        f"Die gespeicherte Datei „{document.filename}“ (Dokument {document.id}) stimmt nicht "
        "mehr mit ihrer Prüfsumme (SHA-256) überein und wird deshalb nicht ausgegeben. Bitte "
        "wenden Sie sich an den Support (Sonstiges → Fehlermeldungen) und spielen Sie "
        "gegebenenfalls ein Backup ein."
    )


def read_verified(session: Session, document_id: int | None, sha256: str) -> bytes:
    """The bytes of a document another module refers to, checked against the SHA-256 that
    module recorded (and the blob's own hash); a mismatch is a German error, never the bytes.
    """
    if document_id is None:
        raise NotFoundError("Zu diesem Beleg ist keine Datei in Dokumente gespeichert.")
    document = get_document(session, document_id)
    content = read_bytes(document)  # checked against the blob's own hash
    if document.blob.sha256 != sha256.lower():
        raise _mismatch(document)
    return content


def download_mime(document: Document) -> str:
    """The MIME type to send: active content (SVG, XML, text) goes as a plain download."""
    mime = document.blob.mime_type
    return "application/octet-stream" if mime in ACTIVE_CONTENT_MIMES else mime


def download_headers(document: Document) -> dict[str, str]:
    """Headers for a route that streams the file: always an attachment, never sniffed."""
    name = document.filename
    if name.isascii() and not any(c in name for c in '"\\;') and name.isprintable():
        disposition = f'attachment; filename="{name}"'
    else:
        disposition = f"attachment; filename*=utf-8''{quote(name, safe='')}"
    return {
        "Content-Type": download_mime(document),
        "Content-Disposition": disposition,
        "Content-Length": str(document.blob.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }


_TITLE = func.lower(case((Document.title != "", Document.title), else_=Document.filename))
SORTS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "neu": ("Neueste zuerst", (Document.issued_on.desc(), Document.id.desc())),
    "alt": ("Älteste zuerst", (Document.issued_on, Document.id)),
    "titel": ("Titel A–Z", (_TITLE, Document.id)),
    "groesse": ("Größte zuerst", (DocumentBlob.size.desc(), Document.id.desc())),
}


def filtered(
    *,
    search: str = "",
    doc_types: Sequence[str] = (),
    contact_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    hide_backups: bool = False,
    tag: str = "",
) -> Select[Document]:
    """The SELECT for a filtered document list (no ordering, no paging)."""
    stmt = select(Document).join(DocumentBlob, Document.blob_id == DocumentBlob.id)
    for term in search_key(search).split():
        stmt = stmt.where(Document.search_key.contains(term, autoescape=True))
    if doc_types:
        stmt = stmt.where(Document.doc_type.in_(list(doc_types)))
    if hide_backups:
        stmt = stmt.where(Document.doc_type != BACKUP)
    if contact_id is not None:
        stmt = stmt.where(
            select(DocumentContact.document_id)
            .where(
                DocumentContact.document_id == Document.id,
                DocumentContact.contact_id == contact_id,
            )
            .exists()
        )
    if tag:
        stmt = stmt.where(
            select(DocumentTag.document_id)
            .where(DocumentTag.document_id == Document.id, DocumentTag.name == tag)
            .exists()
        )
    if date_from is not None:
        stmt = stmt.where(Document.issued_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(Document.issued_on <= date_to)
    return stmt


def list_documents(
    session: Session, *, page: int = 1, page_size: int = 25, sort: str = "neu", **filters: Any
) -> Page[Document]:
    """Filter, sort and page in SQL (the page's contacts: `contact_names`)."""
    stmt = filtered(**filters).order_by(*SORTS.get(sort, SORTS["neu"])[1])
    return paginate(session, stmt, page=page, size=page_size)


def contact_names(session: Session, document_ids: Sequence[int]) -> dict[int, list[str]]:
    """Names of the contacts linked to each of the given documents."""
    result: dict[int, list[str]] = {i: [] for i in document_ids}
    if not document_ids:
        return result
    rows = session.execute(
        select(DocumentContact.document_id, *_NAME_COLUMNS)
        .join(Contact, Contact.id == DocumentContact.contact_id)
        .where(DocumentContact.document_id.in_(document_ids))
        .order_by(Contact.last_name, Contact.name, Contact.first_name)
    )
    for row in rows:
        result[row.document_id].append(_display_name(row))
    return result


# Only the columns a name needs: a picker of 500 contacts as ORM objects (with their
# eagerly loaded organisation, tags and roles) cost about 150 ms per rerun.
_NAME_COLUMNS = (
    Contact.id,
    Contact.kind,
    Contact.name,
    Contact.title,
    Contact.first_name,
    Contact.last_name,
    Contact.city,
)


def _display_name(row: Any) -> str:
    """`Contact.display_name` from a row of `_NAME_COLUMNS`."""
    if row.kind == "organisation":
        return str(row.name)
    return " ".join(p for p in (row.title, row.first_name, row.last_name) if p)


def _choice_label(row: Any) -> str:
    return _display_name(row) + (f", {row.city}" if row.city else "")


def contact_choices(session: Session, *, search: str = "", limit: int = 200) -> dict[int, str]:
    """Active persons and organisations for pickers: id → name, at most `limit`.

    Without a search the list is reused while contacts are unchanged (kms.querycache):
    Dokumente shows two pickers on every rerun, and each sorted all contacts (20,000 on
    the large benchmark instance) to find the first `limit`."""

    terms = search_key(search).split()

    def compute() -> tuple[tuple[int, str], ...]:
        stmt = select(*_NAME_COLUMNS).where(Contact.archived_at.is_(None))
        for term in terms:
            stmt = stmt.where(Contact.search_key.contains(term, autoescape=True))
        order = (Contact.last_name, Contact.name, Contact.first_name, Contact.id)
        rows = session.execute(stmt.order_by(*order).limit(limit))
        return tuple((row.id, _choice_label(row)) for row in rows)

    if terms:
        return dict(compute())
    key = ("documents.contact_choices", limit)
    return dict(querycache.cached(session, key, (Contact.__table__,), compute))


def contact_labels(session: Session, contact_ids: Sequence[int]) -> dict[int, str]:
    """Names of the given contacts (e.g. those already linked, for a picker's defaults)."""
    if not contact_ids:
        return {}
    rows = session.execute(select(*_NAME_COLUMNS).where(Contact.id.in_(list(contact_ids))))
    return {row.id: _choice_label(row) for row in rows}


def tag_names(session: Session, *, limit: int = 500) -> list[str]:
    """Tags in use, alphabetically."""
    return list(
        session.scalars(select(DocumentTag.name).distinct().order_by(DocumentTag.name).limit(limit))
    )


def count_for_contact(session: Session, contact_id: int) -> int:
    """How many documents are linked to the contact (for archive-instead-of-delete)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(DocumentContact)
            .where(DocumentContact.contact_id == contact_id)
        )
        or 0
    )


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """Every document linked to the contact, with its file, for the Auskunft (Art. 15 DSGVO)."""
    docs = session.scalars(
        select(Document)
        .join(DocumentContact)
        .where(DocumentContact.contact_id == contact_id)
        .order_by(Document.issued_on, Document.id)
    )
    return [
        {
            "Titel": d.display_title,
            "Typ": type_label(d.doc_type),
            "Datum": d.issued_on.isoformat(),
            "Schlagwörter": d.tag_names,
            "Datei": {d.filename: read_bytes(d)},
        }
        for d in docs
    ]


# --- changing and deleting --------------------------------------------------------------


def retention_message(document: Document) -> str:
    """Why the document cannot be deleted yet."""
    known = _types()
    basis = known[document.doc_type].legal_basis if document.doc_type in known else ""
    until = format_date(document.retain_until) if document.retain_until else ""
    return (
        f"Dieses Dokument ist aufbewahrungspflichtig bis {until}"
        + (f" ({basis})" if basis else "")
        + " und kann erst danach gelöscht werden."
    )


def is_retained(document: Document, today: date | None = None) -> bool:
    """True while the statutory retention lasts (up to and including its last day)."""
    return document.retain_until is not None and (today or local_today()) <= document.retain_until


def update_document(
    session: Session,
    document_id: int,
    *,
    title: str | None = None,
    tags: Iterable[str] | str | None = None,
    contact_ids: Sequence[int] | None = None,
    doc_type: str | None = None,
    issued_on: date | None = None,
) -> Document:
    """Change title, tags, contacts; type and date of uploads only, never shortening retention."""
    require_permission(Permission.DOCUMENTS_WRITE, session)
    doc = get_document(session, document_id)
    if title is not None:
        doc.title = clean_title(title)
    if tags is not None:
        wanted = clean_tags(tags)
        doc.tags = [t for t in doc.tags if t.name in wanted]
        _add_tags(doc, wanted)
    if contact_ids is not None:
        ids = _check_contacts(session, contact_ids)
        doc.contact_links = [link for link in doc.contact_links if link.contact_id in ids]
        _link(doc, ids)
    if (doc_type is not None and doc_type != doc.doc_type) or (
        issued_on is not None and issued_on != doc.issued_on
    ):
        if doc.source != "upload":
            raise KmsError(
                "Typ und Datum eines von KMS erzeugten Dokuments lassen sich nicht ändern."
            )
        new_type = get_type(doc_type or doc.doc_type)
        if not new_type.user_selectable:
            raise ValidationError("doc_type", f"„{new_type.label}“ kann nicht gewählt werden.")
        new_date = issued_on or doc.issued_on
        new_end = retention_end(new_type.key, new_date)
        if is_retained(doc) and (new_end is None or new_end < doc.retain_until):  # type: ignore[operator]
            raise KmsError(
                retention_message(doc).replace(
                    "kann erst danach gelöscht werden", "diese Frist lässt sich nicht verkürzen"
                )
            )
        doc.doc_type, doc.issued_on, doc.retain_until = new_type.key, new_date, new_end
    _refresh_search_key(doc)
    doc.updated_at = utcnow()
    session.flush()
    return doc


ORIGINAL_MESSAGE = (
    "Dieses Dokument ist das Original eines ausgestellten Belegs (Rechnung, Mahnung oder "
    "versendeter Brief). Es ist festgeschrieben (GoBD) und kann weder gelöscht noch ersetzt "
    "werden."
)


def _referencing_columns() -> list[Any]:
    """Columns of other tables whose foreign key to documents.id forbids deleting the document
    (ondelete RESTRICT or unset): the originals of issued invoices and sent letters."""
    from kms.models import Base

    target = Document.__table__.c.id
    found = []
    for table in Base.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column is target and (fk.ondelete or "").upper() not in ("CASCADE", "SET NULL"):
                found.append(fk.parent)
    return sorted(found, key=lambda c: (c.table.name, c.name))


def is_original(session: Session, document_id: int) -> bool:
    """Whether a module keeps this document as an issued original (never deleted/replaced)."""
    return any(
        session.scalar(select(column).where(column == document_id).limit(1)) is not None
        for column in _referencing_columns()
    )


def delete_document(session: Session, document_id: int, *, today: date | None = None) -> str:
    """Delete a document whose retention is over; its file goes after commit if unshared.

    Returns the document's name. The record goes in the caller's transaction; the file is
    removed only once that transaction has committed.
    """
    require_permission(Permission.DOCUMENTS_WRITE, session)
    doc = get_document(session, document_id)
    if is_original(session, doc.id):
        raise KmsError(ORIGINAL_MESSAGE)
    if is_retained(doc, today):
        raise KmsError(retention_message(doc))
    known = _types()
    delete_with = known[doc.doc_type].delete_with if doc.doc_type in known else ""
    if delete_with:
        from kms.registry import resolve

        return str(resolve(delete_with)(session, doc))
    if storage.split_external(doc.blob.storage_name) is not None:
        raise KmsError("Dieses Dokument lässt sich hier nicht löschen.")
    name = doc.display_title
    blob = session.scalar(
        select(DocumentBlob).where(DocumentBlob.id == doc.blob_id).with_for_update()
    )
    session.delete(doc)
    session.flush()
    others = session.scalar(
        select(func.count()).select_from(Document).where(Document.blob_id == doc.blob_id)
    )
    if blob is not None and not others:
        path = storage.path_for(blob.storage_name)
        session.delete(blob)
        session.flush()
        storage.schedule_unlink(session, path)
    return name


def sweep_orphans(session: Session, now: datetime) -> str:
    """⊕ Remove stored files that no record refers to (older than an hour)."""
    from kms.notices import set_system_warning

    removed, missing = storage.sweep(session, now)
    set_system_warning(
        session,
        "documents.missing_files",
        f"{missing} Dokument(e) ohne Datei im Speicher – bitte den Support informieren."
        if missing
        else None,
    )
    text = f"{removed} verwaiste Datei(en) entfernt."
    return text + (f" {missing} Dokument(e) ohne Datei." if missing else "")


# --- previews ---------------------------------------------------------------------------

PREVIEW_REFUSED = (
    "Für diesen Dateityp zeigt KMS keine Vorschau. Bitte laden Sie die Datei herunter."
)


def preview_kind(document: Document) -> str:
    """ "pdf", "image", "text" or "none" (SVG and office files are never previewed)."""
    kind = kind_for_mime(document.blob.mime_type)
    return kind.preview if kind else "none"


def pdf_page_count(document: Document) -> int:
    """Pages of a stored PDF; a file that does not open gives a German message."""
    from kms.rendering import preview

    try:
        return preview.page_count(path_of(document))
    except RenderError as exc:
        raise KmsError(str(exc)) from exc


def render_pdf_page(path: Path, index: int, *, width: int = 900) -> bytes:
    """One PDF page as PNG bytes, `width` pixels wide, bounded in pixels, memory and time."""
    from kms.rendering import preview

    try:
        return preview.page_png(path, index, width=width)
    except RenderError as exc:
        raise KmsError(str(exc)) from exc


def render_image(path: Path, *, max_side: int = 1600) -> bytes:
    """The image re-encoded as a bounded PNG (never the uploaded bytes as they are)."""
    from kms.rendering import preview

    try:
        with preview.open_image_bounded(path) as original:
            original.seek(0)
            original.thumbnail((max_side, max_side))
            img = (
                original
                if original.mode in ("RGB", "RGBA", "L", "LA")
                else original.convert("RGBA")
            )
            out = io.BytesIO()
            img.save(out, format="PNG")
            return out.getvalue()
    except RenderError as exc:
        raise KmsError(str(exc)) from exc
    except Exception as exc:
        raise KmsError("Das Bild lässt sich nicht anzeigen. Bitte laden Sie es herunter.") from exc


def read_text(path: Path, *, limit: int = 20_000) -> str:
    """The start of a text file, decoded leniently; shown only as plain text."""
    with open(path, "rb") as fh:
        raw = fh.read(limit)
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")  # pragma: no cover - cp1252 decodes nearly all


__all__ = [
    "DocumentType",
    "FileRefused",
    "adopt_file",
    "count_for_contact",
    "delete_document",
    "download_headers",
    "export_for_contact",
    "is_original",
    "list_documents",
    "open_stream",
    "path_of",
    "read_verified",
    "register_type",
    "store_generated",
    "sweep_orphans",
    "update_document",
    "upload",
]
