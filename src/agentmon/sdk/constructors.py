"""Constructors for every agentmon event type (the Python side of the Go SDK's NewXxx).

Each returns a validated `Envelope`. Payload keys follow docs/events.md; anything extra goes
in ``payload`` (merged) or ``attributes``. ``None`` values are left out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentmon.events import Envelope, EventType, Source, new_event


def _payload(known: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    merged = {key: value for key, value in known.items() if value is not None}
    merged.update(extra or {})
    return merged


def _build(
    event_type: EventType,
    source: Source,
    payload: dict[str, Any],
    *,
    attributes: dict[str, Any] | None,
    ts: str | datetime | None,
    **correlation: str | None,
) -> Envelope:
    return new_event(
        event_type,
        framework=source.framework,
        client_id=source.client_id,
        host=source.host,
        payload=payload,
        attributes=attributes,
        ts=ts,
        **correlation,
    )


def session_start(
    source: Source,
    session_id: str,
    *,
    title: str | None = None,
    model: str | None = None,
    cwd: str | None = None,
    parent_session_id: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    known = {"title": title, "model": model, "cwd": cwd, "parent_session_id": parent_session_id}
    return _build(
        EventType.SESSION_START,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
    )


def session_end(
    source: Source,
    session_id: str,
    *,
    reason: str | None = None,
    status: str | None = None,
    duration_ms: int | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    known = {"reason": reason, "status": status, "duration_ms": duration_ms}
    return _build(
        EventType.SESSION_END,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
    )


def run_start(
    source: Source,
    session_id: str,
    run_id: str,
    *,
    input: Any = None,
    model: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    return _build(
        EventType.RUN_START,
        source,
        _payload({"input": input, "model": model}, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
        run_id=run_id,
    )


def run_end(
    source: Source,
    session_id: str,
    run_id: str,
    *,
    status: str = "ok",
    output: Any = None,
    error: str | None = None,
    duration_ms: int | None = None,
    usage: dict[str, int] | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    """``usage`` here is shown on the run only; count it with `metric_snapshot`."""
    known = {
        "status": status,
        "output": output,
        "error": error,
        "duration_ms": duration_ms,
        "usage": usage,
    }
    return _build(
        EventType.RUN_END,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
        run_id=run_id,
    )


def span_start(
    source: Source,
    session_id: str,
    run_id: str | None,
    span_id: str,
    *,
    kind: str,
    name: str | None = None,
    input: Any = None,
    parent_span_id: str | None = None,
    trace_id: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    known = {"kind": kind, "name": name, "input": input}
    return _build(
        EventType.SPAN_START,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
        run_id=run_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        trace_id=trace_id,
    )


def span_end(
    source: Source,
    session_id: str,
    run_id: str | None,
    span_id: str,
    *,
    kind: str,
    name: str | None = None,
    status: str = "ok",
    output: Any = None,
    error: str | None = None,
    duration_ms: int | None = None,
    parent_span_id: str | None = None,
    trace_id: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    known = {
        "kind": kind,
        "name": name,
        "status": status,
        "output": output,
        "error": error,
        "duration_ms": duration_ms,
    }
    return _build(
        EventType.SPAN_END,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
        run_id=run_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        trace_id=trace_id,
    )


def error(
    source: Source,
    message: str,
    *,
    kind: str | None = None,
    status_code: int | None = None,
    session_id: str | None = None,
    run_id: str | None = None,
    span_id: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    known = {"message": message, "kind": kind, "status_code": status_code}
    return _build(
        EventType.ERROR,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
        run_id=run_id,
        span_id=span_id,
    )


def metric_snapshot(
    source: Source,
    *,
    session_id: str | None = None,
    run_id: str | None = None,
    usage: dict[str, int] | None = None,
    cost_usd: float | None = None,
    model: str | None = None,
    agent_state: str | None = None,
    waiting_reason: str | None = None,
    message: str | None = None,
    payload: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    """Token usage and cost (counted from here only) and/or the agent's waiting state."""
    known = {
        "usage": usage,
        "cost_usd": cost_usd,
        "model": model,
        "agent_state": agent_state,
        "waiting_reason": waiting_reason,
        "message": message,
    }
    return _build(
        EventType.METRIC_SNAPSHOT,
        source,
        _payload(known, payload),
        attributes=attributes,
        ts=ts,
        session_id=session_id,
        run_id=run_id,
    )


def openclaw_snapshot(
    source: Source,
    snapshot: dict[str, Any],
    *,
    attributes: dict[str, Any] | None = None,
    ts: str | datetime | None = None,
) -> Envelope:
    """A VM health snapshot (docs/events.md); ``snapshot["instance"]`` names the VM."""
    return _build(EventType.OPENCLAW_SNAPSHOT, source, dict(snapshot), attributes=attributes, ts=ts)
