"""Events → read-model rows, computed once per batch and merged per key.

Only events the store had not seen before are projected, so sums (tokens, cost, errors,
rollup counts) are exact even when a batch is redelivered. Every rule that folds rows lives in
`tables.py`; this module only says which columns an event touches.
"""

from __future__ import annotations

from typing import Any

import msgspec

from agentmon.client.usage import normalize_usage
from agentmon.events import Envelope, EventType, normalize_ts, ts_to_ms
from agentmon.pricing import Priced, price_call
from agentmon.store import agents, tables
from agentmon.store.tables import Table

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
MAX_TEXT_CHARS = 32_000

# The event types as plain strings: reading an enum member costs ~0.2 µs on Python 3.11, and
# the projection compares a type several times for every event.
_SESSION_START = EventType.SESSION_START.value
_SESSION_END = EventType.SESSION_END.value
_RUN_START = EventType.RUN_START.value
_RUN_END = EventType.RUN_END.value
_SPAN_START = EventType.SPAN_START.value
_SPAN_END = EventType.SPAN_END.value
_ERROR = EventType.ERROR.value
_METRIC_SNAPSHOT = EventType.METRIC_SNAPSHOT.value
_OPENCLAW_SNAPSHOT = EventType.OPENCLAW_SNAPSHOT.value

# the events that begin work; an end's trailing events (run.end, span.end) reopen nothing
_STARTS = frozenset((_SESSION_START, _RUN_START, _SPAN_START))

_RUN_STATUS = {
    "ok": "ok",
    "success": "ok",
    "succeeded": "ok",
    "completed": "ok",
    "error": "error",
    "failed": "error",
    "failure": "error",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "interrupted": "cancelled",
    "aborted": "cancelled",
    "blocked": "cancelled",
    "denied": "denied",  # a tool call refused permission (never ran)
    "unknown": "unknown",
}

_json = msgspec.json.Encoder()


ModelCall = tuple[Envelope, dict[str, int], Priced]
"""A model call the projection counted (its `metric.snapshot`), with its usage and price."""


class Projection:
    """Rows per read-model table, one per key, merged as events are added; and the model calls
    summed, priced once, for whoever else counts them (the Prometheus counters)."""

    def __init__(self) -> None:
        self.rows: dict[Table, dict[tuple[Any, ...], dict[str, Any]]] = {
            table: {} for table in tables.READ_MODELS
        }
        self.model_calls: list[ModelCall] = []

    def add(self, table: Table, row: dict[str, Any]) -> None:
        key = table.key_of(row)
        stored = self.rows[table].get(key)
        if stored is None:
            self.rows[table][key] = row
        else:
            table.merge(stored, row)

    def nonempty(self) -> list[tuple[Table, list[dict[str, Any]]]]:
        return [(t, list(rows.values())) for t, rows in self.rows.items() if rows]


def normalize_status(value: Any, default: str = "ok") -> str:
    if value is None or value == "":
        return default
    return _RUN_STATUS.get(str(value).lower(), "unknown")


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else _json.encode(value).decode()
    return text[:MAX_TEXT_CHARS]


def as_json(value: Any) -> str | None:
    if value is None or value == {}:
        return None
    return _json.encode(value).decode()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def project(events: list[Envelope]) -> Projection:
    projection = Projection()
    for event in events:
        _project_one(projection, event)
    _roll_up_hours(projection)
    _collect_facets(projection)
    agents.collect(projection)
    return projection


def _collect_facets(projection: Projection) -> None:
    """The frameworks and hosts the filters offer, from the batch's session rows."""
    for row in projection.rows[tables.SESSIONS].values():
        for kind in ("framework", "host"):
            if row.get(kind):
                projection.add(
                    tables.FACETS, {"kind": kind, "value": row[kind], "last_ts": row["last_ts"]}
                )


