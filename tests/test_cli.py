"""python -m kms …: users, setup token, notices, automatisms, support contact and demo data."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kms import auth
from kms.cli import main
from kms.config import ROOT, get_config
from kms.db import session_scope
from kms.models import Base, Notice, User
from kms.modules.contacts.models import Contact
from kms.modules.settings.models import CompanyProfile, TaxRegime
from kms.registry import import_models, modules
from kms.support import support_contact

PASSWORD = "Sommer-Regen-2026"
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run the CLI in-process: returns (exit code, stdout, stderr); `stdin` feeds a password."""

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _count(model: type) -> int:
    with session_scope(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def _create(cli: Run, username: str = "erika", *extra: str) -> tuple[int, str, str]:
    return cli("user", "create", username, "--password-stdin", *extra, stdin=PASSWORD + "\n")


# --- users ---------------------------------------------------------------------------------


def test_user_create_makes_the_first_user_the_owner(cli: Run, db_url: str) -> None:
    """The first login created on the console is the owner; the setup code is then spent."""
    token = auth.setup_token()
    assert _create(cli, "erika", "--name", "Erika Mustermann") == (
        0,
        "Benutzer „erika“ angelegt (Inhaber).\n",
        "",
    )
    assert not auth.check_setup_token(token)
    assert _create(cli, "max") == (0, "Benutzer „max“ angelegt (Mitarbeiter).\n", "")
    with session_scope(write=False) as session:
        erika, max_ = auth.get_user(session, "erika"), auth.get_user(session, "max")
        assert (erika.is_owner, erika.display_name, max_.is_owner) == (
            True,
            "Erika Mustermann",
            False,
        )
        assert auth.verify_password(PASSWORD, erika.password_hash)
    code, out, _err = cli("user", "list")
    assert (code, out) == (0, "erika\tErika Mustermann\tInhaber\nmax\tmax\tMitarbeiter\n")


@pytest.mark.parametrize(
    ("stdin", "message"),
    [("kurz\n", "mindestens 10 Zeichen"), ("ä" * 40 + "\n", "höchstens 72 Bytes")],
)
def test_user_create_refuses_bad_passwords(cli: Run, stdin: str, message: str) -> None:
    """A bad password ends with exit code 2, a German message, and no user."""
    code, out, err = cli("user", "create", "erika", "--password-stdin", stdin=stdin)
    assert (code, out) == (2, "")
    assert err.startswith("Fehler: ") and message in err
    assert _count(User) == 0


def test_user_create_refuses_a_taken_name(cli: Run) -> None:
    """Creating the same login twice fails the second time."""
    _create(cli)
    code, _out, err = _create(cli, "ERIKA")
    assert code == 2 and "gibt es schon" in err
    assert _count(User) == 1


def test_user_unlock_lifts_the_back_off(cli: Run) -> None:
    """`user unlock NAME` forgets the failures; an unknown name is an error."""
    _create(cli)
    with session_scope() as session:
        for _ in range(5):
            auth.record_attempt(session, "erika", "203.0.113.9", False)
    with session_scope(write=False) as session:
        assert auth.lockout(session, "erika", "203.0.113.9") is not None
    assert cli("user", "unlock", "erika") == (
        0,
        "5 fehlgeschlagene Anmeldeversuche vergessen; die Sperre ist aufgehoben.\n",
        "",
    )
    with session_scope(write=False) as session:
        assert auth.lockout(session, "erika", "203.0.113.9") is None
    code, _out, err = cli("user", "unlock", "niemand")
    assert code == 2 and "Einen Benutzer „niemand“ gibt es nicht." in err


def test_user_unlock_by_client_address(cli: Run) -> None:
    """`user unlock --client ADDR` frees one address and leaves the others locked."""
    with session_scope() as session:
        for client in ("203.0.113.9", "198.51.100.7"):
            for _ in range(5):
                auth.record_attempt(session, "erika", client, False)
    code, out, _err = cli("user", "unlock", "--client", "203.0.113.9")
    assert (code, out.split()[0]) == (0, "5")
    with session_scope(write=False) as session:
        assert auth.lockout(session, "erika", "203.0.113.9") is None
        assert auth.lockout(session, "erika", "198.51.100.7") is not None


def test_user_passwd_and_logout_all(cli: Run) -> None:
    """A new password works at once; "logout-all" writes a new cookie key."""
    _create(cli)
    code, out, _err = cli(
        "user", "passwd", "erika", "--password-stdin", stdin="Neu-und-lang-2026\n"
    )
    assert code == 0 and "Passwort geändert" in out
    with session_scope(write=False) as session:
        assert auth.verify_password(
            "Neu-und-lang-2026", auth.get_user(session, "erika").password_hash
        )
    old_key = auth.cookie_key()
    assert cli("user", "logout-all")[0] == 0
    assert auth.cookie_key() != old_key


def test_setup_token_is_shown_only_while_no_user_exists(cli: Run) -> None:
    """The console makes a new one-time code (the earlier one stops working) valid for 24
    hours; once a login exists it says none is needed."""
    earlier = auth.setup_token()
    code, out, _err = cli("setup-token")
    token, validity = out.splitlines()
    assert code == 0 and token == auth.setup_token() != earlier
    assert len(token) >= 16
    assert not auth.check_setup_token(earlier) and auth.check_setup_token(token)
    assert validity.startswith("Gültig bis ") and validity.endswith(" (24 Stunden).")
    _create(cli)
    code, out, _err = cli("setup-token")
    assert code == 0 and "wird nicht gebraucht" in out


# --- notices -------------------------------------------------------------------------------


def test_notice_add_list_remove(cli: Run, db_url: str) -> None:
    """A window given in Berlin time is stored in UTC, listed in Berlin time, and removable."""
    code, out, err = cli(
        "notice", "add", "--text", "Update", "--maintenance",
        "--start", "2026-10-25T01:30", "--end", "2026-10-25T03:30",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == "Hinweis 1 angelegt (25.10.2026 01:30–25.10.2026 03:30).\n"
    with session_scope(write=False) as session:
        notice = session.get(Notice, 1)
        assert (notice.starts_at, notice.ends_at) == (
            datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
        )
    assert cli("notice", "add", "--text", "Neue Version", "--level", "warning")[0] == 0
    code, out, _err = cli("notice", "list")
    # Notices without a time come first on both databases, then windows by start.
    assert out.splitlines() == [
        "2\twarning\tNeue Version",
        "1\tWartung\tUpdate\t25.10.2026 01:30 – 25.10.2026 03:30",
    ]
    assert cli("notice", "remove", "1") == (0, "Hinweis 1 entfernt.\n", "")
    assert cli("notice", "remove", "1") == (2, "", "Fehler: Hinweis 1 gibt es nicht.\n")
    assert _count(Notice) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "morgen", "--end", "2026-12-01T23:00"], "„morgen“ ist keine gültige"),
        (["--start", "2026-12-01T22:00"], "braucht Beginn (--start) und Ende (--end)"),
        (["--start", "2026-12-01T22:00", "--end", "2026-12-01T21:00"], "nach dem Beginn"),
        (["--start", "2026-03-29T02:30", "--end", "2026-03-29T04:00"], "Sommerzeit"),
    ],
)
def test_notice_add_with_bad_times_saves_nothing(cli: Run, args: list[str], message: str) -> None:
    """Bad times: German error on stderr, exit code 2, no notice stored."""
    code, out, err = cli("notice", "add", "--text", "Wartung", "--maintenance", *args)
    assert (code, out) == (2, "")
    assert err.startswith("Fehler: ") and message in err
    assert _count(Notice) == 0


