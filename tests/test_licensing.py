"""Add-on licences: signed, bound to the instance, verified every time, expiring in Berlin."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from kms import licensing
from kms.audit import record
from kms.errors import KmsError
from kms.models import get_value, set_value
from kms.notices import USERS, banner
from kms.registry import ModuleSpec

ADDONS = (
    ModuleSpec(key="podcasts", title="Podcasts", licensed=True),
    ModuleSpec(key="pricing", title="Preiskalkulation", licensed=True),
    ModuleSpec(key="contacts", title="Kunden"),
)
Issue = Callable[..., str]


@pytest.fixture(autouse=True)
def addons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two licensed add-ons and a core module are registered; no demo process."""
    monkeypatch.setattr("kms.registry.modules", lambda: ADDONS)
    monkeypatch.delenv(licensing.DEMO_ENV, raising=False)


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> str:
    """A vendor key pair whose public key KMS trusts (operator config); the private key."""
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    return private


@pytest.fixture
def issue(session: Session, vendor: str) -> Issue:
    """Issue a licence for this instance (keyword arguments override)."""

    def make(**kwargs: object) -> str:
        values: dict[str, object] = {
            "module": "podcasts",
            "licensee": "Musterfirma",
            "instance": licensing.instance_id(session),
            "valid_from": date(2026, 1, 1),
            "valid_until": date(2026, 12, 31),
        }
        values.update(kwargs)
        return licensing.issue(vendor, **values)  # type: ignore[arg-type]

    return make


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _payload(token: str) -> dict[str, object]:
    data = json.loads(licensing._unb64(token.split(".")[0]))
    assert isinstance(data, dict)
    return data


def _resign(private: str, data: dict[str, object]) -> str:
    """A token over an arbitrary payload, correctly signed (to test the field checks)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    payload = json.dumps(data).encode()
    key = Ed25519PrivateKey.from_private_bytes(licensing._unb64(private))
    return f"{licensing._b64(payload)}.{licensing._b64(key.sign(payload))}"


def test_the_token_carries_exactly_the_documented_fields(session: Session, issue: Issue) -> None:
    """Payload: format version, key id, licence id, module, licensee, instance, period, issue."""
    token = issue()
    data = _payload(token)
    assert set(data) == {
        "v",
        "kid",
        "lid",
        "module",
        "licensee",
        "instance",
        "valid_from",
        "valid_until",
        "issued_at",
    }
    assert data["v"] == 1
    assert data["instance"] == licensing.instance_id(session)
    assert data["valid_until"] == "2026-12-31"


def test_the_instance_id_is_made_once_and_kept(session: Session) -> None:
    first = licensing.instance_id(session)
    assert first.startswith("kms-")
    assert licensing.instance_id(session) == first
    assert licensing.stored_instance_id(session) == first


def test_installed_licence_unlocks_the_module_until_its_last_day(
    session: Session, issue: Issue
) -> None:
    """require() passes while the licence is valid and raises ModuleLocked before/after."""
    with pytest.raises(licensing.ModuleLocked, match="nicht lizenziert"):
        licensing.require(session, "podcasts")
    licensing.install(session, issue())
    session.commit()
    assert licensing.is_licensed(session, "podcasts", date(2026, 12, 31))
    assert not licensing.is_licensed(session, "podcasts", date(2027, 1, 1))
    assert not licensing.is_licensed(session, "podcasts", date(2025, 12, 31))
    assert not licensing.is_licensed(session, "pricing", date(2026, 6, 1))


def test_boundary_days_are_days_in_berlin(
    session: Session, issue: Issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Valid from 00:00 Berlin on the first day to 23:59:59 Berlin on the last (CET and CEST)."""
    licensing.install(session, issue(valid_from=date(2026, 6, 1), valid_until=date(2026, 12, 31)))
    state = licensing.state
    # 1 June 00:00 CEST is 31 May 22:00 UTC
    assert state(session, "podcasts", now=_at("2026-05-31T21:59:59")).status == licensing.NOT_YET
    assert state(session, "podcasts", now=_at("2026-05-31T22:00:00")).status == licensing.ACTIVE
    # 31 December 23:59:59 CET is 22:59:59 UTC
    assert state(session, "podcasts", now=_at("2026-12-31T22:59:59")).status == licensing.ACTIVE
    late = _at("2026-12-31T23:00:00")
    assert state(session, "podcasts", now=late).status == licensing.EXPIRED
    monkeypatch.setattr("kms.types.utcnow", lambda: late)
    with pytest.raises(licensing.ModuleLocked, match=r"seit 01\.01\.2027 abgelaufen"):
        licensing.require(session, "podcasts")
    monkeypatch.setattr("kms.types.utcnow", lambda: late - timedelta(seconds=1))
    licensing.require(session, "podcasts")
    licensing.require("podcasts", session)  # the other argument order works as well


