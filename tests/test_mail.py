"""Tests for kms.mail against real aiosmtpd servers on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import socket
import ssl
from email.utils import parsedate_to_datetime

import pytest

from kms.errors import KmsError, ValidationError
from kms.mail import (
    Attachment,
    MailError,
    MailErrorKind,
    SmtpSettings,
    build_message,
    send_message,
)
from tests.smtp_fixtures import AUTH_PASSWORD, AUTH_USER, HOST, RecordingHandler, free_port

SUBJECT = "Rechnung Nr. 2024-001 – Größe „Übermaß“"
BODY = "Sehr geehrte Frau Müller,\n\nanbei Ihre Rechnung.\n.\nViele Grüße\n"
# Bytes that a careless transfer would mangle: CR/LF pairs, a lone dot line, NUL and high bytes.
PDF_BYTES = b"%PDF-1.7\r\n.\r\n\x00\xff\xfe" + os.urandom(4096) + b"\n.\n%%EOF"
CSV_BYTES = "Posten;Betrag\r\nÄpfel;1.234,56\r\n".encode()


def _message(settings: SmtpSettings, **overrides):
    """Build a typical invoice mail with two attachments."""
    values = {
        "settings": settings,
        "to": ["Jürgen Müller <juergen@example.org>"],
        "subject": SUBJECT,
        "body_text": BODY,
        "attachments": [
            Attachment("Rechnung Müller.pdf", PDF_BYTES, "application/pdf"),
            Attachment("posten.csv", CSV_BYTES, "text/csv"),
        ],
    }
    return build_message(**(values | overrides))


# --- build_message ----------------------------------------------------------------------------


def test_build_message_sets_headers():
    """From/To/Cc/Reply-To, Subject, Date and Message-ID are set; raw headers stay ASCII."""
    settings = SmtpSettings(host="smtp.example.org", sender_address="buero@example.org")
    message = _message(settings, cc=["cc@example.org"], reply_to="Antwort <antwort@example.org>")
    assert message["Subject"] == SUBJECT
    assert message["To"].addresses[0].display_name == "Jürgen Müller"
    assert message["Cc"].addresses[0].addr_spec == "cc@example.org"
    assert message["Reply-To"].addresses[0].addr_spec == "antwort@example.org"
    assert message["Message-ID"].endswith("@example.org>")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    raw_headers = message.as_bytes().split(b"\r\n\r\n")[0]
    assert raw_headers.isascii(), "headers must be RFC 2047 encoded, not raw UTF-8"


def test_build_message_encodes_idn_domain_as_punycode():
    """Internationalised domains are written as Punycode in address headers."""
    settings = SmtpSettings(host="smtp.example.org", sender_address="info@bücher.example")
    message = _message(settings, to=["kunde@Müller.example"])
    assert message["From"].addresses[0].domain == "xn--bcher-kva.example"
    assert message["To"].addresses[0].addr_spec == "kunde@xn--mller-kva.example"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to": []}, "to"),
        ({"to": ["kein-at-zeichen"]}, "to"),
        ({"cc": ["a b@example.org"]}, "cc"),
        ({"bcc": ["@example.org"]}, "bcc"),
        ({"reply_to": "antwort@"}, "reply_to"),
        ({"subject": "Betreff\r\nBcc: opfer@example.org"}, "subject"),
    ],
)
def test_build_message_rejects_bad_input(overrides, field):
    """Missing or malformed addresses and header injection raise a ValidationError per field."""
    settings = SmtpSettings(host="smtp.example.org", sender_address="buero@example.org")
    with pytest.raises(ValidationError) as info:
        _message(settings, **overrides)
    assert info.value.field == field


def test_attachment_rejects_path_and_bad_mime_type():
    """Attachment names must be bare file names and MIME types type/subtype."""
    with pytest.raises(ValueError):
        Attachment("../etc/passwd", b"x")
    with pytest.raises(ValueError):
        Attachment("a.pdf", b"x", "pdf")


def test_settings_repr_hides_password():
    """The password never shows up in the settings' repr."""
    settings = SmtpSettings(
        host="smtp.example.org", username="u", password="s3cr3t", sender_address="a@example.org"
    )
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings)


def test_settings_rejects_unknown_security():
    """Only starttls, ssl and none are accepted as security mode."""
    with pytest.raises(ValueError):
        SmtpSettings(
            host="h",
            security="tls",
            sender_address="a@example.org",  # type: ignore[arg-type]
        )


