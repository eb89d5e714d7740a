"""The `agentmon.event` v1 envelope: its model, its validation and its limits.

An envelope is decoded strictly (msgspec) so every problem comes back as one sentence naming
the field at fault. Timestamps are normalised to UTC with microsecond precision
(``2026-03-13T12:00:00.000000Z``) so they sort as text in every store.
"""

from __future__ import annotations

import functools
import math
import re
import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import msgspec

from agentmon.client.ids import uuid7
from agentmon.client.usage import ALL_KEYS as USAGE_KEYS

SCHEMA_NAME = "agentmon.event"
SCHEMA_VERSION = 1

MAX_EVENT_BYTES = 256 * 1024
"""Largest encoded event accepted (payload, attributes and all)."""
MAX_BATCH_EVENTS = 5_000
"""Most events in one POST body or one WebSocket frame."""
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Largest request body, measured after gzip decompression."""
MAX_ID_CHARS = 256
MAX_NESTING = 64
"""Deepest nesting of objects and arrays inside `payload` or `attributes` (the object is 1)."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)
"""Timestamps (`event.ts`, `payload.started_at`) before this are refused."""
MAX_FUTURE = timedelta(days=1)
"""Timestamps further than this ahead of the receiver's clock are refused."""
MAX_TOKENS = 10**12
"""Largest token count one usage counter may report."""
MAX_COST_USD = 10**9
MAX_DURATION_MS = 10**12


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


# The envelope's structs are not tracked by the garbage collector (gc=False): they hold text,
# numbers and the decoded payload, so they cannot be part of a reference cycle, and tens of
# thousands of them are alive at once under load; tracked, every collection walked them all
# (a third of decode + validate's CPU time, `bench/bench_ingest.py --stages`).


class Schema(msgspec.Struct, forbid_unknown_fields=False, gc=False):
    name: str
    version: int


class Source(msgspec.Struct, omit_defaults=True, gc=False):
    framework: str
    client_id: str | None = None
    host: str | None = None


class EventHeader(msgspec.Struct, gc=False):
    id: str
    type: str
    ts: str
    source: Source


class Correlation(msgspec.Struct, omit_defaults=True, gc=False):
    session_id: str | None = None
    run_id: str | None = None
    span_id: str | None = None
    trace_id: str | None = None
    parent_span_id: str | None = None


class Envelope(msgspec.Struct, omit_defaults=True, gc=False):
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
    if _is_canonical(value):
        return value  # what every producer agentmon ships sends: nothing to parse
    return _normalized(value)


def _normalized(value: str) -> str:
    """The full parse of `normalize_ts`, which the canonical shortcut must always agree with."""
    text = value.strip()
    if not text:
        raise ValueError("empty timestamp")
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    try:
        return format_ts(parsed)
    except OverflowError:  # year 1 or 9999 shifted by its offset leaves datetime's range
        raise ValueError("timestamp is outside the years 1-9999 once in UTC") from None


def _is_canonical(value: str) -> bool:
    """Whether `value` is already `YYYY-MM-DDTHH:MM:SS.ffffffZ` naming a real moment (so
    `normalize_ts` would return it unchanged), checked without a datetime per call."""
    micros = value[20:26]
    return (
        len(value) == 27
        and value[19] == "."
        and value[26] == "Z"
        and micros.isascii()
        and micros.isdigit()
        and _is_canonical_second(value[:19])
    )


@functools.lru_cache(maxsize=4096)
def _is_canonical_second(text: str) -> bool:
    """`YYYY-MM-DDTHH:MM:SS` of a real moment (cached: events come in runs of the same second)."""
    try:
        return datetime.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


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
    """The rules a decoded envelope must also meet; normalises its timestamp.

    Everything either store would reject or mangle is refused here, so an acknowledged
    event can always be stored: this is the one place both stores' limits are enforced.
    """
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
    _check_header_text(envelope)
    header.ts = checked_ts("event.ts", header.ts)
    _check_tree("payload", envelope.payload)
    if envelope.attributes:
        _check_tree("attributes", envelope.attributes)
    _check_read_fields(envelope)
    return envelope


