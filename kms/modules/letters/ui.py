"""Streamlit parts of Schreiben: the letter form, PDF preview, job progress, contact panel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_date, format_datetime
from kms.jobs import STATUS_LABELS, get_job
from kms.modules.letters import service
from kms.modules.letters.models import SENT_VIA_LABELS
from kms.modules.letters.models import STATUS_LABELS as LETTER_STATUS
from kms.modules.letters.placeholders import PLACEHOLDERS
from kms.rendering.preview import page_count, page_png
from kms.ui.forms import show_field_errors
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


def flash(message: str) -> None:
    """A success message shown once on the next run (survives st.rerun)."""
    st.session_state[FLASH] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message, icon=":material/check_circle:")


def run_action(action: Callable[[], Any]) -> Any:
    """Call a service action; German errors are shown, None is returned on failure."""
    from kms.errors import ValidationErrors

    try:
        return action()
    except ValidationErrors as exc:
        show_field_errors(exc.errors, LABELS)
    except KmsError as exc:
        st.error(exc.message, icon=":material/error:")
    return None


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
        st.progress(pct / 100, text=f"{pct} % – {text}")

    if stale:
        st.warning(
            "Dieser Auftrag meldet sich seit Längerem nicht mehr (Server neu gestartet?). "
            "Bitte starten Sie ihn erneut.",
            icon=":material/warning:",
        )
    elif active:
        st.fragment(run_every=1.0)(body)()
    else:
        st.caption(f"{STATUS_LABELS.get(status, status)}: {plain(message)} ({percent} %)")
        on_finished(job_id)


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
