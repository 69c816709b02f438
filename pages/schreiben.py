"""Schreiben: letters with preview, templates, ▶ Serienbrief, ▶ send by post or e-mail."""

from functools import partial

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_datetime
from kms.jobs import recent_jobs
from kms.modules.contacts.models import KINDS, ROLES
from kms.modules.letters import COPY, MAIL_MERGE, MARK_SENT, SEND_EMAIL, service
from kms.modules.letters import ui as lui
from kms.modules.letters.models import DRAFT, SENT, STATUS_LABELS
from kms.modules.letters.placeholders import PLACEHOLDERS
from kms.ui.page import PageContext, run_page
from kms.ui.text import plain

PAGE_SIZE = 25
NEW = "lf_new"
DELETE_FLAG = "letters_delete_open"


def render(ctx: PageContext) -> None:
    lui.show_flash()
    functions(ctx)
    active = st.session_state.get("letters_merge_job")
    if active is not None:
        st.subheader("Serienbrief")
        lui.job_status(active, partial(merge_result, place="top"))
    tab_list, tab_new, tab_templates, tab_merges = st.tabs(
        ["Briefe", "Neuer Brief", "Vorlagen", "Serienbriefe"]
    )
    with tab_new:
        new_letter(ctx)
    with tab_list:
        letter_list()
        selected = st.session_state.get(lui.SELECTED)
        if selected is not None:
            st.divider()
            letter_detail(ctx, selected)
    with tab_templates:
        templates(ctx)
    with tab_merges:
        merges()


# --- new letter -----------------------------------------------------------------------------


def new_letter(ctx: PageContext) -> None:
    lui.init_form(NEW, {})
    values = lui.letter_form(NEW)
    c1, c2, _ = st.columns([1, 1, 3])
    preview = c1.button("Vorschau", key=f"{NEW}_preview_btn", icon=":material/visibility:")
    save = c2.button("Speichern", key=f"{NEW}_save_btn", type="primary", icon=":material/save:")
    if preview:
        with session_scope(write=False) as session:
            pdf = lui.run_action(lambda: service.preview_pdf(session, **values))
        st.session_state[f"{NEW}_pdf"] = pdf
    if save:
        with session_scope() as session:
            letter = lui.run_action(
                lambda: service.create_letter(session, actor=ctx.user.username, **values)
            )
            saved = (letter.id, letter.printed_subject) if letter else None
            if letter is None:
                session.rollback()
        if saved:
            lui.clear_form(NEW)
            st.session_state[lui.SELECTED] = saved[0]
            lui.flash(f"Der Brief „{saved[1]}“ wurde als Entwurf gespeichert (unter „Briefe“).")
            st.rerun()
    pdf = st.session_state.get(f"{NEW}_pdf")
    if pdf:
        st.subheader("Vorschau")
        lui.pdf_preview(pdf, "Vorschau.pdf", key=f"{NEW}_pv")


# --- list and detail ------------------------------------------------------------------------


def letter_list() -> None:
    c1, c2, c3 = st.columns([3, 1, 1])
    search = c1.text_input("Suche (Betreff, Empfänger)", key="letters_search")
    status = c2.selectbox(
        "Status",
        ["", DRAFT, SENT],
        format_func=lambda s: STATUS_LABELS.get(s, "alle"),
        key="letters_status",
    )
    page_no = int(st.session_state.get("letters_page", 1))
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
                "Status": STATUS_LABELS.get(letter.status, letter.status),
            }
            for letter in result.items
        ]
    if result.total == 0:
        st.info("Keine Briefe gefunden." if search or status else "Noch keine Briefe geschrieben.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    c3.number_input(
        f"Seite (von {result.pages})", min_value=1, max_value=result.pages, key="letters_page"
    )
    options = {r["Nr."]: f"{r['Datum']} – {r['Empfänger']}: {r['Betreff']}" for r in rows}
    st.selectbox(
        "Brief öffnen",
        list(options),
        format_func=options.get,
        index=None,
        placeholder="Brief auswählen …",
        key="letters_pick",
        on_change=lambda: st.session_state.update(
            {lui.SELECTED: st.session_state.get("letters_pick")}
        ),
    )


