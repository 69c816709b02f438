"""⊕ E-Mail-Postfach: poll an IMAP folder for invoice attachments.

Settings (server, port, security, user, folder, target folder) live in the key-value store;
the password is stored encrypted with kms.secretbox, like the SMTP password. Each message of
the inbox folder is read without marking it; every attachment that looks like an invoice
(XML, PDF, JPEG, PNG) goes through `service.receive` (source "imap") and is committed before
the message is moved to the target folder. A message whose processing fails stays where it is
and is tried again next time; a duplicate or a refused file counts as processed (the summary
names it), so one bad attachment never blocks the inbox.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import re
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session

from kms.errors import FieldErrors, KmsError, ValidationError
from kms.models import get_value, set_value
from kms.permissions import Permission, require_permission
from kms.secretbox import decrypt, encrypt

IMAP_KEY = "intake.imap"
SECURITY = {"ssl": "SSL/TLS", "starttls": "STARTTLS", "none": "keine (nur lokal)"}
EXTENSIONS = (".xml", ".pdf", ".png", ".jpg", ".jpeg")
MIME_TYPES = {
    "application/xml", "text/xml", "application/pdf", "image/png", "image/jpeg",
}  # fmt: skip
TIMEOUT = 30


@dataclass(frozen=True)
class ImapSettings:
    """The mailbox as stored (the password only as whether one is set)."""

    host: str = ""
    port: int = 993
    security: str = "ssl"
    username: str = ""
    folder: str = "INBOX"
    done_folder: str = "KMS-verarbeitet"
    enabled: bool = False
    has_password: bool = False


def settings(session: Session) -> ImapSettings:
    data = dict(get_value(session, IMAP_KEY) or {})
    return ImapSettings(
        host=data.get("host", ""),
        port=int(data.get("port", 993)),
        security=data.get("security", "ssl"),
        username=data.get("username", ""),
        folder=data.get("folder", "INBOX"),
        done_folder=data.get("done_folder", "KMS-verarbeitet"),
        enabled=bool(data.get("enabled", False)),
        has_password=bool(data.get("password_enc")),
    )


_FOLDER = re.compile(r'^[^"\\\r\n\x00-\x1f]{1,200}$')


def save_settings(
    session: Session,
    *,
    host: str,
    port: int,
    security: str,
    username: str,
    folder: str = "INBOX",
    done_folder: str = "KMS-verarbeitet",
    enabled: bool = True,
    password: str | None = None,
) -> None:
    """Save the mailbox; the password is stored encrypted (None keeps the old one)."""
    require_permission(Permission.SETTINGS, session)
    errors = FieldErrors()
    with errors.field("host"):
        if not host.strip() or " " in host.strip():
            raise ValidationError("host", "Bitte den Namen des IMAP-Servers angeben.")
    with errors.field("port"):
        if not 0 < int(port) < 65536:
            raise ValidationError("port", "Der Port muss zwischen 1 und 65535 liegen.")
    with errors.field("security"):
        if security not in SECURITY:
            raise ValidationError("security", "Unbekannte Verschlüsselung.")
    with errors.field("username"):
        if not username.strip():
            raise ValidationError("username", "Bitte den Benutzernamen des Postfachs angeben.")
    for name, value in (("folder", folder), ("done_folder", done_folder)):
        with errors.field(name):
            if not _FOLDER.match(value.strip()):
                raise ValidationError(name, "Bitte einen gültigen Ordnernamen angeben.")
    with errors.field("done_folder"):
        if folder.strip() == done_folder.strip():
            raise ValidationError(
                "done_folder", "Der Ordner für verarbeitete Mails muss ein anderer sein."
            )
    errors.raise_if_any()
    data = dict(get_value(session, IMAP_KEY) or {})
    data.update(
        host=host.strip(),
        port=int(port),
        security=security,
        username=username.strip(),
        folder=folder.strip(),
        done_folder=done_folder.strip(),
        enabled=bool(enabled),
    )
    if password is not None:
        data["password_enc"] = encrypt(password) if password else ""
    set_value(session, IMAP_KEY, data)


def _password(session: Session) -> str:
    data = dict(get_value(session, IMAP_KEY) or {})
    return decrypt(data["password_enc"]) if data.get("password_enc") else ""


def _connect(cfg: ImapSettings, password: str) -> imaplib.IMAP4:
    try:
        conn: imaplib.IMAP4
        if cfg.security == "ssl":
            conn = imaplib.IMAP4_SSL(
                cfg.host, cfg.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT
            )
        else:
            conn = imaplib.IMAP4(cfg.host, cfg.port, timeout=TIMEOUT)
            if cfg.security == "starttls":
                conn.starttls(ssl.create_default_context())
        conn.login(cfg.username, password)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise KmsError(
            f"Das Postfach {cfg.username}@{cfg.host}:{cfg.port} ist nicht erreichbar "
            f"oder die Anmeldung schlug fehl ({type(exc).__name__})."
        ) from None
    return conn


def _quote(folder: str) -> str:
    return '"' + folder + '"'


def invoice_attachments(raw: bytes) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every attachment of a mail that may be an invoice."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes one
        return []
    found = []
    for part in message.iter_attachments():
        name = part.get_filename() or ""
        mime = part.get_content_type()
        if not (name.lower().endswith(EXTENSIONS) or mime in MIME_TYPES):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found.append((name or f"anhang.{mime.rsplit('/', 1)[-1]}", payload))
    return found


def _move(conn: imaplib.IMAP4, uid: bytes, target: str) -> None:
    capabilities = conn.capabilities  # type: ignore[attr-defined]
    if "MOVE" in capabilities:
        conn.uid("MOVE", uid.decode(), _quote(target))
        return
    conn.uid("COPY", uid.decode(), _quote(target))
    conn.uid("STORE", uid.decode(), "+FLAGS", "(\\Deleted)")
    conn.expunge()


def poll(session: Session, now: datetime | None = None) -> str:
    """Process the inbox folder once; a German summary of what happened."""
    from kms.modules.intake.service import DuplicateInvoice, receive

    cfg = settings(session)
    if not cfg.enabled or not cfg.host:
        return "kein Postfach eingerichtet"
    conn = _connect(cfg, _password(session))
    accepted = duplicates = refused = mails = 0
    try:
        conn.create(_quote(cfg.done_folder))  # fails harmlessly when it exists
        status, _ = conn.select(_quote(cfg.folder))
        if status != "OK":
            raise KmsError(f"Den Ordner „{cfg.folder}“ gibt es im Postfach nicht.")
        _, data = conn.uid("SEARCH", "ALL")
        uids = data[0].split() if data and data[0] else []
        for uid in uids:
            _, parts = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            raw = next(
                (p[1] for p in parts if isinstance(p, tuple) and isinstance(p[1], bytes)), b""
            )
            for name, content in invoice_attachments(raw):
                try:
                    with session.begin_nested():
                        receive(session, content, name, source="imap", actor="imap")
                    accepted += 1
                except DuplicateInvoice:
                    duplicates += 1
                except KmsError:
                    refused += 1
            session.commit()  # stored before the mail leaves the inbox
            _move(conn, uid, cfg.done_folder)
            mails += 1
    finally:
        _logout(conn)
    return (
        f"{mails} E-Mails verarbeitet: {accepted} Rechnungen angenommen, "
        f"{duplicates} doppelt, {refused} abgelehnt"
    )


def _logout(conn: Any) -> None:
    try:
        conn.close()
    except (OSError, imaplib.IMAP4.error):
        pass
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.error):
        pass
