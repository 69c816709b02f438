"""The download route, the command line and the Dokumente section drive the same service."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kms import auth, jobs
from kms.backups import worker
from kms.backups.routes import download, download_url
from kms.backups.service import create_backup, list_backups
from kms.cli import main
from kms.db import session_scope
from tests import web_support
from tests.backups.helpers import (
    PASSWORD,
    archives_on_disk,
    backup_documents,
    db_snapshot,
    make_data,
    rewrite,
    wipe,
)
from tests.web_support import session_cookie


def call(path: str, cookie: str | None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Run the download route as Starlette would."""
    name = path.rsplit("/", 1)[-1]
    return web_support.call(download, path, cookie, path_params={"name": name}, method=method)


def test_download_needs_a_valid_login_cookie(db_url: str) -> None:
    """Without, with a forged or a revoked cookie: 401; logged in: the file, streamed."""
    make_data()
    backup = create_backup()
    url = download_url(backup.name)
    assert call(url, None)[0] == 401
    assert call(url, "x" * 43)[0] == 401
    issued = session_cookie("erika")
    status, headers, body = call(url, issued)
    assert status == 200 and body == backup.path.read_bytes()
    assert "attachment" in headers["content-disposition"]
    assert call(download_url("..%2Fsecrets%2Fcookie_key"), session_cookie("erika"))[0] == 404
    time.sleep(0.01)
    with session_scope() as s:
        auth.revoke_sessions(s, "erika")
    assert call(url, issued)[0] == 401


def test_route_is_registered_through_the_module_spec() -> None:
    """The server picks the route up from ModuleSpec.routes."""
    from kms.server import routes

    assert any(getattr(r, "path", "") == "/api/backups/download/{name}" for r in routes())


