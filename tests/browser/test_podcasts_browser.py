"""Podcasts in a real browser (issue 16, "Proof"): a user creates a channel with its cover,
publishes it, adds an episode with an MP3 (after a WAV renamed to .mp3 was refused), publishes
the episode and opens the feed the app server hosts.

Runs on the demo data, served as the demo is (KMS_DEMO=1), so the demo licence unlocks the
add-on. The user enters the instance's public address on the channels page, as the page
offers; the feed and media URLs then name that address, and the test maps them onto the local
server by path. The MP3 is silence generated in pure Python (kms.modules.podcasts.testaudio):
5 s at 44.1 kHz are 191 frames of 1152 samples (4,99 s, rounded to 5 s).

Screenshots: docs/screenshots/podcast-*.png.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree
from mutagen.id3 import ID3
from PIL import Image

from kms.modules.podcasts.media import AUDIO_REFUSED
from kms.modules.podcasts.testaudio import silent_mp3
from kms.ui.text import WORD_JOINER
from tests.browser.test_browser import browser, log_in, open_fresh  # noqa: F401
from tests.browser.test_ledger_browser import select_box, shoot
from tests.browser.test_pricing_browser import demo_server, go, table_row
from tests.browser_support import choose, settle

pytestmark = pytest.mark.browser

BASE = "https://podcast.example.org"
SLUG = "werkstattfunk"
CHANNEL = "Werkstattfunk (Test)"
EPISODE = "Folge 1: Die Hobelbank (Test)"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"


def pick(page: Any, box: Any, option: str) -> None:
    """Type into a long select (Apple's categories) until `option` shows, then click it."""
    settle(page)
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def combobox(page: Any, label: str) -> Any:
    """A select's input; its value is the option shown."""
    return page.get_by_role("combobox", name=label, exact=True)


def upload(page: Any, label: str, path: Path) -> None:
    """Put `path` into the file uploader labelled `label`, as a user's file dialog does."""
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text=label)
    uploader.locator('input[type="file"]').set_input_files(str(path))
    settle(page)
    uploader.get_by_text(path.name).wait_for()


