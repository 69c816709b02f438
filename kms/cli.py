"""python -m kms …: the operator's and the scripts' door to KMS."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kms.config import private_umask
from kms.db import ensure_migrated, session_scope, upgrade
from kms.errors import KmsError
from kms.formatting import format_size

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
    ensure_migrated()  # main() already migrated at start; this call then costs nothing
    _print("Datenbank ist auf dem neuesten Stand.")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    """`user add` / `user create`: a login with a role; the first one is the owner."""
    from kms import auth
    from kms.modules.users import service
    from kms.permissions import ROLE_LABELS, Role

    password = _prompt_password(args)
    with session_scope() as session:
        first = not auth.has_users(session)
        owner = getattr(args, "owner", False) or first
        role = service.parse_role(args.role or (Role.OWNER if owner else Role.STAFF))
        if first and role is not Role.OWNER:
            raise KmsError("Der erste Zugang ist der Inhaber-Zugang: bitte --role inhaber.")
        if first:
            user = auth.create_user(
                session,
                username=args.username,
                password=password,
                display_name=args.name or "",
                email=args.email or "",
                is_owner=True,
            )
        else:
            user = service.create(
                session,
                username=args.username,
                password=password,
                role=role,
                display_name=args.name or "",
                email=args.email or "",
            )
        _print(f"Benutzer „{user.username}“ angelegt ({ROLE_LABELS[role]}).")
    if first:
        auth.consume_setup_token()
    return 0


def cmd_user_role(args: argparse.Namespace) -> int:
    from kms.modules.users import service
    from kms.permissions import ROLE_LABELS

    with session_scope() as session:
        user = service.change_role(session, args.username, args.role)
        _print(
            f"„{user.username}“ hat jetzt die Rolle {ROLE_LABELS[service.parse_role(user.role)]}."
        )
    return 0


def cmd_user_deactivate(args: argparse.Namespace) -> int:
    from kms.modules.users import service

    with session_scope() as session:
        if args.activate:
            user = service.reactivate(session, args.username)
            _print(f"„{user.username}“ kann sich wieder anmelden.")
        else:
            user = service.deactivate(session, args.username)
            _print(f"„{user.username}“ ist deaktiviert; seine Anmeldungen sind beendet.")
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
    from kms.permissions import ROLE_LABELS, Role

    with session_scope(write=False) as session:
        for user in session.scalars(select(User).order_by(User.id)):
            role = ROLE_LABELS[Role(user.role)]
            status = "" if user.active else "\tdeaktiviert"
            _print(f"{user.username}\t{user.display_name}\t{role}{status}")
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
        notices = list_notices(session)
        if not notices:
            _print("Keine Hinweise und keine Wartungsfenster.")
        for n in notices:
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
        licences = installed(session)
    if not licences:
        _print("Keine Lizenzen installiert.")
    for module, licence in licences.items():
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


def cmd_bench_data(args: argparse.Namespace) -> int:
    from kms.benchdata import generate

    for line in generate(args.scale).lines():
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


def cmd_backup_create(args: argparse.Namespace) -> int:
    from kms.backups.service import create_backup

    info = create_backup(passphrase=_backup_passphrase(args), progress=_progress)
    _print(f"Backup erzeugt: {info.path} ({format_size(info.size)}).")
    return 0


def cmd_backup_list(_args: argparse.Namespace) -> int:
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
        _print(f"  {b.name}\t{format_local(b.created_at)}\t{format_size(b.size)}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise KmsError("Ohne Terminal bitte mit --yes bestätigen.")
        if input("Löschen? [j/N] ").strip().lower() not in ("j", "ja", "y", "yes"):
            _print("Abgebrochen; es wurde nichts gelöscht.")
            return 1
    _print(f"{_backups(prune(plan))} gelöscht.")
    return 0


def register_module_commands(sub: Any, add: Any, groups: Any) -> None:
    """Each module's commands (ModuleSpec.cli); a licensed add-on's refuse while it is locked."""
    from kms.registry import modules, resolve

    for spec in modules():
        if not spec.cli:
            continue
        resolve(spec.cli)(sub, _licence_gated(spec, add) if spec.licensed else add, groups)


def _licence_gated(spec: Any, add: Any) -> Any:
    """`add` whose handlers first ask registry.require_usable (German refusal when locked)."""

    def gated_add(parent: Any, name: str, handler: Handler, help_: str) -> Any:
        def run(args: argparse.Namespace) -> int:
            from kms.registry import require_usable

            with session_scope(write=False) as session:
                require_usable(session, spec)
            return handler(args)

        return add(parent, name, run, help_)

    return gated_add


class _Parser(argparse.ArgumentParser):
    """argparse with German headings and -h text; used for every (sub)command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "Argumente"
        self._optionals.title = "Optionen"
        self.add_argument("-h", "--help", action="help", help="diese Hilfe anzeigen und beenden")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "Aufruf: " if prefix is None else prefix)