def test_expired_keeps_data_until_the_retention_ends_then_purge_is_due(
    session: Session, issue: Issue
) -> None:
    """Expired: locked, since when and until when kept; after 180 days (setting) purge due."""
    licensing.install(session, issue())
    expired = licensing.state(session, "podcasts", now=_at("2027-01-10T12:00:00"))
    assert expired.status == licensing.EXPIRED
    assert not expired.usable
    text = expired.describe()
    assert "seit 01.01.2027 abgelaufen" in text
    assert "bis 30.06.2029" not in text
    assert "bis 30.06.2027 erhalten" in text  # 1 January + 180 days
    due = licensing.state(session, "podcasts", now=_at("2027-06-30T12:00:00"))
    assert due.status == licensing.PURGE_DUE
    assert "gelöscht" in due.describe()
    licensing.set_retention_days(session, 365)
    longer = licensing.state(session, "podcasts", now=_at("2027-06-30T12:00:00"))
    assert longer.status == licensing.EXPIRED
    with pytest.raises(KmsError, match="mindestens 30 Tage"):
        licensing.set_retention_days(session, 0)


def test_a_new_licence_before_the_purge_unlocks_again(session: Session, issue: Issue) -> None:
    licensing.install(session, issue())
    later = _at("2027-03-01T12:00:00")
    assert licensing.state(session, "podcasts", now=later).status == licensing.EXPIRED
    licensing.install(session, issue(valid_from=date(2027, 1, 1), valid_until=date(2027, 12, 31)))
    assert licensing.state(session, "podcasts", now=later).status == licensing.ACTIVE


def test_forged_or_foreign_tokens_are_refused(session: Session, issue: Issue) -> None:
    """A token signed by another key, a changed payload or garbage never installs."""
    other_private, _ = licensing.generate_keypair()
    foreign = licensing.issue(
        other_private,
        module="podcasts",
        licensee="X",
        instance=licensing.instance_id(session),
        valid_until=date(2099, 1, 1),
    )
    with pytest.raises(KmsError, match="Signatur"):
        licensing.install(session, foreign)
    payload, signature = issue().split(".")
    forged_payload = licensing._b64(licensing._unb64(payload).replace(b"2026-12-31", b"2099-12-31"))
    with pytest.raises(KmsError, match="Signatur"):
        licensing.install(session, f"{forged_payload}.{signature}")
    for garbage in ("not-a-licence", "a.b.c", "äöü.xyz", ""):
        with pytest.raises(KmsError, match="kein gültiger"):
            licensing.install(session, garbage)
    assert get_value(session, licensing.LICENCES_KEY) is None


def test_unknown_fields_modules_and_other_instances_are_refused(
    session: Session, issue: Issue, vendor: str
) -> None:
    data = _payload(issue())
    with pytest.raises(KmsError, match="unbekannte oder fehlende"):
        licensing.install(session, _resign(vendor, {**data, "unlimited": True}))
    without = {k: v for k, v in data.items() if k != "licensee"}
    with pytest.raises(KmsError, match="unbekannte oder fehlende"):
        licensing.install(session, _resign(vendor, without))
    with pytest.raises(KmsError, match="Lizenzformat"):
        licensing.install(session, _resign(vendor, {**data, "v": 2}))
    with pytest.raises(KmsError, match="„ledger“ gibt es in dieser KMS-Version nicht"):
        licensing.install(session, issue(module="ledger"))
    with pytest.raises(KmsError, match="„contacts“ gibt es"):
        licensing.install(session, issue(module="contacts"))  # core modules need none
    with pytest.raises(KmsError, match="andere Instanz"):
        licensing.install(session, issue(instance="kms-0000000000000000"))
    with pytest.raises(KmsError, match="„bis“ liegt vor „ab“"):
        issue(valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 31))


def test_keys_in_the_database_are_never_trusted(session: Session, issue: Issue) -> None:
    """Only release code and KMS_LICENSE_PUBLIC_KEYS hold trusted keys: a licence from an
    unknown key does not verify even if someone put its public key into the key-value store."""
    other_private, other_public = licensing.generate_keypair()
    set_value(session, "KMS_LICENSE_PUBLIC_KEYS", other_public)
    set_value(session, "licences.public_keys", [other_public])
    token = licensing.issue(
        other_private,
        module="podcasts",
        licensee="X",
        instance=licensing.instance_id(session),
        valid_until=date(2099, 1, 1),
    )
    with pytest.raises(KmsError, match="unbekannter Schlüssel"):
        licensing.install(session, token)


