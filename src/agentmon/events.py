"""The `agentmon.event` v1 envelope: its model, its validation and its limits.

An envelope is decoded strictly (msgspec) so every problem comes back as one sentence naming
the field at fault. Timestamps are normalised to UTC with microsecond precision
(``2026-03-13T12:00:00.000000Z``) so they sort as text in every store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

SCHEMA_NAME = "agentmon.event"
SCHEMA_VERSION = 1

MAX_EVENT_BYTES = 256 * 1024
"""Largest encoded event accepted (payload, attributes and all)."""
MAX_BATCH_EVENTS = 5_000
"""Most events in one POST body or one WebSocket frame."""
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body, measured after gzip decompression."""
MAX_ID_CHARS = 256


class EventType(StrEnum):
    SESSION_START = "session.start"
    SESSION_END = "session.end"
    RUN_START = "run.start"
    RUN_END = "run.end"
    SPAN_START = "span.start"
    SPAN_END = "span.end"
    ERROR = "error"
    METRIC_SNAPSHOT = "metric.snapshot"
    OPENCLAW_SNAPSHOT = "openclaw.snapshot"


EVENT_TYPES = frozenset(t.value for t in EventType)


class Schema(msgspec.Struct, forbid_unknown_fields=False):
    name: str
    version: int


class Source(msgspec.Struct, omit_defaults=True):
    framework: str
    client_id: str | None = None
    host: str | None = None


class EventHeader(msgspec.Struct):
    id: str
    type: str
    ts: str
    source: Source


class Correlation(msgspec.Struct, omit_defaults=True):
    session_id: str | None = None
    run_id: str | None = None
    span_id: str | None = None
    trace_id: str | None = None
    parent_span_id: str | None = None


class Envelope(msgspec.Struct, omit_defaults=True):
    schema: Schema
    event: EventHeader
    correlation: Correlation = msgspec.field(default_factory=Correlation)
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)
    payload: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.event.id

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def ts(self) -> str:
        return self.event.ts


class InvalidEvent(ValueError):
    """An envelope that cannot be accepted; the message names what is wrong."""


_decoder = msgspec.json.Decoder(Envelope)
_encoder = msgspec.json.Encoder()


def normalize_ts(value: str) -> str:
    """Parse an RFC 3339 timestamp and return it in agentmon's canonical UTC form."""
    text = value.strip()
    if not text:
        raise ValueError("empty timestamp")
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return format_ts(parsed)


def format_ts(moment: datetime) -> str:
    utc = moment.astimezone(UTC) if moment.utcoffset() else moment
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def ts_to_ms(ts: str) -> int:
    """Canonical timestamp → epoch milliseconds."""
    return int(datetime.fromisoformat(ts[:-1] + "+00:00").timestamp() * 1000)


def ms_to_ts(ms: int) -> str:
    return format_ts(datetime.fromtimestamp(ms / 1000, UTC))


def now_ts() -> str:
    return format_ts(datetime.now(UTC))


def check_event(envelope: Envelope) -> Envelope:
    """The rules a decoded envelope must also meet; normalises its timestamp."""
    if envelope.schema.name != SCHEMA_NAME:
        raise InvalidEvent(f"schema.name must be {SCHEMA_NAME!r}, got {envelope.schema.name!r}")
    if envelope.schema.version != SCHEMA_VERSION:
        raise InvalidEvent(
            f"unsupported schema.version {envelope.schema.version} (supported: {SCHEMA_VERSION})"
        )
    header = envelope.event
    if header.type not in EVENT_TYPES:
        raise InvalidEvent(
            f"unknown event.type {header.type!r} (expected one of {', '.join(sorted(EVENT_TYPES))})"
        )
    if not header.id.strip():
        raise InvalidEvent("event.id must not be empty")
    if not header.source.framework.strip():
        raise InvalidEvent("event.source.framework must not be empty")
    if len(header.id) > MAX_ID_CHARS:
        raise InvalidEvent(f"event.id is longer than {MAX_ID_CHARS} characters")
    for name in Correlation.__struct_fields__:
        value = getattr(envelope.correlation, name)
        if value is not None and len(value) > MAX_ID_CHARS:
            raise InvalidEvent(f"correlation.{name} is longer than {MAX_ID_CHARS} characters")
    try:
        header.ts = normalize_ts(header.ts)
    except ValueError as exc:
        raise InvalidEvent(f"event.ts {header.ts!r} is not an RFC 3339 timestamp: {exc}") from None
    return envelope


def parse_event(raw: bytes | msgspec.Raw) -> Envelope:
    """Decode and validate one encoded envelope; raise InvalidEvent naming the problem."""
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event is {len(raw)} bytes, over the {MAX_EVENT_BYTES} byte limit")
    try:
        envelope = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_friendly(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None
    return check_event(envelope)


def validate_event(obj: dict[str, Any] | Envelope) -> Envelope:
    """Validate an envelope built in Python (a dict or an Envelope)."""
    if isinstance(obj, Envelope):
        return check_event(obj)
    return parse_event(_encoder.encode(obj))


def _friendly(message: str) -> str:
    # msgspec says "Object missing required field `id` - at `$.event`"; keep it, drop the "$."
    return message.replace("`$.", "`").replace("`$`", "the envelope")


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def encode_many(envelopes: list[Envelope]) -> bytes:
    return _encoder.encode(envelopes)


_batch_decoder = msgspec.json.Decoder(list[Envelope])


def decode_many(data: bytes) -> list[Envelope]:
    """Decode a batch this process (or a peer) encoded after validation."""
    return _batch_decoder.decode(data)


def to_dict(envelope: Envelope) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(envelope)
    return result


def new_id() -> str:
    return str(uuid.uuid4())


def new_event(
    event_type: EventType | str,
    *,
    framework: str,
    client_id: str | None = None,
    host: str | None = None,
    session_id: str | None = None,
    run_id: str | None = None,
    span_id: str | None = None,
    trace_id: str | None = None,
    parent_span_id: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
    event_id: str | None = None,
) -> Envelope:
    """Build a valid envelope; the one constructor every producer inside agentmon uses."""
    if isinstance(ts, datetime):
        stamp = format_ts(ts)
    elif ts is None:
        stamp = now_ts()
    else:
        stamp = ts
    envelope = Envelope(
        schema=Schema(SCHEMA_NAME, SCHEMA_VERSION),
        event=EventHeader(
            id=event_id or new_id(),
            type=str(event_type),
            ts=stamp,
            source=Source(framework=framework, client_id=client_id, host=host),
        ),
        correlation=Correlation(
            session_id=session_id,
            run_id=run_id,
            span_id=span_id,
            trace_id=trace_id,
            parent_span_id=parent_span_id,
        ),
        attributes=attributes or {},
        payload=payload or {},
    )
    return check_event(envelope)