def test_cli_create_verify_restore_prune(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """python -m kms backup …: create, verify, restore --yes and prune --yes work end to end."""
    make_data()
    rows = db_snapshot()
    assert main(["backup", "create"]) == 0
    path = list_backups()[0].path
    assert main(["backup", "verify", str(path)]) == 0
    assert "Backup in Ordnung" in capsys.readouterr().out
    wipe()
    assert main(["backup", "restore", str(path), "--yes"]) == 0
    assert db_snapshot() == rows
    assert main(["backup", "list"]) == 0
    out = capsys.readouterr().out
    assert "Sicherung vor Wiederherstellung" in out and "von Hand" in out
    assert main(["backup", "prune", "--yes"]) == 0
    # both are from today: the newest of the day (the safety backup) stays
    assert "1 Backup gelöscht" in capsys.readouterr().out
    assert [b.kind for b in list_backups()] == ["safety"]
    assert main(["backup", "prune", "--yes"]) == 0
    assert "Nichts zu löschen" in capsys.readouterr().out


def test_cli_verify_says_what_is_wrong(db_url: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A damaged archive: exit code 1 and each problem on its own line, in German."""
    make_data()
    backup = create_backup()
    broken = rewrite(
        backup.path,
        tmp_path / "kaputt.tar",
        lambda m: {k: v for k, v in m.items() if "folge-1" not in k},
    )
    assert main(["backup", "verify", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "Fehler: Das Backup ist beschädigt" in err
    assert "  - „data/media/folge-1.mp3“ fehlt im Backup" in err


def test_cli_restore_without_terminal_needs_yes(db_url: str, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """Asked from a script without --yes, restore refuses and changes nothing."""
    import io

    make_data()
    backup = create_backup()
    wipe()
    rows = db_snapshot()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["backup", "restore", str(backup.path)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert db_snapshot() == rows


def test_cli_encrypted_backup_with_passphrase_on_stdin(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """--encrypt --passphrase-stdin creates an archive that verify opens with the same phrase."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("mein geheimer satz\n"))
    assert main(["backup", "create", "--encrypt", "--passphrase-stdin"]) == 0
    path = list_backups()[0].path
    assert path.name.endswith(".tar.enc")
    monkeypatch.setattr("sys.stdin", io.StringIO("falsch\n"))
    assert main(["backup", "verify", str(path), "--passphrase-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("mein geheimer satz\n"))
    assert main(["backup", "verify", str(path), "--passphrase-stdin"]) == 0


SCRIPT = """
from kms.backups.ui import render_functions
from kms.registry import PageSpec
from kms.ui.auth import CurrentUser
from kms.ui.page import PageContext

import kms.backups as b
page = PageSpec("pages/x.py", "Dokumente", ":material/folder:", "dokumente", "Kunden", b.FUNCTIONS)
render_functions(PageContext(user=CurrentUser("erika", "Erika"), page=page, read_only=False))
"""


def app():  # type: ignore[no-untyped-def]
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(SCRIPT, default_timeout=30)
    # The script skips run_page's login gate; services still need a logged-in user (roles).
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "erika"
    return at


def button(at, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def finish(at):  # type: ignore[no-untyped-def]
    jobs.wait_all(60)
    at.run()
    return at


@pytest.fixture
def ui_user(sqlite_session) -> None:  # type: ignore[no-untyped-def]
    auth.create_user(sqlite_session, username="erika", password=PASSWORD, display_name="Erika")
    sqlite_session.commit()
    yield
    jobs.wait_all(60)
    worker.discard()  # a restore plan a test left waiting


def test_page_creates_and_lists_a_backup(ui_user: None) -> None:
    """▶ Backup erzeugen opens a dialog; the job runs in the background; the section then
    points to the new backup in the document list."""
    at = app().run()
    assert any("noch kein Backup" in i.value for i in at.info)
    at.session_state["fn_open_backup_create"] = True
    at.run()
    button(at, "Backup starten").click().run()
    finish(at)
    assert any("Backup erzeugt" in s.value for s in at.success)
    assert len(list_backups()) == 1
    assert backup_documents() == archives_on_disk()
    [summary] = [c.value for c in at.caption if "in der Dokumentliste" in c.value]
    assert summary.startswith("1 Backup in der Dokumentliste")
    assert "von Hand" in summary
    button(at, "Backups anzeigen").click().run()
    assert at.session_state["doc_hide_backups"] is False
    assert at.session_state["doc_types"] == ["backup"]


def test_dokumente_lists_downloads_and_deletes_backups(ui_user: None) -> None:
    """On the Dokumente page a backup is a document of type Backup: listed after „Backups
    anzeigen“, downloaded through the streaming route (never through memory), and deleted
    through the backup rules (never the newest)."""
    from tests.modules.documents.test_page import open_page

    older = create_backup()
    time.sleep(1.05)  # titles and pickers show the second
    newest = create_backup()
    at = open_page()
    assert not at.dataframe  # "Backups ausblenden" is on by default; no other documents
    button(at, "Backups anzeigen").click().run()
    table = at.dataframe[0].value
    assert table["Typ"].tolist() == ["Backup", "Backup"]
    assert sorted(table["Dateiname"]) == sorted([older.name, newest.name])
    picker = at.selectbox(key="doc_pick")
    assert len(picker.options) == 2  # titles to the second: two backups never look alike

    def stamp(name: str) -> str:  # "20261127T034313" → "27.11.2026 04:43:13" (Berlin)
        from datetime import UTC, datetime
        from zoneinfo import ZoneInfo

        when = datetime.strptime(name[11:26], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return when.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y %H:%M:%S")

    for backup in (older, newest):
        label = next(o for o in at.selectbox(key="doc_pick").options if stamp(backup.name) in o)
        at.selectbox(key="doc_pick").set_value(label).run()
        assert any(backup.name in c.value.replace("\\", "") for c in at.caption)
        links = [el for el in at.get("link_button") if el.proto.label == "Herunterladen"]
        assert [el.proto.url for el in links] == [download_url(backup.name)]
        assert not [el for el in at.get("download_button") if el.proto.label == "Herunterladen"]
        button(at, "Löschen").click().run()
        button(at, "Endgültig löschen").click().run()
        if backup is newest:
            assert any("neueste Backup lässt sich nicht löschen" in e.value for e in at.error)
        else:
            assert not at.error, [e.value for e in at.error]
    assert [b.name for b in list_backups()] == [newest.name]
    assert backup_documents() == archives_on_disk()


def test_page_restore_shows_losses_and_needs_the_typed_word(ui_user: None) -> None:
    """Prüfen → what would be lost → typed confirmation → restored, with a success message."""
    make_data(tag="2")
    backup = create_backup()
    rows = db_snapshot()
    wipe()
    with session_scope() as s:  # the Inhaber who restores is a login of today's data (roles)
        auth.create_user(s, username="erika", password=PASSWORD, display_name="Erika")
    at = app().run()
    at.session_state["fn_open_backup_restore"] = True
    at.run()
    at.selectbox(key="backup_pick").set_value(backup.name).run()
    button(at, "Prüfen").click().run()
    finish(at)
    assert any("geprüft" in i.value for i in at.info)
    losses = at.dataframe[0].value
    assert "Kontakte (Personen und Organisationen)" in losses["Daten"].tolist()
    button(at, "Wiederherstellen …").click().run()
    at.text_input(key="backup_confirm_word").input("wiederherstellen").run()
    button(at, "Jetzt wiederherstellen").click().run()
    assert any("genau" in e.value for e in at.error)
    at.text_input(key="backup_confirm_word").input("WIEDERHERSTELLEN").run()
    button(at, "Jetzt wiederherstellen").click().run()
    finish(at)
    assert any("wiederhergestellt" in s.value for s in at.success)
    after = db_snapshot()
    # the backup reminder is recomputed right after the restore (an empty warnings entry)
    after["key_values"] = [r for r in after["key_values"] if r[0] != "banner.system_warnings"]
    assert after == rows


def test_page_prune_asks_before_deleting(ui_user: None) -> None:
    """▶ Alte Backups löschen lists the victims; only „Löschen“ deletes them."""
    from kms.backups.store import backups_dir

    for stamp in ("20250101T100000Z", "20250102T100000Z"):
        (backups_dir() / f"kms-backup-{stamp}-manual.tar").write_bytes(b"x")
    create_backup()
    at = app().run()
    at.session_state["fn_open_backup_prune"] = True
    at.run()
    assert len(list_backups()) == 3
    button(at, "Löschen").click().run()
    assert any("2 alte Backups gelöscht" in s.value for s in at.success)
    assert len(list_backups()) == 1
    # Asked again, nothing is left to delete; the one backup is named in the singular.
    at.session_state["fn_open_backup_prune"] = True
    at.run()
    assert any(
        i.value == "Es gibt nichts zu löschen; das eine Backup wird behalten." for i in at.info
    )


def test_page_shows_progress_from_the_job_row_and_a_dead_job_as_abgebrochen(
    ui_user: None,
) -> None:
    """The section reads the `jobs` row: a running backup job with its phase and percent
    (for every user), and one whose process died as abgebrochen, until closed."""
    import threading

    from kms.jobs import RUNNING, Job, JobHandle, process_id, start_job

    gate = threading.Event()

    def hold(job: JobHandle) -> str:
        job.step("Archiv schreiben", 0.5)
        gate.wait(30)
        return "fertig"

    with session_scope() as s:
        start_job(s, worker.CREATE, hold, total=1000)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with session_scope(write=False) as s:
                if s.query(Job).filter(Job.message == "Archiv schreiben").count():
                    break
            time.sleep(0.05)
        at = app().run()
        [bar] = at.get("progress")
        assert bar.proto.value == 50 and bar.proto.text == "Backup erzeugen: Archiv schreiben"
    finally:
        gate.set()
        jobs.wait_all(30)
    with session_scope() as s:  # a restore of this process that it no longer runs
        s.add(Job(kind=worker.RESTORE, status=RUNNING, owner=process_id(), token="tot"))
    at = app().run()
    assert not at.get("progress")
    [warning] = [w.value for w in at.warning if "abgebrochen" in w.value]
    assert warning.startswith("Backup wiederherstellen wurde abgebrochen")
    button(at, "Meldung schließen").click().run()
    assert not [w for w in at.warning if "abgebrochen" in w.value]