def _check_header_text(envelope: Envelope) -> None:
    header, c, source = envelope.event, envelope.correlation, envelope.event.source
    ids = (header.id, c.session_id, c.run_id, c.span_id, c.trace_id, c.parent_span_id)
    texts = (*ids, source.framework, source.client_id, source.host)
    joined = "".join(filter(None, texts))
    if len(joined) <= MAX_ID_CHARS and "\x00" not in joined and joined.isascii():
        return  # the common case, checked at once
    for name, value in zip(_ID_NAMES, ids, strict=True):
        if value is not None and len(value) > MAX_ID_CHARS:
            raise InvalidEvent(f"{name} is longer than {MAX_ID_CHARS} characters")
    for name, value in zip(_TEXT_NAMES, texts, strict=True):
        try:
            _check_text(value or "")
        except _BadValue as bad:
            raise InvalidEvent(f"{name} {bad.problem}") from None


_ID_NAMES = (
    "event.id",
    "correlation.session_id",
    "correlation.run_id",
    "correlation.span_id",
    "correlation.trace_id",
    "correlation.parent_span_id",
)
_TEXT_NAMES = (*_ID_NAMES, "event.source.framework", "event.source.client_id", "event.source.host")


def checked_ts(where: str, value: str) -> str:
    """An RFC 3339 timestamp inside the accepted window, in canonical form."""
    try:
        stamp = normalize_ts(value)
    except ValueError as exc:
        raise InvalidEvent(f"{where} {value!r} is not an RFC 3339 timestamp: {exc}") from None
    if stamp < _EARLIEST_TEXT:
        raise InvalidEvent(f"{where} {value!r} is before {_EARLIEST_TEXT}")
    if stamp > _latest_ts():
        raise InvalidEvent(f"{where} {value!r} is more than {MAX_FUTURE.days} day ahead of now")
    return stamp


_EARLIEST_TEXT = format_ts(EARLIEST_TS)
_latest: tuple[int, str] = (0, "")


def _latest_ts() -> str:
    """The newest acceptable timestamp, recomputed once a second (it is checked per event)."""
    global _latest
    second = int(time.time())
    if _latest[0] != second:
        _latest = (second, format_ts(datetime.fromtimestamp(second, UTC) + MAX_FUTURE))
    return _latest[1]


class _BadValue(Exception):
    """A value inside payload/attributes the stores cannot hold; `path` fills in on unwind."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []


_PATH_KEYS = 8
"""How much of a bad value's path a reason names."""


def _check_tree(where: str, tree: dict[str, Any]) -> None:
    try:
        _check_value(tree, 1)
    except _BadValue as bad:
        keys = list(reversed(bad.path))
        path = "".join(f"[{key}]" if key.isdigit() else f".{key}" for key in keys[:_PATH_KEYS])
        if len(keys) > _PATH_KEYS:
            path += "…"
        raise InvalidEvent(f"{where}{path} {bad.problem}") from None


def _check_value(value: Any, depth: int) -> None:
    """No NUL, int64 integers, finite floats, at most MAX_NESTING deep (recursion is bounded
    by that same limit)."""
    kind = type(value)
    if kind is str:
        _check_text(value)
    elif kind is dict or kind is list or kind is tuple:
        if depth > MAX_NESTING:
            raise _BadValue(f"nests objects or arrays deeper than {MAX_NESTING} levels")
        items = value.items() if kind is dict else enumerate(value)
        for key, item in items:
            if _is_plain(item) and (kind is not dict or _is_plain_key(key)):
                continue  # the common leaf, checked without a recursive call
            try:
                if kind is dict and isinstance(key, str):
                    _check_text(key, "has a key that")
                _check_value(item, depth + 1)
            except _BadValue as bad:
                bad.path.append(str(key).replace("\x00", "\\u0000"))
                raise
    elif kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise _BadValue(f"is an integer outside the 64-bit range ({value})")
    elif kind is float:
        if not math.isfinite(value):
            raise _BadValue(f"is not a finite number ({value})")
    elif kind is not bool and value is not None:
        _check_unusual(value, depth)


def _is_plain(item: Any) -> bool:
    """A leaf that needs no further look: ASCII text without NUL, an int64, a bool, null."""
    kind = type(item)
    if kind is str:
        return "\x00" not in item and bool(item.isascii())
    if kind is int:
        return bool(INT64_MIN <= item <= INT64_MAX)
    return kind is bool or item is None


def _is_plain_key(key: Any) -> bool:
    return type(key) is str and "\x00" not in key and key.isascii()