# --- Delivery ---------------------------------------------------------------------------------


def _assert_delivered_intact(server, result):
    """The server got exactly one message whose headers and attachments survived unchanged."""
    [received] = server.messages
    assert received.mail_from == "buero@example.org"
    assert received.rcpt_tos == ["juergen@example.org"]
    message = received.message
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "Büro Müller"
    assert message["Message-ID"] == result.message_id
    body = message.get_body(("plain",)).get_content()
    assert body.replace("\r\n", "\n") == BODY  # CRLF is the SMTP line ending
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert parts["Rechnung Müller.pdf"].get_content_type() == "application/pdf"
    assert parts["Rechnung Müller.pdf"].get_payload(decode=True) == PDF_BYTES
    assert parts["posten.csv"].get_payload(decode=True) == CSV_BYTES
    assert b"=?utf-8?" in received.content.split(b"\r\n\r\n")[0]


def test_send_plain(smtp_server):
    """A plain SMTP server receives headers, body and attachments unchanged."""
    settings = smtp_server.settings()
    result = send_message(settings, _message(settings))
    assert result.accepted == ("juergen@example.org",)
    _assert_delivered_intact(smtp_server, result)


def test_send_starttls(smtp_server_starttls):
    """STARTTLS with a verified certificate delivers the message intact."""
    server = smtp_server_starttls
    settings = server.settings()
    result = send_message(settings, _message(settings), ssl_context=server.client_context)
    _assert_delivered_intact(server, result)


def test_send_implicit_ssl(smtp_server_ssl):
    """Implicit TLS (port 465 style) delivers the message intact."""
    server = smtp_server_ssl
    settings = server.settings()
    result = send_message(settings, _message(settings), ssl_context=server.client_context)
    _assert_delivered_intact(server, result)


def test_send_with_auth(smtp_server_auth, caplog):
    """Login over STARTTLS works and the password is not logged even at DEBUG."""
    server = smtp_server_auth
    settings = server.settings()
    caplog.set_level(logging.DEBUG)
    result = send_message(settings, _message(settings), ssl_context=server.client_context)
    _assert_delivered_intact(server, result)
    assert AUTH_PASSWORD not in caplog.text


def test_bcc_goes_to_envelope_only(smtp_server):
    """Bcc recipients get the mail, but no Bcc header reaches the server."""
    settings = smtp_server.settings()
    message = _message(settings, cc=["cc@example.org"], bcc=["geheim@example.org"])
    result = send_message(settings, message)
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["juergen@example.org", "cc@example.org", "geheim@example.org"]
    assert result.accepted == tuple(received.rcpt_tos)
    assert received.message["Bcc"] is None
    assert b"geheim" not in received.content
    assert message["Bcc"] is not None, "the caller's message must stay unchanged"


def test_duplicate_recipients_are_sent_once(smtp_server):
    """An address in To and Cc is given to the server once."""
    settings = smtp_server.settings()
    message = _message(settings, to=["juergen@example.org"], cc=["Jürgen <juergen@example.org>"])
    assert send_message(settings, message).accepted == ("juergen@example.org",)


# --- Failures ---------------------------------------------------------------------------------


def _fail(settings, message=None, **kwargs) -> MailError:
    """Send and return the MailError that must be raised."""
    with pytest.raises(MailError) as info:
        send_message(settings, message or _message(settings), **kwargs)
    assert isinstance(info.value, KmsError)
    return info.value


def test_recipient_rejected_names_address_and_sends_nothing(smtp_server_factory):
    """A refused recipient is named and nobody receives a partial delivery."""
    handler = RecordingHandler(reject_recipients={"weg@example.org"})
    server = smtp_server_factory(security="none", handler=handler)
    settings = server.settings()
    error = _fail(settings, _message(settings, cc=["weg@example.org"]))
    assert error.kind is MailErrorKind.RECIPIENT_REJECTED
    assert error.address == "weg@example.org"
    assert "„weg@example.org“" in error.message and "550" in error.message
    assert server.messages == [], "no partial delivery to the accepted recipients"


def test_sender_rejected(smtp_server_factory):
    """A refused sender address is named in the message."""
    server = smtp_server_factory(
        security="none", handler=RecordingHandler(reject_senders={"buero@example.org"})
    )
    error = _fail(server.settings())
    assert error.kind is MailErrorKind.SENDER_REJECTED
    assert "„buero@example.org“" in error.message


