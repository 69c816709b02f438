"""The Podcasts pages through Streamlit's AppTest: locked without a licence; with one, a
channel is created, the demo's episodes are listed and ▶ Feed prüfen names the problems."""

from __future__ import annotations

import pytest

from kms.db import session_scope
from kms.demo import load_demo_data
from kms.modules.podcasts import service
from tests import ui_helpers as ui

PAGES = ("podcast-kanaele", "podcast-episoden", "anbieterplattformen")


@pytest.mark.parametrize("url_path", PAGES)
def test_locked_without_licence(url_path: str) -> None:
    ui.create_owner()
    at = ui.open_page(url_path).run()
    assert not at.exception
    warnings = ui.values(at.warning)
    assert any("nicht lizenziert" in w and "Podcasts" in w for w in warnings), warnings
    assert not at.dataframe


@pytest.mark.usefixtures("licensed_app")
@pytest.mark.parametrize("url_path", PAGES)
def test_pages_run_with_the_demo(url_path: str) -> None:
    with session_scope() as s:
        load_demo_data(s)
    at = ui.open_page(url_path).run()
    assert not at.exception
    if url_path == "podcast-kanaele":
        assert len(at.dataframe) == 1
    else:
        with session_scope(write=False) as s:
            first = service.list_channels(s)[0].id
        at.selectbox[0].set_value(first).run()
        assert not at.exception
        assert at.dataframe or at.info


@pytest.mark.usefixtures("licensed_app")
def test_a_channel_is_created_on_the_page() -> None:
    at = ui.open_page("podcast-kanaele").run()
    at.selectbox(key="podcasts_channel").set_value(0).run()
    inputs = {t.label: t for t in at.text_input}
    inputs["Kürzel (Teil der Feed-Adresse)"].input("neuer-kanal")
    inputs["Titel"].input("Neuer Kanal")
    at.button[[b.label for b in at.button].index("Speichern")].click().run()
    assert not at.exception, at.exception
    with session_scope(write=False) as s:
        assert [c.slug for c in service.list_channels(s)] == ["neuer-kanal"]


@pytest.mark.usefixtures("licensed_app")
def test_categories_read_german_and_the_feed_keeps_apples_values() -> None:
    """The selects show German names, each subcategory with its category; what is saved (and
    written into the feed's itunes:category) is Apple's English value."""
    at = ui.open_page("podcast-kanaele").run()
    inputs = {t.label: t for t in at.text_input}
    inputs["Kürzel (Teil der Feed-Adresse)"].input("wirtschaft")
    inputs["Titel"].input("Wirtschaft im Gespräch")
    category = next(b for b in at.selectbox if b.label == "Kategorie")
    sub = next(b for b in at.selectbox if b.label.startswith("Unterkategorie"))
    assert "Wirtschaft" in category.options and "Business" not in category.options
    assert "Wirtschaft › Unternehmertum" in sub.options
    assert category.options[:3] == ["Bildung", "Comedy", "Fiktion"]  # in German order
    category.select("Business")
    sub.select("Entrepreneurship")
    at.button[[b.label for b in at.button].index("Speichern")].click().run()
    assert not at.exception and not at.error, ui.values(at.error)
    with session_scope(write=False) as s:
        (channel,) = service.list_channels(s)
    assert (channel.category, channel.subcategory) == ("Business", "Entrepreneurship")


@pytest.mark.usefixtures("licensed_app")
def test_a_new_channel_opens_for_editing_after_saving() -> None:
    """The select shows the saved channel (its cover and publication forms follow); the
    filled "Neuer Kanal" form is gone, so a second Speichern changes, not duplicates."""
    at = ui.open_page("podcast-kanaele").run()
    inputs = {t.label: t for t in at.text_input}
    inputs["Kürzel (Teil der Feed-Adresse)"].input("neuer-kanal")
    inputs["Titel"].input("Neuer Kanal")
    at.button[[b.label for b in at.button].index("Speichern")].click().run()
    with session_scope(write=False) as s:
        (channel,) = service.list_channels(s)
    assert at.selectbox(key="podcasts_channel").value == channel.id
    assert "Kanal bearbeiten" in ui.values(at.subheader)
    assert "Cover" in ui.values(at.subheader)
    at.button[[b.label for b in at.button].index("Speichern")].click().run()
    assert not at.exception and not at.error, ui.values(at.error)
    with session_scope(write=False) as s:
        assert [c.slug for c in service.list_channels(s)] == ["neuer-kanal"]


@pytest.mark.usefixtures("licensed_app")
def test_a_new_episode_opens_for_editing_after_saving() -> None:
    """After "Episode gespeichert." the select shows the new episode with its file and
    publication forms; a second Speichern does not create it twice."""
    with session_scope() as s:
        channel_id = service.save_channel(s, slug="kanal", title="Kanal").id
    at = ui.open_page("podcast-episoden").run()
    at.selectbox(key="podcasts_ep_channel").set_value(channel_id).run()
    assert at.selectbox(key="podcasts_episode").value == 0  # Neue Episode
    at.text_input[0].input("Folge 1")
    at.button[[b.label for b in at.button].index("Speichern")].click().run()
    assert not at.exception, at.exception
    with session_scope(write=False) as s:
        (episode,) = service.list_episodes(s, channel_id)
    assert at.selectbox(key="podcasts_episode").value == episode.id
    # No audio and no number yet: empty cells (a None would be drawn as "None").
    [table] = [d.value for d in at.dataframe]
    assert table[["Titel", "Nr.", "Dauer"]].values.tolist() == [["Folge 1", "", ""]]
    assert {"Dateien", "Veröffentlichen"} <= set(ui.values(at.subheader))
    at.button[[b.label for b in at.button].index("Speichern")].click().run()
    with session_scope(write=False) as s:
        assert [e.title for e in service.list_episodes(s, channel_id)] == ["Folge 1"]


@pytest.mark.usefixtures("licensed_app")
def test_the_shownotes_label_shows_the_syntax_not_its_formatting() -> None:
    with session_scope() as s:
        channel_id = service.save_channel(s, slug="kanal", title="Kanal").id
    at = ui.open_page("podcast-episoden").run()
    at.selectbox(key="podcasts_ep_channel").set_value(channel_id).run()
    (label,) = [t.label for t in at.text_area if t.label.startswith("Shownotes")]
    # Escaped for Streamlit's Markdown labels: the user reads **fett**, not bold "fett".
    assert r"\*\*fett\*\*" in label and r"\[Link\]" in label, label


@pytest.mark.parametrize(
    ("seconds", "shown"), [(None, ""), (5, "0:05"), (600, "10:00"), (3723, "1:02:03")]
)
def test_durations_read_as_podcast_apps_show_them(seconds: int | None, shown: str) -> None:
    from kms.modules.podcasts.ui import _duration

    assert _duration(seconds) == shown
