"""Add-on licences: signed, verified, installed, expiring."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from kms import licensing
from kms.errors import KmsError
from kms.notices import USERS, banner


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> str:
    """A vendor key pair whose public key KMS trusts; returns the private key."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    return private


def test_installed_licence_unlocks_the_module_until_its_last_day(
    session: Session, vendor: str
) -> None:
    """require() passes while the licence is valid and raises ModuleLocked afterwards."""
    token = licensing.issue(
        vendor, module="podcasts", licensee="Musterfirma", valid_until=date(2026, 12, 31)
    )
    with pytest.raises(licensing.ModuleLocked, match="nicht lizenziert"):
        licensing.require(session, "podcasts")
    licensing.install(session, token)
    session.commit()
    assert licensing.is_licensed(session, "podcasts", date(2026, 12, 31))
    assert not licensing.is_licensed(session, "podcasts", date(2027, 1, 1))
    assert not licensing.is_licensed(session, "pricing", date(2026, 6, 1))


def test_forged_or_foreign_tokens_are_refused(session: Session, vendor: str) -> None:
    """A token signed by another key, a changed payload or garbage never installs."""
    other_private, _ = licensing.generate_keypair()
    foreign = licensing.issue(
        other_private, module="podcasts", licensee="X", valid_until=date(2099, 1, 1)
    )
    with pytest.raises(KmsError, match="Signatur"):
        licensing.install(session, foreign)
    genuine = licensing.issue(vendor, module="pricing", licensee="X", valid_until=date(2026, 1, 1))
    payload, signature = genuine.split(".")
    forged_payload = licensing._b64(licensing._unb64(payload).replace(b"2026-01-01", b"2099-01-01"))
    with pytest.raises(KmsError, match="Signatur"):
        licensing.install(session, f"{forged_payload}.{signature}")
    with pytest.raises(KmsError, match="kein gültiger"):
        licensing.install(session, "not-a-licence")


def test_licence_watch_warns_before_expiry_in_the_banner(
    session: Session, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty days before the end of a licensed add-on's licence the banner warns."""
    from kms.registry import ModuleSpec

    monkeypatch.setattr(
        "kms.registry.modules",
        lambda: (ModuleSpec(key="podcasts", title="Podcasts", licensed=True),),
    )
    now = datetime(2026, 12, 10, 9, tzinfo=UTC)
    licensing.install(
        session,
        licensing.issue(
            vendor, module="podcasts", licensee="X", valid_until=(now + timedelta(days=10)).date()
        ),
    )
    message = licensing.licence_watch(session, now)
    session.commit()
    assert "in 10 Tagen" in message
    assert any(
        "Podcasts" in text for _, text in banner(session, now, audience=USERS).system_warnings
    )


def test_a_licence_ends_at_midnight_in_germany_not_in_utc(
    session: Session, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 23:30 UTC on its last day it is already the next day in Berlin: the add-on locks,
    and the licence watch says so, too."""
    from kms.registry import ModuleSpec

    token = licensing.issue(
        vendor, module="podcasts", licensee="Musterfirma", valid_until=date(2026, 12, 31)
    )
    licensing.install(session, token)
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 January in Berlin
    monkeypatch.setattr("kms.types.utcnow", lambda: late)
    assert not licensing.is_licensed(session, "podcasts")
    monkeypatch.setattr("kms.types.utcnow", lambda: late - timedelta(hours=1))
    assert licensing.is_licensed(session, "podcasts")
    addon = ModuleSpec(key="podcasts", title="Podcasts", licensed=True)
    monkeypatch.setattr("kms.registry.modules", lambda: (addon,))
    assert "abgelaufen" in licensing.licence_watch(session, late)
