"""▶ Feed prüfen and the CLI: a sound feed has no problems, gaps are named in German, and
`python -m kms podcast check` exits non-zero on problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from kms import licensing
from kms.cli import main
from kms.modules.podcasts import media, service
from kms.modules.podcasts.check import check_channel

from .helpers import channel, episode

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _published(session: Session) -> tuple[int, int]:
    cid = channel(session)
    service.publish_channel(session, cid, now=NOW - timedelta(days=1))
    eid = episode(session, cid, "Erste Folge")
    service.publish_episode(session, eid, pub_at=NOW - timedelta(hours=1), now=NOW)
    return cid, eid


def test_a_sound_feed_has_no_problems(session: Session, licensed: licensing.Licence) -> None:
    _published(session)
    assert check_channel(session, "beispielfunk", NOW) == []


def test_problems_are_named_in_german(session: Session, licensed: licensing.Licence) -> None:
    assert check_channel(session, "nichts", NOW) == [
        "Einen Kanal mit dem Kürzel „nichts“ gibt es nicht."
    ]
    cid = channel(session, slug="leer")
    assert any("noch nicht veröffentlicht" in p for p in check_channel(session, "leer", NOW))
    service.publish_channel(session, cid, now=NOW)
    assert any("keine sichtbare Episode" in p for p in check_channel(session, "leer", NOW))
    _, eid = _published(session)
    audio = service.get_episode(session, eid).audio_media_id
    stored = [m for m in media.files(session) if m.suffix == ".mp3"]
    for path in stored:
        path.unlink()
    problems = check_channel(session, "beispielfunk", NOW)
    assert audio and any("fehlt im Speicher" in p for p in problems)


def test_the_cli_lists_and_checks(
    session: Session, licensed: licensing.Licence, capsys: pytest.CaptureFixture[str]
) -> None:
    _published(session)
    channel(session, slug="zweiter")
    session.commit()
    assert main(["podcast", "list"]) == 0
    out = capsys.readouterr().out
    assert (
        "beispielfunk\tveröffentlicht\t1\thttps://kms.example.org/pub/podcasts/beispielfunk/feed.xml"
        in out
    )
    assert "zweiter\tnicht veröffentlicht" in out
    assert main(["podcast", "check", "beispielfunk"]) == 0
    assert "keine Probleme" in capsys.readouterr().out
    assert main(["podcast", "check", "zweiter"]) == 1
    assert "noch nicht veröffentlicht" in capsys.readouterr().out
