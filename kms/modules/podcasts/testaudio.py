"""Silent MP3s generated in pure Python (demo data and tests): MPEG-1 Layer III frames with
header 0xFFFB9064 (128 kbit/s, 44.1 kHz, no padding, no CRC) and all-zero side information
and payload, which decoders play as silence. 417 bytes and 1152 samples per frame."""

from __future__ import annotations

FRAME_HEADER = bytes.fromhex("FFFB9064")
FRAME_BYTES = 417  # 144 * 128000 / 44100, rounded down (no padding)
SAMPLES_PER_FRAME = 1152
SAMPLE_RATE = 44100


def silent_mp3(seconds: float) -> bytes:
    """A valid MP3 of about `seconds` of silence (at least one frame)."""
    frames = max(1, round(seconds * SAMPLE_RATE / SAMPLES_PER_FRAME))
    frame = FRAME_HEADER + bytes(FRAME_BYTES - len(FRAME_HEADER))
    return frame * frames
