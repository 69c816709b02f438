"""The Dokumente page through Streamlit's AppTest: upload, list, preview, delete dialog."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kms import auth
from kms.config import ROOT
from kms.db import ensure_migrated, session_scope
from kms.modules.contacts.service import create_person
from kms.modules.documents import service
from kms.modules.documents.models import Document
from tests.modules.documents import samples
from tests.modules.documents.conftest import stored_files


def _unescape(text: str) -> str:
    """What the user reads of a Markdown text escaped by kms.ui.text.plain."""
    import re

    return re.sub(r"\\(.)", r"\1", text)


def _walk(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None) or {}
    for child in children.values():
        yield from _walk(child)


def _texts(elements: Any) -> list[str]:
    return [_unescape(str(e.value)) for e in elements]


@pytest.fixture
def erika() -> int:
    """A login and a person "Erika Mustermann"; returns the person's id."""
    ensure_migrated()
    with session_scope() as session:
        auth.create_user(
            session,
            username="erika",
            password="Muster-Passwort-2026",
            display_name="Erika Mustermann",
            is_owner=True,
        )
        return create_person(session, first_name="Erika", last_name="Mustermann").id


def open_page(**state: Any) -> AppTest:
    """The Dokumente page, logged in, run through app.py like a deep link."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.switch_page("pages/dokumente.py")
    for key, value in state.items():
        at.session_state[key] = value
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    at.session_state["name"] = "Erika Mustermann"
    at.session_state["logout"] = False
    at.session_state["kms_login_at"] = time.time()
    return at.run()


def assert_no_live_html(at: AppTest) -> None:
    """Nothing on the page is rendered as HTML: no st.html, no unsafe_allow_html."""
    nodes = [n for root in (at.main, at.sidebar) for n in _walk(root)]
    assert not [n for n in nodes if n.type == "html"]
    assert not [n for n in nodes if getattr(getattr(n, "proto", None), "allow_html", False)]


def click(at: AppTest, label: str) -> AppTest:
    buttons = [b for b in at.button if b.label == label]
    assert len(buttons) == 1, [b.label for b in at.button]
    return buttons[0].click().run()


def _store(content: bytes, filename: str, doc_type: str = "upload", **kw: Any) -> int:
    with session_scope() as session:
        if doc_type in ("upload", "other", "received_invoice"):
            doc = service.upload(
                session, content=content, filename=filename, doc_type=doc_type, **kw
            ).document
        else:
            doc = service.store_generated(
                session,
                content=content,
                filename=filename,
                doc_type=doc_type,
                mime_type=kw.pop("mime_type", "application/pdf"),
                **kw,
            )
        return doc.id


def test_upload_several_files_links_them_and_reports_each(erika: int) -> None:
    """Good files are stored and linked; an empty one is refused with its own message."""
    at = open_page()
    assert not at.exception
    assert "Noch keine Dokumente" in " ".join(_texts(at.info))
    at.file_uploader(key="doc_upload_files").set_value(
        [
            ("Angebot.pdf", samples.pdf("Angebot"), "application/pdf"),
            ("leer.txt", b"", "text/plain"),
        ]
    )
    at.multiselect(key="doc_upload_contacts").select(erika)
    at.text_input(key="doc_upload_tags").input("Angebot, 2026")
    at = click(at, "Hochladen")
    assert not at.exception
    assert _texts(at.success) == ["„Angebot.pdf“ wurde gespeichert."]
    assert _texts(at.error) == ["„leer.txt“ ist leer (0 Bytes) und wurde nicht gespeichert."]
    table = at.dataframe[0].value
    assert list(table["Dateiname"]) == ["Angebot.pdf"]
    assert list(table["Kontakte"]) == ["Erika Mustermann"]
    assert list(table["Schlagwörter"]) == ["2026, Angebot"]
    assert len(stored_files()) == 1


def test_hostile_file_name_is_shown_as_text_only(erika: int) -> None:
    """A name full of Markdown and HTML appears literally, never as markup."""
    name = "**fett** <img src=x onerror=alert(1)> [klick](javascript:alert(1)).pdf"
    doc_id = _store(samples.pdf("x"), name, title=name)
    at = open_page()
    at.selectbox(key="doc_pick").select(doc_id)
    at = at.run()
    assert not at.exception
    assert _texts(at.subheader)[0] == name  # then "Backups" (kms.backups.ui) and "Funktionen"
    assert at.subheader[0].value.startswith(r"\*\*fett\*\* \<img")
    assert_no_live_html(at)


def test_delete_asks_for_confirmation_and_removes_file_and_record(erika: int) -> None:
    """Abbrechen keeps the document; Endgültig löschen removes record and file."""
    doc_id = _store(samples.pdf("weg"), "weg.pdf")
    at = open_page()
    at.selectbox(key="doc_pick").select(doc_id)
    at = click(at.run(), "Löschen")
    assert "Endgültig löschen" in [b.label for b in at.button]
    assert any("endgültig gelöscht" in t for t in _texts(at.markdown))
    at = click(at, "Abbrechen")
    assert "Endgültig löschen" not in [b.label for b in at.button]
    assert len(stored_files()) == 1

    at = click(at, "Löschen")
    at = click(at, "Endgültig löschen")
    assert not at.exception
    assert _texts(at.success) == ["„weg.pdf“ wurde gelöscht."]
    with session_scope(write=False) as session:
        assert session.scalar(select(Document.id)) is None
    assert stored_files() == []


def test_retained_document_cannot_be_deleted_and_says_until_when(erika: int) -> None:
    """An invoice shows "aufbewahrungspflichtig bis 31.12.2034" and no usable delete button."""
    doc_id = _store(samples.pdf("R-1"), "R-1.pdf", doc_type="invoice", issued_on=date(2026, 1, 15))
    at = open_page()
    at.selectbox(key="doc_pick").select(doc_id)
    at = at.run()
    delete = next(b for b in at.button if b.label == "Löschen")
    assert delete.disabled
    assert any("aufbewahrungspflichtig bis 31.12.2034" in t for t in _texts(at.caption))


def test_previews_pdf_as_image_text_as_code_and_never_svg(erika: int) -> None:
    """PDF pages render as images, text shows as code, SVG gets a notice instead of markup."""
    pdf_id = _store(samples.pdf("Vorschau", pages=2), "v.pdf")
    txt_id = _store(b"<b>kein HTML</b>\nZeile 2", "notiz.txt")
    svg_id = _store(samples.SVG, "grafik.svg")
    at = open_page()
    at.selectbox(key="doc_pick").select(pdf_id)
    at = at.run()
    assert not at.exception
    images = at.get("image")
    assert len(images) == 1 and images[0].captions == ["Seite 1"]
    at.number_input(key=f"doc_preview_page_{pdf_id}").set_value(2)
    at = at.run()
    assert at.get("image")[0].captions == ["Seite 2"]

    at.selectbox(key="doc_pick").select(txt_id)
    at = at.run()
    assert [c.value for c in at.code] == ["<b>kein HTML</b>\nZeile 2"]

    at.selectbox(key="doc_pick").select(svg_id)
    at = at.run()
    assert not at.get("image")
    assert any(
        "SVG-Grafiken zeigt KMS aus Sicherheitsgründen nicht an" in t for t in _texts(at.info)
    )
    assert_no_live_html(at)


def test_backups_are_hidden_until_asked_for(erika: int) -> None:
    """The list hides backups by default; unticking the box shows them."""
    _store(samples.pdf("Brief"), "brief.pdf")
    _store(
        samples.zipped({"db": b"1"}), "backup.zip", doc_type="backup", mime_type="application/zip"
    )
    at = open_page()
    assert list(at.dataframe[0].value["Dateiname"]) == ["brief.pdf"]
    at.checkbox(key="doc_hide_backups").uncheck()
    at = at.run()
    assert sorted(at.dataframe[0].value["Dateiname"]) == ["backup.zip", "brief.pdf"]
    at.multiselect(key="doc_types").select("backup")
    at = at.run()
    assert list(at.dataframe[0].value["Typ"]) == ["Backup"]


def test_size_limit_is_editable_on_the_page(erika: int) -> None:
    """The Höchstgröße setting is saved and shown at the uploader."""
    at = open_page()
    field = next(n for n in at.number_input if n.label.startswith("Höchstgröße"))
    field.set_value(5)
    save = [b for b in at.button if b.label == "Speichern"]
    at = save[-1].click().run()
    assert "Gespeichert." in _texts(at.success)
    at = at.run()
    assert at.file_uploader(key="doc_upload_files").label == "Dateien (höchstens 5 MB je Datei)"
    with session_scope(write=False) as session:
        assert service.max_upload_mb(session) == 5


def test_contact_panel_lists_only_that_contacts_documents(erika: int) -> None:
    """The contact detail view's panel shows the contact's documents and an upload form."""
    with session_scope() as session:
        other = create_person(session, first_name="Max", last_name="Mustermann").id
    _store(samples.pdf("Erika"), "erika.pdf", contact_ids=[erika])
    _store(samples.pdf("Max"), "max.pdf", contact_ids=[other])

    def script(contact_id: int) -> None:
        from kms.modules.documents.ui import panel

        panel(contact_id)

    at = AppTest.from_function(script, args=(erika,), default_timeout=30)
    # The panel runs inside a contact page, after the login gate: erika is logged in (roles).
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Alle Dokumente dieses Kontakts", "Hochladen"]
    assert list(at.dataframe[0].value["Dateiname"]) == ["erika.pdf"]
    at.file_uploader(key=f"doc_panel_upload_{erika}_files").set_value(
        ("Notiz.txt", "Rückruf am Montag".encode(), "text/plain")
    )
    at = click(at, "Hochladen")
    assert _texts(at.success) == ["„Notiz.txt“ wurde gespeichert."]
    with session_scope(write=False) as session:
        listed = service.list_documents(session, contact_id=erika)
        assert sorted(d.filename for d in listed.items) == ["Notiz.txt", "erika.pdf"]


def test_list_opened_from_a_contact_is_filtered_to_that_contact(erika: int) -> None:
    """The panel's "Alle Dokumente dieses Kontakts" preset filters the Dokumente list."""
    with session_scope() as session:
        other = create_person(session, first_name="Max", last_name="Mustermann").id
    _store(samples.pdf("Erika"), "erika.pdf", contact_ids=[erika])
    _store(samples.pdf("Max"), "max.pdf", contact_ids=[other])
    at = open_page(doc_contact=other)
    assert not at.exception
    assert list(at.dataframe[0].value["Dateiname"]) == ["max.pdf"]


