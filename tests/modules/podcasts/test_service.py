"""Podcast services: validation, publication rules, the podcast:guid, episode guids and
states, serial shows, Anbieterplattformen, and the licence gate."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from kms import licensing
from kms.errors import KmsError, ValidationError, ValidationErrors
from kms.modules.podcasts import service, urls
from kms.modules.podcasts.testaudio import silent_mp3

from .helpers import BASE, channel, episode

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_the_podcast_guid_follows_the_podcasting_2_0_test_vector() -> None:
    assert urls.podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert urls.podcast_guid("podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"


def test_publishing_sets_the_guid_once(session: Session, licensed: licensing.Licence) -> None:
    cid = channel(session)
    feed = service.publish_channel(session, cid, now=NOW)
    assert feed == f"{BASE}/pub/podcasts/beispielfunk/feed.xml"
    first = service.get_channel(session, cid)
    assert first.podcast_guid == urls.podcast_guid(feed)
    assert first.published_at == NOW
    # A new address later does not recompute the guid (the show keeps its identity).
    service.unpublish_channel(session, cid)
    service.save_public_base_url(session, "https://neu.example.org")
    service.publish_channel(session, cid, now=NOW + timedelta(days=1))
    assert service.get_channel(session, cid).podcast_guid == urls.podcast_guid(feed)
    with pytest.raises(ValidationError, match="Kürzel gehört zur Feed-Adresse"):
        service.save_channel(session, channel_id=cid, slug="anders")


@pytest.mark.parametrize(
    "base",
    ["", "http://localhost:8501", "https://127.0.0.1", "http://192.168.1.5", "https://kms.local"],
)
def test_publishing_is_refused_without_a_public_address(
    session: Session, licensed: licensing.Licence, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = channel(session)
    monkeypatch.setenv("KMS_PUBLIC_BASE_URL", base or " ")
    from kms.config import reset_config

    reset_config()
    from kms.models import set_value

    set_value(session, urls.BASE_URL_KEY, "")
    with pytest.raises(ValidationError, match="öffentliche Adresse"):
        service.publish_channel(session, cid)
    assert service.get_channel(session, cid).podcast_guid is None


def test_the_environment_overrides_the_saved_address(
    session: Session, licensed: licensing.Licence, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kms.config import reset_config

    monkeypatch.setenv("KMS_PUBLIC_BASE_URL", "https://podcast.example.org/")
    reset_config()
    assert urls.feed_url(session, "x") == "https://podcast.example.org/pub/podcasts/x/feed.xml"


def test_channel_validation_reports_every_problem(
    session: Session, licensed: licensing.Licence
) -> None:
    with pytest.raises(ValidationErrors) as caught:
        service.save_channel(
            session,
            slug="Mein Podcast!",
            title="",
            owner_email="kein-at",
            category="Arts",
            subcategory="Football",
            language="Deutsch",
            description="x" * 4001,
        )
    assert set(caught.value.errors) == {
        "slug", "title", "owner_email", "subcategory", "language", "description"
    }  # fmt: skip
    with pytest.raises(ValidationErrors, match="keine Kategorie von Apple"):
        service.save_channel(session, slug="ok", title="T", category="Games & Hobbies")
    channel(session, slug="belegt")
    with pytest.raises(ValidationError, match="schon vergeben"):
        service.save_channel(session, slug="belegt", title="Zweiter")


def test_episode_guid_is_assigned_once_and_survives_new_audio(
    session: Session, licensed: licensing.Licence
) -> None:
    cid = channel(session)
    eid = episode(session, cid, seconds=3)
    guid = service.get_episode(session, eid).guid
    assert len(guid) == 36
    service.attach_episode_media(session, eid, "audio", io.BytesIO(silent_mp3(7)), "neu.mp3")
    service.save_episode(session, episode_id=eid, title="Neuer Titel")
    again = service.get_episode(session, eid)
    assert (again.guid, again.duration_seconds, again.title) == (guid, 7, "Neuer Titel")
    other = episode(session, cid)
    assert service.get_episode(session, other).guid != guid


def test_episode_states_and_scheduling(session: Session, licensed: licensing.Licence) -> None:
    cid = channel(session)
    draft = service.save_episode(session, channel_id=cid, title="Ohne Ton").id
    with pytest.raises(ValidationError, match="Audiodatei"):
        service.publish_episode(session, draft)
    eid = episode(session, cid)
    row = service.publish_episode(session, eid, pub_at=NOW + timedelta(hours=2), now=NOW)
    assert row.state == "published"
    assert not service.is_visible(row, NOW)
    assert service.is_visible(row, NOW + timedelta(hours=2))
    assert service.unpublish_episode(session, eid).state == "unpublished"
    assert not service.is_visible(row, NOW + timedelta(days=1))
    with pytest.raises(ValidationError, match="Nur veröffentlichte"):
        service.unpublish_episode(session, eid)
    assert service.publish_episode(session, eid, now=NOW).pub_at == NOW


def test_serial_shows_require_episode_numbers(
    session: Session, licensed: licensing.Licence
) -> None:
    cid = channel(session)
    eid = episode(session, cid)
    with pytest.raises(ValidationError, match="Serie braucht Episodennummern"):
        service.save_channel(session, channel_id=cid, show_type="serial")
    service.save_episode(session, episode_id=eid, number=1)
    service.save_channel(session, channel_id=cid, show_type="serial")
    with pytest.raises(ValidationErrors, match="Episodennummer"):
        service.save_episode(session, channel_id=cid, title="Ohne Nummer")
    trailer = service.save_episode(session, channel_id=cid, title="Trailer", episode_type="trailer")
    assert trailer.number is None


def test_platforms_are_recorded(session: Session, licensed: licensing.Licence) -> None:
    cid = channel(session)
    row = service.save_platform(
        session, channel_id=cid, platform="spotify", status="listed", url="open.spotify.com/show/x"
    )
    assert row.url == "https://open.spotify.com/show/x"
    with pytest.raises(ValidationErrors):
        service.save_platform(session, channel_id=cid, platform="myspace", status="vielleicht")
    assert [p.platform for p in service.list_platforms(session, cid)] == ["spotify"]
    service.delete_platform(session, row.id)
    assert service.list_platforms(session, cid) == []


def test_without_a_licence_the_services_refuse(session: Session) -> None:
    with pytest.raises(KmsError, match="nicht lizenziert"):
        service.list_channels(session)


def test_publishing_again_keeps_the_date_of_an_episode_already_out(
    session: Session, licensed: licensing.Licence
) -> None:
    """A second "Jetzt veröffentlichen" (e.g. to write new tags after a new title) must not
    move an old episode to the top of every app; a schedule or an explicit date still moves."""
    eid = episode(session, channel(session))
    first = service.publish_episode(session, eid, now=NOW).pub_at
    service.save_episode(session, episode_id=eid, title="Folge, neuer Titel")
    later = NOW + timedelta(days=30)
    assert service.publish_episode(session, eid, now=later).pub_at == first == NOW
    new_date = later - timedelta(hours=1)
    assert service.publish_episode(session, eid, pub_at=new_date, now=later).pub_at == new_date
    scheduled = service.publish_episode(
        session,
        episode(session, channel(session, "zwei")),
        pub_at=later + timedelta(days=1),
        now=later,
    )
    # A scheduled episode published "now" comes out now, not at its planned time.
    assert service.publish_episode(session, scheduled.id, now=later).pub_at == later
