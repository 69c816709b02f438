"""A minimal M4A container for tests (no encoder on the build machine): ftyp + moov with one
sound track whose sample entry is mp4a with an esds naming the codec. The media data is
empty; KMS reads type, codec and duration from the boxes, as podcast apps' parsers do."""

from __future__ import annotations

import struct


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _descriptor(tag: int, payload: bytes) -> bytes:
    return bytes([tag, len(payload)]) + payload


def m4a(seconds: int = 90, object_type: int = 0x40) -> bytes:
    """object_type 0x40: MPEG-4 audio (AAC LC in the AudioSpecificConfig); 0x6B: MP3."""
    timescale = 44100
    full = b"\x00\x00\x00\x00"
    mvhd = box(
        b"mvhd",
        full + struct.pack(">IIII", 0, 0, timescale, seconds * timescale)
        + struct.pack(">IH", 0x00010000, 0x0100) + bytes(10)
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + bytes(24) + struct.pack(">I", 2),
    )  # fmt: skip
    mdhd = box(b"mdhd", full + struct.pack(">IIIIHH", 0, 0, timescale, seconds * timescale, 0, 0))
    hdlr = box(b"hdlr", full + bytes(4) + b"soun" + bytes(12) + b"\x00")
    config = _descriptor(0x05, b"\x12\x10")  # AAC LC, 44.1 kHz, stereo
    decoder = _descriptor(
        0x04, bytes([object_type, 0x15]) + bytes(3) + struct.pack(">II", 128000, 128000) + config
    )
    es = _descriptor(0x03, struct.pack(">HB", 1, 0) + decoder + _descriptor(0x06, b"\x02"))
    esds = box(b"esds", full + es)
    mp4a = box(
        b"mp4a",
        bytes(6) + struct.pack(">H", 1) + bytes(8)
        + struct.pack(">HHHHI", 2, 16, 0, 0, timescale << 16) + esds,
    )  # fmt: skip
    stsd = box(b"stsd", full + struct.pack(">I", 1) + mp4a)
    stbl = box(b"stbl", stsd)
    minf = box(b"minf", stbl)
    mdia = box(b"mdia", mdhd + hdlr + minf)
    trak = box(b"trak", mdia)
    moov = box(b"moov", mvhd + trak)
    ftyp = box(b"ftyp", b"M4A " + struct.pack(">I", 0) + b"M4A isom")
    return ftyp + moov + box(b"mdat", b"")