def _check_text(text: str, subject: str = "") -> None:
    problem = None
    if "\x00" in text:
        problem = "contains a NUL character (\\u0000)"
    elif not text.isascii() and not _is_utf8(text):  # isascii is O(1)
        problem = "contains a lone surrogate (not UTF-8)"
    if problem:
        raise _BadValue(f"{subject} {problem}".lstrip())


def _is_utf8(text: str) -> bool:
    """False only for a str built in Python: decoded JSON cannot hold a lone surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_unusual(value: Any, depth: int) -> None:
    """Subclasses (a StrEnum, an IntEnum) built in Python are checked as their base type."""
    for base in (str, int, float):
        if isinstance(value, base) and not isinstance(value, bool):
            _check_value(base(value), depth)
            return


_NUMBER_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_DIGITS_TEXT = re.compile(r"[0-9]+")
_USAGE_COUNTERS = USAGE_KEYS
_METRIC_SNAPSHOT = EventType.METRIC_SNAPSHOT.value  # a plain str compares faster
_OPENCLAW_SNAPSHOT = EventType.OPENCLAW_SNAPSHOT.value
_VM_NUMBERS = (("cpu_pct",), ("memory", "pct"), ("disk", "pct"))


def _check_read_fields(envelope: Envelope) -> None:
    """The payload fields the read models compute with: numbers they can add and store."""
    payload = envelope.payload
    if "duration_ms" in payload:
        _check_number("payload.duration_ms", payload["duration_ms"], MAX_DURATION_MS)
    started_at = payload.get("started_at")
    if started_at is not None:
        if not isinstance(started_at, str):
            raise InvalidEvent("payload.started_at must be an RFC 3339 timestamp string")
        checked_ts("payload.started_at", started_at)
    kind = envelope.event.type
    if kind == _METRIC_SNAPSHOT:
        _check_usage(payload)
    elif kind == _OPENCLAW_SNAPSHOT:
        for path in _VM_NUMBERS:
            section: Any = payload
            for key in path[:-1]:
                section = section.get(key) if isinstance(section, dict) else None
            if isinstance(section, dict):
                _check_number(f"payload.{'.'.join(path)}", section.get(path[-1]), math.inf)


def _check_usage(payload: dict[str, Any]) -> None:
    _check_number("payload.cost_usd", payload.get("cost_usd"), MAX_COST_USD, low=0)
    usage = payload.get("usage")
    if usage is None:
        return
    if not isinstance(usage, dict):
        raise InvalidEvent("payload.usage must be an object of token counts")
    for key, count in usage.items():
        if key not in _USAGE_COUNTERS:
            continue
        if isinstance(count, str) and not _DIGITS_TEXT.fullmatch(count):
            raise InvalidEvent(f"payload.usage.{key} {count!r} is not a count of ASCII digits")
        _check_number(f"payload.usage.{key}", count, MAX_TOKENS, low=0)


def _check_number(where: str, value: Any, high: float, low: float | None = None) -> None:
    """A JSON number, or a string holding a decimal number, finite and within [low, high]
    (low defaults to -high)."""
    if value is None:
        return
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        number = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidEvent(f"{where} must be a number, got {_json_type(value)} {value!r:.40}")
    low = -high if low is None else low
    if not (math.isfinite(number) and low <= number <= high):
        raise InvalidEvent(f"{where} {value!r:.40} is not a finite number within {low:g}..{high:g}")


def _json_type(value: Any) -> str:
    names = {str: "string", bool: "boolean", dict: "object", list: "array"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "value")


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
    except UnicodeDecodeError as exc:
        raise InvalidEvent(
            f"a string is not valid UTF-8: {exc.reason} at byte {exc.start}"
        ) from None
    except RecursionError:
        raise InvalidEvent(f"nests objects or arrays deeper than {MAX_NESTING} levels") from None
    return check_event(envelope)


def validate_event(obj: dict[str, Any] | Envelope) -> Envelope:
    """Validate an envelope built in Python (a dict or an Envelope)."""
    if isinstance(obj, Envelope):
        return check_event(obj)
    try:
        envelope = msgspec.convert(obj, Envelope)
    except msgspec.ValidationError as exc:
        raise InvalidEvent(_friendly(str(exc))) from None
    except RecursionError:
        raise InvalidEvent(f"nests objects or arrays deeper than {MAX_NESTING} levels") from None
    return check_event(envelope)


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
    """A fresh time-ordered (version 7) id: see `agentmon.client.ids`."""
    return uuid7()


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
