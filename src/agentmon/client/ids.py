"""Event ids that sort by time (RFC 9562 UUIDv7), for every producer agentmon ships.

Random (version 4) ids land all over the stores' `event_id` indexes, so every insert touches
a different page; ids whose first 48 bits are the Unix time in milliseconds are minted in
order and appended at the index's right edge. `time_led_id` is the deterministic variant for
ids that must come out the same every time (an OTLP span sent twice): the millisecond of the
item's own timestamp, then 74 bits of a hash of its identity, shaped as a version 7 UUID.

Standard library only, and only cheap modules: a hook handler imports this on every firing.
"""

from __future__ import annotations

import os
import time


def uuid7() -> str:
    """A fresh time-ordered UUID: now in milliseconds, then 74 random bits."""
    return _shaped(time.time_ns() // 1_000_000, os.urandom(10))


def time_led_id(ms: int, digest: bytes) -> str:
    """A deterministic time-ordered UUID: `ms` (epoch milliseconds), then `digest`'s first
    ten bytes (a hash of what the id names; at least ten bytes)."""
    return _shaped(ms, digest[:10])


def _shaped(ms: int, tail: bytes) -> str:
    raw = bytearray((ms & 0xFFFF_FFFF_FFFF).to_bytes(6, "big") + tail)
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