def click_and_see(page: Any, button: str, message: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    settle(page)
    page.get_by_text(message, exact=True).wait_for()


def wav_named_mp3(path: Path) -> None:
    """One second of WAV silence under an .mp3 name: what a user exports by mistake."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(44100)
        sound.writeframes(bytes(2 * 44100))
    path.write_bytes(out.getvalue())


def stored_files(data_dir: Path) -> list[str]:
    """Names in the podcast media store (the demo's files and whatever this test added)."""
    return sorted(p.name for p in (data_dir / "files" / "podcasts").glob("*.*"))


def test_channel_episode_and_the_hosted_feed(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    audio = silent_mp3(5)
    mp3 = tmp_path / "folge-1.mp3"
    mp3.write_bytes(audio)
    wrong = tmp_path / "folge-1-wav.mp3"
    wav_named_mp3(wrong)
    cover = tmp_path / "cover.jpg"
    Image.new("RGB", (1400, 1400), (40, 110, 90)).save(cover, "JPEG")
    data_dir = tmp_path / "data"

    with demo_server(data_dir) as url:
        # From the start page: on a freshly started server the very first deep link (any
        # page) can show Streamlit's "Page not found" dialog over the login form.
        page = open_fresh(browser, url)
        log_in(page)
        page.set_viewport_size({"width": 1280, "height": 2400})  # whole forms on screenshots
        go(page, "Podcast-Kanäle")
        assert "nicht lizenziert" not in page.locator("body").inner_text()

        # The instance's public address, where podcast apps will find feed and audio.
        page.get_by_text("Öffentliche Adresse der Instanz").click()
        address = page.get_by_label("Öffentliche Adresse", exact=True)
        address.fill(BASE)
        address.press("Tab")
        settle(page)
        click_and_see(page, "Adresse speichern", "Öffentliche Adresse gespeichert.")

        # A new channel: "Neuer Kanal" is what the Kanal select offers first.
        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("Kürzel (Teil der Feed-Adresse)", exact=True).fill(SLUG)
        form.get_by_label("Titel", exact=True).fill(CHANNEL)
        form.get_by_label("Beschreibung (höchstens 4000 Zeichen)", exact=True).fill(
            "Ein erfundener Podcast aus der Werkstatt: Holz, Werkzeug und Geduld."
        )
        form.get_by_label("Autor", exact=True).fill("Erika Mustermann")
        form.get_by_label("Inhaber (Name)", exact=True).fill("Erika Mustermann")
        form.get_by_label("E-Mail des Inhabers", exact=True).fill("erika@example.org")
        pick(page, select_box(form, "Kategorie"), "Freizeit")
        pick(
            page,
            select_box(form, "Unterkategorie (passend zur Kategorie)"),
            "Freizeit › Basteln & Handwerk",
        )
        shoot(page, "podcast-kanal-formular")
        form.get_by_role("button", name="Speichern").click()
        settle(page)
        page.get_by_text("Kanal gespeichert.", exact=True).wait_for()
        assert table_row(page, SLUG).startswith(f"{SLUG} | {CHANNEL} | nicht veröffentlicht |")

        # The saved channel is open now, with its cover and publication forms.
        expect(combobox(page, "Kanal")).to_have_value(f"{CHANNEL} ({SLUG})")
        page.get_by_role("heading", name="Kanal bearbeiten").wait_for()
        page.get_by_text("• Der Kanal braucht ein Cover", exact=False).wait_for()
        upload(page, "Cover hochladen", cover)
        click_and_see(page, "Cover übernehmen", "Cover gespeichert.")
        assert page.get_by_text("Der Kanal braucht", exact=False).count() == 0
        page.get_by_text("Ich möchte den Podcast öffentlich machen", exact=False).click()
        settle(page)
        feed_url = f"{BASE}/pub/podcasts/{SLUG}/feed.xml"
        page.get_by_role("button", name="Veröffentlichen", exact=True).click()
        settle(page)
        # plain() puts a word joiner after "https:" so Markdown draws no link; it is invisible.
        flash = page.locator(
            '[data-testid="stAlertContentSuccess"] [data-testid="stMarkdownContainer"]'
        )
        assert (
            flash.inner_text().replace(WORD_JOINER, "")
            == f"Veröffentlicht. Feed-Adresse: {feed_url}"
        )
        assert table_row(page, SLUG) == f"{SLUG} | {CHANNEL} | veröffentlicht | {feed_url}"

        # A new episode of the channel.
        go(page, "Podcast-Episoden")
        choose(page, select_box(page, "Kanal"), f"{CHANNEL} ({SLUG})")
        page.get_by_text("Dieser Kanal hat noch keine Episode.").wait_for()
        form = page.locator('[data-testid="stForm"]')
        form.get_by_label("Titel", exact=True).fill(EPISODE)
        # The label shows the Markdown the notes understand, literally.
        form.get_by_text("Shownotes (Absätze, **fett**, *kursiv*, [Link](", exact=False).wait_for()
        form.locator("textarea").fill("Wie man eine **Hobelbank** einrichtet.")
        number = form.get_by_label("Episodennummer", exact=True)
        number.fill("1")
        number.press("Tab")
        form.get_by_role("button", name="Speichern").click()
        settle(page)
        page.get_by_text("Episode gespeichert.", exact=True).wait_for()
        assert table_row(page, EPISODE) == f"{EPISODE} | 1 | Entwurf |  | "
        # The new episode is open now, with its file and publication forms.
        expect(combobox(page, "Episode")).to_have_value(EPISODE)

        # Bad input first: a WAV renamed to .mp3 is refused in German, nothing is kept.
        before = stored_files(data_dir)
        upload(page, "Datei hochladen", wrong)
        page.get_by_role("button", name="Datei übernehmen", exact=True).click()
        settle(page)
        page.get_by_text(AUDIO_REFUSED, exact=True).wait_for()
        assert stored_files(data_dir) == before
        assert table_row(page, EPISODE) == f"{EPISODE} | 1 | Entwurf |  | "
        shoot(page, "podcast-episode-falsche-datei")
        click_and_see(
            page, "Jetzt veröffentlichen", "Die Episode braucht eine Audiodatei (MP3 oder M4A)."
        )

        upload(page, "Datei hochladen", mp3)
        click_and_see(page, "Datei übernehmen", "Datei gespeichert.")
        assert table_row(page, EPISODE) == f"{EPISODE} | 1 | Entwurf |  | 0:05"
        click_and_see(page, "Jetzt veröffentlichen", "Episode veröffentlicht.")
        row = table_row(page, EPISODE)
        assert row.startswith(f"{EPISODE} | 1 | Veröffentlicht | ") and row.endswith(" | 0:05"), row
        shoot(page, "podcast-episoden")

        # The feed as the app server hosts it, opened in the browser.
        answer = page.goto(f"{url}{urlsplit(feed_url).path}")
        assert answer is not None and answer.status == 200
        assert answer.headers["content-type"] == "application/rss+xml; charset=utf-8"
        channel = etree.fromstring(answer.body()).find("channel")
        assert channel is not None
        assert channel.findtext("title") == CHANNEL
        # Picked in German; the feed carries Apple's values.
        category = channel.find(f"{ITUNES}category")
        assert category is not None and category.get("text") == "Leisure"
        assert [c.get("text") for c in category] == ["Crafts"]
        items = channel.findall("item")
        assert [item.findtext("title") for item in items] == [EPISODE]
        assert items[0].findtext(f"{ITUNES}duration") == "5"
        enclosure = items[0].find("enclosure")
        assert enclosure is not None
        assert enclosure.get("type") == "audio/mpeg"
        where = urlsplit(enclosure.get("url", ""))
        assert f"{where.scheme}://{where.netloc}" == BASE
        assert where.path.startswith(f"/pub/podcasts/{SLUG}/media/")

        # The enclosure, fetched by path from the local server: the uploaded frames behind
        # the ID3 tags publishing wrote (title, show, author, number, cover), and exactly as
        # many bytes as the feed announces.
        sound = page.request.get(f"{url}{where.path}")
        assert sound.status == 200
        assert sound.headers["content-type"] == "audio/mpeg"
        served = sound.body()
        assert enclosure.get("length") == str(len(served))
        assert served.startswith(b"ID3") and served.endswith(audio)
        tags = ID3(io.BytesIO(served))
        assert (str(tags["TIT2"]), str(tags["TALB"]), str(tags["TRCK"])) == (EPISODE, CHANNEL, "1")
        assert tags.getall("APIC")[0].data == cover.read_bytes()
        page.context.close()
