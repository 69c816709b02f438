"""kms.backups.gz: zlib-ng's gzip streams are plain gzip, read in bounded pieces."""

from __future__ import annotations

import gzip
import io
import os

import pytest

from kms.backups import gz


def _deflate(data: bytes) -> bytes:
    deflate = gz.deflater()
    return deflate.compress(data) + deflate.flush()


def test_what_it_writes_is_gzip_for_the_standard_library_and_back() -> None:
    data = b"".join(os.urandom(200).hex().encode() + b"\n" for _ in range(2000))
    assert gzip.decompress(_deflate(data)) == data
    assert b"".join(gz.inflated(io.BytesIO(gzip.compress(data)).read)) == data


def test_the_same_rows_give_the_same_bytes() -> None:
    data = b"[1,2,3]\n" * 1000
    assert _deflate(data) == _deflate(data)


def test_members_follow_each_other_and_pieces_stay_bounded() -> None:
    """A part that inflates a thousandfold still comes out in pieces of at most MAX_OUT."""
    zeros = bytes(gz.MAX_OUT * 3 + 5)
    stream = _deflate(zeros) + gzip.compress(b"end\n")
    assert len(stream) < len(zeros) // 500
    pieces = list(gz.inflated(io.BytesIO(stream).read))
    assert max(len(p) for p in pieces) <= gz.MAX_OUT
    assert b"".join(pieces) == zeros + b"end\n"
    assert list(gz.inflated(io.BytesIO(b"").read)) == []


def test_a_stream_cut_short_or_damaged_raises() -> None:
    stream = _deflate(os.urandom(300_000))
    with pytest.raises(EOFError):
        list(gz.inflated(io.BytesIO(stream[: len(stream) // 2]).read))
    damaged = bytearray(stream)
    damaged[1000:1400] = bytes(400)
    with pytest.raises(gz.error):
        list(gz.inflated(io.BytesIO(bytes(damaged)).read))


def test_lines_are_counted_in_bounded_pieces() -> None:
    lines = b"\n" * (gz.MAX_OUT * 2 + 7)
    stream = _deflate(lines)
    inflate = gz.inflater()
    counted = sum(
        gz.count_lines(inflate, stream[i : i + 4096]) for i in range(0, len(stream), 4096)
    )
    assert counted == len(lines)
    assert inflate.eof
    trailing = gz.inflater()
    assert gz.count_lines(trailing, _deflate(b"a\nb\n") + b"\n\n\n" * 100) == 2
