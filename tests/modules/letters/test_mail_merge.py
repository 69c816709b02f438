"""▶ Serienbrief: a letter per recipient, skipped ones listed, odd-page print PDF, background."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date

import pdfplumber
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.errors import ValidationError
from kms.jobs import FINISHED, Job
from kms.modules.letters import service
from kms.modules.letters.models import DRAFT, SENT, Letter, MailMerge
from kms.rendering.preview import page_count

pytestmark = pytest.mark.usefixtures("company")

TEXT = "wir haben Neuigkeiten für Sie: ab Dezember auch samstags geöffnet."


@pytest.fixture
def newsletter(session: Session, make_contact) -> dict[str, int]:
    """Three tagged recipients (one without address, one with a two-page letter), one untagged."""
    ids = {
        "erika": make_contact(
            salutation="frau",
            title="Dr.",
            first_name="Erika",
            last_name="Muster",
            tags=("Newsletter",),
            roles=("kunde",),
        ).id,
        "lena": make_contact(
            salutation="frau",
            first_name="Lena",
            last_name="Schmidt",
            street="",
            city="",
            tags=("Newsletter",),
            roles=("kunde",),
        ).id,
        "org": make_contact(
            kind="organisation",
            name="Beispiel Handels GmbH",
            country="AT",
            postcode="1010",
            city="Wien",
            tags=("Newsletter",),
            roles=("kunde",),
        ).id,
        "max": make_contact(salutation="herr", first_name="Max", last_name="Mustermann").id,
    }
    template = service.create_template(
        session, name="Neuigkeiten", subject="Neuigkeiten für {name}", body=TEXT
    )
    ids["template"] = template.id
    session.commit()
    return ids


def wait_for_row(job_id: int, timeout: float = 60) -> Job:
    """Read the job row until it has ended (no UI, no handle on the thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(write=False) as session:
            job = session.get(Job, job_id)
            if not job.is_active:
                return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {timeout} s")


def test_mail_merge_runs_in_the_background_and_reports_skipped_recipients(
    session: Session, newsletter: dict[str, int]
) -> None:
    """Tagged contacts get letters; the one without address is listed; the job row ends at 100 %."""
    job_id = service.start_mail_merge(
        session,
        template_id=newsletter["template"],
        flt=service.RecipientFilter(tag="Newsletter"),
        letter_date=date(2026, 11, 26),
        actor="erika",
    )
    session.commit()  # the work starts with the commit of the request that asked for it
    job = wait_for_row(job_id)  # nobody polls from a page: the row still finishes
    assert job.status == FINISHED, job.message
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    assert job.message == "2 Briefe erzeugt, 1 Empfänger übersprungen (ohne verwendbare Anschrift)."
    with session_scope(write=False) as fresh:
        merge = service.mail_merge_for_job(fresh, job_id)
        assert merge.letter_count == 2
        assert merge.filter_text == "Schlagwort „Newsletter“"
        [skipped] = merge.skipped
        assert skipped["name"] == "Lena Schmidt"
        assert "keine vollständige Anschrift" in skipped["reason"]
        letters = fresh.scalars(
            select(Letter).where(Letter.mail_merge_id == merge.id).order_by(Letter.id)
        ).all()
        assert {letter.contact_id for letter in letters} == {newsletter["erika"], newsletter["org"]}
        assert all(letter.status == DRAFT for letter in letters)
        subjects = sorted(letter.printed_subject for letter in letters)
        assert subjects == [
            "Neuigkeiten für Beispiel Handels GmbH",
            "Neuigkeiten für Dr. Erika Muster",
        ]
        singles = [letter.draft_pdf for letter in letters]
        combined = merge.combined_pdf
        archive = zipfile.ZipFile(io.BytesIO(service.mail_merge_zip(fresh, merge.id)))
        assert sorted(archive.read(n) for n in archive.namelist()) == sorted(singles)
    # One-page letters: the print PDF puts a blank back after the first, so both start odd.
    assert [page_count(pdf) for pdf in singles] == [1, 1]
    with pdfplumber.open(io.BytesIO(combined)) as pdf:
        texts = [page.extract_text() or "" for page in pdf.pages]
    assert len(texts) == 3
    assert [n for n, text in enumerate(texts, 1) if "Neuigkeiten für" in text] == [1, 3]
    assert texts[1].strip() == ""


def test_role_and_kind_filters_are_applied_in_sql(session: Session, newsletter) -> None:
    """Filters combine: customers that are organisations means just the one organisation."""
    flt = service.RecipientFilter(role="kunde", kind="organisation")
    assert service.count_recipients(session, flt) == 1
    assert service.count_recipients(session, service.RecipientFilter()) == 4
    assert flt.describe() == "Rolle Kunde, Organisationen"


def test_empty_selection_is_refused_before_starting(session: Session, newsletter) -> None:
    """No matching contacts: a German message, no job."""
    with pytest.raises(ValidationError, match="keine Kontakte"):
        service.start_mail_merge(
            session,
            template_id=newsletter["template"],
            flt=service.RecipientFilter(tag="Gibt es nicht"),
            letter_date=date(2026, 11, 26),
        )
    assert session.scalar(select(Job.id)) is None


def test_whole_mail_merge_can_be_marked_sent(session: Session, newsletter) -> None:
    """After printing, one action freezes every letter of the run."""
    job_id = service.start_mail_merge(
        session,
        template_id=newsletter["template"],
        flt=service.RecipientFilter(tag="Newsletter"),
        letter_date=date(2026, 11, 26),
    )
    session.commit()
    wait_for_row(job_id)
    session.expire_all()
    merge = session.scalar(select(MailMerge).where(MailMerge.job_id == job_id))
    assert service.mark_mail_merge_sent(session, merge.id, actor="erika") == 2
    statuses = session.scalars(select(Letter.status).where(Letter.mail_merge_id == merge.id))
    assert set(statuses) == {SENT}


def test_mail_merge_with_empty_placeholders_is_not_marked_sent_until_accepted(
    session: Session, newsletter
) -> None:
    """{vorname} is empty for the organisation: marking the run sent names the placeholder
    and the recipient and freezes nothing; accepted, every letter is sent."""
    template = service.create_template(
        session, name="Persönlich", subject="Hallo {vorname}", body=TEXT
    )
    session.commit()
    job_id = service.start_mail_merge(
        session,
        template_id=template.id,
        flt=service.RecipientFilter(tag="Newsletter"),
        letter_date=date(2026, 11, 26),
    )
    session.commit()
    wait_for_row(job_id)
    session.expire_all()
    merge = session.scalar(select(MailMerge).where(MailMerge.job_id == job_id))
    with pytest.raises(service.EmptyPlaceholdersError) as caught:
        service.mark_mail_merge_sent(session, merge.id, actor="erika")
    assert caught.value.names == ["vorname"]
    assert "Beispiel Handels GmbH" in caught.value.message
    session.rollback()
    statuses = session.scalars(select(Letter.status).where(Letter.mail_merge_id == merge.id))
    assert set(statuses) == {DRAFT}
    assert service.mark_mail_merge_sent(session, merge.id, accept_empty=True) == 2
