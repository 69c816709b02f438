"""▶ Podcast umziehen: a show is imported from its feed on a local HTTP server (started by
the test on 127.0.0.1) with its metadata, GUIDs, podcast:guid, cover and audio; the feed KMS
builds afterwards carries the same GUIDs. Bad feeds and bad files give German messages,
nothing half-imported stays after a rollback, and the same show is not imported twice."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kms import licensing
from kms.config import reset_config
from kms.modules.podcasts import feed, media, migrate, service, urls
from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode, PodcastMedia
from kms.modules.podcasts.testaudio import silent_mp3

from .helpers import BASE

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SHOW_GUID = "917393e3-1b1e-5cef-ace4-edaa54e1f810"
MP3_A, MP3_B = silent_mp3(5), silent_mp3(12)


def _jpeg(size: int = 1400) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (20, 90, 160)).save(out, "JPEG")
    return out.getvalue()


class Server:
    """A local HTTP server: path → (status, content type, body); `hold` paths never answer
    until the test ends (for timeouts)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, str, bytes]] = {}
        self.released = threading.Event()
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                if self.path == "/hold":
                    owner.released.wait(10)
                    return
                status, mime, body = owner.files.get(self.path, (404, "text/plain", b"weg"))
                self.send_response(status)
                if status in (301, 302):  # the body names where to
                    self.send_header("Location", body.decode())
                self.send_header("Content-Type", mime)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(autouse=True)
def test_server_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test server runs on 127.0.0.1, which the import refuses unless the operator
    allows that host (KMS_IMPORT_PRIVATE_HOSTS)."""
    monkeypatch.setenv("KMS_IMPORT_PRIVATE_HOSTS", "127.0.0.1")
    reset_config()
    yield
    reset_config()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    srv.thread.start()
    yield srv
    srv.released.set()
    srv.httpd.shutdown()
    srv.httpd.server_close()


def feed_xml(srv: Server, *, items: str | None = None, head: str = "", guid: bool = True) -> bytes:
    """An RSS feed as a hosting service writes it (two episodes unless `items` is given)."""
    items = (
        items
        if items is not None
        else f"""
    <item>
      <title>Zweite Folge</title>
      <guid isPermaLink="false">alt-host-episode-0002</guid>
      <pubDate>Tue, 01 Dec 2026 06:00:00 +0100</pubDate>
      <description>Kurz</description>
      <content:encoded><![CDATA[<p>Hallo <b>Welt</b>, siehe <a href="https://example.org/x">Link</a>.</p><ul><li>Eins</li><li>Zwei</li></ul><script>alert(1)</script>]]></content:encoded>
      <enclosure url="{srv.url("/audio/2.mp3")}" length="{len(MP3_B)}" type="audio/mpeg"/>
      <itunes:duration>00:00:12</itunes:duration>
      <itunes:season>1</itunes:season>
      <itunes:episode>2</itunes:episode>
      <itunes:episodeType>full</itunes:episodeType>
      <itunes:explicit>yes</itunes:explicit>
    </item>
    <item>
      <title>Erste Folge</title>
      <guid isPermaLink="true">https://alt.example.net/?p=1</guid>
      <pubDate>Sun, 01 Nov 2026 10:30:00 GMT</pubDate>
      <description>Die erste.</description>
      <enclosure url="{srv.url("/audio/1.mp3")}" length="{len(MP3_A)}" type="audio/mpeg"/>
      <itunes:episodeType>trailer</itunes:episodeType>
      <itunes:explicit>clean</itunes:explicit>
    </item>"""
    )
    podcast_guid = f"<podcast:guid>{SHOW_GUID}</podcast:guid>" if guid else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
{head}<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
  xmlns:podcast="https://podcastindex.org/namespace/1.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Alter Funk &amp; Söhne</title>
    <link>https://alt.example.net</link>
    <language>de-de</language>
    <copyright>© 2026 Erika Mustermann</copyright>
    <description><![CDATA[<p>Ein Podcast, der <em>umzieht</em>.</p>]]></description>
    <itunes:author>Erika Mustermann</itunes:author>
    <itunes:owner>
      <itunes:name>Erika M.</itunes:name><itunes:email>erika@example.org</itunes:email>
    </itunes:owner>
    <itunes:image href="{srv.url("/cover.jpg")}"/>
    <itunes:category text="Business"><itunes:category text="Entrepreneurship"/></itunes:category>
    <itunes:explicit>false</itunes:explicit>
    <itunes:type>serial</itunes:type>
    {podcast_guid}
    {items}
  </channel>
</rss>""".encode()