def test_notice_add_without_text_is_a_usage_error(cli: Run) -> None:
    """argparse refuses a missing --text with its usage message and exit code 2."""
    with pytest.raises(SystemExit) as excinfo:
        cli("notice", "add")
    assert excinfo.value.code == 2


# --- automatisms, support ------------------------------------------------------------------


def test_automatisms_list_and_run_due(cli: Run, db_url: str) -> None:
    """The list names every automatism with its schedule; run-due runs what is due once."""
    from kms.registry import automatisms

    code, out, _err = cli("automatisms", "list")
    assert code == 0
    assert out.splitlines() == [f"{a.key}\t{a.schedule_text}\t{a.label}" for a in automatisms()]
    assert "maintenance_switch\tjede Minute\tWartungsmodus schalten" in out.splitlines()
    code, out, _err = cli("automatisms", "run-due")
    assert code == 0
    ran = dict(line.split(": ", 1) for line in out.splitlines())
    assert set(ran) == {a.key for a in automatisms()}
    assert ran["maintenance_switch"] == "Kein Wartungsfenster aktiv."
    assert ran["kleinunternehmer_watch"] == "Keine Kleinunternehmerregelung aktiv."
    assert cli("automatisms", "run-due") == (0, "Nichts fällig.\n", "")


def test_support_set_stores_and_updates_the_contact(cli: Run) -> None:
    """`support set` stores name, e-mail and phone; a later call changes only what it names."""
    assert cli("support", "set", "--name", "Muster-IT", "--email", "hilfe@example.org") == (
        0,
        "Support-Kontakt gespeichert.\n",
        "",
    )
    cli("support", "set", "--phone", "+49 30 1234567")
    assert support_contact() == {
        "name": "Muster-IT",
        "email": "hilfe@example.org",
        "phone": "+49 30 1234567",
    }


