"""Streamlit parts of Schreiben: the page (letters with preview, templates, ▶ Serienbrief, ▶ send
by post or e-mail), the letter form, PDF preview, job progress and the contact panel."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast

import pandas as pd
import streamlit as st
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_datetime
from kms.jobs import STALE_MESSAGE, STATUS_LABELS, get_job, recent_jobs
from kms.modules.contacts.models import KINDS, ROLES
from kms.modules.letters import COPY, MAIL_MERGE, MARK_SENT, SEND_EMAIL, service
from kms.modules.letters.models import DRAFT, SENT, SENT_VIA_LABELS
from kms.modules.letters.models import STATUS_LABELS as LETTER_STATUS
from kms.modules.letters.placeholders import PLACEHOLDERS, describe_empty
from kms.rendering.preview import page_count, page_png
from kms.ui import forms
from kms.ui.forms import CHOOSE, attempt, labels_of, saving
from kms.ui.page import PageContext
from kms.ui.paging import pager, requested_page
from kms.ui.text import plain

LABELS = {
    "recipient": "Empfänger",
    "free_address": "Anschrift",
    "subject": "Betreff",
    "letter_date": "Datum",
    "salutation": "Anrede",
    "closing": "Grußformel",
    "signature": "Unterschrift (Name)",
    "body": "Brieftext",
    "attachments": "Anlagen",
    "sender": "Briefkopf",
    "to": "An (E-Mail)",
    "text": "Begleittext",
    "name": "Name der Vorlage",
    "filter": "Empfänger",
}
MODES = ("Kontakt", "Freie Anschrift")
SELECTED = "letters_selected"
FLASH = "letters_flash"
T = TypeVar("T")
PAGE_SIZE = 25
NEW = "lf_new"
DELETE_FLAG = "letters_delete_open"


def flash(message: str) -> None:
    """A success message shown once on the next run (survives st.rerun)."""
    st.session_state[FLASH] = message


def show_flash() -> None:
    forms.show_flash(FLASH)


def run_action(action: Callable[[], T]) -> T | None:
    """Call a service action; German errors are shown, None is returned on failure."""
    return attempt(action, LABELS)


def run_write(action: Callable[[Session], T]) -> T | None:
    """Call a service action in a write session of its own: committed on success; on a German
    error rolled back, the error shown and None returned (the form keeps what was typed)."""
    with saving(LABELS) as result, session_scope() as session:
        value = action(session)
    return value if result["ok"] else None


# --- PDF preview ----------------------------------------------------------------------------


def pdf_preview(pdf: bytes, filename: str, *, key: str) -> None:
    """Page 1 as an image, the page count, and a download of the whole PDF."""
    pages = page_count(pdf)
    st.image(page_png(pdf, 0, dpi=110), caption=f"Seite 1 von {pages}", width=620)
    st.download_button(
        "PDF herunterladen",
        data=pdf,
        file_name=filename,
        mime="application/pdf",
        key=f"{key}_download",
        icon=":material/download:",
    )


# --- the letter form ------------------------------------------------------------------------


def _k(prefix: str, name: str) -> str:
    return f"{prefix}_{name}"


def init_form(prefix: str, values: dict[str, Any]) -> None:
    """Put a letter's values into the form's widget state once (a rerun keeps what was typed)."""
    if st.session_state.get(_k(prefix, "loaded")):
        return
    state = st.session_state
    state[_k(prefix, "mode")] = MODES[1] if values.get("free_address") else MODES[0]
    state[_k(prefix, "contact")] = values.get("contact_id")
    for name in ("free_address", "subject", "salutation", "closing", "signature", "body"):
        state[_k(prefix, name)] = values.get(name) or ""
    state[_k(prefix, "attachments")] = values.get("attachments") or ""
    state[_k(prefix, "letter_date")] = values.get("letter_date") or service.today()
    state[_k(prefix, "template_id")] = values.get("template_id")
    state[_k(prefix, "loaded")] = True


def clear_form(prefix: str) -> None:
    """Forget a form's state (after saving a new letter)."""
    for key in [k for k in st.session_state if str(k).startswith(prefix + "_")]:
        del st.session_state[key]