def letter_detail(ctx: PageContext, letter_id: int) -> None:
    with session_scope(write=False) as session:
        letter = service.get_letter(session, letter_id)
        values = service.edit_values(letter)
        info = {
            "subject": letter.printed_subject,
            "sent": letter.is_sent,
            "version": letter.version,
            "filename": service.pdf_filename(letter),
            "pdf": letter.pdf,
            "sent_text": lui.describe_sent(letter) if letter.is_sent else "",
        }
    st.subheader(info["subject"])
    buttons = st.columns(4)
    if info["sent"]:
        st.info(info["sent_text"], icon=":material/lock:")
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
        lui.pdf_preview(info["pdf"], info["filename"], key=f"letter_{letter_id}")
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
    lui.init_form(prefix, values)
    submitted = lui.letter_form(prefix)
    if st.button("Änderungen speichern", key=f"{prefix}_save_btn", type="primary"):
        with session_scope() as session:
            letter = lui.run_action(
                lambda: service.update_letter(
                    session,
                    letter_id,
                    version=st.session_state[version_key],
                    actor=ctx.user.username,
                    **submitted,
                )
            )
            new_version = letter.version if letter else None
            if letter is None:
                session.rollback()
        if new_version is not None:
            st.session_state[version_key] = new_version
            lui.flash("Der Entwurf wurde gespeichert; die Vorschau zeigt den neuen Stand.")
            st.rerun()


@st.dialog("Entwurf löschen")
def confirm_delete(ctx: PageContext, letter_id: int, version: int, subject: str) -> None:
    st.write(f"Den Entwurf „{plain(subject)}“ endgültig löschen?")
    c1, c2 = st.columns(2)
    if c1.button("Ja, löschen", type="primary", key="letters_delete_yes"):
        with session_scope() as session:

            def delete() -> bool:
                service.delete_draft(session, letter_id, version=version, actor=ctx.user.username)
                return True

            ok = lui.run_action(delete)
            if not ok:
                session.rollback()
        if ok:
            st.session_state.pop(DELETE_FLAG, None)
            st.session_state.pop(lui.SELECTED, None)
            lui.flash("Der Entwurf wurde gelöscht.")
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
        letter_id = st.session_state.get(lui.SELECTED)
        if letter_id is None:
            st.info("Bitte wählen Sie zuerst unter „Briefe“ einen Brief aus.")
            return
        with session_scope() as session:
            copy = lui.run_action(
                lambda: service.copy_as_draft(session, letter_id, actor=ctx.user.username)
            )
            copied = copy.id if copy else None
            if copy is None:
                session.rollback()
        if copied is not None:
            st.session_state[lui.SELECTED] = copied
            lui.flash(f"Kopie als neuer Entwurf Nr. {copied} angelegt.")
            st.rerun()


def _selected_draft(ctx: PageContext, key: str) -> int | None:
    letter_id = st.session_state.get(lui.SELECTED)
    if letter_id is None:
        ctx.close_function(key)
        st.info("Bitte wählen Sie zuerst unter „Briefe“ einen Entwurf aus.")
        return None
    return letter_id


def _close(ctx: PageContext, key: str) -> None:
    ctx.close_function(key)
    st.rerun()