def test_message_rejected(smtp_server_factory):
    """A refusal after DATA reports the server's code."""
    handler = RecordingHandler(reject_data="554 5.6.0 Inhalt abgelehnt")
    server = smtp_server_factory(security="none", handler=handler)
    error = _fail(server.settings())
    assert error.kind is MailErrorKind.MESSAGE_REJECTED
    assert "554" in error.message


def test_connection_refused():
    """A closed port reports that the server is unreachable."""
    port = free_port()  # nothing listens there once the probe socket is closed
    settings = SmtpSettings(host=HOST, port=port, security="none", sender_address="a@example.org")
    error = _fail(settings)
    assert error.kind is MailErrorKind.UNREACHABLE
    assert error.message.startswith(f"Der Mailserver {HOST}:{port} ist nicht erreichbar")


def test_timeout_when_server_never_greets():
    """A server that never answers is reported after the configured timeout."""
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen()  # the kernel completes the handshake, but no greeting ever comes
        port = silent.getsockname()[1]
        settings = SmtpSettings(
            host=HOST, port=port, sender_address="a@example.org", timeout_seconds=0.3
        )
        error = _fail(settings)
    assert error.kind is MailErrorKind.TIMEOUT
    assert "ist nicht erreichbar" in error.message and "0.3 Sekunden" in error.message


def test_unknown_host():
    """An unresolvable host name is reported as unreachable."""
    settings = SmtpSettings(host="smtp.invalid", sender_address="a@example.org", timeout_seconds=2)
    error = _fail(settings)
    assert error.kind is MailErrorKind.UNREACHABLE
    assert "smtp.invalid:587" in error.message


def test_wrong_password_is_rejected_and_never_shown(smtp_server_auth, caplog):
    """A wrong password is an AUTH error; the password appears nowhere."""
    server = smtp_server_auth
    wrong = "Falsch-Passw0rt!"
    settings = server.settings(password=wrong)
    caplog.set_level(logging.DEBUG)
    error = _fail(settings, ssl_context=server.client_context)
    assert error.kind is MailErrorKind.AUTH
    assert f"„{AUTH_USER}“" in error.message
    for text in (error.message, str(error), repr(error), caplog.text, repr(settings)):
        assert wrong not in text
    assert server.messages == []


def test_username_without_auth_offer(smtp_server):
    """A username for a server without AUTH is an AUTH error, not a silent skip."""
    error = _fail(smtp_server.settings(username="u", password="p"))
    assert error.kind is MailErrorKind.AUTH


def test_starttls_required_but_not_offered(smtp_server):
    """Without STARTTLS on offer, nothing is sent in plain text."""
    error = _fail(smtp_server.settings(security="starttls"))
    assert error.kind is MailErrorKind.STARTTLS_UNSUPPORTED
    assert smtp_server.messages == []


def test_untrusted_certificate_is_refused_by_default(smtp_server_starttls):
    """Without an ssl_context the system trust store is used, so an unknown CA fails."""
    error = _fail(smtp_server_starttls.settings())
    assert error.kind is MailErrorKind.TLS
    assert "nicht vertrauenswürdig" in error.message


def test_hostname_mismatch_is_refused(smtp_server_ssl):
    """A certificate for another host name is refused."""
    context = smtp_server_ssl.client_context
    settings = smtp_server_ssl.settings()
    # The certificate names 127.0.0.1 and localhost only; pretend to expect another host.
    strict = ssl.create_default_context(cadata=_ca_of(context))
    original = strict.wrap_socket

    def wrap_with_other_name(sock, *args, server_hostname=None, **kwargs):
        return original(sock, *args, server_hostname="smtp.example.org", **kwargs)

    strict.wrap_socket = wrap_with_other_name  # type: ignore[method-assign]
    error = _fail(settings, ssl_context=strict)
    assert error.kind is MailErrorKind.TLS


def _ca_of(context: ssl.SSLContext) -> str:
    """Return the PEM of the CA certificates a context trusts."""
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in context.get_ca_certs(binary_form=True))


def test_ssl_against_plain_server_is_tls_error(smtp_server):
    """Implicit TLS against a plain server is reported as a TLS failure."""
    error = _fail(smtp_server.settings(security="ssl"), ssl_context=ssl.create_default_context())
    assert error.kind is MailErrorKind.TLS
