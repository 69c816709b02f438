"""The Backups section of the Dokumente page: ▶ functions, progress, settings.

The backups themselves are listed, downloaded and deleted as documents of type "Backup"
in the page's document list (kms.backups.documents); this section shows a running job's
progress, the restore dialogs and a pointer to the backups in the list.

A page calls `render_functions(ctx)`; its PageSpec lists `kms.backups.FUNCTIONS` so the
sidebar shows the ▶ buttons. Work runs as kms.jobs jobs (kms.backups.worker); this module
only starts them and polls the job row: the newest backup job, while it runs (for every
user with the right), and its outcome for the browser session that started or watched it
(remembered by the job's token, which a restore keeps).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from kms.backups import CREATE, PRUNE, RESTORE, worker
from kms.backups import service as backups
from kms.backups.documents import sync_now
from kms.backups.store import RESTORE_PREFIX, backups_dir
from kms.db import session_scope
from kms.formatting import format_datetime, format_size
from kms.jobs import FAILED, Job, get_job_by_token, recent_jobs, running_jobs
from kms.modules.documents.service import BACKUP
from kms.types import utcnow
from kms.ui.forms import saving
from kms.ui.text import plain

CONFIRM_FLAG = "backup_restore_confirm_open"
WATCHING = "backup_job"  # token of the job this browser session started or watched
DISMISSED = "backup_jobs_dismissed"  # tokens whose outcome this session has closed
# A backup job whose process died is shown to everyone for this long ("abgebrochen").
SHOW_ABORTED = timedelta(days=1)
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
    view = _current()
    if view is None:
        return

    @st.fragment(run_every=POLL_SECONDS if view.running else None)
    def panel() -> None:
        current = _current()
        if current is None:
            return
        if current.running:
            st.progress(current.percent / 100, text=f"{current.label}: {plain(current.message)}")
            st.caption("Sie können die Seite verlassen; die Arbeit läuft weiter.")
            st.session_state[WATCHING] = current.token
            st.session_state["backup_watching"] = current.token
            return
        if st.session_state.pop("backup_watching", None) == current.token:
            st.rerun(scope="app")  # the list and the banner change once a job ends
        _job_result(current)

    panel()


class _View:
    """What the panel shows of one job row (read in one short session)."""

    def __init__(self, job: Job) -> None:
        self.token, self.kind, self.status = job.token, job.kind, job.status
        self.label = worker.LABELS.get(job.kind, job.kind)
        self.stale = job.is_stale()
        self.running = job.is_active and not self.stale
        self.percent, self.message = job.percent, job.message
        self.result: dict[str, Any] = dict(job.result or {})


def _current() -> _View | None:
    """The job to show: a backup job that runs (for everyone), else the one this session
    started or watched (found by token, so also after a restore carried it over), else the
    newest one if its process died lately (everyone learns it was abgebrochen)."""
    with session_scope(write=False) as session:
        running = running_jobs(session, worker.KINDS)
        if running:
            return _View(running[0])
        token = st.session_state.get(WATCHING)
        watched = get_job_by_token(session, token) if token else None
        if watched is not None:
            return _View(watched)
        newest = recent_jobs(session, worker.KINDS, 1)
        if newest and newest[0].is_stale():
            job = newest[0]
            recent = utcnow() - job.heartbeat_at < SHOW_ABORTED
            if recent and job.token not in st.session_state.get(DISMISSED, ()):
                return _View(job)
        return None


def _dismiss(token: str) -> None:
    st.session_state.pop(WATCHING, None)
    st.session_state[DISMISSED] = [*st.session_state.get(DISMISSED, ()), token][-20:]


def _job_result(job: _View) -> None:
    if job.stale:
        st.warning(
            f"{job.label} wurde abgebrochen: Das Programm, in dem es lief, läuft nicht mehr "
            "(Server neu gestartet?). Bitte starten Sie es erneut.",
            icon=":material/warning:",
        )
    elif job.status == FAILED:
        st.error(f"{job.label} fehlgeschlagen: {plain(job.message)}", icon=":material/error:")
    elif job.kind == worker.VERIFY:
        _plan_summary(job)
        return
    else:
        st.success(plain(job.message))
    if st.button("Meldung schließen", key="backup_job_clear"):
        _dismiss(job.token)
        st.rerun()


def _plan_summary(job: _View) -> None:
    """What the prepared restore would change, and the way on to the confirmation."""
    if not worker.has_plan(job.token):
        st.warning(worker.PLAN_GONE, icon=":material/warning:")
        if st.button("Meldung schließen", key="backup_job_clear"):
            _dismiss(job.token)
            st.rerun()
        return
    summary = job.result
    created = datetime.fromisoformat(summary["created_at"])
    st.info(
        f"Das Backup vom {format_datetime(created)} Uhr ist geprüft (Prüfsummen, "
        "Aufbau, Version) und bereit zur Wiederherstellung.",
        icon=":material/verified:",
    )
    losses = summary.get("losses", [])
    files_removed = int(summary.get("files_removed", 0))
    if losses or files_removed:
        st.warning("Beim Wiederherstellen geht verloren, was seit dem Backup gespeichert wurde:")
        rows = [
            {
                "Daten": loss["label"],
                "neuer als das Backup": loss["newer"],
                "jetzt": loss["current"],
                "im Backup": loss["backup"],
            }
            for loss in losses
        ]
        if files_removed:
            rows.append(
                {
                    "Daten": "Dateien, die es im Backup nicht gibt",
                    "neuer als das Backup": files_removed,
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
        worker.discard(job.token)
        _dismiss(job.token)
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


def _start(begin: Any) -> bool:
    """Start a job with `begin(session)` (returns its token); this session watches it."""
    with saving() as result, session_scope() as session:
        token = begin(session)
    if result["ok"]:
        st.session_state[WATCHING] = token
    return bool(result["ok"])


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
        username = ctx.user.username

        def begin(session: Any) -> str:
            return worker.start_create(session, passphrase=secret, username=username)

        if _start(begin):
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
        secret = passphrase or None
        username = ctx.user.username

        def begin(session: Any) -> str:
            return worker.start_prepare(
                session, path, passphrase=secret, temp=upload is not None, username=username
            )

        if _start(begin):
            st.session_state.pop("backup_rpass", None)
            _close(RESTORE.key)
            st.rerun()


@st.dialog("Wiederherstellen bestätigen", on_dismiss=lambda: st.session_state.pop(CONFIRM_FLAG))
def _confirm_dialog(ctx: Any) -> None:
    job = _current()
    if job is None or job.kind != worker.VERIFY or job.running or not worker.has_plan(job.token):
        st.session_state.pop(CONFIRM_FLAG, None)
        st.rerun()
        return
    created = datetime.fromisoformat(job.result["created_at"])
    st.warning(
        f"Alle Daten werden durch den Stand vom {format_datetime(created)} Uhr ersetzt. "
        "KMS sichert vorher den jetzigen Stand und ist währenddessen schreibgeschützt."
    )
    typed = st.text_input(
        f"Zum Bestätigen bitte „{backups.CONFIRM_WORD}“ eingeben", key="backup_confirm_word"
    )
    if st.button("Jetzt wiederherstellen", type="primary", key="backup_confirm"):
        if typed.strip() != backups.CONFIRM_WORD:
            st.error(f"Bitte genau „{backups.CONFIRM_WORD}“ eingeben.")
            return
        username = ctx.user.username
        plan_token = job.token

        def begin(session: Any) -> str:
            return worker.start_restore(session, plan_token, confirmation=typed, username=username)

        if _start(begin):
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
