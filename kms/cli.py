"""python -m kms …: the operator's and the scripts' door to KMS."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence

from kms.config import private_umask, secure_data_dir
from kms.db import session_scope, upgrade
from kms.errors import KmsError

Handler = Callable[[argparse.Namespace], int]


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _prompt_password(args: argparse.Namespace) -> str:
    """Read a password from stdin (--password-stdin) or prompt twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Passwort: ")
    if first != getpass.getpass("Passwort wiederholen: "):
        raise KmsError("Die beiden Passwörter stimmen nicht überein.")
    return first


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    upgrade()
    _print("Datenbank ist auf dem neuesten Stand.")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from kms import auth

    password = _prompt_password(args)
    with session_scope() as session:
        owner = args.owner or not auth.has_users(session)
        user = auth.create_user(
            session,
            username=args.username,
            password=password,
            display_name=args.name or "",
            email=args.email or "",
            is_owner=owner,
        )
        _print(f"Benutzer „{user.username}“ angelegt{' (Inhaber/in)' if owner else ''}.")
    if owner:
        auth.consume_setup_token()
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from kms import auth

    password = _prompt_password(args)
    with session_scope() as session:
        auth.set_password(session, args.username, password)
    _print("Passwort geändert; bestehende Anmeldungen dieses Benutzers sind beendet.")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    from kms import auth

    with session_scope() as session:
        if args.username:
            auth.get_user(session, args.username)
        count = auth.unlock(session, args.username, args.client)
    _print(f"{count} fehlgeschlagene Anmeldeversuche vergessen; die Sperre ist aufgehoben.")
    return 0


