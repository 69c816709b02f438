"""The gzip streams of a backup's table parts, through zlib-ng.

zlib-ng writes and reads the same gzip format as the standard library (any gzip tool opens a
table part, and parts of older archives read as before). On the large benchmark instance it
inflates the table parts 2.5 times as fast as zlib, and its level 2 deflates them in half
of zlib's level-1 time to fewer bytes (docs/performance.md, sixth round).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

from zlib_ng import zlib_ng

# zlib_ng's stub declares `error` as an instance; it is the exception class.
error = cast(type[Exception], zlib_ng.error)
LEVEL = 2
# At most this much inflated data at once, whatever the ratio of the input.
MAX_OUT = 16 << 20
READ = 1 << 20


def deflater() -> Any:
    # wbits=31: a gzip stream whose header has no time, so the same rows give the same bytes.
    return zlib_ng.compressobj(LEVEL, zlib_ng.DEFLATED, 31)


def inflater() -> Any:
    return zlib_ng.decompressobj(wbits=31)


def count_lines(inflate: Any, chunk: bytes) -> int:
    """The newlines in what `chunk` inflates to (bounded memory for any input). numpy's
    vectorised compare counts them in about half the time of bytes.count(), which holds the
    GIL the other inflate thread and the reader need (docs/performance.md, tenth round)."""
    import numpy as np  # here, not at import time: only verify and restore count rows

    lines = 0
    while chunk and not inflate.eof:  # bytes after the end go to unused_data, uncounted
        data = inflate.decompress(chunk, MAX_OUT)
        lines += int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))
        chunk = inflate.unconsumed_tail
    return lines


def inflated(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """The inflated bytes of a gzip file, member after member, in pieces of at most
    MAX_OUT. Raises EOFError if the last member is cut short and `error` if it is damaged."""
    inflate = inflater()
    pending = b""
    started = False
    while True:
        if not pending:
            pending = read(READ)
            if not pending:
                break
        started = True
        out = inflate.decompress(pending, MAX_OUT)
        pending = inflate.unconsumed_tail
        if out:
            yield out
        if inflate.eof:  # what follows the member (unconsumed_tail holds it as well)
            pending = inflate.unused_data
            inflate, started = inflater(), False
    if started:
        raise EOFError("gzip stream ends before its end marker")