def serve_show(srv: Server, **kw: object) -> str:
    srv.files["/feed.xml"] = (200, "application/rss+xml", feed_xml(srv, **kw))  # type: ignore[arg-type]
    srv.files["/cover.jpg"] = (200, "image/jpeg", _jpeg())
    srv.files["/audio/1.mp3"] = (200, "audio/mpeg", MP3_A)
    srv.files["/audio/2.mp3"] = (200, "audio/mpeg", MP3_B)
    return srv.url("/feed.xml")


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_show_moves_with_metadata_guids_and_media(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    calls: list[tuple[int, int, str]] = []
    result = migrate.import_feed(
        session, serve_show(server), progress=lambda d, t, label: calls.append((d, t, label))
    )
    assert (result.slug, result.title) == ("alter-funk-soehne", "Alter Funk & Söhne")
    assert result.imported == ["Zweite Folge", "Erste Folge"] and result.skipped == []
    assert calls[0] == (0, 1, "Feed wird geladen") and calls[-1] == (3, 3, "Fertig")
    assert [c[0] for c in calls] == [0, 0, 1, 2, 3]
    channel = service.get_channel(session, result.channel_id)
    assert channel.podcast_guid == SHOW_GUID and channel.published_at is None
    assert (channel.description, channel.author, channel.owner_name, channel.owner_email) == (
        "Ein Podcast, der umzieht.", "Erika Mustermann", "Erika M.", "erika@example.org"
    )  # fmt: skip
    assert (channel.category, channel.subcategory, channel.language) == (
        "Business", "Entrepreneurship", "de-de"
    )  # fmt: skip
    assert (channel.show_type, channel.explicit, channel.website, channel.copyright) == (
        "serial", False, "https://alt.example.net", "© 2026 Erika Mustermann"
    )  # fmt: skip
    cover = session.get(PodcastMedia, channel.cover_media_id)
    assert cover is not None and cover.ext == "jpg" and media.path_for(cover.storage_name).is_file()
    second, first = service.list_episodes(session, channel.id)
    assert first.guid == "https://alt.example.net/?p=1"
    assert (first.episode_type, first.explicit, first.notes, first.number) == (
        "trailer", False, "Die erste.", None
    )  # fmt: skip
    assert first.pub_at == datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    assert second.guid == "alt-host-episode-0002" and second.state == "published"
    assert second.pub_at == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert (second.season, second.number, second.explicit) == (1, 2, True)
    assert second.notes == (
        "Hallo **Welt**, siehe [Link](https://example.org/x).\n\n- Eins\n- Zwei"
    )
    audio = session.get(PodcastMedia, second.audio_media_id)
    assert audio is not None
    assert (audio.size, audio.duration_seconds, second.duration_seconds) == (len(MP3_B), 12, 12)
    assert media.path_for(audio.storage_name).read_bytes() == MP3_B
    # Published under KMS, the feed keeps both GUIDs and the show's podcast:guid.
    service.save_public_base_url(session, BASE)
    service.publish_channel(session, channel.id, now=NOW)
    assert service.get_channel(session, channel.id).podcast_guid == SHOW_GUID
    xml = etree.fromstring(feed.build_feed(session, result.slug, NOW).xml)
    assert xml.xpath("//item/guid/text()") == [
        "alt-host-episode-0002",
        "https://alt.example.net/?p=1",
    ]
    ns = {"podcast": feed.PODCAST_NS}
    assert xml.xpath("//podcast:guid/text()", namespaces=ns) == [SHOW_GUID]


def test_without_podcast_guid_the_old_feed_url_defines_it(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    url = serve_show(server, guid=False)
    result = migrate.import_feed(session, url, slug="umzug")
    assert result.slug == "umzug"
    assert service.get_channel(session, result.channel_id).podcast_guid == urls.podcast_guid(url)


def test_a_broken_file_skips_one_episode_with_its_reason(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    url = serve_show(server)
    server.files["/audio/1.mp3"] = (200, "audio/mpeg", b"RIFF....WAVEfmt " + bytes(2000))
    server.files["/cover.jpg"] = (200, "image/jpeg", _jpeg(600))
    result = migrate.import_feed(session, url)
    assert result.imported == ["Zweite Folge"]
    assert result.skipped == [("Erste Folge", media.AUDIO_REFUSED)]
    assert any("Cover nicht übernommen" in n and "600 × 600" in n for n in result.notes)
    episodes = service.list_episodes(session, result.channel_id)
    assert [e.guid for e in episodes] == ["alt-host-episode-0002"]
    assert service.get_channel(session, result.channel_id).cover_media_id is None


def test_episodes_without_enclosure_or_with_a_missing_file_are_listed(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    items = f"""
    <item><title>Ohne Ton</title><guid>a-1</guid>
      <pubDate>Sun, 01 Nov 2026 10:30:00 GMT</pubDate></item>
    <item><title>Weg</title><guid>a-2</guid>
      <enclosure url="{server.url("/audio/fehlt.mp3")}" length="1" type="audio/mpeg"/></item>
    <item><title>Gut</title><guid>a-3</guid>
      <enclosure url="{server.url("/audio/1.mp3")}" length="1" type="audio/mpeg"/></item>
    <item><title>Doppelt</title><guid>a-3</guid>
      <enclosure url="{server.url("/audio/1.mp3")}" length="1" type="audio/mpeg"/></item>
    <item><title>Lang</title><guid>{"x" * 65}</guid>
      <enclosure url="{server.url("/audio/1.mp3")}" length="1" type="audio/mpeg"/></item>"""
    result = migrate.import_feed(session, serve_show(server, items=items))
    assert result.imported == ["Gut"]
    reasons = dict(result.skipped)
    assert reasons["Ohne Ton"] == "Die Episode hat keine Audiodatei (enclosure)."
    assert "beim Abruf der Audiodatei mit Fehler 404 (nicht gefunden)" in reasons["Weg"]
    assert "mehrfach" in reasons["Doppelt"] and "64 Zeichen" in reasons["Lang"]
    # No pubDate: imported as a draft. Without episode numbers a serial show becomes episodic.
    (good,) = service.list_episodes(session, result.channel_id)
    assert (good.state, good.pub_at) == ("draft", None)
    assert service.get_channel(session, result.channel_id).show_type == "episodic"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/seite.html", b"<!DOCTYPE html><html><body><p>Hallo<br></body></html>", "kein RSS-Feed"),
        ("/atom.xml", b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "kein RSS-Feed"),
        ("/fehlt.xml", None, r"Fehler 404 \(nicht gefunden\)"),
        ("/hold", None, "Zeitüberschreitung"),
    ],
)
def test_what_cannot_be_imported_is_refused_in_german(
    session: Session,
    licensed: licensing.Licence,
    server: Server,
    path: str,
    body: bytes | None,
    message: str,
) -> None:
    if body is not None:
        server.files[path] = (200, "text/html", body)
    with pytest.raises(migrate.ImportFailed, match=message):
        migrate.import_feed(session, server.url(path), timeout=0.5)
    assert _count(session, PodcastChannel) == 0


def test_a_download_that_takes_too_long_in_all_is_given_up(
    session: Session, licensed: licensing.Licence, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve_show(server)
    monkeypatch.setitem(migrate.TOTAL, "audio", -1.0)
    result = migrate.import_feed(session, url)
    assert result.imported == []
    assert dict(result.skipped) == {
        "Zweite Folge": "Zeitüberschreitung beim Herunterladen der Audiodatei.",
        "Erste Folge": "Zeitüberschreitung beim Herunterladen der Audiodatei.",
    }
    assert service.get_channel(session, result.channel_id).cover_media_id is not None
    assert [p.suffix for p in media.files(session)] == [".jpg"]  # no partial audio kept


def test_a_closed_port_is_named_in_german(session: Session, licensed: licensing.Licence) -> None:
    with pytest.raises(migrate.ImportFailed) as caught:
        migrate.import_feed(session, "http://127.0.0.1:9/feed.xml")  # discard: nobody listens
    assert caught.value.message == (
        "Die Adresse des Feeds ist nicht erreichbar (der Server nimmt keine Verbindung an)."
    )


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed.xml", "feed"])
def test_only_http_addresses_are_fetched(
    session: Session, licensed: licensing.Licence, url: str
) -> None:
    with pytest.raises(migrate.ImportFailed, match="http:// oder https://"):
        migrate.import_feed(session, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/feed.xml",
        "http://localhost:{port}/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/feed.xml",
        "http://[::1]:{port}/feed.xml",
    ],
)
def test_addresses_in_the_local_network_are_not_fetched(
    session: Session,
    licensed: licensing.Licence,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    """A user with the Podcasts right cannot make the server read its own machine, the
    cloud's metadata service or the intranet."""
    monkeypatch.delenv("KMS_IMPORT_PRIVATE_HOSTS")
    reset_config()
    serve_show(server)
    port = server.httpd.server_address[1]
    with pytest.raises(migrate.ImportFailed, match="zeigt ins lokale Netz"):
        migrate.import_feed(session, url.format(port=port))
    assert server.requests == []
    assert _count(session, PodcastChannel) == 0


def test_a_redirect_into_the_local_network_is_not_followed(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    server.files["/umzug"] = (302, "text/plain", b"http://169.254.169.254/latest/meta-data/")
    with pytest.raises(migrate.ImportFailed) as caught:
        migrate.import_feed(session, server.url("/umzug"))
    assert "zeigt ins lokale Netz (169.254.169.254)" in caught.value.message
    assert _count(session, PodcastChannel) == 0


def test_an_external_entity_is_not_resolved(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    secret = media.root().parent / "geheim.txt"
    secret.write_text("GEHEIM")
    head = (
        f'<!DOCTYPE rss [<!ENTITY geheim SYSTEM "file://{secret}">'
        f'<!ENTITY fern SYSTEM "{server.url("/dtd")}">]>\n'
    )
    xml = feed_xml(server, head=head).replace(b"<description>Kurz", b"<description>&geheim;&fern;")
    url = serve_show(server)
    server.files["/feed.xml"] = (200, "application/rss+xml", xml)
    result = migrate.import_feed(session, url)
    assert len(result.imported) == 2
    texts = [e.notes for e in service.list_episodes(session, result.channel_id)]
    assert not any("GEHEIM" in t for t in texts)
    assert "/dtd" not in server.requests


def test_the_same_show_is_not_imported_twice_and_a_taken_slug_is_named(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    url = serve_show(server)
    first = migrate.import_feed(session, url)
    with pytest.raises(migrate.ImportFailed, match=r"schon übernommen.*alter-funk-soehne"):
        migrate.import_feed(session, url)
    # Another feed of the same episodes (no podcast:guid, new address): refused by the GUIDs.
    server.files["/kopie.xml"] = (200, "application/rss+xml", feed_xml(server, guid=False))
    with pytest.raises(migrate.ImportFailed, match="schon übernommen"):
        migrate.import_feed(session, server.url("/kopie.xml"), slug="kopie")
    other = feed_xml(server, items="", guid=False).replace(b"Alter Funk", b"Neuer Funk")
    server.files["/anders.xml"] = (200, "application/rss+xml", other)
    with pytest.raises(
        migrate.ImportFailed, match=r"„alter-funk-soehne“ ist schon vergeben\. Bitte ein anderes"
    ):
        migrate.import_feed(session, server.url("/anders.xml"), slug=first.slug)
    assert _count(session, PodcastChannel) == 1 and _count(session, PodcastEpisode) == 2


def test_a_failure_midway_leaves_no_rows_and_no_files(
    session: Session, licensed: licensing.Licence, server: Server
) -> None:
    url = serve_show(server)

    def stop(done: int, total: int, label: str) -> None:
        if label == "Erste Folge":
            raise RuntimeError("Abbruch")

    with pytest.raises(RuntimeError):
        migrate.import_feed(session, url, progress=stop)
    assert media.files(session)  # the cover and one audio were stored …
    session.rollback()
    assert media.files(session) == []  # … and are gone with the rollback
    assert _count(session, PodcastChannel) == 0 and _count(session, PodcastMedia) == 0


def test_show_notes_html_becomes_the_markdown_subset() -> None:
    assert migrate.notes_from_html("Nur Text &amp; mehr") == "Nur Text & mehr"
    html = '<ol><li><i>a</i></li><li><a href="javascript:x">b</a></li></ol><p>c<br>d</p>'
    assert migrate.notes_from_html(html) == "1. *a*\n2. b\n\nc\nd"
    assert migrate.slug_from("Über Straßen – Folge 1!") == "ueber-strassen-folge-1"


@pytest.mark.usefixtures("licensed_app")
def test_the_page_imports_after_confirmation_and_lists_what_it_skipped(server: Server) -> None:
    from kms.db import session_scope
    from tests import ui_helpers as ui

    url = serve_show(server)
    server.files["/audio/1.mp3"] = (200, "audio/mpeg", b"kaputt" * 100)
    at = ui.open_page("podcast-kanaele")
    at.session_state["fn_open_podcasts.import_feed"] = True
    at.run()
    assert not at.exception
    go = at.button(key="podcasts_import_go")
    assert go.disabled  # nothing happens before the address and the confirmation
    at.text_input(key="podcasts_import_url").input(server.url("/fehlt.xml"))
    at.checkbox(key="podcasts_import_sure").check().run()
    at.button(key="podcasts_import_go").click().run()
    assert any("Fehler 404" in ui.unescape(e) for e in ui.values(at.error)), ui.values(at.error)
    at.text_input(key="podcasts_import_url").input(url)
    at.button(key="podcasts_import_go").click().run()
    assert not at.exception, at.exception
    success = [ui.unescape(s) for s in ui.values(at.success)]
    assert any("alter-funk-soehne" in s and "1 Episode(n) übernommen" in s for s in success)
    texts = ui.values(at.text)
    assert f"• Erste Folge: {media.AUDIO_REFUSED}" in texts
    with session_scope(write=False) as s:
        (channel,) = service.list_channels(s)
        guids = [e.guid for e in service.list_episodes(s, channel.id)]
    assert (channel.podcast_guid, guids) == (SHOW_GUID, ["alt-host-episode-0002"])
    at.button(key="podcasts_import_close").click().run()
    assert "podcasts_import_go" not in [b.key for b in at.button]  # closed
