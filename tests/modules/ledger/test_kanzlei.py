"""Kanzleipaket: member list, Belegarchiv index against the stored receipts, empty period,
no overwrite, nothing left behind on failure."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date, datetime
from pathlib import Path
from zipfile import ZipFile

import pytest
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.documents import service as documents
from kms.modules.ledger import datev, kanzlei
from kms.modules.ledger.models import Account

from .conftest import expense, income

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CREATED = datetime(2026, 7, 1, 8, 0, 0)


def _csv(zf: ZipFile, name: str) -> list[list[str]]:
    text = zf.read(name).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_package_members_and_belegarchiv(session: Session, bank: Account, tmp_path: Path) -> None:
    datev.save_settings(session, advisor_number="1001", client_number="1", chart="03")
    a = income(session, bank, date(2026, 2, 2), ("119.00", "erloese", "U19"),
               receipt_number="RE-1", receipt=("rechnung.pdf", PDF))  # fmt: skip
    b = expense(session, bank, date(2026, 4, 20), ("59.50", "buerobedarf", "V19"),
                receipt=("quittung büro.pdf", PDF + b"% zwei\n"))  # fmt: skip
    c = expense(session, bank, date(2026, 5, 1), ("8.50", "porto", "NSTB"))
    outside = expense(session, bank, date(2026, 7, 1), ("1.00", "porto", "NSTB"),
                      receipt=("juli.pdf", PDF + b"% drei\n"))  # fmt: skip
    session.commit()
    target = tmp_path / "paket.zip"
    seen: list[float] = []
    result = kanzlei.build(session, date(2026, 1, 1), date(2026, 6, 30), target,
                           created=CREATED, progress=lambda f, _m: seen.append(f))  # fmt: skip
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert not list(tmp_path.glob(".*.part"))
    with ZipFile(target) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
        assert sorted(names) == sorted(result.members)
        receipts = sorted(n for n in names if n.startswith("Belegarchiv/") and n.endswith(".pdf"))
        assert receipts == [
            f"Belegarchiv/2026-02-02_D{a.document_id}_rechnung.pdf",
            f"Belegarchiv/2026-04-20_D{b.document_id}_quittung_büro.pdf",
        ]
        assert sorted(set(names) - set(receipts)) == [
            "Anlagenverzeichnis_2026.csv", "Belegarchiv/Belegindex.csv",
            "EXTF_Buchungsstapel_20260101_20260630.csv",
            "EÜR_2026.csv", "Journal.csv", "README.txt", "USt-Voranmeldung_2026-Q1.csv",
            "USt-Voranmeldung_2026-Q2.csv",
        ]  # fmt: skip
        index = _csv(zf, "Belegarchiv/Belegindex.csv")
        assert index[0][0] == "Buchung" and len(index) == 3
        for row in index[1:]:
            booking_id, doc_id, name, sha = int(row[0]), int(row[7]), row[8], row[9]
            assert booking_id in (a.id, b.id) and booking_id != outside.id
            stored = documents.get_document(session, doc_id)
            content = zf.read(f"Belegarchiv/{name}")
            assert hashlib.sha256(content).hexdigest() == sha == stored.blob.sha256
            assert content == documents.read_bytes(stored)
        journal = _csv(zf, "Journal.csv")
        assert [r[0] for r in journal[1:]] == [str(a.id), str(b.id), str(c.id)]
        assert journal[1][10] == "119,00" and journal[1][16].endswith("rechnung.pdf")
        readme = zf.read("README.txt").decode("utf-8")
        assert "KEIN DATEV-Import" in readme and "01.01.2026 bis 30.06.2026" in readme
        extf = zf.read("EXTF_Buchungsstapel_20260101_20260630.csv").decode("cp1252")
        assert extf.startswith('"EXTF";700;21;"Buchungsstapel";13;') and extf.count("\r\n") == 5
        ustva = _csv(zf, "USt-Voranmeldung_2026-Q1.csv")
        assert ustva[0] == ["Kennzahl", "Bezeichnung", "Bemessungsgrundlage", "Steuer"]
    # Never overwritten without asking; with overwrite it is replaced atomically.
    before = target.read_bytes()
    with pytest.raises(KmsError, match="nicht überschrieben"):
        kanzlei.build(session, date(2026, 1, 1), date(2026, 6, 30), target)
    assert target.read_bytes() == before
    kanzlei.build(session, date(2026, 1, 1), date(2026, 1, 31), target, overwrite=True)
    with ZipFile(target) as zf:
        assert "USt-Voranmeldung_2026-Q2.csv" not in zf.namelist()


def test_empty_period_gives_a_valid_package(
    session: Session, bank: Account, tmp_path: Path
) -> None:
    target = tmp_path / "leer.zip"
    result = kanzlei.build(session, date(2025, 1, 1), date(2025, 12, 31), target)
    assert result.bookings == 0 and result.receipts == 0
    with ZipFile(target) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert "EÜR_2025.csv" in names and "Journal.csv" in names
        assert (
            len(_csv(zf, "Journal.csv")) == 1 and len(_csv(zf, "Belegarchiv/Belegindex.csv")) == 1
        )
        # No Berater-Nr. yet: no DATEV file, and the README says why.
        assert not [n for n in names if n.startswith("EXTF")]
        assert "Die DATEV-Datei fehlt" in zf.read("README.txt").decode("utf-8")
    assert any("DATEV-Datei fehlt" in w for w in result.warnings)


def test_fiscal_year_split_and_failure_leaves_nothing(
    session: Session, bank: Account, tmp_path: Path
) -> None:
    datev.save_settings(session, advisor_number="1001", client_number="1", chart="04",
                        fiscal_start="01.07.")  # fmt: skip
    assert kanzlei.datev_parts(session, date(2026, 5, 1), date(2026, 8, 31)) == [
        (date(2026, 5, 1), date(2026, 6, 30)), (date(2026, 7, 1), date(2026, 8, 31)),
    ]  # fmt: skip
    booking = expense(session, bank, date(2026, 5, 5), ("8.50", "porto", "NSTB"),
                      receipt=("beleg.pdf", PDF))  # fmt: skip
    session.commit()
    out = tmp_path / "out"
    out.mkdir()
    target = out / "paket.zip"
    # A stored Beleg that no longer matches its SHA-256: no package, no temporary file.
    stored = documents.path_of(documents.get_document(session, booking.document_id))
    stored.chmod(0o600)
    stored.write_bytes(PDF + b"% manipuliert\n")
    with pytest.raises(KmsError, match="Prüfsumme"):
        kanzlei.build(session, date(2026, 5, 1), date(2026, 8, 31), target)
    assert list(out.iterdir()) == []
    with pytest.raises(KmsError, match="vor seinem Anfang"):
        kanzlei.build(session, date(2026, 5, 1), date(2026, 4, 30), target)
    with pytest.raises(KmsError, match="gibt es nicht"):
        kanzlei.build(session, date(2026, 5, 1), date(2026, 5, 31), tmp_path / "x" / "p.zip")


def test_downloads_are_kept_a_day_and_found_only_by_token(session: Session, bank: Account) -> None:
    import os
    from datetime import timedelta

    from kms.types import utcnow

    token, result = kanzlei.build_for_download(session, date(2026, 1, 1), date(2026, 1, 31))
    assert kanzlei.find_export(token) == result.path and result.path.parent.name == token
    for bad in ("", "..", "../../kms.sqlite3", "a" * 19, token + "/x"):
        assert kanzlei.find_export(bad) is None
    old = (utcnow() - timedelta(hours=25)).timestamp()
    assert kanzlei.prune_exports() == 0  # a fresh package stays
    os.utime(result.path.parent, (old, old))
    assert kanzlei.prune_exports() == 1
    assert kanzlei.find_export(token) is None and not result.path.exists()


def test_package_job_finishes_or_fails_in_german(session: Session, bank: Account) -> None:
    from kms.jobs import FAILED, FINISHED, get_job, wait_all

    booking = expense(session, bank, date(2026, 5, 5), ("8.50", "porto", "NSTB"),
                      receipt=("beleg.pdf", PDF))  # fmt: skip
    session.commit()
    job_id = kanzlei.start_package_job(session, date(2026, 5, 1), date(2026, 5, 31))
    session.commit()
    wait_all(timeout=60)
    job = get_job(session, job_id)
    assert job.status == FINISHED and job.message.startswith("Kanzleipaket mit 1 Buchungen")
    assert kanzlei.find_export(job.result["token"]) is not None
    stored = documents.path_of(documents.get_document(session, booking.document_id))
    stored.chmod(0o600)
    stored.write_bytes(PDF + b"% manipuliert\n")
    failing = kanzlei.start_package_job(session, date(2026, 5, 1), date(2026, 5, 31))
    session.commit()
    wait_all(timeout=60)
    session.expire_all()
    job = get_job(session, failing)
    assert job.status == FAILED and "Prüfsumme" in job.message
