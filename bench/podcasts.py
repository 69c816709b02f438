"""Podcast hosting benchmarks (`make bench-podcasts`; not part of `make bench` or the tests).

    python -m bench.podcasts [--workdir DIR] [--episodes 1000]
                             [--size-mb 200] [--runs 3]

1. The feed of a channel with 1,000 published episodes through the running server: the first
   request (built) and the following ones (from the cache), and a conditional 304.
2. Range throughput of one large file (200 MB, `Range: bytes=0-` → 206) from the same
   loopback: through KMS's media route (licence guard, lookup, statistics buffer), through a
   bare Starlette FileResponse under uvicorn, and from Debian's nginx serving the file itself
   (started and stopped by the benchmark).

Each figure is the median of `--runs` runs (min and max too); results are printed and written
to <workdir>/podcasts-results.json with cores and the git SHA.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-podcast"
CHUNK = 1 << 20


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, path: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            status = get(port, path)[0]
            if status < 500:
                return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server on {port} did not start:\n{log.read_text()}")
        time.sleep(0.2)


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, int]:
    """Status and body length of a GET, the body read in 1 MiB chunks and dropped."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        size = 0
        while chunk := answer.read(CHUNK):
            size += len(chunk)
        return answer.status, size
    finally:
        connection.close()


def timings(runs: int, call: Any) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return {
        "median": round(statistics.median(samples), 6),
        "min": round(min(samples), 6),
        "max": round(max(samples), 6),
    }


def prepare(episodes: int, size_mb: int) -> tuple[str, Path]:
    """A licensed instance with a published channel of `episodes` episodes and one large
    audio file; returns the trusted public key and the large file's path."""
    from kms import licensing
    from kms.config import get_config
    from kms.db import ensure_migrated, session_scope
    from kms.models import set_value
    from kms.modules.podcasts.models import PodcastChannel, PodcastEpisode, PodcastMedia
    from kms.modules.podcasts.urls import BASE_URL_KEY
    from kms.types import utcnow

    ensure_migrated()
    private, public = licensing.generate_keypair()
    os.environ["KMS_LICENSE_PUBLIC_KEYS"] = public
    folder = get_config().files_dir / "podcasts"
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    temp = folder / "big.tmp"
    with temp.open("wb") as out:
        for i in range(size_mb):
            part = block[:-8] + i.to_bytes(8, "big")
            digest.update(part)
            out.write(part)
    big = folder / f"{digest.hexdigest()}.m4a"
    temp.rename(big)
    with session_scope() as session:
        token = licensing.issue(
            private,
            module="podcasts",
            licensee="Erika Mustermann",
            instance=licensing.instance_id(session),
            valid_until=(now + timedelta(days=30)).date(),
        )
        licensing.install(session, token)
        set_value(session, BASE_URL_KEY, "https://podcast.example.org")
        channel = PodcastChannel(
            slug=SLUG,
            title="Benchfunk",
            description="Ein erfundener Podcast für Messungen.",
            author="Erika Mustermann",
            owner_email="erika@example.org",
            category="Business",
            published_at=now - timedelta(days=3000),
        )
        session.add(channel)
        session.flush()
        for n in range(episodes + 1):
            name = big.name if n == 0 else f"{hashlib.sha256(str(n).encode()).hexdigest()}.mp3"
            media = PodcastMedia(
                channel_id=channel.id,
                kind="audio",
                mime="audio/x-m4a" if n == 0 else "audio/mpeg",
                ext=name.rsplit(".", 1)[1],
                size=size_mb * CHUNK if n == 0 else 30_000_000,
                sha256=name.split(".")[0],
                storage_name=name,
                duration_seconds=1800,
            )
            session.add(media)
            session.flush()
            session.add(
                PodcastEpisode(
                    channel_id=channel.id,
                    guid=f"bench-{n}",
                    title=f"Folge {n}",
                    notes=f"Shownotes der Folge {n} mit **etwas** Text.",
                    audio_media_id=media.id,
                    duration_seconds=1800,
                    number=n + 1,
                    state="published",
                    pub_at=now - timedelta(days=n + 1),
                )
            )
    return public, big


