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


def cmd_support_set(args: argparse.Namespace) -> int:
    from kms.support import set_support_contact

    with session_scope() as session:
        set_support_contact(session, name=args.name, email=args.email, phone=args.phone)
    _print("Support-Kontakt gespeichert.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import os

    from kms.demo import load_demo
    from kms.licensing import DEMO_ENV

    previous = os.environ.get(DEMO_ENV)
    os.environ[DEMO_ENV] = "1"  # this process is the demo: demo licences count here
    try:
        lines = load_demo(force=args.force)
    finally:
        if previous is None:
            os.environ.pop(DEMO_ENV, None)
        else:
            os.environ[DEMO_ENV] = previous
    for line in lines:
        _print(line)
    _print(f"Server für die Demo (mit Demo-Lizenzen): {DEMO_ENV}=1 python -m kms serve")
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

    from kms.licensing_cli import register as register_licence_commands

    register_licence_commands(sub, add, _groups)

    ssub = _groups(sub, "support", "Support-Kontakt in der Seitenleiste", "s_cmd")
    p = add(ssub, "set", cmd_support_set, "Support-Kontakt setzen")
    p.add_argument("--name", help="Name")
    p.add_argument("--email", help="E-Mail-Adresse")
    p.add_argument("--phone", help="Telefonnummer")

    register_module_commands(sub, add, _groups)
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
