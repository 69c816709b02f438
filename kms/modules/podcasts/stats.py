"""Download statistics (IAB Podcast Measurement v2.x), privacy by design.

What counts: a GET of an episode's audio answered 200 or 206; never a HEAD, a 304, an error,
or the `bytes=0-1` probe players send first. One listener (IP network + user agent) counts
once per episode within a rolling 24 hours. Bots on the OPAWG list never count; the app comes
from the same list (data/, MIT, see data/README.md).

Minimum content (IAB v2.x): a listener counts only once the bytes served to them for that
episode add up to one minute of audio (the file's bytes per minute, size over duration, plus
its ID3 header, which holds the cover) or to the whole file when it is shorter. Range requests
of one listener add up within the same 24 hours, keyed by the same digest as the
de-duplication. The running sums live in the recorder's memory only (digests, no addresses);
a restart forgets sums that have not reached the minimum yet, and so does each server process
for itself.

Privacy: the media route only appends the request's facts to an in-memory buffer (the
response is never slowed by the database). The background flush turns them, within seconds,
into HMAC digests of (IPv4 address or IPv6 /64 network, user agent, episode) keyed with the
day's random salt; the raw address is never written anywhere. A salt lives two UTC days (the
day it hashes and the next, whose 24-hour window still compares with it), the digests 24 hours;
then both are deleted and no count can be traced back to a listener. What stays: downloads per
episode, day (Europe/Berlin) and app.

During a maintenance window or a restore the feed and media stay online and the counts stay
buffered (already hashed) until KMS is writable again; a shutdown flushes what it can.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kms.db import session_scope
from kms.errors import ReadOnlyError
from kms.modules.podcasts.models import PodcastEpisode
from kms.modules.podcasts.stats_models import DownloadDay, DownloadKey, StatSalt
from kms.permissions import Permission, require_permission
from kms.types import BERLIN, utcnow

if TYPE_CHECKING:  # pandas only for the aggregates: the media route never loads it
    import pandas as pd

log = logging.getLogger("kms.podcasts.stats")

WINDOW = timedelta(hours=24)
DATA_DIR = Path(__file__).resolve().parent / "data"
# The OPAWG matching order: the first entry of the first file that matches decides.
AGENT_KINDS = ("bots", "apps", "libraries", "browsers")
UNKNOWN_APP = "Unbekannt"
# Players probe with the first two bytes (Apple: bytes=0-1) before they download.
PROBE = re.compile(r"^\s*bytes\s*=\s*0\s*-\s*[01]\s*$", re.IGNORECASE)
# Beyond this many unflushed downloads (a maintenance window under heavy load) the oldest go.
MAX_BUFFERED = 500_000


def countable(method: str, status: int, range_header: str | None) -> bool:
    """Whether an answered media request may count as a download at all."""
    if method.upper() != "GET" or status not in (200, 206):
        return False
    return range_header is None or PROBE.match(range_header) is None


def network(client: str) -> str:
    """The listener's address as far as it is hashed: IPv4 whole, IPv6 as its /64 network
    (privacy extensions change the rest hourly), an IPv4-mapped IPv6 address as IPv4."""
    try:
        address = ipaddress.ip_address(client.strip())
    except ValueError:
        return client.strip()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def digest(salt: bytes, client: str, user_agent: str, episode_id: int) -> str:
    """HMAC-SHA256 of one listener of one episode under one day's salt."""
    message = "\n".join((network(client), user_agent.replace("\n", " "), str(episode_id)))
    return hmac.new(salt, message.encode(), hashlib.sha256).hexdigest()


@cache
def _patterns() -> tuple[tuple[str, str, re.Pattern[str]], ...]:
    result = []
    for kind in AGENT_KINDS:
        data = json.loads((DATA_DIR / f"user-agents-{kind}.json").read_text(encoding="utf-8"))
        result += [(kind, e["name"], re.compile(e["pattern"])) for e in data["entries"]]
    return tuple(result)