def _environment_text() -> str:
    from kms.config import ENVIRONMENT

    width = max(len(v.name) for v in ENVIRONMENT)
    lines = [f"  {v.name.ljust(width)}  {v.meaning}" for v in ENVIRONMENT]
    return "Umgebungsvariablen:\n" + "\n".join(lines)


def _groups(parent: argparse._SubParsersAction, name: str, help_: str, dest: str):  # type: ignore[type-arg]
    """A command group such as `user` whose subcommands are required."""
    group = parent.add_parser(name, help=help_, description=help_)
    return group.add_subparsers(dest=dest, required=True, title="Befehle", metavar="BEFEHL")


def build_parser() -> argparse.ArgumentParser:
    from kms.permissions import Role

    parser = _Parser(
        prog="python -m kms",
        description="KMS auf der Kommandozeile: Betrieb, Benutzer, Hinweise, Backups, Daten.",
        epilog=_environment_text(),
    )
    sub = parser.add_subparsers(dest="command", required=True, title="Befehle", metavar="BEFEHL")

    def add(parent: argparse._SubParsersAction, name: str, handler: Handler, help_: str):  # type: ignore[type-arg]
        p = parent.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    db = _groups(sub, "db", "Datenbank", "db_cmd")
    add(db, "upgrade", cmd_db_upgrade, "Migrationen anwenden (geschieht auch beim Start)")

    user = _groups(sub, "user", "Benutzer und Anmeldungen", "user_cmd")
    roles = [r.value for r in Role]
    for name, help_ in (
        ("add", "Benutzer mit Rolle anlegen (Passwort wird abgefragt; der erste ist Inhaber)"),
        ("create", "wie add; --owner heißt --role inhaber, sonst Rolle mitarbeiter"),
    ):
        p = add(user, name, cmd_user_create, help_)
        p.add_argument("username", help="Benutzername")
        p.add_argument("--role", choices=roles, help="was der Benutzer darf")
        p.add_argument("--name", help="angezeigter Name")
        p.add_argument("--email", help="E-Mail-Adresse (wird geprüft)")
        if name == "create":
            p.add_argument("--owner", action="store_true", help="wie --role inhaber")
        p.add_argument("--password-stdin", action="store_true", help="Passwort von stdin lesen")
    p = add(user, "role", cmd_user_role, "Rolle ändern (nie beim letzten aktiven Inhaber)")
    p.add_argument("username", help="Benutzername")
    p.add_argument("role", choices=roles, help="neue Rolle")
    p = add(user, "deactivate", cmd_user_deactivate, "Zugang abschalten, Anmeldungen beenden")
    p.add_argument("username", help="Benutzername")
    p.add_argument("--activate", action="store_true", help="Zugang wieder erlauben")
    p = add(user, "passwd", cmd_user_passwd, "Passwort ändern (beendet dessen Anmeldungen)")
    p.add_argument("username", help="Benutzername")
    p.add_argument("--password-stdin", action="store_true", help="Passwort von stdin lesen")
    p = add(user, "unlock", cmd_user_unlock, "Anmeldesperre nach Fehlversuchen aufheben")
    p.add_argument("username", nargs="?", help="nur für diesen Benutzer")
    p.add_argument("--client", help="nur für diese Client-Adresse")
    add(user, "list", cmd_user_list, "Benutzer mit Rolle und Status auflisten")
    add(user, "logout-all", cmd_logout_all, "alle abmelden (neuer Cookie-Schlüssel)")
    add(sub, "setup-token", cmd_setup_token, "einen neuen einmaligen Einrichtungscode ausgeben")

    notice = _groups(sub, "notice", "Hinweise und Wartungsfenster im Banner", "n_cmd")
    p = add(notice, "add", cmd_notice_add, "Hinweis oder Wartungsfenster anlegen")
    p.add_argument("--text", required=True, help="Text des Hinweises")
    p.add_argument(
        "--level", default="info", choices=["info", "warning"], help="Stufe (Standard: info)"
    )
    p.add_argument("--maintenance", action="store_true", help="als Wartungsfenster")
    p.add_argument("--start", help="Beginn, ISO-Zeit; ohne Zeitzone: Europe/Berlin")
    p.add_argument("--end", help="Ende, ISO-Zeit; ohne Zeitzone: Europe/Berlin")
    add(notice, "list", cmd_notice_list, "Hinweise auflisten")
    p = add(notice, "remove", cmd_notice_remove, "Hinweis entfernen")
    p.add_argument("id", type=int, help="Nummer aus notice list")

    auto = _groups(sub, "automatisms", "⊕ Automatismen", "a_cmd")
    add(auto, "run-due", cmd_automatisms_run_due, "fällige Automatismen ausführen (für cron)")
    add(auto, "list", cmd_automatisms_list, "Automatismen mit Zeitplan auflisten")

    audit = _groups(sub, "audit", "Prüfprotokoll", "au_cmd")
    add(audit, "verify", cmd_audit_verify, "Hash-Kette des Prüfprotokolls prüfen")

    lic = _groups(sub, "license", "Lizenzen für Zusatzmodule", "l_cmd")
    p = add(lic, "install", cmd_license_install, "Lizenz installieren (Datei oder - für stdin)")
    p.add_argument("file", help="Lizenzdatei oder -")
    add(lic, "list", cmd_license_list, "installierte Lizenzen auflisten")

    ssub = _groups(sub, "support", "Support-Kontakt in der Seitenleiste", "s_cmd")
    p = add(ssub, "set", cmd_support_set, "Support-Kontakt setzen")
    p.add_argument("--name", help="Name")
    p.add_argument("--email", help="E-Mail-Adresse")
    p.add_argument("--phone", help="Telefonnummer")

    csub = _groups(sub, "contacts", "Kunden: Personen und Organisationen", "c_cmd")
    p = add(csub, "import", cmd_contacts_import, "Kontakte aus CSV importieren (alle oder keine)")
    p.add_argument("file", help="CSV-Datei")
    p.add_argument("--dry-run", action="store_true", help="nur prüfen, nichts speichern")
    p.add_argument(
        "--skip-duplicates",
        action="store_true",
        help="vorhandene Kontakte überspringen statt abzubrechen",
    )
    p = add(csub, "export", cmd_contacts_export, "Kontakte als CSV oder XLSX exportieren")
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv", help="Dateiformat")
    p.add_argument("-o", "--output", required=True, help="Zieldatei")
    p.add_argument("--kind", choices=["person", "organisation"], help="nur Personen/Organisationen")
    p.add_argument("--archived", action="store_true", help="archivierte Kontakte einschließen")
    p.add_argument("--force", action="store_true", help="vorhandene Datei überschreiben")
    register_module_commands(sub, add, _groups)
    backup = _groups(sub, "backup", "Backups", "b_cmd")
    p = add(backup, "create", cmd_backup_create, "Backup von Datenbank und Dateien erzeugen")
    p.add_argument("--encrypt", action="store_true", help="mit Passphrase verschlüsseln")
    p.add_argument("--passphrase-stdin", action="store_true", help="Passphrase von stdin lesen")
    add(backup, "list", cmd_backup_list, "Backups auflisten")
    p = add(backup, "verify", cmd_backup_verify, "Backup prüfen, ohne wiederherzustellen")
    p.add_argument("file", help="Backup-Datei")
    p.add_argument("--passphrase-stdin", action="store_true", help="Passphrase von stdin lesen")
    p = add(backup, "restore", cmd_backup_restore, "Backup wiederherstellen (fragt vorher)")
    p.add_argument("file", help="Backup-Datei")
    p.add_argument("--yes", action="store_true", help="ohne Rückfrage")
    p.add_argument("--passphrase-stdin", action="store_true", help="Passphrase von stdin lesen")
    p = add(backup, "prune", cmd_backup_prune, "alte Backups löschen (fragt vorher)")
    p.add_argument("--yes", action="store_true", help="ohne Rückfrage")

    p = add(sub, "bench-data", cmd_bench_data, "leere Instanz mit Benchmark-Daten füllen")
    p.add_argument("--scale", choices=["large", "small"], required=True, help="Umfang")
    p = add(sub, "demo", cmd_demo, "erfundene Demodaten laden (Login demo / demo-kms-2026)")
    p.add_argument(
        "--force",
        action="store_true",
        help="auch in PostgreSQL laden (nie in eine Instanz mit echtem Inhaber oder Daten)",
    )
    p = add(sub, "serve", cmd_serve, "migrieren und den Server starten")
    p.add_argument("--port", type=int, default=8501, help="Port (Standard: 8501)")
    p.add_argument("--address", default="localhost", help="Adresse (Standard: localhost)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    private_umask()  # every file this process creates under data/ is the owner's alone
    args = build_parser().parse_args(argv)
    from kms.permissions import SYSTEM, acting_as

    # The CLI is the operator's door: it acts as the system, with every right (README).
    try:
        with acting_as(SYSTEM):
            if args.handler is not cmd_serve:  # the server starts itself (its lifespan)
                from kms.registry import start

                start()
            return int(args.handler(args))
    except KmsError as exc:
        sys.stderr.write(f"Fehler: {exc.message}\n")
        return 2
