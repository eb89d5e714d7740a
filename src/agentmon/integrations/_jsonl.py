"""Reading a JSON-lines file a tool is still appending to (Claude Code transcripts, Codex
rollouts): only complete lines, from a byte cursor kept between hook firings."""

from __future__ import annotations

import os

from agentmon.client.jsonio import json_loads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def read_new_lines(path: str, cursor: dict[str, int]) -> list[bytes]:
    """The complete lines written since `cursor` (updated in place: inode, offset).

    A file that shrank or was replaced is read again from the start; the call keys make
    that harmless. A missing file reads as nothing.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115  (closed below; fstat needs the handle)
    except OSError:
        return []
    with handle:
        stat = os.fstat(handle.fileno())
        offset = cursor.get("offset", 0)
        if cursor.get("inode") != stat.st_ino or stat.st_size < offset:
            offset = 0
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n")
    cursor["inode"] = stat.st_ino
    cursor["offset"] = offset + end + 1
    return data[: end + 1].splitlines() if end >= 0 else []


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One transcript line as an object; None for a blank line; ValueError when malformed."""
    text = line.decode("utf-8").strip()
    if not text:
        return None
    record = json_loads(text)
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object")
    return record
