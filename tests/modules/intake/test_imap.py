"""⊕ IMAP polling against a real Dovecot started by the test (Debian dovecot-imapd)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kms.errors import ValidationErrors
from kms.models import get_value
from kms.modules.intake import imap, service

from .conftest import png, sample

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "rechnungen", "Postfach-Test-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dovecot() -> Iterator[int]:
    """A throw-away Dovecot (IMAP only, plaintext on 127.0.0.1, one passwd-file user).

    Its directory is a fresh one under the system temp dir: pytest's tmp_path sits below a
    0700 directory that the unprivileged mail user could not enter.
    """
    if not os.path.exists(DOVECOT):
        pytest.fail("dovecot-imapd is not installed (the Makefile's system-test installs it)")
    base = Path(tempfile.mkdtemp(prefix="kms-dovecot-"))
    try:
        yield from _run_dovecot(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_dovecot(base: Path) -> Iterator[int]:
    root = base / "dovecot"
    for sub in ("run", "mail", "home", "state"):
        (root / sub).mkdir(parents=True)
    me = pwd.getpwuid(os.getuid())
    # Mail is never stored as root: as root the mailbox belongs to "nobody".
    mail = pwd.getpwnam("nobody") if os.getuid() == 0 else me
    internal = "dovecot" if os.getuid() == 0 else me.pw_name
    login = "dovenull" if os.getuid() == 0 else me.pw_name
    if os.getuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
        os.chmod(base, 0o755)  # noqa: S103 - the mail user enters this throw-away dir
    (root / "users").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{mail.pw_uid}:{mail.pw_gid}::{root}/home\n"
    )
    os.chmod(root / "users", 0o644)  # read by the auth process (an earlier CLI test sets umask 077)
    port = _free_port()
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
    )
    errors = (base / "stderr.txt").open("wb")
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stderr=errors)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:  # ready when a login works (the auth process starts after the listener)
                probe = imaplib.IMAP4("127.0.0.1", port, timeout=2)
                probe.login(USER, PASSWORD)
                probe.logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    err = (base / "stderr.txt").read_text(errors="replace")
                    pytest.fail(f"dovecot did not start: {err}\n{log}")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        errors.close()


def _mail(subject: str, *attachments: tuple[str, str, bytes]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "rechnung@example.org"
    msg["To"] = "erika@example.org"
    msg["Subject"] = subject
    msg.set_content("Anbei unsere Rechnung.")
    for name, mime, data in attachments:
        main, sub = mime.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


def _append(port: int, *mails: bytes) -> None:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    for raw in mails:
        conn.append("INBOX", None, None, raw)
    conn.logout()


def _count(port: int, folder: str) -> int:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    status, data = conn.select(f'"{folder}"')
    conn.logout()
    return int(data[0]) if status == "OK" else -1


def _configure(session: Session, port: int, password: str = PASSWORD) -> None:
    imap.save_settings(
        session, host="127.0.0.1", port=port, security="none", username=USER, password=password
    )
    session.commit()


def test_poll_imports_attachments_and_moves_mails(session: Session, dovecot: int) -> None:
    _append(
        dovecot,
        _mail("Rechnung RE-2025-0001", ("rechnung.xml", "application/xml",
                                        sample("two_rates_cii.xml"))),
        _mail("Zwei Belege", ("quittung.png", "image/png", png()),
              ("rc.xml", "application/xml", sample("reverse_charge_cii.xml"))),
        _mail("Gefährlich", ("bomb.xml", "application/xml", sample("billion_laughs.xml"))),
        _mail("Nur Text"),
    )  # fmt: skip
    _configure(session, dovecot)
    # The password is stored encrypted, never in plain text.
    assert PASSWORD not in str(get_value(session, imap.IMAP_KEY))
    summary = imap.poll(session)
    session.commit()
    assert summary == "4 E-Mails verarbeitet: 3 Rechnungen angenommen, 0 doppelt, 1 abgelehnt"
    page = service.list_invoices(session)
    assert page.total == 3 and {r.source for r in page.items} == {"imap"}
    assert {r.filename for r in page.items} == {"rechnung.xml", "quittung.png", "rc.xml"}
    assert _count(dovecot, "INBOX") == 0 and _count(dovecot, "KMS-verarbeitet") == 4
    # The same invoice mailed again is a duplicate; the mail is still moved away.
    _append(dovecot, _mail("Nochmal", ("kopie.xml", "text/xml", sample("two_rates_cii.xml"))))
    assert imap.poll(session) == (
        "1 E-Mails verarbeitet: 0 Rechnungen angenommen, 1 doppelt, 0 abgelehnt"
    )
    assert service.list_invoices(session).total == 3
    assert _count(dovecot, "INBOX") == 0


def test_wrong_password_is_a_german_error_and_nothing_moves(session: Session, dovecot: int) -> None:
    _append(dovecot, _mail("Rechnung", ("r.xml", "application/xml", sample("minimum.xml"))))
    _configure(session, dovecot, password="falsch")
    with pytest.raises(Exception, match="Anmeldung schlug fehl"):
        imap.poll(session)
    assert _count(dovecot, "INBOX") == 1


def test_unconfigured_mailbox_does_nothing(session: Session) -> None:
    assert imap.poll(session) == "kein Postfach eingerichtet"


def test_settings_are_checked(session: Session) -> None:
    with pytest.raises(ValidationErrors) as err:
        imap.save_settings(
            session, host="", port=0, security="x", username="", folder="INBOX",
            done_folder="INBOX",
        )  # fmt: skip
    assert set(err.value.errors) == {"host", "port", "security", "username", "done_folder"}
