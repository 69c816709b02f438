"""Shared pytest configuration: make the SMTP test fixtures available to every test module."""

from tests.smtp_fixtures import (  # noqa: F401 - pytest discovers fixtures by name
    smtp_server,
    smtp_server_auth,
    smtp_server_factory,
    smtp_server_ssl,
    smtp_server_starttls,
    tls_material,
)
