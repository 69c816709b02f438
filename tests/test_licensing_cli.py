"""python -m kms license …: instance id, install, status, keygen and issue, with bad input."""

from __future__ import annotations

import io
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kms import licensing, registry
from kms.cli import main
from kms.db import session_scope

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db_url: str) -> Run:
    """The CLI in-process with the stand-in add-on "fakeaddon" registered: (code, out, err)."""
    monkeypatch.setattr(registry, "MODULE_PATHS", (*registry.MODULE_PATHS, "tests.fake_addon"))
    monkeypatch.delenv(licensing.DEMO_ENV, raising=False)

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def keys(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vendor key pair made by `license keygen`, its public key trusted; the prefix."""
    prefix = tmp_path / "vendor"
    code, out, err = cli("license", "keygen", "--out", str(prefix))
    assert (code, err) == (0, "")
    assert "Privater Schlüssel" in out
    monkeypatch.setenv("KMS_LICENSE_PUBLIC_KEYS", Path(f"{prefix}.public").read_text().strip())
    return prefix


def _instance(cli: Run) -> str:
    code, out, _ = cli("license", "instance-id")
    assert code == 0
    return out.strip()


def test_instance_id_is_shown_and_stays_the_same(cli: Run) -> None:
    first = _instance(cli)
    assert first.startswith("kms-")
    assert _instance(cli) == first


def test_keygen_writes_a_private_file_for_the_owner_only_and_never_overwrites(
    cli: Run, keys: Path
) -> None:
    private = Path(f"{keys}.private")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    before = private.read_text()
    code, out, err = cli("license", "keygen", "--out", str(keys))
    assert (code, out) == (2, "")
    assert "gibt es schon" in err
    assert private.read_text() == before


def test_issue_install_and_status(cli: Run, keys: Path, tmp_path: Path) -> None:
    """The vendor issues a licence for the instance id; the operator installs it from a file
    and as a pasted token; status names every add-on with its state in German."""
    code, out, _ = cli("license", "status")
    assert code == 0
    assert "fakeaddon\tnicht lizenziert" in out
    licence_file = tmp_path / "fake.licence"
    args = ["--instance", _instance(cli), "--private-key", f"{keys}.private"]
    code, out, err = cli(
        "license", "issue", "--module", "fakeaddon", "--from", "01.01.2026",
        "--until", "2099-12-31", "--licensee", "Musterfirma", *args, "-o", str(licence_file),
    )  # fmt: skip
    assert (code, err) == (0, "")
    code, out, err = cli("license", "install", str(licence_file))
    assert (code, err) == (0, "")
    assert "gültig vom 01.01.2026 bis 31.12.2099" in out
    code, out, _ = cli("license", "status")
    assert "fakeaddon\taktiv\t„Zusatzmodul“ ist lizenziert für Musterfirma" in out
    code, out, err = cli("license", "install", licence_file.read_text().strip())
    assert (code, err) == (0, "")
    code, out, err = cli("license", "install", "-", stdin=licence_file.read_text())
    assert (code, err) == (0, "")
    with session_scope(write=False) as session:
        assert licensing.state(session, "fakeaddon").usable


def test_bad_input_gets_german_messages_and_exit_code_2(
    cli: Run, keys: Path, tmp_path: Path
) -> None:
    instance = _instance(cli)
    out_file = tmp_path / "x.licence"
    base = ["license", "issue", "--instance", instance, "-o", str(out_file)]
    cases = {
        "ist kein Datum": [*base, "--module", "fakeaddon", "--from", "2026-13-01",
                           "--until", "2026-12-31", "--private-key", f"{keys}.private"],
        "liegt vor": [*base, "--module", "fakeaddon", "--from", "2026-12-31",
                      "--until", "2026-01-01", "--private-key", f"{keys}.private"],
        "„ledger“ gibt es nicht": [*base, "--module", "ledger", "--from", "2026-01-01",
                                   "--until", "2026-12-31", "--private-key", f"{keys}.private"],
        "kann nicht gelesen werden": [*base, "--module", "fakeaddon", "--from", "2026-01-01",
                                      "--until", "2026-12-31", "--private-key",
                                      str(tmp_path / "fehlt")],
        "kein Ed25519-Schlüssel": [*base, "--module", "fakeaddon", "--from", "2026-01-01",
                                   "--until", "2026-12-31", "--private-key",
                                   str(_garbage(tmp_path))],
    }  # fmt: skip
    for message, argv in cases.items():
        code, out, err = cli(*argv)
        assert (code, out) == (2, ""), message
        assert err.startswith("Fehler: ") and message in err, err
    assert not out_file.exists()
    code, _, err = cli("license", "install", str(tmp_path / "gibt-es-nicht"))
    assert code == 2
    assert "weder eine Lizenzdatei noch ein Lizenzschlüssel" in err
    (tmp_path / "kaputt.licence").write_text("abc.def")
    code, _, err = cli("license", "install", str(tmp_path / "kaputt.licence"))
    assert code == 2
    assert "kein gültiger KMS-Lizenzschlüssel" in err
    # a licence for another instance
    other = tmp_path / "other.licence"
    code, _, _ = cli(
        "license", "issue", "--module", "fakeaddon", "--instance", "kms-ffffffffffffffff",
        "--from", "2026-01-01", "--until", "2099-12-31", "--private-key", f"{keys}.private",
        "-o", str(other),
    )  # fmt: skip
    assert code == 0
    code, _, err = cli("license", "install", str(other))
    assert code == 2
    assert "andere Instanz" in err
    # the output file is never overwritten
    code, _, err = cli(
        "license", "issue", "--module", "fakeaddon", "--instance", instance,
        "--from", "2026-01-01", "--until", "2099-12-31", "--private-key", f"{keys}.private",
        "-o", str(other),
    )  # fmt: skip
    assert code == 2
    assert "gibt es schon" in err


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.private"
    path.write_text("das-ist-kein-schluessel")
    return path


def test_the_demo_gets_demo_licences_that_a_normal_start_refuses(
    cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m kms demo` licenses every add-on for its demo instance; a process not
    started for the demo (no KMS_DEMO=1) treats the same installed licence as missing."""
    import os

    code, out, err = cli("demo", "--force")  # --force: also on PostgreSQL
    assert (code, err) == (0, ""), err
    assert "KMS_DEMO=1 python -m kms serve" in out
    assert licensing.DEMO_ENV not in os.environ  # the flag lived only while the demo loaded
    with session_scope(write=False) as session:
        assert str(licensing.stored_instance_id(session)).startswith("demo-")
        assert not licensing.state(session, "fakeaddon").usable
    code, out, _ = cli("license", "status")
    assert "fakeaddon\tnicht lizenziert" in out
    monkeypatch.setenv(licensing.DEMO_ENV, "1")
    with session_scope(write=False) as session:
        demo = licensing.state(session, "fakeaddon")
        assert demo.usable
        assert demo.licence is not None and demo.licence.demo
        assert (demo.licence.valid_until - demo.licence.valid_from).days < 31
