"""python -m kms backup …: create, list, verify, restore and prune backups."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from kms.db import session_scope
from kms.errors import KmsError
from kms.formatting import format_size


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _progress(phase: str, fraction: float) -> None:
    """Progress on stderr (only on a terminal, so scripts' logs stay clean)."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r{phase}: {fraction * 100:5.1f} %\033[K")
        if fraction >= 1:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _backup_passphrase(args: argparse.Namespace, path: object = None) -> str | None:
    """The passphrase for a new (--encrypt) or an existing encrypted backup."""
    from pathlib import Path

    from kms.backups.crypto import is_encrypted

    if path is not None:
        with open(Path(str(path)), "rb") as fh:
            if not is_encrypted(fh.read(8)):
                return None
    elif not args.encrypt:
        return None
    if args.passphrase_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Passphrase: ")
    if path is None and first != getpass.getpass("Passphrase wiederholen: "):
        raise KmsError("Die beiden Passphrasen stimmen nicht überein.")
    return first


def _backup_file(value: str) -> object:
    from pathlib import Path

    path = Path(value)
    if not path.is_file():
        raise KmsError(f"Die Datei „{value}“ gibt es nicht.")
    return path


def _backups(n: int) -> str:
    return f"{n} Backup" if n == 1 else f"{n} Backups"


def _job(job_id: int) -> tuple[str, dict[str, Any]]:
    """Message and result of a job the command ran (found by id in the live database)."""
    from kms.jobs import get_job

    with session_scope(write=False) as session:
        job = get_job(session, job_id)
        return job.message, dict(job.result or {})


def cmd_create(args: argparse.Namespace) -> int:
    from kms.backups import worker
    from kms.backups.store import backups_dir
    from kms.jobs import run_here

    params = {"passphrase": _backup_passphrase(args), "echo": _progress}
    _message, result = _job(run_here(worker.CREATE, worker.create, params=params, total=1000))
    _print(f"Backup erzeugt: {backups_dir() / result['name']} ({format_size(result['size'])}).")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    from kms.backups.service import list_backups
    from kms.notices import format_local

    backups = list_backups()
    if not backups:
        _print("Noch keine Backups.")
    for b in backups:
        lock = "\tverschlüsselt" if b.encrypted else ""
        _print(
            f"{b.name}\t{format_local(b.created_at)}\t{b.kind_label}\t{format_size(b.size)}{lock}"
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from kms.backups import worker
    from kms.backups.service import BackupError
    from kms.jobs import run_here

    path = _backup_file(args.file)
    params = {"path": str(path), "passphrase": _backup_passphrase(args, path)}
    try:
        job_id = run_here(worker.VERIFY, worker.verify, params=params, total=1000)
    except BackupError as exc:
        sys.stderr.write(f"Fehler: {exc.message}\n")
        for problem in exc.problems:
            sys.stderr.write(f"  - {problem}\n")
        return 1
    _print(_job(job_id)[0])
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Verify and stage (one job), show the losses, ask, then restore (a second job)."""
    from kms.backups import worker
    from kms.backups.service import CONFIRM_WORD
    from kms.backups.store import backups_dir
    from kms.jobs import get_job, run_here
    from kms.notices import format_local

    path = _backup_file(args.file)
    params = {"path": str(path), "passphrase": _backup_passphrase(args, path), "echo": _progress}
    job_id = run_here(worker.VERIFY, worker.prepare, params=params, total=1000)
    with session_scope(write=False) as session:
        token = get_job(session, job_id).token
    plan = None
    try:
        plan = worker.take_plan(token)
        if plan is None:
            raise KmsError(worker.PLAN_GONE)
        _print(f"Backup vom {format_local(plan.created_at)} Uhr ist geprüft und bereit.")
        if plan.losses or plan.files_removed:
            _print("Beim Wiederherstellen geht verloren, was seitdem gespeichert wurde:")
            for loss in plan.losses:
                _print(
                    f"  {loss.label}: {loss.newer_rows} neuer als das Backup "
                    f"(jetzt {loss.current_rows}, im Backup {loss.backup_rows})"
                )
            if plan.files_removed:
                _print(f"  Dateien, die es im Backup nicht gibt: {len(plan.files_removed)}")
        else:
            _print("Seit dem Backup wurde nichts Neues gespeichert.")
        confirmation = CONFIRM_WORD if args.yes else ""
        if not args.yes:
            if not sys.stdin.isatty():
                raise KmsError("Ohne Terminal bitte mit --yes bestätigen.")
            confirmation = input(f"Zum Wiederherstellen „{CONFIRM_WORD}“ eingeben: ")
            if confirmation.strip() != CONFIRM_WORD:
                _print("Abgebrochen; es wurde nichts geändert.")
                return 1
        # The restore job takes the plan back from the waiting ones and always discards it.
        worker.keep_plan(token, plan)
        plan = None
        params = {"plan_token": token, "confirmation": confirmation, "echo": _progress}
        restore_id = run_here(worker.RESTORE, worker.restore, params=params, total=1000)
    finally:
        if plan is not None:
            from kms.backups.service import discard_plan

            discard_plan(plan)
    # The restore's job row was carried into the restored database (run_here gives its id there).
    safety = backups_dir() / _job(restore_id)[1]["safety_backup"]
    _print(f"Wiederhergestellt. Der vorherige Stand ist gesichert in {safety}.")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from kms.backups.service import get_settings, list_backups, plan_prune, prune
    from kms.notices import format_local
    from kms.types import utcnow

    with session_scope(write=False) as session:
        settings = get_settings(session)
    plan = plan_prune(list_backups(), settings, utcnow())
    if not plan.delete:
        _print(f"Nichts zu löschen; {_backups(len(plan.keep))} bleiben.")
        return 0
    _print(f"Gelöscht werden {_backups(len(plan.delete))} ({len(plan.keep)} bleiben):")
    for b in plan.delete:
        _print(f"  {b.name}\t{format_local(b.created_at)}\t{format_size(b.size)}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise KmsError("Ohne Terminal bitte mit --yes bestätigen.")
        if input("Löschen? [j/N] ").strip().lower() not in ("j", "ja", "y", "yes"):
            _print("Abgebrochen; es wurde nichts gelöscht.")
            return 1
    _print(f"{_backups(prune(plan))} gelöscht.")
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """Add the `backup` command group to the main parser (ModuleSpec.cli)."""
    backup = groups(sub, "backup", "Backups", "b_cmd")
    p = add(backup, "create", cmd_create, "Backup von Datenbank und Dateien erzeugen")
    p.add_argument("--encrypt", action="store_true", help="mit Passphrase verschlüsseln")
    p.add_argument("--passphrase-stdin", action="store_true", help="Passphrase von stdin lesen")
    add(backup, "list", cmd_list, "Backups auflisten")
    p = add(backup, "verify", cmd_verify, "Backup prüfen, ohne wiederherzustellen")
    p.add_argument("file", help="Backup-Datei")
    p.add_argument("--passphrase-stdin", action="store_true", help="Passphrase von stdin lesen")
    p = add(backup, "restore", cmd_restore, "Backup wiederherstellen (fragt vorher)")
    p.add_argument("file", help="Backup-Datei")
    p.add_argument("--yes", action="store_true", help="ohne Rückfrage")
    p.add_argument("--passphrase-stdin", action="store_true", help="Passphrase von stdin lesen")
    p = add(backup, "prune", cmd_prune, "alte Backups löschen (fragt vorher)")
    p.add_argument("--yes", action="store_true", help="ohne Rückfrage")
