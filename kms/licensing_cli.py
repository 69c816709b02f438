"""`python -m kms license …`: the operator's and the vendor's licence commands."""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from kms import licensing
from kms.db import session_scope
from kms.errors import KmsError

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{40,}")


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")


def _date(text: str, what: str) -> date:
    """A date given as YYYY-MM-DD or DD.MM.YYYY."""
    text = text.strip()
    try:
        if "." in text:
            day, month, year = text.split(".")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(text)
    except ValueError as exc:
        raise KmsError(
            f"{what}: „{text}“ ist kein Datum (bitte JJJJ-MM-TT oder TT.MM.JJJJ)."
        ) from exc


def _read_token(source: str) -> str:
    """The token from a file, from stdin ("-") or given directly."""
    if source == "-":
        return sys.stdin.read()
    if TOKEN_SHAPE.fullmatch(source.strip()):
        return source
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise KmsError(f"Die Lizenzdatei {source} kann nicht gelesen werden.") from exc
    raise KmsError(f"{source} ist weder eine Lizenzdatei noch ein Lizenzschlüssel.")


def cmd_instance_id(_args: argparse.Namespace) -> int:
    with session_scope() as session:
        _print(licensing.instance_id(session))
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    with session_scope() as session:
        licence = licensing.install(session, _read_token(args.source))
    _print(
        f"Lizenz für „{licence.module}“ installiert, gültig vom {licence.valid_from:%d.%m.%Y} "
        f"bis {licence.valid_until:%d.%m.%Y}."
    )
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    with session_scope(write=False) as session:
        licences = licensing.installed(session)
    if not licences:
        _print("Keine Lizenzen installiert.")
    for module, licence in licences.items():
        _print(f"{module}\t{licence.licensee}\tbis {licence.valid_until:%d.%m.%Y}")
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    with session_scope() as session:
        _print(f"Instanz-ID: {licensing.instance_id(session)}")
        current = licensing.states(session)
    if not current:
        _print("Diese KMS-Version hat keine Zusatzmodule.")
    for item in current:
        _print(f"{item.module}\t{item.status}\t{item.describe()}")
    return 0


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create `path` with `mode`; never overwrite."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise KmsError(f"{path} gibt es schon; KMS überschreibt keine Datei.") from exc
    except OSError as exc:
        raise KmsError(f"{path} kann nicht angelegt werden ({exc.strerror}).") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.chmod(path, mode)


def cmd_keygen(args: argparse.Namespace) -> int:
    private_path = Path(f"{args.out}.private")
    public_path = Path(f"{args.out}.public")
    for path in (private_path, public_path):
        if path.exists():
            raise KmsError(f"{path} gibt es schon; KMS überschreibt keine Datei.")
    private, public = licensing.generate_keypair()
    _write_new(private_path, private, 0o600)
    _write_new(public_path, public, 0o644)
    _print(f"Privater Schlüssel: {private_path} (geheim halten)")
    _print(f"Öffentlicher Schlüssel: {public_path} (Schlüssel-ID {licensing.key_id(public)})")
    _print(f"In KMS_LICENSE_PUBLIC_KEYS eintragen: {public}")
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    try:
        private = Path(args.private_key).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KmsError(
            f"Der private Schlüssel {args.private_key} kann nicht gelesen werden."
        ) from exc
    modules = licensing.licensed_modules()
    if args.module not in modules:
        known = ", ".join(modules) or "keine"
        raise KmsError(f"Zusatzmodul „{args.module}“ gibt es nicht (bekannt: {known}).")
    token = licensing.issue(
        private,
        module=args.module,
        licensee=args.licensee,
        instance=args.instance,
        valid_from=_date(args.valid_from, "--from"),
        valid_until=_date(args.valid_until, "--until"),
    )
    _write_new(Path(args.output), token, 0o644)
    _print(f"Lizenz für „{args.module}“ geschrieben: {args.output}")
    return 0


def register(sub: Any, add: Any, groups: Any) -> None:
    """The `license` command group."""
    lic = groups(sub, "license", "Lizenzen für Zusatzmodule", "l_cmd")
    add(lic, "instance-id", cmd_instance_id, "Instanz-ID anzeigen (für die Lizenzbestellung)")
    p = add(lic, "install", cmd_install, "Lizenz installieren (Datei, Schlüssel oder - für stdin)")
    p.add_argument("source", metavar="DATEI|SCHLÜSSEL", help="Lizenzdatei, Lizenzschlüssel oder -")
    add(lic, "list", cmd_list, "installierte Lizenzen auflisten")
    add(lic, "status", cmd_status, "jedes Zusatzmodul mit seinem Lizenzstatus")
    p = add(lic, "keygen", cmd_keygen, "Schlüsselpaar für Lizenzen erzeugen (Anbieter)")
    p.add_argument("--out", required=True, metavar="PRÄFIX", help="schreibt PRÄFIX.private/.public")
    p = add(lic, "issue", cmd_issue, "Lizenz ausstellen (Anbieter)")
    p.add_argument("--module", required=True, help="Zusatzmodul, z. B. pricing")
    p.add_argument("--instance", required=True, help="Instanz-ID des Kunden")
    p.add_argument("--from", dest="valid_from", required=True, help="gültig ab (Datum)")
    p.add_argument("--until", dest="valid_until", required=True, help="gültig bis (Datum)")
    p.add_argument("--licensee", default="", help="Lizenznehmer")
    p.add_argument("--private-key", required=True, help="Datei mit dem privaten Schlüssel")
    p.add_argument("-o", "--output", required=True, help="Lizenzdatei (wird neu angelegt)")
