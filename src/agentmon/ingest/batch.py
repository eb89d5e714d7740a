"""A JSON body or frame → valid envelopes plus a reason for each refused item."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from agentmon.events import (
    MAX_BATCH_EVENTS,
    MAX_EVENT_BYTES,
    MAX_NESTING,
    Envelope,
    InvalidEvent,
    check_event,
    parse_event,
)


class BatchError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ParsedBatch:
    events: list[Envelope] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def answer(self) -> dict[str, Any]:
        return {"accepted": len(self.events), "rejected": self.rejected}


_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_raw_one = msgspec.json.Decoder(msgspec.Raw)
_envelopes = msgspec.json.Decoder(list[Envelope])


def parse_batch(body: bytes) -> ParsedBatch:
    """Accept a JSON array of envelopes or one envelope object."""
    head = body.lstrip()[:1]
    if head == b"[" and len(body) <= MAX_EVENT_BYTES:
        # no item of a body this small can be over the per-event limit: one decode suffices
        whole = _whole_batch(body)
        if whole and len(whole) <= MAX_BATCH_EVENTS:
            return ParsedBatch(events=whole)
    items = _split(body, head)
    if not items:
        raise BatchError(400, "the batch is empty: send at least one event")
    if len(items) > MAX_BATCH_EVENTS:
        raise BatchError(
            413, f"batch has {len(items)} events, over the {MAX_BATCH_EVENTS} event limit"
        )
    if head == b"[" and all(len(raw) <= MAX_EVENT_BYTES for raw in items):
        whole = _whole_batch(body)
        if whole is not None:
            return ParsedBatch(events=whole)
    parsed = ParsedBatch()
    for index, raw in enumerate(items):
        try:
            parsed.events.append(parse_event(raw))
        except InvalidEvent as exc:
            parsed.rejected.append({"index": index, "reason": str(exc)})
    return parsed


def _split(body: bytes, head: bytes) -> list[msgspec.Raw]:
    """The body's items, still encoded (their strings' UTF-8 is checked item by item)."""
    try:
        if head == b"[":
            return _raw_list.decode(body)
        if head == b"{":
            return [_raw_one.decode(body)]
    except msgspec.DecodeError as exc:
        raise BatchError(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BatchError(
            400, f"body nests too deeply to read (an event may nest {MAX_NESTING} levels)"
        ) from None
    raise BatchError(400, "body must be a JSON array of events or one event object")


def _whole_batch(body: bytes) -> list[Envelope] | None:
    """The common case in one C-speed decode; None sends the caller item by item to find
    (and name) the bad ones."""
    try:
        events = _envelopes.decode(body)
        return [check_event(event) for event in events]
    except (msgspec.DecodeError, InvalidEvent, UnicodeDecodeError, RecursionError):
        return None  # msgspec.ValidationError is a DecodeError