def _suggest(prefix: str) -> None:
    """on_change of the recipient: Anrede and Grußformel suggested from the contact."""
    state = st.session_state
    contact_id = state.get(_k(prefix, "contact")) if state[_k(prefix, "mode")] == MODES[0] else None
    try:
        with session_scope(write=False) as session:
            hints = service.suggestions(session, contact_id)
    except KmsError:
        return
    state[_k(prefix, "salutation")] = hints["salutation"]
    state[_k(prefix, "closing")] = hints["closing"]
    if not state.get(_k(prefix, "signature")):
        state[_k(prefix, "signature")] = hints["signature"]


def _apply_template(prefix: str) -> None:
    """on_click of "Vorlage übernehmen": subject, body and attachments from the template."""
    template_id = st.session_state.get(_k(prefix, "template_pick"))
    if template_id is None:
        return
    with session_scope(write=False) as session:
        template = service.get_template(session, template_id)
        st.session_state[_k(prefix, "subject")] = template.subject
        st.session_state[_k(prefix, "body")] = template.body
        st.session_state[_k(prefix, "attachments")] = template.attachments
        st.session_state[_k(prefix, "template_id")] = template.id


def letter_form(prefix: str) -> dict[str, Any]:
    """The letter editor (no st.form: the recipient choice suggests Anrede and Grußformel)."""
    with session_scope(write=False) as session:
        templates = {t.id: t.name for t in service.list_templates(session)}
    if templates:
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.selectbox(
            "Vorlage",
            list(templates),
            format_func=lambda i: templates.get(i, str(i)),
            index=None,
            placeholder="Vorlage wählen …",
            key=_k(prefix, "template_pick"),
        )
        c2.button(
            "Vorlage übernehmen", key=_k(prefix, "apply"), on_click=_apply_template, args=(prefix,)
        )
    mode = st.radio(
        "Empfänger",
        MODES,
        horizontal=True,
        key=_k(prefix, "mode"),
        on_change=_suggest,
        args=(prefix,),
    )
    values: dict[str, Any] = {"contact_id": None, "free_address": ""}
    if mode == MODES[0]:
        search = st.text_input("Kontakt suchen (Name, Ort, E-Mail)", key=_k(prefix, "search"))
        with session_scope(write=False) as session:
            options = dict(service.find_contacts(session, search=search))
            chosen = st.session_state.get(_k(prefix, "contact"))
            if chosen is not None and chosen not in options:
                try:
                    options[chosen] = service.contact_label(service.get_contact(session, chosen))
                except KmsError:
                    st.session_state[_k(prefix, "contact")] = None
        values["contact_id"] = st.selectbox(
            "Kontakt",
            list(options),
            format_func=lambda i: options.get(i, str(i)),
            index=None,
            placeholder="Kontakt wählen …",
            key=_k(prefix, "contact"),
            on_change=_suggest,
            args=(prefix,),
        )
    else:
        values["free_address"] = st.text_area(
            "Anschrift",
            key=_k(prefix, "free_address"),
            height=140,
            help="Höchstens 6 Zeilen (DIN 5008); Ausland: Land in der letzten Zeile.",
        )
    c1, c2 = st.columns([3, 1])
    values["subject"] = c1.text_input(LABELS["subject"], key=_k(prefix, "subject"))
    values["letter_date"] = c2.date_input(
        LABELS["letter_date"], key=_k(prefix, "letter_date"), format="DD.MM.YYYY"
    )
    values["salutation"] = st.text_input(LABELS["salutation"], key=_k(prefix, "salutation"))
    values["body"] = st.text_area(
        LABELS["body"],
        key=_k(prefix, "body"),
        height=260,
        help="Absätze durch Leerzeilen, **fett**, *kursiv*, Aufzählungen mit „- “. "
        "Platzhalter wie {vorname}; geschweifte Klammern als Text doppelt: {{ }}.",
    )
    c1, c2 = st.columns(2)
    values["closing"] = c1.text_input(LABELS["closing"], key=_k(prefix, "closing"))
    values["signature"] = c2.text_input(LABELS["signature"], key=_k(prefix, "signature"))
    values["attachments"] = st.text_area(
        LABELS["attachments"],
        key=_k(prefix, "attachments"),
        height=68,
        help="Eine Anlage je Zeile.",
    )
    values["template_id"] = st.session_state.get(_k(prefix, "template_id"))
    with st.expander("Platzhalter"):
        st.markdown(
            "\n".join(f"- `{{{name}}}`: {plain(text)}" for name, text in PLACEHOLDERS.items())
        )
    return values


