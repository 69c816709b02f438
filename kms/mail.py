"""Build and send e-mail over SMTP (smtplib) with verified TLS and German error messages.

The password lives only in `SmtpSettings.password`; it is kept out of reprs, log records and
error messages. Delivery is all-or-nothing: if the server refuses any recipient, the
transaction is reset before DATA and nothing is sent to anyone.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import logging
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from enum import StrEnum
from typing import Literal, get_args

from kms.errors import KmsError, ValidationError
from kms.validation import validate_email

__all__ = [
    "Attachment",
    "MailError",
    "MailErrorKind",
    "SendResult",
    "SmtpSettings",
    "build_message",
    "send_message",
]

logger = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """Connection data for the outgoing mail server; the password is excluded from repr."""

    host: str
    port: int = 587
    security: Security = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    sender_address: str
    sender_name: str = ""
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in get_args(Security):
            raise ValueError(f"security must be one of {get_args(Security)}, not {self.security!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port out of range: {self.port}")

    @property
    def server(self) -> str:
        """Return "host:port" for messages."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Attachment:
    """A file to attach: name shown to the recipient, raw bytes and MIME type."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"

    def __post_init__(self) -> None:
        if not self.filename.strip() or "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"attachment filename must be a bare file name: {self.filename!r}")
        if not isinstance(self.content, bytes):
            raise TypeError("attachment content must be bytes")
        if self.mime_type.count("/") != 1:
            raise ValueError(f"MIME type must look like 'type/subtype': {self.mime_type!r}")


@dataclass(frozen=True)
class SendResult:
    """What the server accepted: the envelope recipients and the Message-ID."""

    accepted: tuple[str, ...]
    message_id: str


class MailErrorKind(StrEnum):
    """Why sending failed, for callers that react differently (e.g. open the settings)."""

    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    STARTTLS_UNSUPPORTED = "starttls_unsupported"
    AUTH = "auth"
    SENDER_REJECTED = "sender_rejected"
    RECIPIENT_REJECTED = "recipient_rejected"
    MESSAGE_REJECTED = "message_rejected"
    PROTOCOL = "protocol"


class MailError(KmsError):
    """Sending failed; `.message` is German, `.kind` says why, `.address` names a refused one."""

    def __init__(self, kind: MailErrorKind, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.address = address


# --- Building ---------------------------------------------------------------------------------


def build_message(
    *,
    settings: SmtpSettings,
    to: Sequence[str],
    subject: str,
    body_text: str,
    attachments: Sequence[Attachment] = (),
    cc: Sequence[str] = (),
    bcc: Sequence[str] = (),
    reply_to: str | None = None,
) -> EmailMessage:
    """Return a UTF-8 e-mail with From, To/Cc/Bcc, Subject, Date, Message-ID and attachments."""
    if not to:
        raise ValidationError("to", "Bitte mindestens einen Empfänger angeben.")
    if "\n" in subject or "\r" in subject:
        raise ValidationError("subject", "Der Betreff darf keine Zeilenumbrüche enthalten.")
    sender = _make_address(settings.sender_name, settings.sender_address, "sender_address")
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = [_address(item, "to") for item in to]
    _set_optional(message, "Cc", [_address(item, "cc") for item in cc])
    _set_optional(message, "Bcc", [_address(item, "bcc") for item in bcc])
    _set_optional(message, "Reply-To", [_address(reply_to, "reply_to")] if reply_to else [])
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.domain)
    # Quoted-printable keeps the body 7-bit clean, so servers without 8BITMIME accept it too.
    message.set_content(body_text, charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        maintype, subtype = attachment.mime_type.split("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


def _set_optional(message: EmailMessage, header: str, addresses: list[Address]) -> None:
    """Set an address header only when there is at least one address."""
    if addresses:
        message[header] = addresses


def _address(item: str, field_name: str) -> Address:
    """Parse "Name <local@domain>" or a bare address into a validated Address."""
    name, addr = parseaddr(item)
    return _make_address(name, addr or item, field_name)


def _make_address(name: str, addr: str, field_name: str) -> Address:
    """Validate `addr` and return an Address whose domain is in ASCII (IDNA) form."""
    local, domain = validate_email(addr, field=field_name).rsplit("@", 1)
    # The header is sent without SMTPUTF8, so an internationalised domain goes out as Punycode.
    return Address(display_name=name, username=local, domain=domain.encode("idna").decode())


# --- Sending ----------------------------------------------------------------------------------


def send_message(
    settings: SmtpSettings, message: EmailMessage, *, ssl_context: ssl.SSLContext | None = None
) -> SendResult:
    """Deliver `message` via the server in `settings`; raise MailError with a German message."""
    wire = copy.copy(message)
    del wire["Bcc"]  # Bcc recipients get the mail via the envelope only (RFC 5322 §3.6.3)
    if wire["Message-ID"] is None:
        wire["Message-ID"] = make_msgid(domain=_envelope_sender(settings).split("@")[1])
    recipients = _envelope_recipients(message)
    context = ssl_context if ssl_context is not None else ssl.create_default_context()
    logger.info(
        "Sending %s to %d recipient(s) via %s", wire["Message-ID"], len(recipients), settings.server
    )
    try:
        with _connect(settings, context) as smtp:
            _login(smtp, settings)
            _transmit(smtp, settings, recipients, wire.as_bytes(policy=SMTP_POLICY))
    except MailError as exc:
        logger.warning("Sending via %s failed: %s", settings.server, exc.kind)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        error = _translate(exc, settings)
        logger.warning("Sending via %s failed: %s", settings.server, error.kind)
        raise error from exc
    return SendResult(accepted=tuple(recipients), message_id=str(wire["Message-ID"]))


def _envelope_sender(settings: SmtpSettings) -> str:
    """Return the validated sender address with an ASCII (IDNA) domain."""
    return _make_address("", settings.sender_address, "sender_address").addr_spec


def _envelope_recipients(message: EmailMessage) -> list[str]:
    """Collect the addresses of To, Cc and Bcc, without duplicates, in order."""
    headers = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    addresses = [addr for _name, addr in getaddresses(headers) if addr]
    if not addresses:
        raise ValidationError("to", "Die E-Mail hat keinen Empfänger.")
    return list(dict.fromkeys(addresses))


def _connect(settings: SmtpSettings, context: ssl.SSLContext) -> smtplib.SMTP:
    """Open the connection and establish TLS as configured (implicit SSL or STARTTLS)."""
    if settings.security == "ssl":
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_seconds, context=context
        )
    smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    try:
        if settings.security == "starttls":
            _starttls(smtp, settings, context)
        elif settings.username:
            logger.warning("Logging in to %s without TLS (security='none')", settings.server)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _starttls(smtp: smtplib.SMTP, settings: SmtpSettings, context: ssl.SSLContext) -> None:
    """Upgrade to TLS; refuse to continue in plain text when the server lacks STARTTLS."""
    smtp.ehlo()
    if not smtp.has_extn("starttls"):
        raise MailError(
            MailErrorKind.STARTTLS_UNSUPPORTED,
            f"Der Mailserver {settings.server} bietet keine Verschlüsselung per STARTTLS an. "
            "Unverschlüsselt wird nicht gesendet; bitte „SSL“ (meist Port 465) wählen "
            "oder die Einstellungen beim Anbieter nachsehen.",
        )
    smtp.starttls(context=context)
    smtp.ehlo()


def _login(smtp: smtplib.SMTP, settings: SmtpSettings) -> None:
    """Authenticate when a username is configured."""
    if not settings.username:
        return
    if (settings.username + settings.password).isascii():
        smtp.login(settings.username, settings.password)
        return
    # smtplib encodes credentials as ASCII and fails on "Grüße2026"; SASL PLAIN carries
    # UTF-8 (RFC 4616), so send that by hand.
    smtp.ehlo_or_helo_if_needed()
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError("AUTH PLAIN not offered")
    credentials = f"\0{settings.username}\0{settings.password}".encode()
    code, reply = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(credentials).decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _transmit(
    smtp: smtplib.SMTP, settings: SmtpSettings, recipients: list[str], payload: bytes
) -> None:
    """Run MAIL, RCPT for every recipient and DATA; reset before DATA if any RCPT fails."""
    sender = _envelope_sender(settings)
    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            with contextlib.suppress(smtplib.SMTPException):
                smtp.rset()  # abort the transaction so no one gets a partial delivery
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.data(payload)
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


# --- Error translation ------------------------------------------------------------------------


def _translate(exc: BaseException, settings: SmtpSettings) -> MailError:
    """Map an smtplib/socket/ssl exception to a MailError with a German message."""
    error = _refusal_error(exc, settings) or _connection_error(exc, settings)
    if settings.password and settings.password in error.message:
        masked = error.message.replace(settings.password, "********")
        error = MailError(error.kind, masked, address=error.address)
    return error


def _refusal_error(exc: BaseException, s: SmtpSettings) -> MailError | None:
    """Describe a refusal the server answered with, or return None for other failures."""
    server = f"Der Mailserver {s.server}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        address, (code, reply) = next(iter(exc.recipients.items()))
        text = f"{server} hat die Empfängeradresse „{address}“ abgelehnt ({_reply(code, reply)})."
        text += " Die E-Mail wurde an niemanden gesendet."
        return MailError(MailErrorKind.RECIPIENT_REJECTED, text, address=address)
    if not isinstance(exc, smtplib.SMTPResponseException):
        return None
    answer = _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        address = exc.sender if isinstance(exc.sender, str) else exc.sender.decode()
        text = f"{server} hat die Absenderadresse „{address}“ abgelehnt ({answer})."
        text += " Bitte die Absenderadresse in den E-Mail-Einstellungen prüfen."
        return MailError(MailErrorKind.SENDER_REJECTED, text, address=address)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = f"{server} hat die Anmeldung als „{s.username}“ abgelehnt ({answer})."
        text += " Bitte Benutzername und Passwort prüfen."
        return MailError(MailErrorKind.AUTH, text)
    if isinstance(exc, smtplib.SMTPDataError):
        return MailError(
            MailErrorKind.MESSAGE_REJECTED, f"{server} hat die E-Mail abgelehnt ({answer})."
        )
    return MailError(
        MailErrorKind.PROTOCOL, f"{server} hat mit einem Fehler geantwortet ({answer})."
    )


def _connection_error(exc: BaseException, s: SmtpSettings) -> MailError:
    """Describe failures below the SMTP dialogue: network, TLS, missing extensions."""
    unreachable = f"Der Mailserver {s.server} ist nicht erreichbar"
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
        exc.__context__, TimeoutError
    ):
        exc = exc.__context__  # smtplib reports a read timeout as "disconnected"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        text = f"Der Mailserver {s.server} bietet keine Anmeldung (SMTP AUTH) an, obwohl ein"
        text += " Benutzername eingetragen ist. Bitte Verschlüsselung und Port prüfen."
        return MailError(MailErrorKind.AUTH, text)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        text = f"Der Mailserver {s.server} hat die Verbindung unerwartet beendet."
        text += " Bitte Port und Verschlüsselung (STARTTLS oder SSL) prüfen."
        return MailError(MailErrorKind.PROTOCOL, text)
    if isinstance(exc, ssl.SSLCertVerificationError):
        text = f"Das TLS-Zertifikat des Mailservers {s.server} ist nicht vertrauenswürdig"
        text += f" ({exc.verify_message}). Die Verbindung wurde aus Sicherheitsgründen abgebrochen."
        return MailError(MailErrorKind.TLS, text)
    if isinstance(exc, ssl.SSLError):
        text = f"Die verschlüsselte Verbindung (TLS) zum Mailserver {s.server} ist fehlgeschlagen."
        text += " Bitte prüfen, ob Port und Verschlüsselung (STARTTLS oder SSL) zusammenpassen."
        return MailError(MailErrorKind.TLS, text)
    if isinstance(exc, TimeoutError):
        text = f"{unreachable} (keine Antwort innerhalb von {s.timeout_seconds:g} Sekunden)."
        text += " Bitte Servername, Port und Verschlüsselung prüfen."
        return MailError(MailErrorKind.TIMEOUT, text)
    if isinstance(exc, socket.gaierror):
        return MailError(MailErrorKind.UNREACHABLE, f"{unreachable} (Servername unbekannt).")
    if isinstance(exc, ConnectionRefusedError):
        text = f"{unreachable} (Verbindung abgelehnt). Bitte Servername und Port prüfen."
        return MailError(MailErrorKind.UNREACHABLE, text)
    if isinstance(exc, smtplib.SMTPException):
        return MailError(MailErrorKind.PROTOCOL, f"Fehler beim Mailserver {s.server}: {exc}")
    reason = getattr(exc, "strerror", None) or exc
    return MailError(MailErrorKind.UNREACHABLE, f"{unreachable} ({reason}).")


def _reply(code: int, reply: bytes | str) -> str:
    """Format an SMTP reply for display, e.g. "550 5.1.1 Mailbox unavailable"."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join([str(code), *text.split()])