def cmd_user_list(_args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from kms.models import User

    with session_scope(write=False) as session:
        for user in session.scalars(select(User).order_by(User.id)):
            role = "Inhaber/in" if user.is_owner else "Mitarbeiter/in"
            _print(f"{user.username}\t{user.display_name}\t{role}")
    return 0


def cmd_logout_all(_args: argparse.Namespace) -> int:
    from kms import auth

    with session_scope() as session:
        auth.rotate_cookie_key(session)
    _print("Alle Anmeldungen beendet (neuer Cookie-Schlüssel).")
    return 0


def cmd_setup_token(_args: argparse.Namespace) -> int:
    from kms import auth
    from kms.formatting import format_datetime

    with session_scope(write=False) as session:
        if auth.has_users(session):
            _print(
                "Es gibt bereits einen Inhaber-Zugang; ein Einrichtungscode wird nicht gebraucht."
            )
            return 0
    # A new code every time: the console is the one place that may hand one out, and an
    # earlier code that was seen somewhere stops working.
    token = auth.setup_token(renew=True)
    expires = auth.setup_token_expires()
    assert expires is not None  # noqa: S101 - just written
    _print(token)
    _print(f"Gültig bis {format_datetime(expires)} (24 Stunden).")
    return 0


def cmd_notice_add(args: argparse.Namespace) -> int:
    from kms.notices import add_notice, format_local

    with session_scope() as session:
        notice = add_notice(
            session,
            text=args.text,
            level=args.level,
            maintenance=args.maintenance,
            start=args.start,
            end=args.end,
        )
        when = ""
        if notice.starts_at and notice.ends_at:
            when = f" ({format_local(notice.starts_at)}–{format_local(notice.ends_at)})"
        _print(f"Hinweis {notice.id} angelegt{when}.")
    return 0


def cmd_notice_list(_args: argparse.Namespace) -> int:
    from kms.notices import format_local, list_notices

    with session_scope(write=False) as session:
        for n in list_notices(session):
            kind = "Wartung" if n.is_maintenance else n.level
            span = ""
            if n.starts_at or n.ends_at:
                start = format_local(n.starts_at) if n.starts_at else "…"
                end = format_local(n.ends_at) if n.ends_at else "…"
                span = f"\t{start} – {end}"
            _print(f"{n.id}\t{kind}\t{n.text}{span}")
    return 0


def cmd_notice_remove(args: argparse.Namespace) -> int:
    from kms.notices import remove_notice

    with session_scope() as session:
        remove_notice(session, args.id)
    _print(f"Hinweis {args.id} entfernt.")
    return 0


def cmd_automatisms_run_due(_args: argparse.Namespace) -> int:
    from kms.functions import run_due

    ran = run_due()
    for key, message in ran.items():
        _print(f"{key}: {message}")
    if not ran:
        _print("Nichts fällig.")
    return 0


def cmd_automatisms_list(_args: argparse.Namespace) -> int:
    from kms.registry import automatisms

    for spec in automatisms():
        _print(f"{spec.key}\t{spec.schedule_text}\t{spec.label}")
    return 0


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    from kms.audit import compare_anchor, verify
    from kms.backups.service import newest_audit_anchor

    with session_scope(write=False) as session:
        problems = verify(session)
        found = newest_audit_anchor(session)
        if found is not None:
            problems += compare_anchor(session, found[1], f"das Backup {found[0].name}")
    for problem in problems:
        _print(
            f"Eintrag {problem.event_id}: {problem.message}"
            if problem.event_id
            else problem.message
        )
    if problems:
        return 1
    compared = f" und mit dem Backup {found[0].name}" if found else ""
    _print(
        "Prüfprotokoll ist vollständig und unverändert (geprüft mit dem Anker in "
        f"data/secrets{compared})."
    )
    return 0


def cmd_license_install(args: argparse.Namespace) -> int:
    from kms.licensing import install

    token = open(args.file).read() if args.file != "-" else sys.stdin.read()
    with session_scope() as session:
        licence = install(session, token)
    _print(f"Lizenz für „{licence.module}“ installiert, gültig bis {licence.valid_until:%d.%m.%Y}.")
    return 0


def cmd_license_list(_args: argparse.Namespace) -> int:
    from kms.licensing import installed

    with session_scope(write=False) as session:
        for module, licence in installed(session).items():
            _print(f"{module}\t{licence.licensee}\tbis {licence.valid_until:%d.%m.%Y}")
    return 0


def cmd_support_set(args: argparse.Namespace) -> int:
    from kms.support import set_support_contact

    with session_scope() as session:
        set_support_contact(session, name=args.name, email=args.email, phone=args.phone)
    _print("Support-Kontakt gespeichert.")
    return 0


def cmd_contacts_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kms.modules.contacts.transfer import import_contacts

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise KmsError(f"Die Datei „{args.file}“ lässt sich nicht lesen: {exc.strerror}.") from exc
    with session_scope() as session:
        plan = import_contacts(
            session, data, dry_run=args.dry_run, skip_duplicates=args.skip_duplicates
        )
    for row, note in plan.warnings:
        _print(f"Zeile {row}: {note}")
    if not plan.ok:
        for line in plan.problem_lines():
            sys.stderr.write(line + "\n")
        sys.stderr.write(
            f"Nichts importiert: {len(plan.problems)} Problem(e). Bitte die Datei korrigieren.\n"
        )
        return 1
    rows = sum(1 for r in plan.rows if not r.skipped)
    if args.dry_run:
        _print(f"Probelauf: {rows} Zeilen wären importierbar; nichts wurde gespeichert.")
    else:
        _print(
            f"Importiert: {plan.created_persons} Personen, "
            f"{plan.created_organisations} Organisationen."
        )
    return 0


def cmd_contacts_export(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from kms.modules.contacts.transfer import export_csv, export_xlsx

    target = Path(args.output)
    if target.exists() and not args.force:
        raise KmsError(f"„{target}“ gibt es schon; mit --force überschreiben.")
    with session_scope(write=False) as session:
        export = export_xlsx if args.format == "xlsx" else export_csv
        data = export(session, kind=args.kind, archived="all" if args.archived else "active")
    tmp = target.with_name(f".{target.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KmsError(f"„{target}“ lässt sich nicht schreiben: {exc.strerror}.") from exc
    _print(f"Kontakte exportiert nach {target}.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kms.demo import load_demo

    for line in load_demo(force=args.force):
        _print(line)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from kms import auth
    from kms.config import get_config

    upgrade()
    with session_scope(write=False) as session:
        needs_owner = not auth.has_users(session)
    config = get_config()
    _print(f"KMS: Daten in {config.data_dir}")
    if needs_owner:
        _print("")
        _print("  Ersteinrichtung: Einrichtungscode für den Inhaber-Zugang im Browser:")
        _print(f"      {auth.setup_token()}")
        _print("")
    _print(f"KMS läuft auf http://localhost:{args.port}")
    sys.stdout.flush()
    from kms.server import app

    app.run(
        config={
            "server.port": args.port,
            "server.address": args.address,
            "server.headless": True,
            "browser.gatherUsageStats": False,
        }
    )
    return 0


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


def _size(n: int) -> str:
    from kms.backups.store import format_size

    return format_size(n)


def cmd_backup_create(args: argparse.Namespace) -> int:
    from kms.backups.service import create_backup

    info = create_backup(passphrase=_backup_passphrase(args), progress=_progress)
    _print(f"Backup erzeugt: {info.path} ({_size(info.size)}).")
    return 0


def cmd_backup_list(_args: argparse.Namespace) -> int:
    from kms.backups.service import list_backups
    from kms.notices import format_local

    for b in list_backups():
        lock = "\tverschlüsselt" if b.encrypted else ""
        _print(f"{b.name}\t{format_local(b.created_at)}\t{b.kind_label}\t{_size(b.size)}{lock}")
    return 0


def cmd_backup_verify(args: argparse.Namespace) -> int:
    from kms.backups.service import BackupError, verify_backup
    from kms.notices import format_local

    path = _backup_file(args.file)
    try:
        manifest = verify_backup(path, passphrase=_backup_passphrase(args, path))  # type: ignore[arg-type]
    except BackupError as exc:
        sys.stderr.write(f"Fehler: {exc.message}\n")
        for problem in exc.problems:
            sys.stderr.write(f"  - {problem}\n")
        return 1
    from datetime import datetime

    created = format_local(datetime.fromisoformat(manifest.created_at))
    files = sum(1 for p in manifest.parts if p["path"].startswith("data/"))
    rows = sum(int(t["rows"]) for t in manifest.tables)
    _print(
        f"Backup in Ordnung: KMS {manifest.kms_version}, Schema {manifest.schema_revision}, "
        f"erstellt {created}, {len(manifest.tables)} Tabellen mit {rows} Zeilen, {files} Dateien."
    )
    return 0


def cmd_backup_restore(args: argparse.Namespace) -> int:
    from kms.backups.service import CONFIRM_WORD, apply_restore, discard_plan, prepare_restore
    from kms.notices import format_local

    path = _backup_file(args.file)
    plan = prepare_restore(
        path,  # type: ignore[arg-type]
        passphrase=_backup_passphrase(args, path),
        progress=_progress,
    )
    try:
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
        result = apply_restore(plan, confirmation=confirmation, progress=_progress)
    finally:
        discard_plan(plan)
    _print(f"Wiederhergestellt. Der vorherige Stand ist gesichert in {result.safety_backup.path}.")
    return 0


def cmd_backup_prune(args: argparse.Namespace) -> int:
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
        _print(f"  {b.name}\t{format_local(b.created_at)}\t{_size(b.size)}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise KmsError("Ohne Terminal bitte mit --yes bestätigen.")
        if input("Löschen? [j/N] ").strip().lower() not in ("j", "ja", "y", "yes"):
            _print("Abgebrochen; es wurde nichts gelöscht.")
            return 1
    _print(f"{_backups(prune(plan))} gelöscht.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kms", description="KMS command line")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(parent: argparse._SubParsersAction, name: str, handler: Handler, help_: str):  # type: ignore[type-arg]
        p = parent.add_parser(name, help=help_)
        p.set_defaults(handler=handler)
        return p

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_cmd", required=True)
    add(db, "upgrade", cmd_db_upgrade, "apply migrations")

    user = sub.add_parser("user", help="logins").add_subparsers(dest="user_cmd", required=True)
    p = add(user, "create", cmd_user_create, "create a login (password prompted)")
    p.add_argument("username")
    p.add_argument("--name")
    p.add_argument("--email")
    p.add_argument("--owner", action="store_true")
    p.add_argument("--password-stdin", action="store_true")
    p = add(user, "passwd", cmd_user_passwd, "change a password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    p = add(user, "unlock", cmd_user_unlock, "lift the login back-off")
    p.add_argument("username", nargs="?")
    p.add_argument("--client", help="only this client address")
    add(user, "list", cmd_user_list, "list logins")
    add(user, "logout-all", cmd_logout_all, "end every session (rotates the cookie key)")
    add(sub, "setup-token", cmd_setup_token, "show the one-time setup code")

    notice = sub.add_parser("notice", help="banner").add_subparsers(dest="n_cmd", required=True)
    p = add(notice, "add", cmd_notice_add, "add a notice or maintenance window")
    p.add_argument("--text", required=True)
    p.add_argument("--level", default="info", choices=["info", "warning"])
    p.add_argument("--maintenance", action="store_true")
    p.add_argument("--start", help="ISO time; without offset: Europe/Berlin")
    p.add_argument("--end", help="ISO time; without offset: Europe/Berlin")
    add(notice, "list", cmd_notice_list, "list notices")
    p = add(notice, "remove", cmd_notice_remove, "remove a notice")
    p.add_argument("id", type=int)

    auto = sub.add_parser("automatisms", help="⊕").add_subparsers(dest="a_cmd", required=True)
    add(auto, "run-due", cmd_automatisms_run_due, "run what is due (for cron)")
    add(auto, "list", cmd_automatisms_list, "list automatisms")

    audit = sub.add_parser("audit", help="audit log").add_subparsers(dest="au_cmd", required=True)
    add(audit, "verify", cmd_audit_verify, "check the hash chain")

    lic = sub.add_parser("license", help="add-on licences").add_subparsers(
        dest="l_cmd", required=True
    )
    p = add(lic, "install", cmd_license_install, "install a licence token (file or -)")
    p.add_argument("file")
    add(lic, "list", cmd_license_list, "list installed licences")

    support = sub.add_parser("support", help="support contact")
    ssub = support.add_subparsers(dest="s_cmd", required=True)
    p = add(ssub, "set", cmd_support_set, "set the support contact")
    p.add_argument("--name")
    p.add_argument("--email")
    p.add_argument("--phone")

    contacts = sub.add_parser("contacts", help="Kunden: persons and organisations")
    csub = contacts.add_subparsers(dest="c_cmd", required=True)
    p = add(csub, "import", cmd_contacts_import, "import contacts from CSV (all or nothing)")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="check only, save nothing")
    p.add_argument(
        "--skip-duplicates", action="store_true", help="skip rows already in KMS instead of failing"
    )
    p = add(csub, "export", cmd_contacts_export, "export contacts to CSV or XLSX")
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--kind", choices=["person", "organisation"])
    p.add_argument("--archived", action="store_true", help="include archived contacts")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    from kms.modules.invoices.cli import register as register_invoice_cli

    register_invoice_cli(sub, add)
    backup = sub.add_parser("backup", help="backups").add_subparsers(dest="b_cmd", required=True)
    p = add(backup, "create", cmd_backup_create, "create a backup of database and files")
    p.add_argument("--encrypt", action="store_true", help="encrypt with a passphrase")
    p.add_argument("--passphrase-stdin", action="store_true")
    add(backup, "list", cmd_backup_list, "list backups")
    p = add(backup, "verify", cmd_backup_verify, "check an archive without restoring it")
    p.add_argument("file")
    p.add_argument("--passphrase-stdin", action="store_true")
    p = add(backup, "restore", cmd_backup_restore, "restore a backup (asks first)")
    p.add_argument("file")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--passphrase-stdin", action="store_true")
    p = add(backup, "prune", cmd_backup_prune, "delete old backups (asks first)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    p = add(sub, "demo", cmd_demo, "load fictitious demo data")
    p.add_argument(
        "--force", action="store_true", help="also on PostgreSQL (never into an instance with data)"
    )
    p = add(sub, "serve", cmd_serve, "migrate and start the server")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="localhost")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    private_umask()  # every file this process creates under data/ is the owner's alone
    secure_data_dir()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KmsError as exc:
        sys.stderr.write(f"Fehler: {exc.message}\n")
        return 2
