"""kms.backups.archive: members are hashed while their rows are counted on another thread."""

from __future__ import annotations

import io
import os
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kms.backups import archive, gz


def _gzip(data: bytes) -> bytes:
    deflate = zlib.compressobj(1, zlib.DEFLATED, 31)
    return deflate.compress(data) + deflate.flush()


def _part(lines: int) -> bytes:
    """Random lines: 3,500 of them are about 12 MB compressed."""
    return _gzip(b"\n".join(os.urandom(3000).hex().encode() for _ in range(lines)) + b"\n")


def _read(parts: list[bytes]) -> list[dict[str, Any]]:
    """_consume each part in turn, as read_archive does, then wait for the counts."""
    with ThreadPoolExecutor(1) as first, ThreadPoolExecutor(1) as second:
        rows = archive.RowCounter([first, second])
        try:
            infos = [
                archive._consume(
                    io.BytesIO(p), f"{archive.DB_PREFIX}t{i}.jsonl.gz", len(p), None, None, rows
                )
                for i, p in enumerate(parts)
            ]
            rows.finish()
        finally:
            rows.cancel()
    return infos


def test_rows_of_large_and_small_parts_are_counted_across_every_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More chunks than the threads may queue, and small parts behind a large one, which
    another thread inflates meanwhile."""
    monkeypatch.setattr(archive, "INFLATE_AHEAD", 8)
    threads: dict[int, set[str]] = {}
    count = gz.count_lines

    def spy(inflate: Any, chunk: bytes) -> int:
        threads.setdefault(id(inflate), set()).add(threading.current_thread().name)
        return count(inflate, chunk)

    monkeypatch.setattr(gz, "count_lines", spy)
    large, small, empty = _part(3500), _part(3), _gzip(b"")
    assert len(large) > (archive.INFLATE_AHEAD + 2) * archive.READ_CHUNK
    infos = _read([large, small, empty, small])
    assert [i["rows"] for i in infos] == [3500, 3, 0, 3]
    assert not any("broken" in i for i in infos)
    assert [i["size"] for i in infos] == [len(large), len(small), len(empty), len(small)]
    # Each part stays on one thread (its stream in order); the parts use both.
    assert all(len(names) == 1 for names in threads.values())
    assert len(set().union(*threads.values())) == 2


def test_a_part_cut_short_is_marked_broken_and_a_damaged_one_raises() -> None:
    large = _part(3500)
    short = large[: len(large) // 2]
    assert [i.get("broken") for i in _read([short, _part(2)])] == [True, None]
    damaged = bytearray(large)
    damaged[len(large) // 2 : len(large) // 2 + 4096] = bytes(4096)
    with pytest.raises(gz.error):
        _read([bytes(damaged)])
