"""Envelope builders shared by the trace, log and metric mappings.

Every event id is derived from the OTLP item's identity, the event type and the event's own
timestamp (a time-led version 7 UUID: the millisecond, then a SHA-1 of the identity and
type), so a re-sent export maps to the same ids and the store's dedupe on `event.id` drops
the repeats, while ids still sort by time for the stores' indexes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from agentmon.client.ids import time_led_id
from agentmon.events import (
    MAX_EVENT_BYTES,
    Envelope,
    EventType,
    InvalidEvent,
    encode,
    new_event,
    ts_to_ms,
)
from agentmon.otlp.attributes import Attributes, nanos_to_ms, nanos_to_ts
from agentmon.otlp.origin import Origin

OTLP_NAMESPACE = uuid.UUID("6c4e1f0a-2b7d-5e39-9a41-0f3c8d2e7b15")


def event_id(identity: str, event_type: EventType, ts: str) -> str:
    """The id of the `event_type` event of the item `identity`, stamped `ts` (canonical)."""
    name = f"{identity}|{event_type.value}".encode()
    return time_led_id(ts_to_ms(ts), hashlib.sha1(_NAMESPACE_BYTES + name).digest())


def derived_id(*parts: str) -> str:
    """A stable id for things OTLP does not name (a reconstructed span, a Codex turn)."""
    return _uuid5_hex("|".join(parts), dashed=False)


def _uuid5_hex(name: str, *, dashed: bool) -> str:
    """uuid.uuid5(OTLP_NAMESPACE, name), as text, without building UUID objects (hot path)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    if not dashed:
        return text
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_NAMESPACE_BYTES = OTLP_NAMESPACE.bytes


@dataclass(slots=True)
class Place:
    """Where events belong: their origin and correlation, and the identity their ids hash.

    Not `frozen`: one is built per span, and a frozen dataclass's `__init__` costs four
    times as much (it sets each field through `object.__setattr__`). Treat it as read-only."""

    origin: Origin
    identity: str
    session_id: str | None = None
    run_id: str | None = None
    trace_id: str | None = None


def make_event(
    event_type: EventType,
    place: Place,
    ts: str,
    payload: dict[str, Any],
    *,
    attributes: Attributes | None = None,
    span_id: str | None = None,
    parent_span_id: str | None = None,
) -> Envelope:
    origin = place.origin
    event = new_event(
        event_type,
        framework=origin.framework,
        client_id=origin.client_id,
        host=origin.host,
        session_id=place.session_id,
        run_id=place.run_id,
        span_id=span_id,
        trace_id=place.trace_id,
        parent_span_id=parent_span_id,
        payload=_without_none(payload),
        attributes=attributes,
        ts=ts,
        event_id=event_id(place.identity, event_type, ts),
    )
    size = len(encode(event))
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(
            f"its {event_type.value} event would be {size} bytes, over the "
            f"{MAX_EVENT_BYTES} byte limit"
        )
    return event


@dataclass(slots=True)
class SpanFacts:
    """One finished span in agentmon's terms, whatever OTLP item it came from."""

    span_id: str
    kind: str
    name: str
    start_ns: int
    end_ns: int
    status: str = "ok"
    error: str | None = None
    parent_span_id: str | None = None
    reconstructed: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    """Extra payload keys: input, output, model, provider, tool_call_id, usage, …"""
    attributes: Attributes = field(default_factory=dict)


def span_events(place: Place, span: SpanFacts) -> list[Envelope]:
    """One span.end carrying its start time, and an `error` event when the span failed.

    OTLP delivers spans complete, so a single event says all: the store takes the start
    from `started_at`. A reconstructed span (an event that reports only its end and
    duration) carries no `started_at`: the store derives its start from `duration_ms` and
    marks it reconstructed, and a span.start a hook sent for the same span id stays
    authoritative. The attributes ride on the span.end.
    """
    payload: dict[str, Any] = {"kind": span.kind, "name": span.name, **span.details}
    if span.reconstructed:
        payload["reconstructed"] = True
    else:
        payload["started_at"] = nanos_to_ts(span.start_ns)
    payload.update(
        status=span.status,
        error=span.error,
        duration_ms=nanos_to_ms(max(span.end_ns - span.start_ns, 0)),
    )
    end = _span_event(EventType.SPAN_END, place, span, payload)
    events = [end]
    if span.status == "error":
        message = span.error or f"{span.kind} {span.name} failed"
        events.append(error_event(place, end.ts, message, span.kind, span_id=span.span_id))
    return events


def _span_event(
    event_type: EventType, place: Place, span: SpanFacts, payload: dict[str, Any]
) -> Envelope:
    is_end = event_type is EventType.SPAN_END
    return make_event(
        event_type,
        place,
        nanos_to_ts(span.end_ns if is_end else span.start_ns),
        payload,
        attributes=span.attributes if is_end else None,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
    )


def error_event(
    place: Place,
    ts: str,
    message: str,
    kind: str,
    *,
    status_code: int | None = None,
    span_id: str | None = None,
    attributes: Attributes | None = None,
) -> Envelope:
    payload = {"message": message, "kind": kind, "status_code": status_code}
    return make_event(EventType.ERROR, place, ts, payload, attributes=attributes, span_id=span_id)


def usage_payload(
    *,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
    total_tokens: int | None = None,
) -> dict[str, int] | None:
    """agentmon's `usage` object, or None when no count is known; total defaults to in + out."""
    counts = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read_tokens,
        "cache_write_tokens": cache_write_tokens,
        "total_tokens": total_tokens,
    }
    known = {key: value for key, value in counts.items() if value is not None}
    if not known:
        return None
    if "total_tokens" not in known:
        known["total_tokens"] = (input_tokens or 0) + (output_tokens or 0)
    return known


def usage_snapshot(
    place: Place,
    ts: str,
    usage: dict[str, int] | None,
    *,
    cost_usd: float | None = None,
    model: str | None = None,
    span_id: str | None = None,
    attributes: Attributes | None = None,
) -> list[Envelope]:
    """The metric.snapshot that makes usage and cost count (empty when there is neither)."""
    if usage is None and cost_usd is None:
        return []
    payload = {"usage": usage, "cost_usd": cost_usd, "model": model}
    return [
        make_event(
            EventType.METRIC_SNAPSHOT, place, ts, payload, attributes=attributes, span_id=span_id
        )
    ]


def _without_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if value is not None}


@dataclass(slots=True)
class Mapped:
    """What one export request became: the events, and the items that could not be mapped."""

    events: list[Envelope] = field(default_factory=list)
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def reject(self, problem: str) -> None:
        self.rejected += 1
        if len(self.problems) < MAX_PROBLEMS_REPORTED:
            self.problems.append(problem)

    @property
    def error_message(self) -> str:
        more = self.rejected - len(self.problems)
        suffix = f"; and {more} more" if more > 0 else ""
        return "; ".join(self.problems) + suffix


MAX_PROBLEMS_REPORTED = 5
