"""python -m kms user add/role/deactivate/list: logins with roles from the console."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kms import auth
from kms.db import session_scope
from kms.permissions import SYSTEM, _acting
from tests.test_cli import PASSWORD, Run, cli  # noqa: F401 - pytest finds the fixture by name


def add(cli: Run, username: str, *extra: str) -> tuple[int, str, str]:  # noqa: F811
    return cli("user", "add", username, "--password-stdin", *extra, stdin=PASSWORD + "\n")


def role_of(username: str) -> tuple[str, bool]:
    with session_scope(write=False) as session:
        user = auth.get_user(session, username)
        return user.role, user.active


@pytest.fixture
def nobody_acting() -> Iterator[None]:
    """Like a real `python -m kms` process: no actor until the CLI says it is the system."""
    token = _acting.set(None)
    yield
    _acting.reset(token)


def test_user_add_with_roles_and_user_list(cli: Run, nobody_acting: None) -> None:  # noqa: F811
    """The first login is the Inhaber; later ones get the role given; list shows them."""
    assert add(cli, "max", "--role", "mitarbeiter")[0] == 2  # the first must be the owner
    assert add(cli, "erika", "--role", "inhaber") == (
        0,
        "Benutzer „erika“ angelegt (Inhaber).\n",
        "",
    )
    assert add(cli, "stefan", "--role", "steuerberater", "--name", "Stefan Steuer")[0] == 0
    assert add(cli, "max")[1] == "Benutzer „max“ angelegt (Mitarbeiter).\n"
    assert (role_of("stefan"), role_of("max")) == (("steuerberater", True), ("mitarbeiter", True))
    code, out, _err = cli("user", "list")
    assert (code, out) == (
        0,
        "erika\terika\tInhaber\nstefan\tStefan Steuer\tSteuerberater\nmax\tmax\tMitarbeiter\n",
    )


def test_user_add_refuses_a_bad_email_and_an_unknown_role(cli: Run) -> None:  # noqa: F811
    """A malformed e-mail ends with a German message and no login; argparse refuses a role
    that does not exist."""
    add(cli, "erika", "--role", "inhaber")
    code, _out, err = add(cli, "max", "--email", "max@@example")
    assert code == 2 and err.startswith("Fehler: ")
    with session_scope(write=False) as session, pytest.raises(Exception, match="gibt es nicht"):
        auth.get_user(session, "max")
    with pytest.raises(SystemExit):
        add(cli, "max", "--role", "chef")


def test_user_role_and_deactivate_keep_one_active_owner(cli: Run, nobody_acting: None) -> None:  # noqa: F811
    """`user role` and `user deactivate` work as the system but never leave KMS without an
    active Inhaber."""
    add(cli, "erika", "--role", "inhaber")
    add(cli, "max", "--role", "mitarbeiter")
    code, _out, err = cli("user", "role", "erika", "mitarbeiter")
    assert code == 2 and "letzte aktive Inhaber" in err
    assert cli("user", "role", "max", "steuerberater") == (
        0,
        "„max“ hat jetzt die Rolle Steuerberater.\n",
        "",
    )
    code, _out, err = cli("user", "deactivate", "erika")
    assert code == 2 and "letzte aktive Inhaber" in err
    assert cli("user", "deactivate", "max")[0] == 0
    assert role_of("max") == ("steuerberater", False)
    assert cli("user", "list")[1].endswith("max\tmax\tSteuerberater\tdeaktiviert\n")
    assert cli("user", "deactivate", "max", "--activate")[0] == 0
    assert role_of("max") == ("steuerberater", True)
    assert SYSTEM.system