def test_contact_panel_lists_an_upload_at_once(erika: int) -> None:
    """The first upload to a contact: right after "Hochladen" the panel lists it, and no longer
    says "Noch keine Dokumente zu diesem Kontakt." (it did until a reload)."""

    def script(contact_id: int) -> None:
        from kms.modules.documents.ui import panel

        panel(contact_id)

    at = AppTest.from_function(script, args=(erika,), default_timeout=30)
    # The panel runs inside a contact page, after the login gate: erika is logged in (roles).
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    at.run()
    assert "Noch keine Dokumente zu diesem Kontakt." in _texts(at.caption)
    at.file_uploader(key=f"doc_panel_upload_{erika}_files").set_value(
        ("Notiz.txt", "Rückruf am Montag".encode(), "text/plain")
    )
    at = click(at, "Hochladen")
    assert not at.exception
    assert "Noch keine Dokumente zu diesem Kontakt." not in _texts(at.caption)
    assert list(at.dataframe[0].value["Dateiname"]) == ["Notiz.txt"]
    assert _texts(at.success) == ["„Notiz.txt“ wurde gespeichert."]


def test_title_applies_to_every_file_of_a_multi_upload(erika: int) -> None:
    """Two files with the title "Vertrag 2026/01": both carry it, "/" included."""
    at = open_page()
    at.file_uploader(key="doc_upload_files").set_value(
        [
            ("a.txt", b"Seite eins", "text/plain"),
            ("b.txt", b"Seite zwei", "text/plain"),
        ]
    )
    at.text_input(key="doc_upload_title").input("Vertrag 2026/01")
    at = click(at, "Hochladen")
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(zip(table["Titel"], table["Dateiname"], strict=True)) == [
        ("Vertrag 2026/01", "a.txt"),
        ("Vertrag 2026/01", "b.txt"),
    ]


def test_too_long_title_is_refused_with_a_message(erika: int) -> None:
    """A 250-character title is not cut silently: a German message names the length and
    nothing is stored."""
    title = "Protokoll " + "x" * 240
    at = open_page()
    at.file_uploader(key="doc_upload_files").set_value(("a.txt", b"Inhalt", "text/plain"))
    at.text_input(key="doc_upload_title").input(title)
    at = click(at, "Hochladen")
    assert not at.exception
    assert any("250 Zeichen" in e and "höchstens 200" in e for e in _texts(at.error))
    with session_scope(write=False) as session:
        assert session.scalar(select(Document.id)) is None