# --- background jobs ------------------------------------------------------------------------


def job_status(job_id: int, on_finished: Callable[[int], None]) -> None:
    """Progress of a job, polled from the database while it runs."""
    with session_scope(write=False) as session:
        job = get_job(session, job_id)
        active, stale = job.is_active, job.is_stale()
        percent, status, message = job.percent, job.status, job.message

    def body() -> None:
        with session_scope(write=False) as session:
            now = get_job(session, job_id)
            still_active, pct, text = now.is_active, now.percent, now.message
        if active and not still_active:
            st.rerun()  # finished meanwhile: redraw the whole page once, without polling
        st.progress(pct / 100, text=f"{pct} % – {plain(text)}")

    if stale:
        st.warning(STALE_MESSAGE, icon=":material/warning:")
    elif active:
        st.fragment(run_every=1.0)(body)()
    else:
        st.caption(f"{STATUS_LABELS.get(status, status)}: {plain(message)} ({percent} %)")
        on_finished(job_id)


# --- the Schreiben page ---------------------------------------------------------------------


def render_letters_page(ctx: PageContext) -> None:
    """The Schreiben page: ▶ dialogs, a running Serienbrief, then the four tabs."""
    show_flash()
    functions(ctx)
    active = st.session_state.get("letters_merge_job")
    if active is not None:
        st.subheader("Serienbrief")
        job_status(active, partial(merge_result, place="top"))
    tab_list, tab_new, tab_templates, tab_merges = st.tabs(
        ["Briefe", "Neuer Brief", "Vorlagen", "Serienbriefe"]
    )
    with tab_new:
        new_letter(ctx)
    with tab_list:
        letter_list()
        selected = st.session_state.get(SELECTED)
        if selected is not None:
            st.divider()
            letter_detail(ctx, selected)
    with tab_templates:
        templates(ctx)
    with tab_merges:
        merges()


# --- new letter -----------------------------------------------------------------------------


def new_letter(ctx: PageContext) -> None:
    init_form(NEW, {})
    values = letter_form(NEW)
    c1, c2, _ = st.columns([1, 1, 3])
    preview = c1.button("Vorschau", key=f"{NEW}_preview_btn", icon=":material/visibility:")
    save = c2.button("Speichern", key=f"{NEW}_save_btn", type="primary", icon=":material/save:")
    if preview:
        with session_scope(write=False) as session:
            pdf = run_action(lambda: service.preview_pdf(session, **values))
        st.session_state[f"{NEW}_pdf"] = pdf
    if save:
        letter = run_write(
            lambda session: service.create_letter(session, actor=ctx.user.username, **values)
        )
        saved = (letter.id, letter.printed_subject) if letter else None
        if saved:
            clear_form(NEW)
            st.session_state[SELECTED] = saved[0]
            flash(f"Der Brief „{saved[1]}“ wurde als Entwurf gespeichert (unter „Briefe“).")
            st.rerun()
    pdf = st.session_state.get(f"{NEW}_pdf")
    if pdf:
        st.subheader("Vorschau")
        pdf_preview(pdf, "Vorschau.pdf", key=f"{NEW}_pv")


# --- list and detail ------------------------------------------------------------------------