@contextmanager
def process(args: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


BARE_APP = """
import sys
from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Route
import uvicorn

PATH = sys.argv[1]

async def media(request):
    return FileResponse(PATH, media_type="audio/x-m4a")

app = Starlette(routes=[Route("/media", media)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def nginx_conf(prefix: Path, root: Path, port: int) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/scratch;
    proxy_temp_path {prefix}/scratch;
    fastcgi_temp_path {prefix}/scratch;
    uwsgi_temp_path {prefix}/scratch;
    scgi_temp_path {prefix}/scratch;
    sendfile on;
    types {{ audio/x-m4a m4a; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", default=str(Path(tempfile.gettempdir()) / "kms-bench-podcasts")
    )
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    data = work / "data"
    os.environ |= {
        "KMS_DATA_DIR": str(data),
        "KMS_DATABASE_URL": f"sqlite:///{data / 'kms.sqlite3'}",
        "KMS_SCHEDULER": "0",
    }
    os.environ.pop("KMS_DEMO", None)
    from kms.permissions import SYSTEM, acting_as

    with acting_as(SYSTEM):  # as the CLI does
        public, big = prepare(args.episodes, args.size_mb)
    env = os.environ | {"KMS_LICENSE_PUBLIC_KEYS": public}
    results: dict[str, Any] = {"episodes": args.episodes, "size_mb": args.size_mb}
    size = args.size_mb * CHUNK
    whole = {"Range": "bytes=0-"}

    def throughput(port: int, path: str) -> dict[str, float]:
        def call() -> None:
            status, got = get(port, path, whole)
            assert (status, got) == (206, size), (status, got)

        seconds = timings(args.runs, call)
        return seconds | {"mb_per_s": round(args.size_mb / seconds["median"], 1)}

    kms_port = free_port()
    serve = [sys.executable, "-m", "kms", "serve", "--port", str(kms_port), "--address",
             "127.0.0.1"]  # fmt: skip
    with process(serve, work / "kms.log", env) as proc:
        wait_for(kms_port, "/api/status", proc, work / "kms.log")
        feed = f"/pub/podcasts/{SLUG}/feed.xml"
        start = time.perf_counter()
        status, length = get(kms_port, feed)
        assert status == 200, status
        results["feed_first_s"] = round(time.perf_counter() - start, 6)
        results["feed_bytes"] = length
        results["feed_cached_s"] = timings(max(args.runs, 10), lambda: get(kms_port, feed))
        conn = http.client.HTTPConnection("127.0.0.1", kms_port)
        conn.request("HEAD", feed)
        etag = conn.getresponse().getheader("etag") or ""
        conn.close()
        results["feed_304_s"] = timings(
            max(args.runs, 10), lambda: get(kms_port, feed, {"If-None-Match": etag})
        )
        results["range_kms"] = throughput(kms_port, f"/pub/podcasts/{SLUG}/media/{big.name}")

    bare_port = free_port()
    bare = [sys.executable, "-c", BARE_APP, str(big), str(bare_port)]
    with process(bare, work / "bare.log", env) as proc:
        wait_for(bare_port, "/media", proc, work / "bare.log")
        results["range_starlette"] = throughput(bare_port, "/media")

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if Path(nginx).exists():
        prefix = work / "nginx"
        (prefix / "scratch").mkdir(parents=True)
        nginx_port = free_port()
        (prefix / "nginx.conf").write_text(nginx_conf(prefix, big.parent, nginx_port))
        command = [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
        with process(command, work / "nginx.log", env) as proc:
            wait_for(nginx_port, f"/{big.name}", proc, work / "nginx.log")
            results["range_nginx"] = throughput(nginx_port, f"/{big.name}")
    else:
        results["range_nginx"] = "nginx not installed (apt-get install nginx)"

    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    results |= {"cores": os.cpu_count(), "git": sha.stdout.strip()}
    (work / "podcasts-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