# --- demo ----------------------------------------------------------------------------------


def _inventory() -> dict[str, int]:
    """Rows per table, for every table of every registered module (Base.metadata)."""
    import_models()
    with session_scope(write=False) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }


def _demo_tables() -> dict[str, set[str]]:
    """The tables of each module that loads demo data (its models module's mapped classes)."""
    import_models()
    return {
        spec.key: {
            mapper.local_table.name
            for mapper in Base.registry.mappers
            if mapper.class_.__module__.startswith(spec.models)
        }
        for spec in modules()
        if spec.demo and spec.models
    }


def _assert_every_demo_module_loaded(counts: dict[str, int]) -> None:
    demo_tables = _demo_tables()
    assert {"contacts", "documents", "settings", "invoices", "letters"} <= set(demo_tables)
    empty = [key for key, tables in demo_tables.items() if not any(counts[t] for t in tables)]
    assert empty == [], f"modules without demo rows: {empty}"


def test_demo_loads_once_and_is_idempotent(cli: Run) -> None:
    """Running demo twice adds nothing the second time; the demo login works."""
    code, out, _err = cli("demo")
    assert code == 0
    assert "Demo-Anmeldung: Benutzername „demo“, Passwort „demo-kms-2026“" in out
    first = _inventory()
    _assert_every_demo_module_loaded(first)
    assert first[User.__tablename__] == 1 and first[Contact.__tablename__] > 0
    assert first[CompanyProfile.__tablename__] == 1 and first[TaxRegime.__tablename__] == 2
    assert cli("demo")[0] == 0
    second = _inventory()
    assert {t: (n, second[t]) for t, n in first.items() if second[t] != n} == {}
    with session_scope(write=False) as session:
        demo = auth.get_user(session, "demo")
        assert demo.is_owner and auth.verify_password("demo-kms-2026", demo.password_hash)
        contacts = session.scalars(select(Contact)).all()
        assert all("example.org" in c.email for c in contacts)
        # Demo customers come through the contacts service like a user's: each has a number,
        # and no two contacts share one.
        customers = [c for c in contacts if "kunde" in c.role_keys]
        assert len(customers) >= 10
        assert [c.name or c.last_name for c in customers if not c.customer_number] == []
        assert len({c.customer_number for c in customers}) == len(customers)
        versions = {c.id: c.version for c in contacts}
    assert not (get_config().secrets_dir / "setup_token").exists()
    assert cli("demo")[0] == 0
    with session_scope(write=False) as session:
        # A third run changes no contact either (not even its version).
        assert {c.id: c.version for c in session.scalars(select(Contact))} == versions


def test_demo_refuses_an_instance_with_a_real_owner_even_when_forced(cli: Run) -> None:
    """A real owner's instance never gets the published demo login or demo data, not even
    with --force; nothing changes."""
    _create(cli)
    before = _inventory()
    for argv in (("demo",), ("demo", "--force")):
        code, out, err = cli(*argv)
        assert (code, out) == (2, "")
        assert "enthält bereits Daten oder einen Inhaber-Zugang" in err
        assert "auch nicht mit --force" in err
        assert _inventory() == before
    with session_scope(write=False) as session:
        assert session.scalars(select(User.username)).all() == ["erika"]


