"""What a file really is: magic-byte detection, the type allow-list, safe display names.

The user's file name is metadata only; it never becomes a path. A file whose content
does not match its extension is refused (not silently re-typed): a mismatch is usually a
mistake or a disguise, and the user should see it and decide, while nothing is lost
because the user still has the file.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from kms.errors import KmsError


@dataclass(frozen=True)
class FileKind:
    """An allowed kind of file: what it is called, how it is stored, how it is previewed."""

    key: str
    described: str  # for messages: "ein PNG-Bild"
    mime: str
    extensions: tuple[str, ...]  # allowed extensions; the first one names the stored file
    preview: str = "none"  # "pdf" | "image" | "text" | "none"

    @property
    def extension(self) -> str:
        return self.extensions[0]


_TEXT_EXT = (".txt", ".csv", ".tsv", ".md", ".log")
_ZIP_EXT = (".zip",)
KINDS = {
    k.key: k
    for k in (
        FileKind("pdf", "eine PDF-Datei", "application/pdf", (".pdf",), "pdf"),
        FileKind("png", "ein PNG-Bild", "image/png", (".png",), "image"),
        FileKind("jpeg", "ein JPEG-Bild", "image/jpeg", (".jpg", ".jpeg", ".jpe"), "image"),
        FileKind("gif", "ein GIF-Bild", "image/gif", (".gif",), "image"),
        FileKind("webp", "ein WebP-Bild", "image/webp", (".webp",), "image"),
        FileKind("tiff", "ein TIFF-Bild", "image/tiff", (".tif", ".tiff"), "image"),
        # SVG can carry scripts: stored and downloadable, never previewed as markup.
        FileKind("svg", "eine SVG-Grafik", "image/svg+xml", (".svg",)),
        FileKind("xml", "eine XML-Datei", "application/xml", (".xml", *_TEXT_EXT), "text"),
        FileKind("text", "eine Textdatei", "text/plain", _TEXT_EXT, "text"),
        FileKind("rtf", "ein RTF-Dokument", "application/rtf", (".rtf",)),
        FileKind("zip", "ein ZIP-Archiv", "application/zip", _ZIP_EXT),
        FileKind(
            "docx",
            "ein Word-Dokument",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx", ".docm", *_ZIP_EXT),
        ),
        FileKind(
            "xlsx",
            "eine Excel-Tabelle",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (".xlsx", ".xlsm", *_ZIP_EXT),
        ),
        FileKind(
            "pptx",
            "eine PowerPoint-Präsentation",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            (".pptx", *_ZIP_EXT),
        ),
        FileKind(
            "odt",
            "ein OpenDocument-Text",
            "application/vnd.oasis.opendocument.text",
            (".odt", *_ZIP_EXT),
        ),
        FileKind(
            "ods",
            "eine OpenDocument-Tabelle",
            "application/vnd.oasis.opendocument.spreadsheet",
            (".ods", *_ZIP_EXT),
        ),
        FileKind(
            "odp",
            "eine OpenDocument-Präsentation",
            "application/vnd.oasis.opendocument.presentation",
            (".odp", *_ZIP_EXT),
        ),
        FileKind("doc", "ein Word-Dokument (altes Format)", "application/msword", (".doc",)),
        FileKind("xls", "eine Excel-Tabelle (altes Format)", "application/vnd.ms-excel", (".xls",)),
        FileKind(
            "ppt",
            "eine PowerPoint-Präsentation (altes Format)",
            "application/vnd.ms-powerpoint",
            (".ppt",),
        ),
    )
}
ALLOWED_TEXT = (
    "PDF, Bilder (PNG, JPEG, GIF, WebP, TIFF, SVG), Office-Dokumente (Word, Excel, "
    "PowerPoint, OpenDocument, RTF), Text (TXT, CSV), XML und ZIP"
)
# Types a browser would render or run if it were ever opened inline.
ACTIVE_CONTENT_MIMES = frozenset({"image/svg+xml", "application/xml", "text/plain"})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_BY_EXT = {".doc": "doc", ".xls": "xls", ".ppt": "ppt"}
_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}
_HTML_START = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|script|iframe)\b", re.I)
# Skip an XML declaration, comments, processing instructions and a DOCTYPE to the root.
_XML_PROLOG = re.compile(
    rb"^(\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>)", re.S | re.I
)
_XML_ROOT = re.compile(rb"^<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
SNIFF_BYTES = 64 * 1024


class FileRefused(KmsError):
    """An upload that KMS does not store; the message names the file and says why."""


def clean_text(text: str) -> str:
    """User text as one line: NFC, no control or bidi characters, single spaces, stripped.

    "rechnung\u202egpj.exe" loses the right-to-left override that would make it look like
    "rechnungexe.jpg"."""
    text = unicodedata.normalize("NFC", str(text or ""))
    text = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in text
        if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn")
    )
    return re.sub(r"\s+", " ", text).strip()


def clean_filename(name: str, *, max_length: int = 120) -> str:
    """A display name from user input: no directories, control or bidi characters, bounded.

    "../../etc/passwd" becomes "passwd" (see clean_text for the rest). Metadata only.
    """
    name = re.split(r"[/\\]", unicodedata.normalize("NFC", str(name or "")))[-1]
    name = clean_text(name).strip(" .")
    if not name:
        return "datei"
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: max_length - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:max_length].rstrip(" .")
    return name


def extension_of(name: str) -> str:
    """ ".pdf" for "Rechnung.PDF"; "" when there is none."""
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem and ext and len(ext) <= 10 else ""


def _looks_like_text(head: bytes) -> str | None:
    """The decoded start of `head` if it is text (UTF-8, or Windows-1252 without controls)."""
    if b"\x00" in head:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if all(c in "\t\n\r\f" or unicodedata.category(c) != "Cc" for c in text):
            return text
    return None


def _xml_root(head: bytes) -> str | None:
    """Local name of the root element, lower-cased, if `head` starts like XML."""
    data = head.removeprefix(codecs.BOM_UTF8)
    while True:
        match = _XML_PROLOG.match(data)
        if not match or not match.group(0):
            break
        data = data[match.end() :]
    root = _XML_ROOT.match(data)
    return root.group(2).decode("ascii", "replace").lower() if root else None


def _zip_kind(fh: BinaryIO) -> str | None:
    """docx/xlsx/pptx/odt/ods/odp/zip by the archive's table of contents (nothing extracted)."""
    try:
        with zipfile.ZipFile(fh) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    kind = _ODF.get(member.read(100).strip())
                if kind:
                    return kind
            if "[Content_Types].xml" in names:
                for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(n.startswith(prefix) for n in names):
                        return kind
            return "zip"
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, NotImplementedError):
        return None


