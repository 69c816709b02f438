"""Streamlit parts of Dokumente: upload form, list, detail with preview, delete dialog, panel.

Every text that a user typed (titles, file names, tags, contact names) is shown through
widgets that render it literally (dataframes, captions via plain(), st.code), never as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_size
from kms.modules.documents import routes, service
from kms.modules.documents.filetypes import ALLOWED_TEXT
from kms.modules.documents.models import Document
from kms.rendering.preview import MAX_PREVIEW_PAGES
from kms.types import today
from kms.ui import forms
from kms.ui.forms import CHOOSE, saving
from kms.ui.paging import pager, requested_page
from kms.ui.text import plain

PAGE_SIZE = 25
DELETE_FLAG = "doc_delete_pending"
FLASH = "doc_flash"


@dataclass(frozen=True)
class _Detail:
    """What the detail view shows, read in one short session."""

    title: str
    filename: str
    type_label: str
    doc_type: str
    issued_on: date
    size: str
    sha256: str
    mime: str
    tags: list[str]
    title_raw: str
    contact_ids: list[int]
    is_upload: bool
    retention: str
    stream_url: str  # the logged-in streaming route (documents or backups)


def _labels() -> dict[str, str]:
    return {t.key: t.label for t in service.document_types()}


def _retention_text(retain_until: date | None) -> str:
    return f"bis {format_date(retain_until)}" if retain_until else "keine"


@st.cache_data(max_entries=64, show_spinner=False)
def _pdf_page_png(path: str, sha256: str, index: int) -> bytes:
    """Rendered page, cached by content hash (the path alone could be reused)."""
    return service.render_pdf_page(Path(path), index)


@st.cache_data(max_entries=64, show_spinner=False)
def _image_png(path: str, sha256: str) -> bytes:
    return service.render_image(Path(path))


def show_flash() -> None:
    """A message left by the previous run (e.g. after a dialog closed)."""
    forms.show_flash(FLASH)


def upload_form(key: str, *, contact_id: int | None = None, username: str = "") -> None:
    """Upload one or many files; each is checked and stored on its own (one bad file
    does not stop the others)."""
    upload_flash(key)
    with session_scope(write=False) as session:
        limit_mb = service.max_upload_mb(session)
        choices = {} if contact_id is not None else service.contact_choices(session, limit=500)
    selectable = [t for t in service.document_types() if t.user_selectable]
    with st.form(key, clear_on_submit=True):
        files = st.file_uploader(
            f"Dateien (höchstens {limit_mb} MB je Datei)",
            accept_multiple_files=True,
            # No type=: Streamlit would refuse other files in English; the service checks
            # each file's type and content and answers in German.
            help=f"Erlaubt sind {ALLOWED_TEXT}.",
            max_upload_size=limit_mb,
            key=f"{key}_files",
        )
        c1, c2 = st.columns(2)
        doc_type = c1.selectbox(
            "Dokumenttyp",
            [t.key for t in selectable],
            format_func=service.type_label,
            key=f"{key}_type",
            help="Rechnungen und Eingangsrechnungen bewahrt KMS 8 Jahre auf, Bücher 10 Jahre, "
            "Briefe und Mahnungen 6 Jahre (§ 147 AO, § 14b UStG); so lange lassen sie sich "
            "nicht löschen. Upload und Sonstiges haben keine Aufbewahrungsfrist.",
            placeholder=CHOOSE,
        )
        issued_on = c2.date_input(
            "Datum des Dokuments",
            value=today(),
            format="DD.MM.YYYY",
            key=f"{key}_date",
            help="Ausstellungs- oder Eingangsdatum; danach richtet sich die Aufbewahrungsfrist.",
        )
        contact_ids: list[int] = [contact_id] if contact_id is not None else []
        if contact_id is None:
            contact_ids = st.multiselect(
                "Kontakte",
                list(choices),
                format_func=lambda i: choices.get(i, str(i)),
                key=f"{key}_contacts",
                placeholder="Person oder Organisation wählen …",
            )
        c1, c2 = st.columns(2)
        title = c1.text_input(
            "Titel (optional)",
            key=f"{key}_title",
            help="Gilt für jede der hochgeladenen Dateien; höchstens "
            f"{service.TITLE_MAX} Zeichen (ohne Titel zeigt die Liste den Dateinamen).",
        )
        tags = c2.text_input("Schlagwörter (durch Komma getrennt)", key=f"{key}_tags")
        submitted = st.form_submit_button("Hochladen", type="primary", icon=":material/upload:")
    if not submitted:
        return
    if not files:
        st.warning("Bitte wählen Sie mindestens eine Datei aus.")
        return
    done: list[str] = []
    failed = False
    for file in files:
        with saving({"title": "Titel"}) as result, session_scope() as session:
            outcome = service.upload(
                session,
                content=file,
                filename=file.name,
                doc_type=str(doc_type),
                contact_ids=contact_ids,
                tags=tags,
                title=title,
                issued_on=issued_on,
                created_by=username,
            )
            message = outcome.message
        if result["ok"]:
            done.append(message)
        failed = failed or not result["ok"]
    if done and not failed:
        # Rerun so that every list on the page (a contact's "Noch keine Dokumente …" above
        # this form included) shows the new files; the outcome follows as a flash.
        st.session_state[f"{key}_flash"] = done
        st.rerun()
    for message in done:  # beside the errors, which a rerun would wipe
        st.success(plain(message), icon=":material/check_circle:")


def upload_flash(key: str) -> None:
    """What the last upload of form `key` stored, shown once after its rerun."""
    for message in st.session_state.pop(f"{key}_flash", []):
        st.success(plain(message), icon=":material/check_circle:")


def _rows(documents: list[Document], contacts: dict[int, list[str]]) -> pd.DataFrame:
    labels = _labels()
    return pd.DataFrame(
        [
            {
                "Datum": format_date(d.issued_on),
                "Titel": d.display_title,
                "Dateiname": d.filename,
                "Typ": labels.get(d.doc_type, d.doc_type),
                "Kontakte": ", ".join(contacts.get(d.id, [])),
                "Schlagwörter": ", ".join(d.tag_names),
                "Größe": format_size(d.blob.size),
                "Aufbewahren bis": format_date(d.retain_until) if d.retain_until else "–",
            }
            for d in documents
        ]
    )


def document_list() -> int | None:
    """Filters, one page of documents, and the picker; returns the chosen document id."""
    labels = _labels()
    with session_scope(write=False) as session:
        choices = service.contact_choices(session, limit=500)
        preset = st.session_state.get("doc_contact")
        if preset is not None and preset not in choices:
            # Came from a contact's panel: that contact may lie beyond the picker's limit.
            choices.update(service.contact_labels(session, [preset]))
        tags = service.tag_names(session)
    c1, c2, c3 = st.columns([2, 2, 2])
    search = c1.text_input("Suche (Titel, Dateiname, Schlagwort)", key="doc_search")
    types = c2.multiselect(
        "Typ",
        list(labels),
        format_func=service.type_label,
        key="doc_types",
        placeholder="alle Typen",
    )
    contact_id = c3.selectbox(
        "Kontakt",
        list(choices),
        format_func=lambda i: choices.get(i, str(i)),
        index=None,
        key="doc_contact",
        placeholder="alle Kontakte",
    )
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
    date_from = c1.date_input("Datum von", value=None, format="DD.MM.YYYY", key="doc_from")
    date_to = c2.date_input("Datum bis", value=None, format="DD.MM.YYYY", key="doc_to")
    tag = c3.selectbox("Schlagwort", tags, index=None, key="doc_tag", placeholder="alle")
    sort = c4.selectbox(
        "Sortierung",
        list(service.SORTS),
        format_func=lambda k: service.SORTS[k][0],
        key="doc_sort",
        placeholder=CHOOSE,
    )
    hide_backups = st.checkbox(
        "Backups ausblenden",
        value=True,
        key="doc_hide_backups",
        help="Backups versperren sonst Ihre Sicht auf andere Dokumente.",
    )
    page_no = requested_page(
        "doc_page", (search, types, contact_id, date_from, date_to, tag, sort, hide_backups)
    )
    with session_scope(write=False) as session:
        result = service.list_documents(
            session,
            search=search,
            doc_types=types,
            contact_id=contact_id,
            date_from=date_from,
            date_to=date_to,
            tag=tag or "",
            hide_backups=hide_backups,
            sort=sort,
            page=page_no,
            page_size=PAGE_SIZE,
        )
        contacts = service.contact_names(session, [d.id for d in result.items])
        options = {d.id: pick_label(d.display_title, d.issued_on) for d in result.items}
    if result.total == 0:
        st.info(
            "Keine Dokumente gefunden."
            if search or types or contact_id
            else "Noch keine Dokumente. Laden Sie oben Ihr erstes Dokument hoch."
        )
        return None
    st.dataframe(_rows(result.items, contacts), hide_index=True, width="stretch", key="doc_table")
    c1, c2 = st.columns([1, 3])
    pager(result, key="doc_page", one="Dokument", many="Dokumente", where=c1)
    return c2.selectbox(
        "Dokument öffnen",
        list(options),
        format_func=lambda i: options.get(i, str(i)),
        index=None,
        key="doc_pick",
        placeholder="Dokument auswählen …",
    )


def pick_label(title: str, issued_on: date) -> str:
    """ "Angebot (27.11.2026)"; a title that already names its date keeps it once."""
    day = format_date(issued_on)
    return title if day in title else f"{title} ({day})"


def _close_delete() -> None:
    st.session_state.pop(DELETE_FLAG, None)


@st.dialog("Dokument löschen", on_dismiss=_close_delete)
def _confirm_delete(document_id: int, name: str) -> None:
    st.write(
        f"„{plain(name)}“ wird mit seiner Datei endgültig gelöscht. "
        "Das lässt sich nicht rückgängig machen."
    )
    c1, c2 = st.columns(2)
    if c1.button("Endgültig löschen", type="primary", key="doc_delete_confirm"):
        try:
            with session_scope() as session:
                deleted = service.delete_document(session, document_id)
        except KmsError as exc:
            st.error(plain(exc.message))
            return
        _close_delete()
        st.session_state.pop("doc_pick", None)
        st.session_state[FLASH] = f"„{deleted}“ wurde gelöscht."
        st.rerun()
    if c2.button("Abbrechen", key="doc_delete_cancel"):
        _close_delete()
        st.rerun()


def _preview(doc_id: int, kind: str, path: Path, sha256: str, mime: str) -> None:
    try:
        if kind == "pdf":
            with session_scope(write=False) as session:
                pages = service.pdf_page_count(service.get_document(session, doc_id))
            index = 0
            shown = min(pages, MAX_PREVIEW_PAGES)
            if shown < pages:
                st.caption(f"Die Vorschau zeigt die ersten {shown} von {pages} Seiten.")
            if shown > 1:
                index = (
                    int(
                        st.number_input(
                            f"Seite (von {pages})",
                            min_value=1,
                            max_value=shown,
                            key=f"doc_preview_page_{doc_id}",
                        )
                    )
                    - 1
                )
            st.image(
                _pdf_page_png(str(path), sha256, index), caption=f"Seite {index + 1}", width=760
            )
        elif kind == "image":
            st.image(_image_png(str(path), sha256))
        elif kind == "text":
            st.code(service.read_text(path), language=None, wrap_lines=True)
        elif mime == "image/svg+xml":
            st.info(
                "SVG-Grafiken zeigt KMS aus Sicherheitsgründen nicht an (sie können Skripte "
                "enthalten). Bitte laden Sie die Datei herunter."
            )
        else:
            st.info(service.PREVIEW_REFUSED)
    except KmsError as exc:
        st.warning(plain(exc.message))


def document_detail(document_id: int, *, read_only: bool = False) -> None:
    """Metadata, download, edit, delete (with confirmation) and the preview."""
    labels = _labels()
    with session_scope(write=False) as session:
        doc = service.get_document(session, document_id)
        names = service.contact_names(session, [doc.id])[doc.id]
        linked = service.contact_labels(session, doc.contact_ids)
        choices = {**service.contact_choices(session, limit=500), **linked}
        path = service.path_of(doc)
        kind = service.preview_kind(doc)
        # An issued original (invoice, dunning letter, sent letter) is never deleted (GoBD).
        original = service.is_original(session, doc.id)
        retained = original or service.is_retained(doc)
        retention_msg = (
            service.ORIGINAL_MESSAGE
            if original
            else service.retention_message(doc)
            if retained
            else ""
        )
        info = _Detail(
            title=doc.display_title,
            filename=doc.filename,
            type_label=labels.get(doc.doc_type, doc.doc_type),
            doc_type=doc.doc_type,
            issued_on=doc.issued_on,
            size=format_size(doc.blob.size),
            sha256=doc.blob.sha256,
            mime=doc.blob.mime_type,
            tags=doc.tag_names,
            title_raw=doc.title,
            contact_ids=doc.contact_ids,
            is_upload=doc.source == "upload",
            retention=_retention_text(doc.retain_until),
            stream_url=routes.stream_url(doc),
        )
    st.subheader(plain(info.title), anchor=False)
    st.caption(
        plain(
            f"{info.type_label} · {format_date(info.issued_on)} · {info.filename} · {info.size}"
            f" · Aufbewahrung: {info.retention}"
        )
    )
    if names:
        st.caption(plain("Kontakte: " + ", ".join(names)))
    if info.tags:
        st.caption(plain("Schlagwörter: " + ", ".join(info.tags)))
    st.caption(f"SHA-256: {info.sha256}")
    c1, c2, _ = st.columns([1, 1, 4])
    # Streamed from disk by the logged-in route (kms.web), never read into memory and
    # never offered under an unauthenticated /media link.
    c1.link_button("Herunterladen", info.stream_url, icon=":material/download:")
    if c2.button(
        "Löschen",
        icon=":material/delete:",
        key=f"doc_delete_{document_id}",
        disabled=retained or read_only,
        help=plain(retention_msg) if retention_msg else None,
    ):
        st.session_state[DELETE_FLAG] = document_id
    if retained:
        st.caption(plain(retention_msg))
    if st.session_state.get(DELETE_FLAG) == document_id:
        _confirm_delete(document_id, info.title)
    with st.expander("Angaben ändern"), st.form(f"doc_edit_{document_id}"):
        title = st.text_input(
            "Titel", info.title_raw, help=f"höchstens {service.TITLE_MAX} Zeichen"
        )
        tags = st.text_input("Schlagwörter (durch Komma getrennt)", ", ".join(info.tags))
        contact_ids = st.multiselect(
            "Kontakte",
            list(choices),
            default=info.contact_ids,
            format_func=lambda i: choices.get(i, str(i)),
            placeholder=CHOOSE,
        )
        doc_type, issued_on = None, None
        if info.is_upload:
            selectable = [t.key for t in service.document_types() if t.user_selectable]
            c1, c2 = st.columns(2)
            doc_type = c1.selectbox(
                "Dokumenttyp",
                selectable,
                index=selectable.index(info.doc_type) if info.doc_type in selectable else 0,
                format_func=service.type_label,
                placeholder=CHOOSE,
            )
            issued_on = c2.date_input("Datum des Dokuments", info.issued_on, format="DD.MM.YYYY")
        if st.form_submit_button("Speichern", type="primary"):
            with saving({"title": "Titel"}) as result, session_scope() as session:
                service.update_document(
                    session,
                    document_id,
                    title=title,
                    tags=tags,
                    contact_ids=contact_ids,
                    doc_type=doc_type,
                    issued_on=issued_on,
                )
            if result["ok"]:
                st.session_state[FLASH] = "Gespeichert."
                st.rerun()
    st.markdown("**Vorschau**")
    with st.container(border=True):
        _preview(document_id, kind, path, info.sha256, info.mime)


def settings_form() -> None:
    """The upload size limit (a KeyValue setting)."""
    with session_scope(write=False) as session:
        current = service.max_upload_mb(session)
    with st.form("doc_settings"):
        value = st.number_input(
            "Höchstgröße je hochgeladener Datei (MB)",
            min_value=1,
            max_value=service.HARD_MAX_UPLOAD_MB,
            value=current,
            step=1,
        )
        if st.form_submit_button("Speichern"):
            with saving({"max_upload_mb": "Höchstgröße"}) as result, session_scope() as session:
                service.set_max_upload_mb(session, value)
            if result["ok"]:
                st.success("Gespeichert.")


def panel(contact_id: int) -> None:
    """The contact detail view's Dokumente section: newest documents and an upload form."""
    with session_scope(write=False) as session:
        result = service.list_documents(session, contact_id=contact_id, page_size=10)
        contacts = service.contact_names(session, [d.id for d in result.items])
    if result.total == 0:
        st.caption("Noch keine Dokumente zu diesem Kontakt.")
    else:
        st.dataframe(_rows(result.items, contacts), hide_index=True, width="stretch")
        if result.total > result.size:
            st.caption(f"Die 10 neuesten von {result.total} Dokumenten.")
        if st.button(
            "Alle Dokumente dieses Kontakts",
            icon=":material/description:",
            key=f"doc_panel_all_{contact_id}",
        ):
            st.session_state["doc_contact"] = contact_id
            st.switch_page("pages/dokumente.py")
    with st.expander("Dokument hochladen"):
        upload_form(f"doc_panel_upload_{contact_id}", contact_id=contact_id)
