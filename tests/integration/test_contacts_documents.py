"""Kunden and Dokumente work together: references block deletion, Auskunft carries files."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy.orm import Session

from kms.errors import KmsError
from kms.modules.contacts import service as contacts
from kms.modules.contacts.privacy import subject_access
from kms.modules.documents import service as documents

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _person_with_document(session: Session) -> int:
    person = contacts.create_person(
        session, first_name="Erika", last_name="Mustermann", email="erika@example.org"
    )
    documents.upload(
        session, content=PDF, filename="angebot.pdf", contact_ids=[person.id], title="Angebot"
    )
    session.commit()
    return person.id


def test_a_contact_with_documents_can_be_archived_but_not_deleted(session: Session) -> None:
    """The documents module's reference counter makes delete refuse and name the documents."""
    person_id = _person_with_document(session)
    assert contacts.reference_counts(session, person_id) == {"Dokumente": 1}
    with pytest.raises(KmsError, match="Dokumente: 1"):
        contacts.delete_contact(session, person_id)
    session.rollback()
    assert contacts.archive_contact(session, person_id).archived_at is not None


def test_auskunft_zip_contains_the_persons_documents(session: Session) -> None:
    """Art. 15 DSGVO: the Auskunft lists the document and carries its original bytes."""
    person_id = _person_with_document(session)
    archive = zipfile.ZipFile(io.BytesIO(subject_access(session, person_id)))
    report = json.loads(archive.read("auskunft.json"))
    listed = report["Daten"]["Dokumente"]
    assert listed[0]["Titel"] == "Angebot"
    member = listed[0]["Datei"]["angebot.pdf"]["Datei"]
    assert archive.read(member) == PDF
