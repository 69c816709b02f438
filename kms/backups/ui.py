"""The Backups section of the Dokumente page: ▶ functions, progress, settings.

The backups themselves are listed, downloaded and deleted as documents of type "Backup"
in the page's document list (kms.backups.documents); this section shows a running job's
progress, the restore dialogs and a pointer to the backups in the list.

A page calls `render_functions(ctx)`; its PageSpec lists `kms.backups.FUNCTIONS` so the
sidebar shows the ▶ buttons. Work runs in kms.backups.worker; this module only starts
jobs and polls their progress.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import streamlit as st

from kms.backups import CREATE, PRUNE, RESTORE
from kms.backups import service as backups
from kms.backups.documents import sync_now
from kms.backups.store import RESTORE_PREFIX, backups_dir, remove
from kms.backups.worker import WORKER, Job
from kms.db import session_scope
from kms.formatting import format_datetime, format_size
from kms.modules.documents.service import BACKUP
from kms.types import utcnow
from kms.ui.forms import saving
from kms.ui.text import plain

CONFIRM_FLAG = "backup_restore_confirm_open"
POLL_SECONDS = 1.0


def _close(key: str) -> None:
    st.session_state.pop(f"fn_open_{key}", None)


def render_functions(ctx: Any) -> None:
    """Everything about backups on one page section (ctx: kms.ui.page.PageContext)."""
    st.subheader("Backups")
    pruned = st.session_state.pop("backup_pruned", None)
    if pruned is not None:
        st.success(
            f"{pruned} altes Backup gelöscht."
            if pruned == 1
            else f"{pruned} alte Backups gelöscht."
        )
    _job_panel(ctx)
    _backup_summary()
    _settings_form()
    if ctx.function_requested(CREATE.key):
        _create_dialog(ctx)
    elif ctx.function_requested(RESTORE.key):
        _restore_dialog(ctx)
    elif ctx.function_requested(PRUNE.key):
        _prune_dialog()
    elif st.session_state.get(CONFIRM_FLAG):
        _confirm_dialog(ctx)


# --- progress -------------------------------------------------------------------------


def _job_panel(ctx: Any) -> None:
    job = WORKER.job
    if job is None:
        return

    @st.fragment(run_every=POLL_SECONDS if job.running else None)
    def panel() -> None:
        current = WORKER.job
        if current is None:
            return
        if current.running:
            st.progress(current.fraction, text=f"{current.label}: {current.phase}")
            st.caption("Sie können die Seite verlassen; die Arbeit läuft weiter.")
            st.session_state["backup_watching"] = current.id
            return
        if st.session_state.pop("backup_watching", None) == current.id:
            st.rerun(scope="app")  # the list and the banner change once a job ends
        _job_result(current, ctx)

    panel()


def _job_result(job: Job, ctx: Any) -> None:
    if job.status == "fehler":
        st.error(f"{job.label} fehlgeschlagen: {plain(job.message)}", icon=":material/error:")
        if st.button("Meldung schließen", key="backup_job_clear"):
            WORKER.clear()
            st.rerun()
        return
    if job.kind == "prepare":
        _plan_summary(job.result)
        return
    if job.kind == "create":
        st.success(f"Backup erzeugt: {job.result.name} ({format_size(job.result.size)}).")
    elif job.kind == "restore":
        result: backups.RestoreResult = job.result
        st.success(
            f"Das Backup vom {format_datetime(result.created_at)} Uhr ist wiederhergestellt. "
            f"Der vorherige Stand ist gesichert als {result.safety_backup.name}."
        )
    if st.button("Meldung schließen", key="backup_job_clear"):
        WORKER.clear()
        st.rerun()


def _plan_summary(plan: backups.RestorePlan) -> None:
    """What the prepared restore would change, and the way on to the confirmation."""
    st.info(
        f"Das Backup vom {format_datetime(plan.created_at)} Uhr ist geprüft (Prüfsummen, "
        "Aufbau, Version) und bereit zur Wiederherstellung.",
        icon=":material/verified:",
    )
    if plan.losses or plan.files_removed:
        st.warning("Beim Wiederherstellen geht verloren, was seit dem Backup gespeichert wurde:")
        rows = [
            {
                "Daten": loss.label,
                "neuer als das Backup": loss.newer_rows,
                "jetzt": loss.current_rows,
                "im Backup": loss.backup_rows,
            }
            for loss in plan.losses
        ]
        if plan.files_removed:
            rows.append(
                {
                    "Daten": "Dateien, die es im Backup nicht gibt",
                    "neuer als das Backup": len(plan.files_removed),
                    "jetzt": None,
                    "im Backup": None,
                }
            )
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    else:
        st.caption("Seit dem Backup wurde nichts Neues gespeichert.")
    c1, c2 = st.columns(2)
    if c1.button("Wiederherstellen …", type="primary", key="backup_restore_go"):
        st.session_state[CONFIRM_FLAG] = True
        st.rerun()
    if c2.button("Abbrechen", key="backup_restore_cancel"):
        backups.discard_plan(plan)
        WORKER.clear()
        st.rerun()


# --- list and settings ----------------------------------------------------------------


def sync_documents() -> None:
    """Before Dokumente lists: backups appear as documents of type Backup (and a restore
    that a killed process left is finished first)."""
    sync_now()


def _show_backups() -> None:
    st.session_state["doc_hide_backups"] = False
    st.session_state["doc_types"] = [BACKUP]
    st.session_state["doc_page"] = 1


def _backup_summary() -> None:
    """The newest backup and the way to all of them in the document list above."""
    items = backups.list_backups()
    if not items:
        st.info("Es gibt noch kein Backup. Erzeugen Sie eines mit ▶ Backup erzeugen.")
        return
    newest = items[0]
    c1, c2 = st.columns([3, 1])
    c1.caption(
        f"{len(items)} Backup{'s' if len(items) != 1 else ''} in der Dokumentliste (Typ "
        f"„Backup“), das neueste vom {format_datetime(newest.created_at)} Uhr "
        f"({newest.kind_label}, {format_size(newest.size)}). Herunterladen und Löschen dort "
        "beim einzelnen Backup; das neueste Backup bleibt immer erhalten."
    )
    c2.button(
        "Backups anzeigen",
        icon=":material/inventory_2:",
        key="backup_show_in_list",
        on_click=_show_backups,
    )


def _settings_form() -> None:
    with session_scope(write=False) as session:
        current = backups.get_settings(session)
    with st.expander("Einstellungen für Backups"), st.form("backup_settings"):
        auto = st.checkbox("Jeden Tag automatisch ein Backup erzeugen", value=current.auto_daily)
        c1, c2, c3 = st.columns(3)
        days = c1.number_input("Behalten: Tage", 1, 365, current.keep_days)
        weeks = c2.number_input("Behalten: Wochen", 0, 260, current.keep_weeks)
        safety = c3.number_input(
            "Sicherungen vor Wiederherstellung: Tage", 0, 3650, current.keep_safety_days
        )
        if st.form_submit_button("Backup-Einstellungen speichern"):
            with saving() as result, session_scope() as session:
                backups.save_settings(
                    session,
                    auto_daily=auto,
                    keep_days=int(days),
                    keep_weeks=int(weeks),
                    keep_safety_days=int(safety),
                )
            if result["ok"]:
                st.success("Gespeichert.")


# --- dialogs --------------------------------------------------------------------------


def _start(kind: str, label: str, action: Any, ctx: Any, on_done: Any = None) -> bool:
    job = WORKER.job
    if job is not None and job.kind == "prepare" and job.status == "fertig":
        backups.discard_plan(job.result)  # a new job replaces the waiting restore
        WORKER.clear()
    with saving() as result:
        WORKER.start(kind, label, action, username=ctx.user.username, on_done=on_done)
    return result["ok"]


@st.dialog("Backup erzeugen", on_dismiss=lambda: _close(CREATE.key))
def _create_dialog(ctx: Any) -> None:
    st.write(
        "Das Backup enthält die ganze Datenbank und alle gespeicherten Dateien, nicht aber "
        "Schlüssel und Passwörter aus dem Ordner secrets/."
    )
    encrypt = st.checkbox("Mit Passphrase verschlüsseln", key="backup_encrypt")
    with st.form("backup_create_form", border=False):
        passphrase = repeat = ""
        if encrypt:
            passphrase = st.text_input("Passphrase", type="password")
            repeat = st.text_input("Passphrase wiederholen", type="password")
            st.caption("Ohne die Passphrase lässt sich das Backup nicht wiederherstellen.")
        submitted = st.form_submit_button("Backup starten", type="primary")
    if submitted:
        if encrypt and (not passphrase or passphrase != repeat):
            st.error("Die Passphrase fehlt, oder die beiden Eingaben stimmen nicht überein.")
            return
        secret = passphrase if encrypt else None

        def action(progress: Any) -> Any:
            return backups.create_backup(passphrase=secret, progress=progress)

        if _start("create", "Backup erzeugen", action, ctx, on_done=_refresh_warning):
            _close(CREATE.key)
            st.rerun()


@st.dialog("Backup wiederherstellen", on_dismiss=lambda: _close(RESTORE.key))
def _restore_dialog(ctx: Any) -> None:
    st.write(
        "KMS prüft das Backup zuerst vollständig und zeigt dann, was verloren ginge. "
        "Erst nach Ihrer Bestätigung wird etwas geändert."
    )
    source = st.radio(
        "Backup", ["Vorhandenes Backup", "Datei hochladen"], horizontal=True, key="backup_src"
    )
    picked = upload = None
    if source == "Vorhandenes Backup":
        options = {b.name: b for b in backups.list_backups()}
        picked = st.selectbox(
            "Backup auswählen",
            list(options),
            format_func=lambda n: (
                f"{format_datetime(options[n].created_at)} – "
                f"{options[n].kind_label}{' (verschlüsselt)' if options[n].encrypted else ''}"
            ),
            index=None,
            placeholder="Backup auswählen …",
            key="backup_pick",
        )
    else:
        upload = st.file_uploader("Backup-Datei (.tar oder .tar.enc)", key="backup_upload")
        st.caption("Sehr große Backups spielen Sie besser mit `python -m kms backup restore` ein.")
    passphrase = st.text_input(
        "Passphrase (nur bei verschlüsselten Backups)", type="password", key="backup_rpass"
    )
    if st.button("Prüfen", type="primary", key="backup_check"):
        if picked is None and upload is None:
            st.error("Bitte wählen Sie ein Backup aus oder laden Sie eine Datei hoch.")
            return
        if upload is not None:
            path = backups_dir() / f"{RESTORE_PREFIX}upload-{uuid.uuid4().hex}"
            path.write_bytes(upload.getvalue())
        else:
            path = backups.find_backup(str(picked)).path
        temp = path if upload is not None else None
        secret = passphrase or None

        def action(progress: Any) -> Any:
            try:
                return backups.prepare_restore(path, passphrase=secret, progress=progress)
            finally:
                if temp is not None:
                    remove(temp)

        if _start("prepare", "Backup prüfen", action, ctx):
            st.session_state.pop("backup_rpass", None)
            _close(RESTORE.key)
            st.rerun()


@st.dialog("Wiederherstellen bestätigen", on_dismiss=lambda: st.session_state.pop(CONFIRM_FLAG))
def _confirm_dialog(ctx: Any) -> None:
    job = WORKER.job
    if job is None or job.kind != "prepare" or job.status != "fertig":
        st.session_state.pop(CONFIRM_FLAG, None)
        st.rerun()
        return
    plan: backups.RestorePlan = job.result
    st.warning(
        f"Alle Daten werden durch den Stand vom {format_datetime(plan.created_at)} Uhr ersetzt. "
        "KMS sichert vorher den jetzigen Stand und ist währenddessen schreibgeschützt."
    )
    typed = st.text_input(
        f"Zum Bestätigen bitte „{backups.CONFIRM_WORD}“ eingeben", key="backup_confirm_word"
    )
    if st.button("Jetzt wiederherstellen", type="primary", key="backup_confirm"):
        if typed.strip() != backups.CONFIRM_WORD:
            st.error(f"Bitte genau „{backups.CONFIRM_WORD}“ eingeben.")
            return
        WORKER.clear()
        username = ctx.user.username

        def action(progress: Any) -> Any:
            return backups.apply_restore(
                plan, confirmation=typed, username=username, progress=progress
            )

        if _start("restore", "Backup wiederherstellen", action, ctx, on_done=_refresh_warning):
            st.session_state.pop(CONFIRM_FLAG, None)
            st.session_state.pop("backup_confirm_word", None)
            st.rerun()


@st.dialog("Alte Backups löschen", on_dismiss=lambda: _close(PRUNE.key))
def _prune_dialog() -> None:
    with session_scope(write=False) as session:
        settings = backups.get_settings(session)
    plan = backups.plan_prune(backups.list_backups(), settings, utcnow())
    if not plan.delete:
        kept = len(plan.keep)
        st.info(
            "Es gibt nichts zu löschen; "
            + (
                "das eine Backup wird behalten."
                if kept == 1
                else f"alle {kept} Backups werden behalten."
            )
        )
        if st.button("Schließen", key="backup_prune_close"):
            _close(PRUNE.key)
            st.rerun()
        return
    st.write(
        f"Diese {len(plan.delete)} Backups werden gelöscht; {len(plan.keep)} bleiben "
        f"(je Tag der letzten {settings.keep_days} Tage und je Woche der letzten "
        f"{settings.keep_weeks} Wochen das neueste, Sicherungen vor Wiederherstellungen "
        f"{settings.keep_safety_days} Tage, immer das neueste):"
    )
    for b in plan.delete:
        st.markdown(
            f"- {plain(format_datetime(b.created_at))} – {plain(b.kind_label)} "
            f"({plain(format_size(b.size))})"
        )
    c1, c2 = st.columns(2)
    if c1.button("Löschen", type="primary", key="backup_prune_go"):
        count = backups.prune(plan)
        _close(PRUNE.key)
        st.session_state["backup_pruned"] = count
        st.rerun()
    if c2.button("Abbrechen", key="backup_prune_cancel"):
        _close(PRUNE.key)
        st.rerun()


def _refresh_warning(_job: Job) -> None:
    """After a backup or restore, the banner's backup reminder is recomputed at once."""
    from kms.backups.automatisms import watch

    with session_scope() as session:
        watch(session, utcnow())