def test_demo_refuses_an_instance_with_real_data_but_no_login(cli: Run) -> None:
    """Contacts imported before any login exists also keep the demo out, forced or not."""
    with session_scope() as session:
        session.add(Contact(kind="organisation", name="Muster GmbH"))
    for argv in (("demo",), ("demo", "--force")):
        assert cli(*argv)[0] == 2
    with session_scope(write=False) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_demo_refuses_postgresql_without_force(cli: Run, db_url: str) -> None:
    """On a hosted (PostgreSQL) instance demo data needs --force; then it is idempotent too."""
    if db_url.startswith("sqlite"):
        assert cli("demo")[0] == 0
        _assert_every_demo_module_loaded(_inventory())
        return
    before = _inventory()
    code, _out, err = cli("demo")
    assert code == 2 and "PostgreSQL nur mit --force" in err
    assert _inventory() == before and before[User.__tablename__] == 0
    assert cli("demo", "--force")[0] == 0
    first = _inventory()
    _assert_every_demo_module_loaded(first)
    assert cli("demo", "--force")[0] == 0
    assert _inventory() == first


# --- a real process ------------------------------------------------------------------------


def _kms(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kms", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )


def test_the_command_line_works_as_a_real_process() -> None:
    """`python -m kms` creates a user from stdin, lists it, and exits 2 on a bad notice."""
    created = _kms("user", "create", "erika", "--password-stdin", stdin=PASSWORD + "\n")
    assert (created.returncode, created.stdout) == (0, "Benutzer „erika“ angelegt (Inhaber).\n")
    listed = _kms("user", "list")
    assert listed.stdout == "erika\terika\tInhaber\n"
    bad = _kms("notice", "add", "--text", "x", "--maintenance", "--start", "bald", "--end", "nie")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == (
        "Fehler: „bald“ ist keine gültige Zeitangabe (erwartet z. B. 2026-12-01T22:00).\n"
    )
    with session_scope(write=False) as session:
        assert session.scalar(select(func.count(Notice.id))) == 0
        assert auth.verify_password(PASSWORD, auth.get_user(session, "erika").password_hash)


def _commands(parser=None, path=()):  # type: ignore[no-untyped-def]
    """(path, parser) of every command and subcommand of `python -m kms`."""
    import argparse

    from kms.cli import build_parser

    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                yield (*path, name), child, helps.get(name)
                yield from _commands(child, (*path, name))


def test_every_command_and_option_has_a_help_text() -> None:
    """Walking the argparse tree: every (sub)command and every argument and flag explains
    itself (demo --force had none)."""
    import argparse

    missing = []
    for path, parser, help_ in _commands():
        if not help_:
            missing.append(" ".join(path))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue  # its commands are checked one by one
            if not action.help:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_every_environment_variable_kms_reads_is_registered_and_documented() -> None:
    """Every KMS_* variable read in kms/ is registered in kms.config.ENVIRONMENT (which --help
    prints) and appears in the README (variables read by name prefix included)."""
    import re

    from kms.config import ENVIRONMENT

    registered = {v.name for v in ENVIRONMENT}
    read = set()
    for path in (ROOT / "kms").rglob("*.py"):
        read |= set(re.findall(r"KMS_[A-Z_]+", path.read_text(encoding="utf-8")))
    read = {n for n in read if not n.startswith("KMS_TEST_")}  # test hooks, not configuration
    for name in sorted(read):
        if name.endswith("_"):  # f"KMS_SUPPORT_{field}": some registered name has the prefix
            assert any(r.startswith(name) for r in registered), name
        else:
            assert name in registered, name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in registered:
        assert name in readme, name


def test_help_output_lists_the_variables_in_german(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m kms --help` ends with "Umgebungsvariablen:" and names each with its meaning."""
    from kms.config import ENVIRONMENT

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "Umgebungsvariablen:" in out and "Aufruf: python -m kms" in out
    for var in ENVIRONMENT:
        assert var.name in out and var.meaning in " ".join(out.split())
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    demo = " ".join(capsys.readouterr().out.split())
    assert "Aufruf: python -m kms demo" in demo and "--force auch in PostgreSQL laden" in demo


def test_readme_shows_every_command_with_an_example() -> None:
    """Each leaf command appears in the README as `python -m kms <command> …`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    leaves = [path for path, parser, _ in _commands() if parser._subparsers is None]
    missing = [" ".join(p) for p in leaves if f"python -m kms {' '.join(p)}" not in readme]
    assert missing == []


def test_empty_lists_say_so(cli: Run) -> None:
    """`license list`, `notice list` and `backup list` on a fresh instance say there is none."""
    assert cli("license", "list")[:2] == (0, "Keine Lizenzen installiert.\n")
    assert cli("notice", "list")[:2] == (0, "Keine Hinweise und keine Wartungsfenster.\n")
    assert cli("backup", "list")[:2] == (0, "Noch keine Backups.\n")
