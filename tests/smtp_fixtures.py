"""Reusable test fixtures: real aiosmtpd servers on 127.0.0.1 that record what they receive.

Fixtures: `tls_material` (a throw-away CA and server certificate for 127.0.0.1/localhost),
`smtp_server` (plain), `smtp_server_starttls`, `smtp_server_ssl`, `smtp_server_auth`
(STARTTLS + AUTH) and `smtp_server_factory` for custom ones. Every server offers
`.settings(**overrides)` (an SmtpSettings pointing at it) and `.messages` (what it received).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kms.mail import SmtpSettings

HOST = "127.0.0.1"
SENDER = "buero@example.org"


# --- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsMaterial:
    """A test CA and a server certificate for 127.0.0.1 and localhost signed by it."""

    ca_pem: str
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """Return an SSLContext for the server side."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a verifying client SSLContext that trusts only the test CA."""
        return ssl.create_default_context(cadata=self.ca_pem)


def _name(common_name: str) -> x509.Name:
    """Return an X.509 name with just a CN."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: Any
) -> x509.CertificateBuilder:
    """Return a builder with subject, issuer, key, serial and a one-day validity."""
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def make_tls_material(directory: Path) -> TlsMaterial:
    """Generate a CA and a server certificate for 127.0.0.1/localhost into `directory`."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        _certificate("KMS Test CA", ca_key, "KMS Test CA", ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    cert = (
        _certificate("localhost", key, "KMS Test CA", ca_key)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    return TlsMaterial(ca_pem=ca_pem, cert_file=cert_file, key_file=key_file)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    """Key usage for a CA (cert_sign) or a TLS server (digital signature)."""
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


# --- Recording server -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server got it: envelope and raw bytes."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        """Return the content parsed with the modern policy (headers decoded)."""
        parsed = message_from_bytes(self.content, policy=email_policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """aiosmtpd handler that records messages and can refuse chosen addresses or all data."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    reject_senders: set[str] = field(default_factory=set)
    reject_recipients: set[str] = field(default_factory=set)
    reject_data: str | None = None  # e.g. "554 5.6.0 Message rejected"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.reject_senders:
            return "553 5.7.1 Sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reject_data:
            return self.reject_data
        content = envelope.original_content or envelope.content
        self.messages.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A running test server: where it listens, what it got, and matching client settings."""

    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    handler: RecordingHandler
    client_context: ssl.SSLContext | None
    username: str = ""
    password: str = ""

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Return the messages received so far."""
        return self.handler.messages

    def settings(self, **overrides: Any) -> SmtpSettings:
        """Return SmtpSettings for this server; keyword arguments override fields."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "sender_address": SENDER,
            "sender_name": "Büro Müller",
            "timeout_seconds": 5.0,
            "username": self.username,
            "password": self.password,
        }
        return SmtpSettings(**(values | overrides))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _authenticator(credentials: dict[str, str]):
    """Return an aiosmtpd authenticator accepting exactly `credentials` (user -> password)."""

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if credentials.get(login) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return authenticate


@contextmanager
def running_smtp_server(
    *,
    security: Literal["starttls", "ssl", "none"] = "none",
    tls: TlsMaterial | None = None,
    credentials: dict[str, str] | None = None,
    handler: RecordingHandler | None = None,
) -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on 127.0.0.1 for the duration of the block."""
    handler = handler or RecordingHandler()
    kwargs: dict[str, Any] = {}
    if security != "none":
        assert tls is not None, "TLS servers need TlsMaterial"
        key = "ssl_context" if security == "ssl" else "tls_context"
        kwargs[key] = tls.server_context()
    if security == "starttls":
        kwargs["require_starttls"] = True
    if credentials is not None:
        kwargs["authenticator"] = _authenticator(credentials)
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = security != "none"
    controller = Controller(handler, hostname=HOST, port=free_port(), **kwargs)
    controller.start()
    try:
        client = tls.client_context() if tls else None
        username, password = next(iter((credentials or {"": ""}).items()))
        yield SmtpServer(HOST, controller.port, security, handler, client, username, password)
    finally:
        controller.stop()


# --- pytest fixtures --------------------------------------------------------------------------

AUTH_USER = "buero"
AUTH_PASSWORD = "Geheim-Passw0rt!"


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """A throw-away CA plus server certificate, generated once per test session."""
    return make_tls_material(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server_factory(tls_material: TlsMaterial):
    """Start servers with custom options: `smtp_server_factory(security=..., handler=...)`."""
    with ExitStack() as stack:

        def start(**options: Any) -> SmtpServer:
            options.setdefault("tls", tls_material)
            return stack.enter_context(running_smtp_server(**options))

        yield start


@pytest.fixture
def smtp_server(smtp_server_factory) -> SmtpServer:
    """A plain (unencrypted) server without AUTH."""
    return smtp_server_factory(security="none")


@pytest.fixture
def smtp_server_starttls(smtp_server_factory) -> SmtpServer:
    """A server that requires STARTTLS before MAIL."""
    return smtp_server_factory(security="starttls")


@pytest.fixture
def smtp_server_ssl(smtp_server_factory) -> SmtpServer:
    """A server speaking implicit TLS (like port 465)."""
    return smtp_server_factory(security="ssl")


@pytest.fixture
def smtp_server_auth(smtp_server_factory) -> SmtpServer:
    """A STARTTLS server that requires AUTH with AUTH_USER / AUTH_PASSWORD."""
    return smtp_server_factory(security="starttls", credentials={AUTH_USER: AUTH_PASSWORD})