def letter_list() -> None:
    c1, c2, c3 = st.columns([3, 1, 1])
    search = c1.text_input("Suche (Betreff, Empfänger)", key="letters_search")
    status = c2.selectbox(
        "Status",
        ["", DRAFT, SENT],
        format_func=lambda s: LETTER_STATUS.get(s, "alle"),
        key="letters_status",
        placeholder=CHOOSE,
    )
    page_no = requested_page("letters_page", (search, status))
    with session_scope(write=False) as session:
        result = service.list_letters(
            session, search=search, status=status, page=page_no, page_size=PAGE_SIZE
        )
        rows = [
            {
                "Nr.": letter.id,
                "Datum": format_date(letter.letter_date),
                "Empfänger": letter.recipient_name,
                "Betreff": letter.printed_subject,
                "Status": LETTER_STATUS.get(letter.status, letter.status),
            }
            for letter in result.items
        ]
    if result.total == 0:
        st.info("Keine Briefe gefunden." if search or status else "Noch keine Briefe geschrieben.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    pager(result, key="letters_page", one="Brief", many="Briefe", where=c3)
    options = {r["Nr."]: f"{r['Datum']} – {r['Empfänger']}: {r['Betreff']}" for r in rows}
    st.selectbox(
        "Brief öffnen",
        list(options),
        format_func=labels_of(options),
        index=None,
        placeholder="Brief auswählen …",
        key="letters_pick",
        on_change=lambda: st.session_state.update({SELECTED: st.session_state.get("letters_pick")}),
    )


def letter_detail(ctx: PageContext, letter_id: int) -> None:
    with session_scope(write=False) as session:
        letter = service.get_letter(session, letter_id)
        values = service.edit_values(letter)
        info: dict[str, Any] = {
            "subject": letter.printed_subject,
            "sent": letter.is_sent,
            "version": letter.version,
            "filename": service.pdf_filename(letter),
            "pdf": service.pdf_of(session, letter),
            "sent_text": describe_sent(letter) if letter.is_sent else "",
        }
    st.subheader(plain(info["subject"]), anchor=False)
    buttons = st.columns(4)
    if info["sent"]:
        st.info(plain(info["sent_text"]), icon=":material/lock:")
    else:
        # Callbacks set the flags before the rerun, so the dialog opens on this very click.
        buttons[0].button(
            f"▶ {MARK_SENT.label}", key="letters_btn_sent", on_click=_open, args=(MARK_SENT.key,)
        )
        buttons[1].button(
            f"▶ {SEND_EMAIL.label}", key="letters_btn_mail", on_click=_open, args=(SEND_EMAIL.key,)
        )
        if buttons[3].button("Entwurf löschen", key="letters_btn_delete", icon=":material/delete:"):
            st.session_state[DELETE_FLAG] = letter_id
    buttons[0 if info["sent"] else 2].button(
        f"▶ {COPY.label}", key="letters_btn_copy", on_click=_open, args=(COPY.key,)
    )
    if st.session_state.get(DELETE_FLAG) == letter_id:
        confirm_delete(ctx, letter_id, info["version"], info["subject"])
    left, right = st.columns([1, 1])
    with left:
        pdf_preview(info["pdf"], info["filename"], key=f"letter_{letter_id}")
    if not info["sent"]:
        with right:
            edit_draft(ctx, letter_id, values, info["version"])


def _open(function_key: str) -> None:
    st.session_state[f"fn_open_{function_key}"] = True


def edit_draft(ctx: PageContext, letter_id: int, values: dict, version: int) -> None:
    """Edit a draft; the version read with the form goes back with the save."""
    prefix = f"lf_{letter_id}"
    version_key = f"{prefix}_version"
    st.session_state.setdefault(version_key, version)
    st.markdown("**Entwurf bearbeiten**")
    init_form(prefix, values)
    submitted = letter_form(prefix)
    if st.button("Änderungen speichern", key=f"{prefix}_save_btn", type="primary"):
        letter = run_write(
            lambda session: service.update_letter(
                session,
                letter_id,
                version=st.session_state[version_key],
                actor=ctx.user.username,
                **submitted,
            )
        )
        new_version = letter.version if letter else None
        if new_version is not None:
            st.session_state[version_key] = new_version
            flash("Der Entwurf wurde gespeichert; die Vorschau zeigt den neuen Stand.")
            st.rerun()


@st.dialog("Entwurf löschen")
def confirm_delete(ctx: PageContext, letter_id: int, version: int, subject: str) -> None:
    st.write(f"Den Entwurf „{plain(subject)}“ endgültig löschen?")
    c1, c2 = st.columns(2)
    if c1.button("Ja, löschen", type="primary", key="letters_delete_yes"):

        def delete(session: Session) -> bool:
            service.delete_draft(session, letter_id, version=version, actor=ctx.user.username)
            return True

        if run_write(delete):
            st.session_state.pop(DELETE_FLAG, None)
            st.session_state.pop(SELECTED, None)
            flash("Der Entwurf wurde gelöscht.")
            st.rerun()
    if c2.button("Abbrechen", key="letters_delete_no"):
        st.session_state.pop(DELETE_FLAG, None)
        st.rerun()


# --- ▶ functions ----------------------------------------------------------------------------


def functions(ctx: PageContext) -> None:
    """Open the dialog of a ▶ function clicked in the sidebar or on a letter."""
    if ctx.function_requested(MAIL_MERGE.key):
        mail_merge_dialog(ctx)
        return
    for spec, dialog in ((MARK_SENT, mark_sent_dialog), (SEND_EMAIL, email_dialog)):
        if ctx.function_requested(spec.key):
            letter_id = _selected_draft(ctx, spec.key)
            if letter_id is not None:
                dialog(ctx, letter_id)
            return
    if ctx.function_requested(COPY.key):
        ctx.close_function(COPY.key)
        letter_id = st.session_state.get(SELECTED)
        if letter_id is None:
            st.info("Bitte wählen Sie zuerst unter „Briefe“ einen Brief aus.")
            return
        copy = run_write(
            lambda session: service.copy_as_draft(session, letter_id, actor=ctx.user.username)
        )
        copied = copy.id if copy else None
        if copied is not None:
            st.session_state[SELECTED] = copied
            flash(f"Kopie als neuer Entwurf Nr. {copied} angelegt.")
            st.rerun()


def _selected_draft(ctx: PageContext, key: str) -> int | None:
    letter_id = st.session_state.get(SELECTED)
    if letter_id is None:
        ctx.close_function(key)
        st.info("Bitte wählen Sie zuerst unter „Briefe“ einen Entwurf aus.")
        return None
    return letter_id


def _close(ctx: PageContext, key: str) -> None:
    ctx.close_function(key)
    st.rerun()


def accept_empty_placeholders(empty: list[str], key: str) -> bool:
    """List the placeholders that stay empty and ask to go ahead anyway (True: nothing to ask,
    or the user ticked it); the service refuses unless told so."""
    if not empty:
        return True
    st.warning(
        "Diese Platzhalter bleiben für diesen Empfänger leer, im Brief stünde dort nichts: "
        f"{plain(describe_empty(empty))}. Zum Ändern den Entwurf bearbeiten."
    )
    return st.checkbox("Trotzdem so versenden", key=key)


@st.dialog("Als versendet markieren")
def mark_sent_dialog(ctx: PageContext, letter_id: int) -> None:
    with session_scope(write=False) as session:
        letter = service.get_letter(session, letter_id)
        subject, version, sent = letter.printed_subject, letter.version, letter.is_sent
        empty = [] if sent else service.empty_placeholders(session, letter)
    if sent:
        st.info("Dieser Brief ist bereits versendet.")
        if st.button("Schließen", key="letters_sent_close"):
            _close(ctx, MARK_SENT.key)
        return
    st.write(
        f"„{plain(subject)}“ als per Post versendet markieren? Danach ist das gespeicherte PDF "
        "endgültig und der Brief nicht mehr änderbar (eine Kopie bleibt möglich)."
    )
    accepted = accept_empty_placeholders(empty, "letters_sent_accept_empty")
    c1, c2 = st.columns(2)
    if c1.button("Ja, als versendet markieren", type="primary", key="letters_sent_yes"):
        done = run_write(
            lambda session: service.mark_sent(
                session,
                letter_id,
                version=version,
                actor=ctx.user.username,
                accept_empty=accepted,
            )
        )
        if done is not None:
            flash(f"„{subject}“ ist als versendet markiert.")
            _close(ctx, MARK_SENT.key)
    if c2.button("Abbrechen", key="letters_sent_no"):
        _close(ctx, MARK_SENT.key)


@st.dialog("Per E-Mail senden")
def email_dialog(ctx: PageContext, letter_id: int) -> None:
    with session_scope(write=False) as session:
        letter = service.get_letter(session, letter_id)
        subject, version, sent = letter.printed_subject, letter.version, letter.is_sent
        email = letter.contact.email if letter.contact else ""
        text = service.default_mail_text(session, letter)
        empty = [] if sent else service.empty_placeholders(session, letter)
    if sent:
        st.info("Dieser Brief ist bereits versendet.")
        if st.button("Schließen", key="letters_mail_close"):
            _close(ctx, SEND_EMAIL.key)
        return
    st.caption(f"Der Brief „{plain(subject)}“ geht als PDF-Anhang über Ihren Mailserver hinaus.")
    to = st.text_input(LABELS["to"], value=email, key="letters_mail_to")
    body = st.text_area(LABELS["text"], value=text, key="letters_mail_text", height=180)
    accepted = accept_empty_placeholders(empty, "letters_mail_accept_empty")
    c1, c2 = st.columns(2)
    if c1.button("Senden", type="primary", key="letters_mail_send", icon=":material/send:"):
        done = run_write(
            lambda session: service.send_by_email(
                session,
                letter_id,
                version=version,
                to=to,
                text=body,
                actor=ctx.user.username,
                accept_empty=accepted,
            )
        )
        if done is not None:
            flash(f"„{subject}“ wurde an {to} gesendet und ist als versendet markiert.")
            _close(ctx, SEND_EMAIL.key)
    if c2.button("Abbrechen", key="letters_mail_no"):
        _close(ctx, SEND_EMAIL.key)


@st.dialog("Serienbrief", width="large")
def mail_merge_dialog(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        templates = {t.id: t.name for t in service.list_templates(session)}
        tags = service.tag_names(session)
    if not templates:
        st.info("Legen Sie zuerst unter „Vorlagen“ eine Vorlage an.")
        if st.button("Schließen", key="merge_close"):
            _close(ctx, MAIL_MERGE.key)
        return
    template_id = st.selectbox(
        "Vorlage",
        list(templates),
        format_func=labels_of(templates),
        key="merge_template",
        placeholder=CHOOSE,
    )
    c1, c2, c3 = st.columns(3)
    tag = c1.selectbox(
        "Schlagwort",
        ["", *tags],
        format_func=lambda t: t or "alle",
        key="merge_tag",
        placeholder=CHOOSE,
    )
    role = c2.selectbox(
        "Rolle",
        ["", *ROLES],
        format_func=lambda r: ROLES.get(r, "alle"),
        key="merge_role",
        placeholder=CHOOSE,
    )
    kind = c3.selectbox(
        "Art",
        ["", *KINDS],
        format_func=lambda k: KINDS.get(k, "alle"),
        key="merge_kind",
        placeholder=CHOOSE,
    )
    letter_date = st.date_input(
        "Briefdatum", value=service.today(), format="DD.MM.YYYY", key="merge_date"
    )
    flt = service.RecipientFilter(tag, role, kind)
    with session_scope(write=False) as session:
        count = service.count_recipients(session, flt)
    st.caption(f"{count} Kontakte ausgewählt ({plain(flt.describe())}).")
    c1, c2 = st.columns(2)
    if c1.button("Serienbrief erstellen", type="primary", key="merge_start"):
        job_id = run_write(
            lambda session: service.start_mail_merge(
                session,
                template_id=cast(int, template_id),  # never None: it has a default
                flt=flt,
                letter_date=letter_date,
                actor=ctx.user.username,
            )
        )
        if job_id is not None:
            st.session_state["letters_merge_job"] = job_id
            _close(ctx, MAIL_MERGE.key)
    if c2.button("Abbrechen", key="merge_cancel"):
        _close(ctx, MAIL_MERGE.key)


def merge_result(job_id: int, *, place: str) -> None:
    """Downloads and the skipped-recipient report of a finished Serienbrief."""
    with session_scope(write=False) as session:
        merge = service.mail_merge_for_job(session, job_id)
        if merge is None:
            return
        merge_id, count, skipped = merge.id, merge.letter_count, list(merge.skipped or [])
        combined, name = merge.combined_pdf, merge.template_name
    if combined:
        c1, c2 = st.columns(2)
        c1.download_button(
            f"Gesamt-PDF zum Drucken ({count} Briefe)",
            data=combined,
            file_name=f"Serienbrief_{merge_id}_Druck.pdf",
            mime="application/pdf",
            key=f"merge_{place}_{merge_id}_combined",
            icon=":material/print:",
        )
        c2.download_button(
            "Einzelne PDFs (ZIP)",
            data=lambda: _zip(merge_id),
            file_name=f"Serienbrief_{merge_id}_einzeln.zip",
            mime="application/zip",
            key=f"merge_{place}_{merge_id}_zip",
            icon=":material/folder_zip:",
        )
    if skipped:
        st.warning(
            f"{len(skipped)} Empfänger wurden übersprungen (Vorlage „{plain(name)}“):",
            icon=":material/warning:",
        )
        st.dataframe(
            pd.DataFrame([{"Kontakt": s["name"], "Grund": s["reason"]} for s in skipped]),
            hide_index=True,
            width="stretch",
        )


def _zip(merge_id: int) -> bytes:
    with session_scope(write=False) as session:
        return service.mail_merge_zip(session, merge_id)


def merges() -> None:
    with session_scope(write=False) as session:
        jobs = [(j.id, j.created_at) for j in recent_jobs(session, "serienbrief", 10)]
    if not jobs:
        st.info("Noch keine Serienbriefe. Starten Sie einen mit ▶ Serienbrief in der Seitenleiste.")
        return
    for job_id, created in jobs:
        with st.container(border=True):
            st.markdown(f"**Serienbrief vom {format_datetime(created)}**")
            job_status(job_id, partial(merge_result, place="list"))


# --- templates ------------------------------------------------------------------------------


def templates(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        items = [
            (t.id, t.name, t.subject, t.body, t.attachments, t.version)
            for t in service.list_templates(session)
        ]
    options = {0: "Neue Vorlage", **{i[0]: i[1] for i in items}}
    chosen = st.selectbox(
        "Vorlage", list(options), format_func=labels_of(options), key="tpl_pick", placeholder=CHOOSE
    )
    current = next((i for i in items if i[0] == chosen), None)
    values = (
        dict(zip(("name", "subject", "body", "attachments"), current[1:5], strict=True))
        if current
        else {}
    )
    with st.form(f"tpl_form_{chosen}"):
        data = {
            "name": st.text_input(LABELS["name"], values.get("name", "")),
            "subject": st.text_input(LABELS["subject"], values.get("subject", "")),
            "body": st.text_area(LABELS["body"], values.get("body", ""), height=220),
            "attachments": st.text_area(
                LABELS["attachments"], values.get("attachments", ""), height=68
            ),
        }
        submitted = st.form_submit_button("Vorlage speichern", type="primary")
    names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    st.caption(plain(f"Platzhalter: {names}; geschweifte Klammern als Text doppelt: {{{{ }}}}."))
    if submitted:
        if current is None:
            saved = run_write(
                lambda session: service.create_template(session, actor=ctx.user.username, **data)
            )
        else:
            saved = run_write(
                lambda session: service.update_template(
                    session, current[0], version=current[5], actor=ctx.user.username, **data
                )
            )
        if saved is not None:
            flash(f"Die Vorlage „{data['name']}“ wurde gespeichert.")
            st.rerun()


# --- contact detail view --------------------------------------------------------------------


def panel(contact_id: int) -> None:
    """The contact's letters, newest first, each with its PDF."""
    with session_scope(write=False) as session:
        result = service.list_letters(session, contact_id=contact_id, page_size=10)
        rows = [
            (
                letter.id,
                letter.letter_date,
                letter.printed_subject,
                letter.status,
                letter.sent_via,
                service.pdf_filename(letter),
            )
            for letter in result.items
        ]
    if not rows:
        st.caption("Noch keine Briefe an diesen Kontakt.")
        return
    for letter_id, when, subject, status, via, filename in rows:
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        state = LETTER_STATUS.get(status, status)
        if via:
            state += f" per {SENT_VIA_LABELS.get(via, via)}"
        c1.markdown(f"**{plain(subject)}**  \n{format_date(when)} · {plain(state)}")
        c2.download_button(
            "PDF",
            data=_pdf_loader(letter_id),
            file_name=filename,
            mime="application/pdf",
            key=f"contact_{contact_id}_letter_{letter_id}",
            icon=":material/download:",
        )
    if result.total > len(rows):
        st.caption(f"{len(rows)} von {result.total} Briefen; alle unter Rechnungen & Schreiben.")
    st.page_link("pages/schreiben.py", label="Neuen Brief schreiben", icon=":material/edit:")


def _pdf_loader(letter_id: int) -> Callable[[], bytes]:
    """Load a letter's PDF only when its download is clicked."""

    def load() -> bytes:
        with session_scope(write=False) as session:
            return service.letter_pdf(session, letter_id)

    return load


def describe_sent(letter: Any) -> str:
    """ "versendet am 26.11.2026 14:05 per E-Mail an max@example.org"."""
    text = f"Versendet am {format_datetime(letter.sent_at)}"
    if letter.sent_via:
        text += f" per {SENT_VIA_LABELS.get(letter.sent_via, letter.sent_via)}"
    if letter.sent_to:
        text += f" an {letter.sent_to}"
    return text + ". Das gespeicherte PDF ist das Original und bleibt unverändert."
