"""OTLP log records → agentmon events.

Agent CLIs report their activity as OTel *events* (log records with a name). The name is
read from `eventName`, else from a body that is itself an event name, else from the short
`event.name` attribute with the tool's prefix added (Claude Code sends `api_request` for
`claude_code.api_request`). Named events of Claude Code, Codex and Gemini CLI go to their
handlers in `agent_logs`; every other record is kept: as an `error` when its severity is
ERROR or worse, else as a `metric.snapshot` carrying the message.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SEVERITY_NUMBER_ERROR, LogRecord

from agentmon.events import Envelope, InvalidEvent
from agentmon.otlp.agent_logs import (
    HANDLERS,
    LogView,
    in_parent_session,
    learn_codex_export,
    log_snapshot,
)
from agentmon.otlp.attributes import (
    any_value,
    as_text,
    attributes,
    hex_id,
)
from agentmon.otlp.build import Mapped, error_event
from agentmon.otlp.genai import session_of
from agentmon.otlp.memory import CorrelationMemory
from agentmon.otlp.origin import Origin, resolve_origin

EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
TOOL_PREFIXES = ("claude_code.", "codex.", "gemini_cli.", "gen_ai.")
SHORT_NAME_PREFIXES = {
    "claude-code": "claude_code.",
    "codex": "codex.",
    "gemini-cli": "gemini_cli.",
}
"""The prefix a short `event.name` gets, by framework."""


@dataclass(frozen=True, slots=True)
class Scope:
    origin: Origin
    name: str


def map_logs(request: ExportLogsServiceRequest, memory: CorrelationMemory) -> Mapped:
    mapped = Mapped()
    views = [
        view_record(record, Scope(origin, scope_logs.scope.name), memory)
        for resource_logs in request.resource_logs
        for origin in [resolve_origin(attributes(resource_logs.resource.attributes))]
        for scope_logs in resource_logs.scope_logs
        for record in scope_logs.log_records
    ]
    learn_codex_export(views, memory)
    for view in views:
        try:
            mapped.events.extend(view_to_events(view, memory))
        except InvalidEvent as exc:
            mapped.reject(f"log record {view.name}: {exc}".strip())
    return mapped


def view_to_events(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    view = in_parent_session(view, memory)
    handler = HANDLERS.get(view.name)
    if handler is not None:
        return handler(view, memory)
    return generic_events(view)


def view_record(record: LogRecord, scope: Scope, memory: CorrelationMemory) -> LogView:
    attrs = attributes(record.attributes)
    body = any_value(record.body)
    origin = scope.origin
    trace_id = hex_id(record.trace_id)
    session = session_of(attrs) or (memory.trace_sessions.get(trace_id) if trace_id else None)
    time_ns = _record_time(record, attrs.get("event.timestamp"))
    digest = hashlib.sha1(record.SerializeToString(deterministic=True)).hexdigest()
    return LogView(
        origin=origin,
        identity=f"log:{origin.framework}:{origin.host}:{digest}",
        name=event_name(record.event_name, body, attrs.get("event.name"), origin, scope.name),
        attrs=attrs,
        body=body,
        time_ns=time_ns,
        severity=record.severity_number,
        session_id=session or trace_id,
        trace_id=trace_id,
        span_id=hex_id(record.span_id),
    )


def event_name(declared: str, body: object, short: object, origin: Origin, scope_name: str) -> str:
    if declared and not _source_location(declared, short):
        return declared
    if isinstance(body, str) and body.startswith(TOOL_PREFIXES) and EVENT_NAME.fullmatch(body):
        return body
    text = as_text(short)
    if text is None or "." in text:
        return text or ""
    prefix = SHORT_NAME_PREFIXES.get(origin.framework)
    if prefix is None and "claude_code" in scope_name:
        prefix = "claude_code."
    return f"{prefix}{text}" if prefix else text


def _source_location(declared: str, short: object) -> bool:
    """Codex 0.171 fills `eventName` with where the event is raised (``event
    otel/src/events/session_telemetry.rs:737``) and puts the real name in `event.name`."""
    named = as_text(short)
    return named is not None and EVENT_NAME.fullmatch(named) is not None and " " in declared


def _record_time(record: LogRecord, event_timestamp: object) -> int:
    if record.time_unix_nano:
        return record.time_unix_nano
    if record.observed_time_unix_nano:
        return record.observed_time_unix_nano
    text = as_text(event_timestamp)
    if text:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return int(parsed.timestamp() * 1_000_000) * 1000
        except ValueError:
            pass
    return time.time_ns()


def generic_events(view: LogView) -> list[Envelope]:
    """A record no handler knows: an `error` (severity ERROR or worse) or a kept snapshot."""
    if view.severity < SEVERITY_NUMBER_ERROR:
        return log_snapshot(view, None)
    message = as_text(view.body) or view.name or "log record"
    return [
        error_event(view.place(None), view.ts, message, view.name or "log", attributes=view.attrs)
    ]
