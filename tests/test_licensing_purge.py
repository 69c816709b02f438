"""Expired add-on data: kept and usable again after renewal; purged only after a retained
backup that "Alte Backups löschen" never deletes; only the purge is recorded."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms import licensing
from kms.audit import AuditEvent
from kms.backups.policy import BackupSettings, plan_prune
from kms.backups.service import create_backup
from kms.backups.store import list_backups
from kms.db import session_scope
from kms.modules.bugreports import service as bugreports
from kms.modules.bugreports.models import BugReport
from kms.modules.settings.licences import licence_purge
from kms.registry import ModuleSpec

# A stand-in add-on whose data lives in the bug_reports table.
ADDON = ModuleSpec(
    key="podcasts", title="Podcasts", licensed=True, models="kms.modules.bugreports.models"
)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _hash(session: Session) -> str:
    rows = session.execute(select(BugReport.__table__).order_by(BugReport.id)).mappings()
    return hashlib.sha256(json.dumps([dict(r) for r in rows], default=str).encode()).hexdigest()


@pytest.fixture
def licensed(monkeypatch: pytest.MonkeyPatch, db_url: str) -> str:
    """The add-on licensed for 2026, with two records; returns the vendor's private key."""
    monkeypatch.setattr("kms.registry.modules", lambda: (ADDON,))
    monkeypatch.delenv(licensing.DEMO_ENV, raising=False)
    private, public = licensing.generate_keypair()
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", public)
    with session_scope() as session:
        _install(session, private, date(2026, 1, 1), date(2026, 12, 31))
        bugreports.create_report(session, title="Erster", description="Eins")
        bugreports.create_report(session, title="Zweiter", description="Zwei")
    return private


def _install(session: Session, private: str, start: date, end: date) -> None:
    token = licensing.issue(
        private,
        module="podcasts",
        licensee="Musterfirma",
        instance=licensing.instance_id(session),
        valid_from=start,
        valid_until=end,
    )
    licensing.install(session, token)


def test_renewal_before_the_purge_gives_back_identical_data(licensed: str) -> None:
    with session_scope(write=False) as session:
        before = _hash(session)
        assert licensing.state(session, "podcasts", now=_at("2026-12-01T09:00:00")).usable
    expired = _at("2027-03-01T09:00:00")
    with session_scope() as session:
        assert licence_purge(session, expired) == "Keine Löschung fällig."
        state = licensing.state(session, "podcasts", now=expired)
        assert state.status == licensing.EXPIRED
        warning = licensing.licence_watch(session, _at("2027-06-20T09:00:00"))
        assert "in 10 Tagen gelöscht (2 Datensätze in 1 Tabellen)" in warning
        _install(session, licensed, date(2027, 1, 1), date(2027, 12, 31))
    with session_scope(write=False) as session:
        assert licensing.state(session, "podcasts", now=expired).usable
        assert _hash(session) == before


def test_purge_after_retention_takes_a_retained_backup_first(licensed: str) -> None:
    due = _at("2027-07-01T09:00:00")
    with session_scope(write=False) as session:
        assert licensing.state(session, "podcasts", now=due).status == licensing.PURGE_DUE
    with session_scope() as session:
        message = licence_purge(session, due)
    assert "„Podcasts“: 2 Datensätze gelöscht" in message
    retained = [b for b in list_backups() if b.kind == "retained"]
    assert len(retained) == 1
    assert retained[0].name in message
    with session_scope(write=False) as session:
        assert session.scalars(select(BugReport)).all() == []
        state = licensing.state(session, "podcasts", now=due)
        assert state.status == licensing.PURGED
        assert "gelöscht" in state.describe()
        events = session.scalars(select(AuditEvent).where(AuditEvent.entity == "licence")).all()
        assert [(e.entity_id, e.action) for e in events] == [("podcasts", "purged")]
    with session_scope() as session:  # nothing left to purge: no second backup
        assert licence_purge(session, due) == "Keine Löschung fällig."
    # "Alte Backups löschen" keeps the retained backup however old it gets
    create_backup()
    create_backup()
    plan = plan_prune(list_backups(), BackupSettings(False, 1, 0, 0), _at("2030-01-01T09:00:00"))
    assert retained[0].name in {b.name for b in plan.keep}
    assert plan.delete