@st.dialog("Als versendet markieren")
def mark_sent_dialog(ctx: PageContext, letter_id: int) -> None:
    with session_scope(write=False) as session:
        letter = service.get_letter(session, letter_id)
        subject, version, sent = letter.printed_subject, letter.version, letter.is_sent
    if sent:
        st.info("Dieser Brief ist bereits versendet.")
        if st.button("Schließen", key="letters_sent_close"):
            _close(ctx, MARK_SENT.key)
        return
    st.write(
        f"„{plain(subject)}“ als per Post versendet markieren? Danach ist das gespeicherte PDF "
        "endgültig und der Brief nicht mehr änderbar (eine Kopie bleibt möglich)."
    )
    c1, c2 = st.columns(2)
    if c1.button("Ja, als versendet markieren", type="primary", key="letters_sent_yes"):
        with session_scope() as session:
            done = lui.run_action(
                lambda: service.mark_sent(
                    session, letter_id, version=version, actor=ctx.user.username
                )
            )
            if done is None:
                session.rollback()
        if done is not None:
            lui.flash(f"„{subject}“ ist als versendet markiert.")
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
    if sent:
        st.info("Dieser Brief ist bereits versendet.")
        if st.button("Schließen", key="letters_mail_close"):
            _close(ctx, SEND_EMAIL.key)
        return
    st.caption(f"Der Brief „{plain(subject)}“ geht als PDF-Anhang über Ihren Mailserver hinaus.")
    to = st.text_input(lui.LABELS["to"], value=email, key="letters_mail_to")
    body = st.text_area(lui.LABELS["text"], value=text, key="letters_mail_text", height=180)
    c1, c2 = st.columns(2)
    if c1.button("Senden", type="primary", key="letters_mail_send", icon=":material/send:"):
        with session_scope() as session:
            done = lui.run_action(
                lambda: service.send_by_email(
                    session, letter_id, version=version, to=to, text=body, actor=ctx.user.username
                )
            )
            if done is None:
                session.rollback()
        if done is not None:
            lui.flash(f"„{subject}“ wurde an {to} gesendet und ist als versendet markiert.")
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
        "Vorlage", list(templates), format_func=templates.get, key="merge_template"
    )
    c1, c2, c3 = st.columns(3)
    tag = c1.selectbox(
        "Schlagwort", ["", *tags], format_func=lambda t: t or "alle", key="merge_tag"
    )
    role = c2.selectbox(
        "Rolle", ["", *ROLES], format_func=lambda r: ROLES.get(r, "alle"), key="merge_role"
    )
    kind = c3.selectbox(
        "Art", ["", *KINDS], format_func=lambda k: KINDS.get(k, "alle"), key="merge_kind"
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
        with session_scope() as session:
            job_id = lui.run_action(
                lambda: service.start_mail_merge(
                    session,
                    template_id=template_id,
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
            lui.job_status(job_id, partial(merge_result, place="list"))


# --- templates ------------------------------------------------------------------------------


def templates(ctx: PageContext) -> None:
    with session_scope(write=False) as session:
        items = [
            (t.id, t.name, t.subject, t.body, t.attachments, t.version)
            for t in service.list_templates(session)
        ]
    options = {0: "Neue Vorlage", **{i[0]: i[1] for i in items}}
    chosen = st.selectbox("Vorlage", list(options), format_func=options.get, key="tpl_pick")
    current = next((i for i in items if i[0] == chosen), None)
    values = (
        dict(zip(("name", "subject", "body", "attachments"), current[1:5], strict=True))
        if current
        else {}
    )
    with st.form(f"tpl_form_{chosen}"):
        data = {
            "name": st.text_input(lui.LABELS["name"], values.get("name", "")),
            "subject": st.text_input(lui.LABELS["subject"], values.get("subject", "")),
            "body": st.text_area(lui.LABELS["body"], values.get("body", ""), height=220),
            "attachments": st.text_area(
                lui.LABELS["attachments"], values.get("attachments", ""), height=68
            ),
        }
        submitted = st.form_submit_button("Vorlage speichern", type="primary")
    names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    st.caption(plain(f"Platzhalter: {names}; geschweifte Klammern als Text doppelt: {{{{ }}}}."))
    if submitted:
        with session_scope() as session:
            if current is None:
                saved = lui.run_action(
                    lambda: service.create_template(session, actor=ctx.user.username, **data)
                )
            else:
                saved = lui.run_action(
                    lambda: service.update_template(
                        session, current[0], version=current[5], actor=ctx.user.username, **data
                    )
                )
            if saved is None:
                session.rollback()
        if saved is not None:
            lui.flash(f"Die Vorlage „{data['name']}“ wurde gespeichert.")
            st.rerun()


run_page("schreiben", render)