@lru_cache(maxsize=4096)
def classify(user_agent: str) -> tuple[str, str]:
    """(kind, name) of a user agent by the OPAWG list: kind is "bots", "apps", "libraries",
    "browsers" or "" (unknown, name "Unbekannt")."""
    agent = user_agent.replace("\r", " ").replace("\n", " ")
    for kind, name, pattern in _patterns():
        if pattern.search(agent):
            return kind, name
    return "", UNKNOWN_APP


def minimum_bytes(size: int, duration_seconds: int | None, header: int = 0) -> int | None:
    """The bytes a listener must be served before a download counts (IAB v2.x): one minute
    of audio at the file's rate plus the header (ID3 tags and cover) in front of the audio,
    or the whole file when it is shorter than a minute. None when the duration is unknown
    (then any countable request counts)."""
    if not duration_seconds or duration_seconds <= 0 or size <= 0:
        return None
    header = min(max(header, 0), size)
    per_minute = -(-(size - header) * 60 // duration_seconds)  # ceiling
    return min(size, header + per_minute)


@dataclass(frozen=True)
class Hit:
    """One countable media request as the route saw it (kept in memory only). `served` is
    the bytes answered (None: the whole file); `minimum` what must add up before it counts
    (None: no minimum, see `minimum_bytes`)."""

    episode_id: int
    at: datetime
    client: str
    user_agent: str
    served: int | None = None
    minimum: int | None = None


@dataclass(frozen=True)
class Hashed:
    """A hit after hashing: digests under the salt of its day and of the day before."""

    episode_id: int
    at: datetime
    digests: tuple[str, ...]
    app: str
    served: int | None = None
    minimum: int | None = None

    def enough(self, before: int) -> tuple[bool, int]:
        """Whether `before` bytes plus this hit's reach the minimum; and the new sum."""
        if self.minimum is None or self.served is None:
            return True, before
        total = before + self.served
        return total >= self.minimum, total


# Bytes served so far to a listener who has not reached the minimum: digest → (first, sum).
Partial = dict[str, tuple[datetime, int]]


def salt_for(session: Session, day: date, *, create: bool) -> bytes | None:
    """The salt of a UTC day, made (random, 32 bytes) on first use when `create`."""
    row = session.get(StatSalt, day)
    if row is not None or not create:
        return row.salt if row is not None else None
    salt = secrets.token_bytes(32)
    try:
        with session.begin_nested():
            session.add(StatSalt(day=day, salt=salt))
    except IntegrityError:  # another process made it first
        row = session.get(StatSalt, day)
        return row.salt if row is not None else None
    return salt


def hash_hits(session: Session, hits: Iterable[Hit]) -> list[Hashed]:
    """Digests for each hit that is not a bot; the raw addresses end here."""
    salts: dict[date, bytes | None] = {}
    result = []
    for hit in hits:
        kind, name = classify(hit.user_agent)
        if kind == "bots":
            continue
        day = hit.at.date()
        for d, create in ((day, True), (day - timedelta(days=1), False)):
            if d not in salts:
                salts[d] = salt_for(session, d, create=create)
        keys = [salts[d] for d in (day, day - timedelta(days=1))]
        digests = tuple(digest(k, hit.client, hit.user_agent, hit.episode_id) for k in keys if k)
        result.append(Hashed(hit.episode_id, hit.at, digests, name, hit.served, hit.minimum))
    return result


def _add_up(partial: Partial, hit: Hashed) -> bool:
    """Add the hit's bytes to its listener's running sum; True (and the sum dropped) once
    it reaches the minimum."""
    first, before = hit.at, 0
    for key in hit.digests:
        found = partial.get(key)
        if found is not None and found[0] > hit.at - WINDOW:
            first, before = found
            break
    enough, total = hit.enough(before)
    for key in hit.digests:
        partial.pop(key, None)
    if not enough:
        partial[hit.digests[0]] = (first, total)
    return enough


def count(session: Session, hashed: list[Hashed], partial: Partial | None = None) -> int:
    """Count the downloads that no digest of the last 24 hours names and whose bytes reach
    the minimum (summed in `partial` across calls); returns how many."""
    if not hashed:
        return 0
    partial = {} if partial is None else partial
    hashed = sorted(hashed, key=lambda h: h.at)
    wanted = {d for h in hashed for d in h.digests}
    since = hashed[0].at - WINDOW
    seen: dict[str, datetime] = {}
    for key, at in session.execute(
        select(DownloadKey.digest, DownloadKey.at).where(
            DownloadKey.digest.in_(wanted), DownloadKey.at > since
        )
    ):
        seen[key] = max(at, seen.get(key, at))
    totals: dict[tuple[int, date, str], int] = defaultdict(int)
    for hit in hashed:
        if any(d in seen and seen[d] > hit.at - WINDOW for d in hit.digests):
            continue
        if not _add_up(partial, hit):
            continue
        seen[hit.digests[0]] = hit.at
        session.add(DownloadKey(digest=hit.digests[0], at=hit.at))
        totals[(hit.episode_id, hit.at.astimezone(BERLIN).date(), hit.app)] += 1
    for (episode_id, day, app), n in totals.items():
        row = session.scalar(
            select(DownloadDay).where(
                DownloadDay.episode_id == episode_id, DownloadDay.day == day, DownloadDay.app == app
            )
        )
        if row is None:
            session.add(DownloadDay(episode_id=episode_id, day=day, app=app, downloads=n))
        else:
            row.downloads += n
    return sum(totals.values())


def forget(session: Session, now: datetime) -> None:
    """Delete the digests older than the window and every salt no digest can still need."""
    session.execute(delete(DownloadKey).where(DownloadKey.at <= now - WINDOW))
    session.execute(delete(StatSalt).where(StatSalt.day < now.date() - timedelta(days=1)))


class Recorder:
    """The in-memory buffer between the media route and the database, flushed in batches
    every `interval` seconds by a background thread (none with 0: the caller flushes)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: list[Hit] = []
        self._held: list[Hashed] = []  # hashed, waiting for the end of a maintenance window
        self._partial: Partial = {}  # listeners below the minimum (only the flush touches it)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def record(self, hit: Hit) -> None:
        """Append a hit (never touches the database); starts the flush thread on first use."""
        with self._lock:
            self._pending.append(hit)
            if len(self._pending) + len(self._held) > MAX_BUFFERED:
                del self._pending[0]
            if self._thread is None and self.interval > 0:
                self._start()

    def buffered(self) -> int:
        """Hits not yet written (pending and held)."""
        with self._lock:
            return len(self._pending) + len(self._held)

    def flush(self, now: datetime | None = None) -> int:
        """Hash what is pending; unless KMS is read-only, count and forget old digests.
        Returns the downloads counted (0 while held)."""
        from kms.notices import is_read_only

        now = now or utcnow()
        with self._flushing:
            with self._lock:
                pending, self._pending = self._pending, []
            try:
                with session_scope() as session:
                    hashed = hash_hits(session, pending)
            except Exception:
                with self._lock:
                    self._pending[:0] = pending
                raise
            with self._lock:
                batch, self._held = self._held + hashed, []
            partial = dict(self._partial)  # changed only once the counts are committed
            try:
                with session_scope() as session:
                    if is_read_only(session, now):
                        counted = -1
                    else:
                        counted = count(session, batch, partial)
                        forget(session, now)
            except ReadOnlyError:
                counted = -1
            except Exception:
                self._hold(batch)
                raise
            if counted < 0:
                self._hold(batch)
                return 0
            self._partial = _recent(partial, now)
            return counted

    def partial_listeners(self) -> int:
        """Listeners whose bytes have not reached the minimum yet (kept for 24 hours)."""
        return len(self._partial)

    def _hold(self, batch: list[Hashed]) -> None:
        with self._lock:
            self._held[:0] = batch

    def _start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="podcast-stats", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # a CLI process; the server calls shutdown() (on_stop)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:
                log.exception("podcast statistics: flush failed, kept in memory")

    def stop(self) -> None:
        """End the flush thread and write what is buffered (the server's shutdown)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            log.exception("podcast statistics: last flush failed, %d lost", self.buffered())


def _recent(partial: Partial, now: datetime) -> Partial:
    """The running sums still inside their window, at most MAX_BUFFERED (the newest)."""
    kept = sorted(
        ((key, value) for key, value in partial.items() if value[0] > now - WINDOW),
        key=lambda item: item[1][0],
    )
    return dict(kept[-MAX_BUFFERED:])


RECORDER = Recorder(float(os.environ.get("KMS_PODCAST_STATS_INTERVAL", "5")))


def shutdown() -> None:
    """ModuleSpec.on_stop: write what is buffered before the server exits."""
    RECORDER.stop()


def record(
    episode_id: int,
    client: str,
    user_agent: str,
    *,
    method: str,
    status: int,
    range_header: str | None,
    at: datetime | None = None,
    served: int | None = None,
    minimum: int | None = None,
) -> bool:
    """Buffer an answered media request if it can count; True when buffered. `served`: the
    bytes of the answer; `minimum`: what must add up before it counts (`minimum_bytes`)."""
    if not countable(method, status, range_header):
        return False
    hit = Hit(episode_id, at or utcnow(), client, user_agent or "", served, minimum)
    RECORDER.record(hit)
    return True


# --- aggregates (the Statistik section; no Streamlit) -------------------------------------

COMPARISON_COLUMNS = ("Folge", "Veröffentlicht", "Erste 7 Tage", "Erste 30 Tage", "Gesamt")


def _guard(session: Session) -> None:
    from kms.licensing import require

    require(session, "podcasts", "Podcasts")


def _episodes(session: Session, channel_id: int) -> list[PodcastEpisode]:
    return list(
        session.scalars(
            select(PodcastEpisode)
            .where(PodcastEpisode.channel_id == channel_id, PodcastEpisode.pub_at.is_not(None))
            .order_by(PodcastEpisode.pub_at, PodcastEpisode.id)
        )
    )


def _days(session: Session, episode_ids: list[int]) -> list[DownloadDay]:
    if not episode_ids:
        return []
    return list(
        session.scalars(
            select(DownloadDay)
            .where(DownloadDay.episode_id.in_(episode_ids))
            .order_by(DownloadDay.day, DownloadDay.episode_id, DownloadDay.app)
        )
    )


def downloads_per_day(session: Session, channel_id: int) -> pd.DataFrame:
    """Downloads of the channel's episodes per day, episode and app (columns Tag, Folge,
    App, Downloads), oldest day first."""
    require_permission(Permission.PODCASTS_READ, session)
    _guard(session)
    import pandas as pd

    titles = {e.id: e.title for e in _episodes(session, channel_id)}
    rows = [
        {"Tag": r.day, "Folge": titles[r.episode_id], "App": r.app, "Downloads": r.downloads}
        for r in _days(session, list(titles))
    ]
    return pd.DataFrame(rows, columns=["Tag", "Folge", "App", "Downloads"])


def downloads_by_app(session: Session, channel_id: int) -> pd.DataFrame:
    """Downloads of the channel per app, most first (columns App, Downloads)."""
    require_permission(Permission.PODCASTS_READ, session)
    _guard(session)
    import pandas as pd

    totals: dict[str, int] = defaultdict(int)
    for row in _days(session, [e.id for e in _episodes(session, channel_id)]):
        totals[row.app] += row.downloads
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return pd.DataFrame(ordered, columns=["App", "Downloads"])


def launch_comparison(session: Session, channel_id: int) -> pd.DataFrame:
    """Each published episode's downloads in its first 7 and 30 days (counted from the day of
    its pub_at, Europe/Berlin) and in total, so episodes of different ages compare fairly."""
    require_permission(Permission.PODCASTS_READ, session)
    _guard(session)
    import pandas as pd

    episodes = _episodes(session, channel_id)
    first: dict[int, date] = {
        e.id: e.pub_at.astimezone(BERLIN).date() for e in episodes if e.pub_at is not None
    }
    sums: dict[int, list[int]] = {e.id: [0, 0, 0] for e in episodes}
    for row in _days(session, list(first)):
        age = (row.day - first[row.episode_id]).days
        total = sums[row.episode_id]
        total[0] += row.downloads if 0 <= age < 7 else 0
        total[1] += row.downloads if 0 <= age < 30 else 0
        total[2] += row.downloads
    rows = [(e.title, first[e.id], *sums[e.id]) for e in episodes]
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