def _roll_up_hours(projection: Projection) -> None:
    """Hour rollups from the batch's minute rows: a few merges per batch, not per event."""
    for minute_table, hour_table in (
        (tables.ROLLUP_MINUTE, tables.ROLLUP_HOUR),
        (tables.TOOL_ROLLUP_MINUTE, tables.TOOL_ROLLUP_HOUR),
    ):
        for row in projection.rows[minute_table].values():
            projection.add(hour_table, {**row, "bucket": row["bucket"] // HOUR_MS * HOUR_MS})


def _project_one(projection: Projection, event: Envelope) -> None:
    ms = ts_to_ms(event.event.ts)
    kind = event.event.type
    usage, cost = _usage_of(event)
    counted = _usage_columns(usage, cost)
    if cost is not None:
        projection.model_calls.append((event, usage, cost))
    if kind == _OPENCLAW_SNAPSHOT:
        _project_vm(projection, event, ms)
    if event.correlation.session_id:
        projection.add(tables.SESSIONS, _session_row(event, ms, counted))
        if cost is not None:
            projection.add(tables.MODEL_USAGE, _model_usage_row(event, ms, counted))
    if cost is not None:
        projection.add(tables.USAGE_HOUR, _usage_hour_row(event, ms, counted))
    if event.correlation.run_id:
        projection.add(tables.RUNS, _run_row(event, ms, counted))
    if event.correlation.span_id and kind in (_SPAN_START, _SPAN_END):
        projection.add(tables.SPANS, _span_row(event, ms))
    if kind == _ERROR:
        projection.add(tables.ERRORS, _error_row(event, ms))
    _project_rollups(projection, event, ms, counted)
    agents.project(projection, event, ms, counted)


def _usage_of(event: Envelope) -> tuple[dict[str, int], Priced | None]:
    """The model call a `metric.snapshot` counts (the only events whose usage is summed), priced;
    None when the event carries neither usage nor cost."""
    if event.event.type != _METRIC_SNAPSHOT:
        return {}, None
    return _priced_usage(event, event.payload.get("model"), _number(event.payload.get("cost_usd")))


def _priced_usage(
    event: Envelope, model: Any, reported: float | None
) -> tuple[dict[str, int], Priced | None]:
    payload = event.payload
    usage = normalize_usage(payload.get("usage"))
    if not any(usage.values()) and reported is None:  # no tokens, no cost: not a model call
        return usage, None
    priced = price_call(
        usage,
        reported,
        model=str(model) if model else None,
        provider=str(payload["provider"]) if payload.get("provider") else None,
        framework=event.event.source.framework,
        ts_ms=ts_to_ms(event.event.ts),
    )
    return usage, priced


def _usage_columns(usage: dict[str, int], priced: Priced | None) -> dict[str, Any]:
    """What a model call adds to the sums, once per event: its non-zero token counts (a sum
    a row leaves out counts as 0), its cost and which kind of call it was."""
    if priced is None:
        return {}
    return {
        **{name: count for name, count in usage.items() if count},
        "cost_usd": priced.cost_usd,
        _COUNT_OF[priced.source]: 1,
    }


_COUNT_OF = {"reported": "reported_calls", "estimated": "estimated_calls", "none": "unpriced_calls"}


def _session_row(event: Envelope, ms: int, counted: dict[str, Any]) -> dict[str, Any]:
    source, payload, kind = event.event.source, event.payload, event.event.type
    row: dict[str, Any] = {
        "session_id": event.correlation.session_id,
        "framework": source.framework,
        "host": source.host,
        "client_id": source.client_id,
        "first_ts": ms,
        "last_ts": ms,
        **counted,
    }
    if payload.get("agent_state") == "waiting_for_human":
        row["waiting_reason"] = str(payload.get("waiting_reason") or "waiting")
        row["waiting_message"] = as_text(payload.get("message"))
    if kind in _STARTS:  # work began: after a session.end, the session is open again
        row["last_start_ts"] = ms
    if kind == _SESSION_START:
        row.update(
            started_at=ms,
            title=as_text(payload.get("title")),
            model=as_text(payload.get("model")),
            cwd=as_text(payload.get("cwd")),
            parent_session_id=as_text(payload.get("parent_session_id")),
        )
    elif kind == _SESSION_END:
        # ended_at is tables.ended(last_end_ts, last_start_ts): this row alone is ended
        row.update(last_end_ts=ms, ended_at=ms, end_reason=as_text(payload.get("reason")))
    elif kind == _RUN_START:
        row.update(title=as_text(payload.get("input") or payload.get("prompt")))
    elif kind == _RUN_END:
        row.update(last_run_ts=ms, last_run_status=normalize_status(payload.get("status")))
    if kind in (_RUN_START, _RUN_END):  # tools that name no model up front
        row["model"] = as_text(payload.get("model"))
    elif kind == _ERROR:
        row.update(error_count=1)
    return row


def _model_usage_row(event: Envelope, ms: int, counted: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": event.correlation.session_id,
        "model": str(event.payload.get("model") or ""),
        "framework": event.event.source.framework,
        "last_ts": ms,
        "calls": 1,
        **counted,
    }


def _usage_hour_row(event: Envelope, ms: int, counted: dict[str, Any]) -> dict[str, Any]:
    return {
        "bucket": ms // HOUR_MS * HOUR_MS,
        "session_id": event.correlation.session_id or "",
        "model": str(event.payload.get("model") or ""),
        "framework": event.event.source.framework,
        "calls": 1,
        **counted,
    }


def _run_row(event: Envelope, ms: int, counted: dict[str, Any]) -> dict[str, Any]:
    source, payload, kind = event.event.source, event.payload, event.event.type
    row: dict[str, Any] = {
        "run_id": event.correlation.run_id,
        "session_id": event.correlation.session_id,
        "framework": source.framework,
        "host": source.host,
        "first_ts": ms,
        "last_ts": ms,
        **counted,
    }
    if kind == _RUN_START:
        row.update(
            started_at=ms,
            input=as_text(payload.get("input") or payload.get("prompt")),
            model=as_text(payload.get("model")),
        )
    elif kind == _RUN_END:
        row.update(
            ended_at=ms,
            status=normalize_status(payload.get("status")),
            output=as_text(payload.get("output")),
            error=as_text(payload.get("error")),
            duration_ms=_number(payload.get("duration_ms")),
            usage=as_json(payload.get("usage")),
            model=as_text(payload.get("model")),
        )
    elif kind == _ERROR:
        row.update(error_count=1)
    return row


def _span_row(event: Envelope, ms: int) -> dict[str, Any]:
    payload = event.payload
    row: dict[str, Any] = {
        "span_id": event.correlation.span_id,
        "run_id": event.correlation.run_id,
        "session_id": event.correlation.session_id,
        "trace_id": event.correlation.trace_id,
        "parent_span_id": event.correlation.parent_span_id,
        "framework": event.event.source.framework,
        "kind": as_text(payload.get("kind")),
        "name": as_text(payload.get("name") or payload.get("tool_name")),
        "first_ts": ms,
        "attributes": as_json(event.attributes),
    }
    if event.event.type == _SPAN_START:
        row.update(started_at=ms, input=as_json(payload.get("input")))
        return row
    duration = _number(payload.get("duration_ms"))
    started = _start_of(payload.get("started_at"))
    if started is not None:
        row["started_at"] = started
    row.update(
        ended_at=ms,
        status=normalize_status(payload.get("status")),
        error=as_text(payload.get("error")),
        output=as_json(payload.get("output")),
        duration_ms=duration,
        derived_start=ms - int(duration) if duration is not None else None,
        usage=as_json(payload.get("usage")),
        input=as_json(payload.get("input")),
    )
    if row["kind"] == "llm":
        model = payload.get("model") or row["name"]
        _, priced = _priced_usage(event, model, _span_reported_cost(payload))
        if priced is not None:
            row.update(cost_usd=priced.cost_usd, cost_source=priced.source)
    return row


def _span_reported_cost(payload: dict[str, Any]) -> float | None:
    """A span's cost as its tool reported it: `cost_usd`, or inside its `usage` (a display
    field, unchecked at intake: only a finite, non-negative number is taken)."""
    usage = payload.get("usage")
    cost = _number(payload.get("cost_usd"))
    if cost is None and isinstance(usage, dict):
        cost = _number(usage.get("cost_usd", usage.get("cost")))
    return cost if cost is not None and 0 <= cost < float("inf") else None


def _start_of(value: Any) -> int | None:
    """A span.end may carry its own start (`started_at`, RFC 3339): a complete span in one
    event, as OTLP delivers them."""
    if not isinstance(value, str):
        return None
    try:
        return ts_to_ms(normalize_ts(value))
    except ValueError:
        return None


def _error_row(event: Envelope, ms: int) -> dict[str, Any]:
    payload, correlation = event.payload, event.correlation
    message = payload.get("message") or payload.get("error") or ""
    return {
        "event_id": event.event.id,
        "ts": ms,
        "session_id": correlation.session_id,
        "run_id": correlation.run_id,
        "span_id": correlation.span_id,
        "framework": event.event.source.framework,
        "host": event.event.source.host,
        "kind": as_text(payload.get("kind") or payload.get("category")),
        "message": as_text(message),
    }


def _project_vm(projection: Projection, event: Envelope, ms: int) -> None:
    payload = event.payload
    name = str(payload.get("instance") or event.event.source.client_id or event.event.source.host)
    projection.add(tables.VM_LATEST, {"name": name, "ts": ms, "snapshot": as_json(payload)})
    projection.add(
        tables.VM_HISTORY,
        {
            "name": name,
            "ts": ms,
            "cpu_pct": _number(payload.get("cpu_pct")),
            "mem_pct": _number(_section(payload, "memory").get("pct")),
            "disk_pct": _number(_section(payload, "disk").get("pct")),
        },
    )


def _section(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


_ROLLUP_COUNTED: dict[str, str] = {
    _SESSION_START: "sessions",
    _RUN_START: "runs",
    _ERROR: "errors",
}


def _project_rollups(
    projection: Projection, event: Envelope, ms: int, counted: dict[str, Any]
) -> None:
    kind, payload = event.event.type, event.payload
    is_tool_end = kind == _SPAN_END and payload.get("kind") == "tool"
    # the model call's sums too; the cache counters in it are not rollup columns, so the
    # merge and the upsert pass them over
    counts: dict[str, Any] = {"framework": event.event.source.framework, "events": 1, **counted}
    counter = _ROLLUP_COUNTED.get(kind)
    if counter:
        counts[counter] = 1
    if is_tool_end:
        counts["tool_calls"] = 1
    projection.add(tables.ROLLUP_MINUTE, {"bucket": ms // MINUTE_MS * MINUTE_MS, **counts})
    if is_tool_end:
        duration = _number(payload.get("duration_ms"))
        tool = {
            "name": str(payload.get("name") or payload.get("tool_name") or "unknown"),
            "calls": 1,
            "errors": int(normalize_status(payload.get("status")) == "error"),
            "timed_calls": int(duration is not None),
            "total_ms": duration or 0.0,
        }
        projection.add(tables.TOOL_ROLLUP_MINUTE, {"bucket": ms // MINUTE_MS * MINUTE_MS, **tool})
