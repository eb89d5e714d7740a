"""OTLP attribute values, ids and timestamps as plain Python, plus lenient value coercion.

Agent tools are inconsistent about types (Claude Code sends `duration_ms` as "612" in one
event and 4820 in the next; `success` is "true" or a bool), so every reader goes through
the `as_*` helpers here instead of trusting the wire type.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

Attributes = dict[str, Any]


def any_value(value: AnyValue) -> Any:
    """One OTLP AnyValue → str, bool, int, float, list, dict, hex text (bytes) or None."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def attributes(pairs: Iterable[KeyValue]) -> Attributes:
    return {pair.key: any_value(pair.value) for pair in pairs}


def hex_id(raw: bytes) -> str | None:
    """A trace or span id as lowercase hex; None when absent or all zero (invalid per OTLP)."""
    if not raw or not any(raw):
        return None
    return raw.hex()


def nanos_to_ts(nanos: int) -> str:
    """Unix nanoseconds → agentmon's canonical `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    return f"{_clock(seconds)}.{rest // 1000:06d}Z"


@functools.lru_cache(maxsize=4096)
def _clock(seconds: int) -> str:
    """The date and time of a whole second (cached: the spans of an export share seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def nanos_to_ms(nanos: int) -> int:
    return nanos // 1_000_000


def first(attrs: Mapping[str, Any], *keys: str) -> Any:
    """The value of the first key present with a non-empty value."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = as_text(value)
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "ok", "success"):
        return True
    if lowered in ("false", "0", "no", "error", "failure"):
        return False
    return None