def detect(fh: BinaryIO, filename: str) -> FileKind:
    """The kind of an upload by its content, checked against its extension; or FileRefused."""
    fh.seek(0)
    head = fh.read(SNIFF_BYTES)
    fh.seek(0)
    shown = f"„{filename}“"
    if not head:
        raise FileRefused(f"{shown} ist leer (0 Bytes) und wurde nicht gespeichert.")
    ext = extension_of(filename)
    key: str | None = None
    if b"%PDF-" in head[:1024]:
        key = "pdf"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        key = "png"
    elif head.startswith(b"\xff\xd8\xff"):
        key = "jpeg"
    elif head.startswith((b"GIF87a", b"GIF89a")):
        key = "gif"
    elif head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        key = "webp"
    elif head.startswith((b"II*\x00", b"MM\x00*")):
        key = "tiff"
    elif head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        key = _zip_kind(fh)
        fh.seek(0)
        if key is None:
            raise FileRefused(
                f"{shown} ist ein beschädigtes ZIP-Archiv und wurde nicht gespeichert."
            )
    elif head.startswith(_OLE):
        key = _OLE_BY_EXT.get(ext, "doc")
    elif head.startswith(b"{\\rtf"):
        key = "rtf"
    else:
        text = _looks_like_text(head)
        if text is not None:
            raw = head.removeprefix(codecs.BOM_UTF8)
            root = _xml_root(raw)
            if _HTML_START.match(raw) or root in ("html", "xhtml"):
                raise FileRefused(
                    f"{shown} ist eine HTML-Seite. HTML-Dateien nimmt KMS nicht an, weil sie "
                    "Skripte enthalten können. Bitte speichern Sie die Seite als PDF."
                )
            if root == "svg":
                key = "svg"
            elif root is not None and (raw.lstrip().startswith(b"<?xml") or ext == ".xml"):
                key = "xml"
            else:
                key = "text"
    if key is None:
        raise FileRefused(
            f"{shown}: Dieser Dateityp ist nicht erlaubt. Erlaubt sind {ALLOWED_TEXT}."
        )
    kind = KINDS[key]
    if ext and ext not in kind.extensions:
        raise FileRefused(
            f"{shown} wurde nicht gespeichert: Die Endung „{ext}“ passt nicht zum Inhalt "
            f"(erkannt: {kind.described}). Bitte prüfen Sie die Datei oder benennen Sie sie "
            "passend um."
        )
    return kind


def kind_for_mime(mime: str) -> FileKind | None:
    """The allowed kind of a MIME type (for files KMS generates itself)."""
    return next((k for k in KINDS.values() if k.mime == mime), None)