def test_a_hand_edited_database_row_does_not_unlock(
    session: Session, issue: Issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored token is verified on every use: a changed valid_until is just a bad token."""
    licensing.install(session, issue())
    session.commit()
    monkeypatch.setattr("kms.types.utcnow", lambda: _at("2027-02-01T10:00:00"))
    with pytest.raises(licensing.ModuleLocked):
        licensing.require(session, "podcasts")
    token = get_value(session, licensing.LICENCES_KEY)["podcasts"]
    signature = token.split(".")[1]
    data = _payload(token)
    edited = licensing._b64(json.dumps({**data, "valid_until": "2099-12-31"}).encode())
    set_value(session, licensing.LICENCES_KEY, {"podcasts": f"{edited}.{signature}"})
    session.commit()
    with pytest.raises(licensing.ModuleLocked, match="nicht lizenziert"):
        licensing.require(session, "podcasts")
    # a valid licence of another module stored under this module's key does not count either
    pricing = issue(module="pricing", valid_until=date(2099, 12, 31))
    set_value(session, licensing.LICENCES_KEY, {"podcasts": pricing})
    assert "podcasts" not in licensing.installed(session)


def test_a_clock_behind_the_audit_log_locks_every_add_on(
    session: Session, issue: Issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting the clock back into the licence period does not help: the audit log remembers."""
    licensing.install(session, issue())
    record(session, entity="test", entity_id=1, action="created", at=_at("2027-03-01T09:00:00"))
    session.commit()
    rolled_back = _at("2026-06-01T09:00:00")
    assert licensing.state(session, "podcasts", now=rolled_back).status == licensing.SUSPICIOUS
    monkeypatch.setattr("kms.types.utcnow", lambda: rolled_back)
    with pytest.raises(licensing.ModuleLocked, match="Systemuhr"):
        licensing.require(session, "podcasts")
    # a few minutes' difference (two servers, NTP) is no rollback
    fine = _at("2027-03-01T08:55:00")
    assert licensing.state(session, "podcasts", now=fine).status == licensing.EXPIRED


def test_a_normal_process_refuses_demo_licences(session: Session) -> None:
    """The demo key is public: its licences count only in a process started for the demo."""
    instance = licensing.instance_id(session, demo=True)
    assert instance.startswith("demo-")
    token = licensing.issue_demo(instance)["podcasts"]
    with pytest.raises(KmsError, match="Demo-Lizenz"):
        licensing.install(session, token)
    set_value(session, licensing.LICENCES_KEY, {"podcasts": token})
    assert licensing.installed(session) == {}


def test_demo_licences_work_only_for_a_demo_instance_and_briefly(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(licensing.DEMO_ENV, "1")
    instance = licensing.instance_id(session)  # a real instance's id
    with pytest.raises(KmsError, match="Demo-Lizenz ist ungültig"):
        licensing.verify(licensing.issue_demo(instance)["podcasts"])
    with pytest.raises(KmsError, match="Demo-Lizenz ist ungültig"):
        licensing.verify(licensing.issue_demo("demo-1", days=365)["podcasts"])
    assert licensing.install_demo(session) == []  # never onto a real instance
    session.rollback()
    assert licensing.install_demo(session) == ["podcasts", "pricing"]
    assert licensing.stored_instance_id(session).startswith("demo-")  # type: ignore[union-attr]
    assert licensing.state(session, "pricing").usable


def test_licence_watch_warns_before_expiry_and_before_purge(session: Session, issue: Issue) -> None:
    """Thirty days before the end of a licence, and before the purge, the banner warns."""
    now = datetime(2026, 12, 21, 9, tzinfo=UTC)
    licensing.install(session, issue())
    message = licensing.licence_watch(session, now)
    session.commit()
    assert "„Podcasts“ läuft in 10 Tagen ab" in message
    assert any(
        "Podcasts" in text for _, text in banner(session, now, audience=USERS).system_warnings
    )
    assert "gelöscht" not in licensing.licence_watch(session, _at("2027-02-01T09:00:00"))
    before_purge = licensing.licence_watch(session, _at("2027-06-20T09:00:00"))
    assert "abgelaufen" in before_purge
    assert "in 10 Tagen gelöscht" in before_purge
    assert "Aufbewahrungsfrist" in licensing.licence_watch(session, _at("2027-07-01T09:00:00"))
    assert licensing.licence_watch(session, _at("2026-06-01T09:00:00")) == "Alle Lizenzen gültig."


def test_a_licence_that_is_not_yet_valid_refuses_until_its_first_day(
    session: Session, issue: Issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    licensing.install(session, issue(valid_from=date(2026, 6, 1), valid_until=date(2026, 12, 31)))
    session.commit()
    monkeypatch.setattr("kms.types.utcnow", lambda: _at("2026-05-15T12:00:00"))
    with pytest.raises(licensing.ModuleLocked, match=r"gilt erst ab 01\.06\.2026"):
        licensing.require(session, "podcasts")
    monkeypatch.setattr("kms.types.utcnow", lambda: _at("2026-06-01T12:00:00"))
    licensing.require(session, "podcasts")


def test_a_licence_for_another_add_on_does_not_unlock_this_one(
    session: Session, issue: Issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    licensing.install(session, issue(module="pricing"))
    session.commit()
    monkeypatch.setattr("kms.types.utcnow", lambda: _at("2026-06-01T12:00:00"))
    licensing.require(session, "pricing")
    with pytest.raises(licensing.ModuleLocked, match="„Podcasts“ ist nicht lizenziert"):
        licensing.require(session, "podcasts")


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "first", "after"),
    [
        # summer time begins on 29 March 2026: the day has 23 hours
        (date(2026, 3, 29), date(2026, 3, 29), "2026-03-28T23:00:00", "2026-03-29T22:00:00"),
        # winter time returns on 25 October 2026: the day has 25 hours
        (date(2026, 10, 25), date(2026, 10, 25), "2026-10-24T22:00:00", "2026-10-25T23:00:00"),
        # a period across both changes, from CET to CET
        (date(2026, 3, 1), date(2026, 10, 31), "2026-02-28T23:00:00", "2026-10-31T23:00:00"),
    ],
)
def test_boundary_days_across_a_daylight_saving_change(
    session: Session,
    issue: Issue,
    valid_from: date,
    valid_until: date,
    first: str,
    after: str,
) -> None:
    """valid_from from 00:00 and valid_until to 23:59:59 Berlin, whatever the offset that day."""
    licensing.install(session, issue(valid_from=valid_from, valid_until=valid_until))
    second = timedelta(seconds=1)

    def status(moment: datetime) -> str:
        return licensing.state(session, "podcasts", now=moment).status

    assert status(_at(first) - second) == licensing.NOT_YET
    assert status(_at(first)) == licensing.ACTIVE
    assert status(_at(after) - second) == licensing.ACTIVE
    assert status(_at(after)) == licensing.EXPIRED
    # the last second is 23:59:59 on valid_until in Berlin
    last = (_at(after) - second).astimezone(licensing.BERLIN)
    assert (last.date(), last.hour, last.minute, last.second) == (valid_until, 23, 59, 59)


def test_a_rolled_back_clock_never_revives_an_expired_licence(
    session: Session, issue: Issue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anything recorded after the end (here: an invoice at 09:00 on 2 January) makes a clock
    set back into the licence period suspicious: the add-on stays locked, and the banner says
    why, while the real time keeps it merely expired."""
    licensing.install(session, issue())
    record(session, entity="invoice", entity_id=7, action="created", at=_at("2027-01-02T08:00:00"))
    session.commit()
    for moment in ("2026-12-31T22:00:00", "2026-06-01T09:00:00", "2027-01-02T07:49:00"):
        current = licensing.state(session, "podcasts", now=_at(moment))
        assert current.status == licensing.SUSPICIOUS, moment
        assert not current.usable
        monkeypatch.setattr("kms.types.utcnow", lambda moment=moment: _at(moment))
        with pytest.raises(licensing.ModuleLocked, match="Systemuhr"):
            licensing.require(session, "podcasts")
        assert not licensing.is_licensed(session, "podcasts")
    assert "Systemuhr" in licensing.licence_watch(session, _at("2026-12-31T22:00:00"))
    assert licensing.state(session, "podcasts", now=_at("2027-01-02T09:00:00")).status == (
        licensing.EXPIRED
    )


def test_the_newest_audit_time_is_read_from_an_index_not_a_scan(session: Session) -> None:
    """Every page asks each add-on's state, which reads the newest audit time (clock
    rollback); on a log of 459,001 events a scan took 68 ms per call. The database must
    answer it from the index on audit_events.at."""
    from sqlalchemy import text

    query = "SELECT max(at) FROM audit_events"
    if session.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in session.execute(text("EXPLAIN QUERY PLAN " + query)))
    else:  # PostgreSQL prefers a scan of an empty table: ask whether it can use the index
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(r[0] for r in session.execute(text("EXPLAIN " + query)))
    assert "ix_audit_events_at" in plan, plan
