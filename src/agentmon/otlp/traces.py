"""OTLP spans → agentmon runs, spans, usage snapshots and errors.

A trace is a run: every span carries `run_id` = its trace id, and the trace's root span
(no parent, or a parent in another process) opens and closes that run. GenAI spans are recognised by
`gen_ai.operation.name` (and OpenClaw's span names); anything else is kept as a generic
span whose kind is the OTLP span kind. See docs/otlp.md for the full table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, SpanFlags, Status

from agentmon.client.usage import known_usage
from agentmon.events import Envelope, EventType, InvalidEvent
from agentmon.integrations.ids import codex_turn_usage_id
from agentmon.otlp.agent_logs import CODEX, CODEX_TRACED, tool_span_id
from agentmon.otlp.attributes import Attributes, as_text, attributes, first, hex_id, nanos_to_ts
from agentmon.otlp.build import Mapped, Place, SpanFacts, error_event, make_event, span_events
from agentmon.otlp.build import usage_snapshot as build_usage_snapshot
from agentmon.otlp.genai import (
    cost_of,
    model_of,
    provider_of,
    session_of,
    tool_call_id_of,
    usage_of,
)
from agentmon.otlp.memory import CorrelationMemory
from agentmon.otlp.origin import Origin, resolve_origin


class Role(Enum):
    AGENT = "agent"
    TOOL = "tool"
    LLM = "llm"
    USAGE = "usage"
    OTHER = "other"


AGENT_OPERATIONS = frozenset({"invoke_agent", "invoke_workflow", "agent_call"})
TOOL_OPERATIONS = frozenset({"execute_tool", "tool_call"})
LLM_OPERATIONS = frozenset(
    {"chat", "generate_content", "text_completion", "embeddings", "llm_call"}
)
SPAN_NAME_ROLES = {
    "openclaw.run": Role.AGENT,
    "openclaw.harness.run": Role.AGENT,
    "openclaw.model.call": Role.LLM,
    "openclaw.model.usage": Role.USAGE,
    "openclaw.tool.execution": Role.TOOL,
}
"""Span names that decide the role before `gen_ai.operation.name` does."""

OPENINFERENCE_KINDS = {
    "LLM": "llm_call",
    "EMBEDDING": "embeddings",
    "TOOL": "tool_call",
    "AGENT": "agent_call",
}
"""OpenInference's `openinference.span.kind` as the `gen_ai.operation.name` it amounts to."""

USAGE_SPAN_FRAMEWORKS = frozenset({"openclaw"})

"""Frameworks whose usage is counted from dedicated usage spans, not from their LLM spans."""

INTERNAL_SPAN_FRAMEWORKS = frozenset({"codex"})
"""Frameworks whose traces are their own internals (Codex 0.171 exports ~450 spans per
`codex exec`: `fs.get_metadata`, `append_items` …, each trace root a bogus run): only their
GenAI spans and the spans `codex_span_events` reads are kept."""

CODEX_TURN_SPAN = "session_task.turn"
CODEX_TURN_USAGE = "codex.turn.token_usage."
CODEX_TOOL_DISPATCH = "dispatch"

LOG_MIRRORED_FRAMEWORKS = frozenset({"gemini-cli"})
"""Frameworks whose spans repeat their OTel log events and are dropped: Gemini CLI's
`llm_call`, `tool_call` and `schedule_tool_calls` spans are each a trace root of their own
(no turn span joins them) and carry no usage or result that `gemini_cli.api_response` and
`gemini_cli.tool_call` do not (see agent_logs)."""

REMOTE_PARENT = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK

SPAN_KIND_NAMES = {
    Span.SPAN_KIND_INTERNAL: "internal",
    Span.SPAN_KIND_SERVER: "server",
    Span.SPAN_KIND_CLIENT: "client",
    Span.SPAN_KIND_PRODUCER: "producer",
    Span.SPAN_KIND_CONSUMER: "consumer",
}


@dataclass(slots=True)
class SpanView:
    """One OTLP span decoded once: ids as hex, attributes as a dict. Read-only once built
    (not `frozen` only because that makes building one per span four times as slow)."""

    origin: Origin
    trace_id: str
    span_id: str
    parent_span_id: str | None
    local_root: bool
    """No parent, or a parent in another process (the span's flags say it is remote)."""
    name: str
    otel_kind: str
    start_ns: int
    end_ns: int
    failed: bool
    status_message: str | None
    attrs: Attributes
    session_id: str | None
    """The conversation id on the span, or on one of its span events (Codex puts it there)."""

    @property
    def place_identity(self) -> str:
        return f"span:{self.trace_id}:{self.span_id}"


def map_traces(request: ExportTraceServiceRequest, memory: CorrelationMemory) -> Mapped:
    mapped = Mapped()
    views = list(_decode_spans(request, mapped))
    _learn_sessions(views, memory)
    for view in views:
        if view.origin.framework in LOG_MIRRORED_FRAMEWORKS:
            continue
        place = Place(
            origin=view.origin,
            identity=view.place_identity,
            session_id=memory.trace_sessions.get(view.trace_id) or view.trace_id,
            run_id=view.trace_id,
            trace_id=view.trace_id,
        )
        try:
            if _internal(view):
                mapped.events.extend(codex_span_events(view, place, memory))
            else:
                mapped.events.extend(span_to_events(view, place))
        except InvalidEvent as exc:
            mapped.reject(f"span {view.span_id}: {exc}")
    return mapped


def _decode_spans(request: ExportTraceServiceRequest, mapped: Mapped) -> list[SpanView]:
    views: list[SpanView] = []
    for resource_spans in request.resource_spans:
        origin = resolve_origin(attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = _span_problem(span)
                if problem:
                    mapped.reject(problem)
                else:
                    views.append(decode_span(span, origin))
    return views


def _span_problem(span: Span) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return f"span {span.name!r}: trace_id must be 16 non-zero bytes"
    if len(span.span_id) != 8 or not any(span.span_id):
        return f"span {span.name!r}: span_id must be 8 non-zero bytes"
    if not span.start_time_unix_nano and not span.end_time_unix_nano:
        return f"span {span.name!r}: no start or end time"
    return None


def decode_span(span: Span, origin: Origin) -> SpanView:
    start = span.start_time_unix_nano or span.end_time_unix_nano
    attrs = attributes(span.attributes)
    parent_span_id = hex_id(span.parent_span_id)
    return SpanView(
        origin=origin,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=parent_span_id,
        local_root=parent_span_id is None or bool(span.flags & REMOTE_PARENT),
        name=span.name,
        otel_kind=SPAN_KIND_NAMES.get(span.kind, "other"),
        start_ns=start,
        end_ns=max(span.end_time_unix_nano, start),
        failed=span.status.code == Status.STATUS_CODE_ERROR,
        status_message=as_text(span.status.message) or as_text(attrs.get("error.type")),
        attrs=attrs,
        session_id=session_of(attrs) or _session_in_events(span),
    )


def _session_in_events(span: Span) -> str | None:
    for event in span.events:
        session = session_of(attributes(event.attributes))
        if session:
            return session
    return None


def _internal(view: SpanView) -> bool:
    return view.origin.framework in INTERNAL_SPAN_FRAMEWORKS and classify(view) is Role.OTHER


def _learn_sessions(views: list[SpanView], memory: CorrelationMemory) -> None:
    for view in views:
        if view.session_id:
            memory.trace_sessions.put(view.trace_id, view.session_id)
            if view.origin.framework in INTERNAL_SPAN_FRAMEWORKS:
                memory.current_runs.put(CODEX_TRACED + view.session_id, "yes")
                _learn_codex_turn(view, view.session_id, memory)


def _learn_codex_turn(view: SpanView, session_id: str, memory: CorrelationMemory) -> None:
    """The turn a Codex trace is: that of its first span naming a session and a turn (the
    turn's `codex.turn_input`, which ends before anything the turn spawns)."""
    turn = as_text(first(view.attrs, "turn.id", "turn_id"))
    if turn and memory.codex_turns.get(view.trace_id) is None:
        memory.codex_turns.put(view.trace_id, f"{session_id} {turn}")


# Codex: a turn is a `session_task.turn` span (`turn.id`, the hooks' run id, with the turn's
# token totals) and a tool call a `codex.tool.phase = dispatch` span (`call_id`, `turn.id`).
# Both are keyed by Codex's own ids, as the hooks and the logs key them, so any mix of paths
# stores one run, one tool span and one count of the turn's tokens. A sub-agent's turn runs
# in the trace of the parent turn that spawned it, under its own conversation id: it is no
# run and no session of its own, but part of the parent's turn, keyed as the hooks key it
# (the parent's session; its tokens by its own turn id; its tools by their call ids).


@dataclass(frozen=True, slots=True)
class CodexTurn:
    session_id: str
    turn_id: str


def codex_trace_turn(trace_id: str, memory: CorrelationMemory) -> CodexTurn | None:
    """The (top-level) turn the Codex trace `trace_id` is, once one of its spans named it."""
    known = memory.codex_turns.get(trace_id)
    if known is None:
        return None
    session_id, _, turn_id = known.partition(" ")
    return CodexTurn(session_id, turn_id)


def codex_span_events(view: SpanView, place: Place, memory: CorrelationMemory) -> list[Envelope]:
    """A Codex turn or tool call in agentmon's terms; [] for Codex's other internals."""
    session_id = view.session_id or place.session_id
    turn = as_text(first(view.attrs, "turn.id", "turn_id"))
    if not (session_id and turn):
        return []
    owner = codex_trace_turn(view.trace_id, memory)
    spawned = owner is not None and owner.session_id != session_id
    if owner is not None and spawned:
        memory.parent_sessions.put(session_id, owner.session_id)
        session_id = owner.session_id
    run = owner.turn_id if owner is not None and spawned else turn
    place = Place(view.origin, view.place_identity, session_id, run, view.trace_id)
    if view.name == CODEX_TURN_SPAN:
        usage = codex_turn_usage(view, place, session_id, turn)
        return usage if spawned else codex_run_events(view, place) + usage
    call_id = as_text(view.attrs.get("call_id"))
    if call_id and view.attrs.get("codex.tool.phase") == CODEX_TOOL_DISPATCH:
        return [codex_tool_start(view, place, tool_span_id(CODEX, session_id, call_id), call_id)]
    return []


def codex_run_events(view: SpanView, place: Place) -> list[Envelope]:
    """The turn's run."""
    model = as_text(view.attrs.get("model"))
    end = {
        "status": "error" if view.failed else "ok",
        "error": view.status_message if view.failed else None,
        "duration_ms": (view.end_ns - view.start_ns) // 1_000_000,
        "model": model,
    }
    return [
        make_event(EventType.RUN_START, place, nanos_to_ts(view.start_ns), {"model": model}),
        make_event(EventType.RUN_END, place, nanos_to_ts(view.end_ns), end),
    ]


def codex_turn_usage(view: SpanView, place: Place, session_id: str, turn: str) -> list[Envelope]:
    """Turn `turn`'s tokens in `place`, under the id the hooks give them
    (`codex_turn_usage_id` of `session_id`, the top-level session, and the turn)."""
    totals = {
        key.removeprefix(CODEX_TURN_USAGE): value
        for key, value in view.attrs.items()
        if key.startswith(CODEX_TURN_USAGE) and key != CODEX_TURN_USAGE + "non_cached_input_tokens"
    }
    counted = build_usage_snapshot(
        place,
        nanos_to_ts(view.end_ns),
        known_usage(totals) or None,
        model=as_text(view.attrs.get("model")),
    )
    for event in counted:
        event.event.id = codex_turn_usage_id(session_id, turn)
    return counted


def codex_tool_start(view: SpanView, place: Place, span_id: str, call_id: str) -> Envelope:
    """Only a span.start: the span's run and start. Its status is the hooks' and the logs'
    (`codex.tool_result`): the trace does not say whether the command failed."""
    payload = {
        "kind": "tool",
        "name": as_text(view.attrs.get("tool_name")) or view.name,
        "tool_call_id": call_id,
    }
    return make_event(
        EventType.SPAN_START, place, nanos_to_ts(view.start_ns), payload, span_id=span_id
    )


def classify(view: SpanView) -> Role:
    by_name = SPAN_NAME_ROLES.get(view.name)
    if by_name is not None:
        return by_name
    operation = view.attrs.get("gen_ai.operation.name")
    if operation is None:
        operation = OPENINFERENCE_KINDS.get(str(view.attrs.get("openinference.span.kind")))
    if operation in AGENT_OPERATIONS:
        return Role.AGENT
    if operation in TOOL_OPERATIONS:
        return Role.TOOL
    if operation in LLM_OPERATIONS:
        return Role.LLM
    return Role.OTHER


def span_to_events(view: SpanView, place: Place) -> list[Envelope]:
    role = classify(view)
    events: list[Envelope] = []
    if view.local_root:
        events.extend(run_events(view, place, report_failure=role is Role.AGENT))
        if role is Role.AGENT:
            return events
    if role is Role.USAGE:
        counted = usage_snapshot(view, place)
        if counted:
            return events + counted
        role = Role.OTHER  # a usage span without counts is still kept, as a plain span
    facts = span_facts(view, role)
    events.extend(span_events(place, facts))
    if role is Role.LLM and view.origin.framework not in USAGE_SPAN_FRAMEWORKS:
        events.extend(usage_snapshot(view, place, llm=facts.details))
    return events


def run_events(view: SpanView, place: Place, *, report_failure: bool) -> list[Envelope]:
    """run.start and run.end for a trace's root span (and an error when it failed)."""
    attrs = view.attrs
    model = model_of(attrs)
    start_payload = {
        "input": first(attrs, "gen_ai.input.messages", "input.value"),
        "model": model,
        "agent": as_text(first(attrs, "gen_ai.agent.name", "gen_ai.workflow.name")) or view.name,
        "provider": provider_of(attrs),
    }
    end_ts = nanos_to_ts(view.end_ns)
    end_payload = {
        "status": "error" if view.failed else "ok",
        "error": view.status_message if view.failed else None,
        "output": first(attrs, "gen_ai.output.messages", "output.value"),
        "duration_ms": (view.end_ns - view.start_ns) // 1_000_000,
        "usage": usage_of(attrs),
        "model": model,
    }
    events = [
        make_event(EventType.RUN_START, place, nanos_to_ts(view.start_ns), start_payload),
        make_event(EventType.RUN_END, place, end_ts, end_payload, attributes=attrs),
    ]
    if view.failed and report_failure:
        message = view.status_message or f"run {view.name} failed"
        events.append(error_event(place, end_ts, message, "agent", span_id=view.span_id))
    return events


def span_facts(view: SpanView, role: Role) -> SpanFacts:
    kind, name, details = _describe(view, role)
    return SpanFacts(
        span_id=view.span_id,
        parent_span_id=view.parent_span_id,
        kind=kind,
        name=name,
        start_ns=view.start_ns,
        end_ns=view.end_ns,
        status="error" if view.failed else "ok",
        error=view.status_message if view.failed else None,
        details=details,
        attributes=view.attrs,
    )


def _describe(view: SpanView, role: Role) -> tuple[str, str, dict[str, Any]]:
    """(kind, name, extra payload) of a span by its role."""
    attrs = view.attrs
    if role is Role.TOOL:
        name = as_text(first(attrs, "gen_ai.tool.name", "openclaw.toolName", "tool.name"))
        name = name or view.name.removeprefix("execute_tool ")
        details = {
            "tool_call_id": tool_call_id_of(attrs),
            "input": attrs.get("gen_ai.tool.call.arguments"),
            "output": attrs.get("gen_ai.tool.call.result"),
        }
        return "tool", name, details
    if role is Role.LLM:
        model = model_of(attrs)
        details = {
            "model": model,
            "provider": provider_of(attrs),
            "operation": attrs.get("gen_ai.operation.name"),
            "usage": usage_of(attrs),
            "input": attrs.get("gen_ai.input.messages"),
            "output": attrs.get("gen_ai.output.messages"),
        }
        return "llm", model or view.name, details
    if role is Role.AGENT:
        name = as_text(first(attrs, "gen_ai.agent.name", "gen_ai.workflow.name")) or view.name
        return "agent", name, {"model": model_of(attrs), "provider": provider_of(attrs)}
    return view.otel_kind, view.name, {}


def usage_snapshot(
    view: SpanView, place: Place, *, llm: dict[str, Any] | None = None
) -> list[Envelope]:
    """The span's usage and cost; `llm`: the details `_describe` already read from this LLM
    span (its usage and model), so they are not read twice."""
    if llm is None:
        usage, model = usage_of(view.attrs), model_of(view.attrs)
    else:
        known = llm["usage"]  # a copy: the span.end's payload holds the original
        usage, model = (dict(known) if known is not None else None), llm["model"]
    return build_usage_snapshot(
        place,
        nanos_to_ts(view.end_ns),
        usage,
        cost_usd=cost_of(view.attrs),
        model=model,
        span_id=view.span_id,
    )
