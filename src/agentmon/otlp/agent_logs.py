"""The named OTel events of Claude Code, Codex and Gemini CLI, one handler each.

Each handler turns one decoded log record (`LogView`) into agentmon events. Runs: Claude
Code's `prompt.id` and Gemini's `prompt_id` are run ids; Codex's logs have none (see the
Codex section below).
Duration-only events become reconstructed spans (start = end - duration_ms).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from agentmon.events import Envelope, EventType
from agentmon.integrations.codex import command_failure, command_output, exit_code_in
from agentmon.integrations.ids import CLAUDE_FRAMEWORK as CLAUDE
from agentmon.integrations.ids import derived_id as hook_derived_id
from agentmon.integrations.ids import llm_call_ids, split_model
from agentmon.otlp.attributes import (
    Attributes,
    as_bool,
    as_float,
    as_int,
    as_text,
    first,
    nanos_to_ts,
)
from agentmon.otlp.build import (
    Place,
    SpanFacts,
    derived_id,
    error_event,
    make_event,
    span_events,
    usage_payload,
    usage_snapshot,
)
from agentmon.otlp.memory import CorrelationMemory
from agentmon.otlp.origin import Origin


@dataclass(frozen=True, slots=True)
class LogView:
    """One OTLP log record decoded once, with its resolved event name and session."""

    origin: Origin
    identity: str
    name: str
    attrs: Attributes
    body: Any
    time_ns: int
    severity: int
    session_id: str | None
    trace_id: str | None
    span_id: str | None
    spawned_as: str | None = None
    """A sub-agent's own conversation id when its record is put in its parent's session."""

    @property
    def ts(self) -> str:
        return nanos_to_ts(self.time_ns)

    def place(self, run_id: str | None) -> Place:
        return Place(self.origin, self.identity, self.session_id, run_id, self.trace_id)

    def text(self, *keys: str) -> str | None:
        return as_text(first(self.attrs, *keys))

    def count(self, *keys: str) -> int | None:
        return as_int(first(self.attrs, *keys))


Handler = Callable[[LogView, CorrelationMemory], list[Envelope]]


def run_start(view: LogView, run_id: str | None) -> list[Envelope]:
    payload = {
        "input": view.text("prompt"),
        "prompt_length": view.count("prompt_length"),
        "model": view.text("model"),
    }
    return [
        make_event(EventType.RUN_START, view.place(run_id), view.ts, payload, attributes=view.attrs)
    ]


def reconstructed_span(
    view: LogView,
    run_id: str | None,
    *,
    kind: str,
    name: str,
    call_id: str | None,
    succeeded: bool | None,
    error: str | None,
    details: dict[str, Any],
) -> list[Envelope]:
    """span.start/span.end from an event that reports only its end time and duration."""
    duration_ns = max(view.count("duration_ms", "duration") or 0, 0) * 1_000_000
    failed = succeeded is False or (succeeded is None and error is not None)
    facts = SpanFacts(
        span_id=call_id or derived_id(view.identity, "span"),
        kind=kind,
        name=name,
        start_ns=view.time_ns - duration_ns,
        end_ns=view.time_ns,
        status="error" if failed else "ok",
        error=error if failed else None,
        reconstructed=True,
        details=details,
        attributes=view.attrs,
    )
    return span_events(view.place(run_id), facts)


def llm_call(
    view: LogView, run_id: str | None, usage: dict[str, int] | None, cost: float | None
) -> list[Envelope]:
    """An LLM span rebuilt from an API-call event, plus the usage snapshot that counts."""
    model = view.text("model") or "model"
    span = reconstructed_span(
        view,
        run_id,
        kind="llm",
        name=model,
        call_id=view.text("request_id"),
        succeeded=None,
        error=None,
        details={"model": model, "usage": usage, "cost_usd": cost},
    )
    span_id = span[0].correlation.span_id
    snapshot = usage_snapshot(
        view.place(run_id), view.ts, usage, cost_usd=cost, model=model, span_id=span_id
    )
    return span + snapshot


def api_error(view: LogView, run_id: str | None, message: str | None, kind: str) -> list[Envelope]:
    return [
        error_event(
            view.place(run_id),
            view.ts,
            message or f"{view.name} (no message)",
            kind,
            status_code=view.count("status_code", "http.response.status_code"),
            attributes=view.attrs,
        )
    ]


def log_snapshot(view: LogView, run_id: str | None) -> list[Envelope]:
    """A record kept as it is: a metric.snapshot carrying its message (no usage)."""
    facts = {
        "event_name": view.name or None,
        "severity": view.severity or None,
        "span_id": view.span_id,
    }
    payload = {
        "message": as_text(view.body) or view.name or "log record",
        "log": {key: value for key, value in facts.items() if value is not None},
    }
    return [
        make_event(
            EventType.METRIC_SNAPSHOT, view.place(run_id), view.ts, payload, attributes=view.attrs
        )
    ]


# Claude Code: `prompt.id` is the run.


def claude_user_prompt(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    return run_start(view, view.text("prompt.id"))


def claude_api_request(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """The call's span and counted usage, under the ids the hook handler and the importer
    derive from the transcript's ``requestId`` (see `llm_call_ids`): hooks plus OTel count
    each call once."""
    usage = usage_payload(
        input_tokens=view.count("input_tokens"),
        output_tokens=view.count("output_tokens"),
        cache_read_tokens=view.count("cache_read_tokens"),
        cache_write_tokens=view.count("cache_creation_tokens"),
    )
    cost = as_float(view.attrs.get("cost_usd"))
    events = llm_call(view, view.text("prompt.id"), usage, cost)
    request_id = view.text("request_id")
    if view.session_id and request_id:
        span_id, usage_event_id = llm_call_ids(view.session_id, request_id)
        for event in events:
            event.correlation.span_id = span_id
            if event.event.type == EventType.METRIC_SNAPSHOT:
                event.event.id = usage_event_id
    return events


def claude_tool_result(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """The tool call, under the span id the hook handler derives from ``tool_use_id``; its
    error event too, so hooks plus OTel report one failure."""
    tool_use_id = view.text("tool_use_id")
    details = {
        "tool_call_id": tool_use_id,
        "input": first(view.attrs, "tool_input", "tool_parameters"),
        "decision": view.text("decision_type"),
    }
    span_id = hook_tool_span_id(CLAUDE, view, tool_use_id)
    events = reconstructed_span(
        view,
        view.text("prompt.id"),
        kind="tool",
        name=view.text("tool_name") or "tool",
        call_id=span_id or tool_use_id,
        succeeded=as_bool(view.attrs.get("success")),
        error=view.text("error"),
        details=details,
    )
    return with_hook_error_id(CLAUDE, view, span_id, events)


def hook_tool_span_id(framework: str, view: LogView, call_id: str | None) -> str | None:
    """The span id the framework's hook handler gives tool call `call_id` (see
    `Tracker.span_id_for`), so the call arriving by hooks and by OTel is one span."""
    if not (view.session_id and call_id):
        return None
    return tool_span_id(framework, view.session_id, call_id)


def tool_span_id(framework: str, session_id: str, call_id: str) -> str:
    """The span id the framework's hook handler gives tool call `call_id`."""
    return hook_derived_id(framework, session_id, "span", f"tool:{call_id}")


def with_hook_error_id(
    framework: str, view: LogView, span_id: str | None, events: list[Envelope]
) -> list[Envelope]:
    """`events` with the tool's `error` event under the hook handler's id: one failure."""
    for event in events:
        if span_id and view.session_id and event.event.type == EventType.ERROR:
            event.event.id = hook_derived_id(framework, view.session_id, "event", span_id, "error")
    return events


# Claude Code logs its turn's end as `assistant_response` (2.1.x: after the last model call of
# the prompt); a call refused for good (a 4xx it does not retry) ends the turn too. Without them
# a run fed by OTel alone would stay open. With hooks as well, the hook's `run.end` and this
# one close the same run (`prompt.id`); fields this one lacks keep the hook's values.

REDACTED = "<REDACTED>"  # what Claude Code logs instead of the text unless told to log it
RETRIED_STATUSES = frozenset({408, 409, 429})


def claude_turn_end(view: LogView, status: str, error: str | None = None) -> list[Envelope]:
    run_id = view.text("prompt.id")
    response = view.text("response")
    model, model_raw = split_model(view.text("model"))
    payload = {
        "status": status,
        "error": error,
        "output": response if response != REDACTED else None,
        "model": model,
        "model_raw": model_raw,
    }
    return [make_event(EventType.RUN_END, view.place(run_id), view.ts, payload)]


def claude_assistant_response(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    return claude_turn_end(view, "ok")


def claude_api_error(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    message = view.text("error")
    events = api_error(view, view.text("prompt.id"), message, "api")
    status = view.count("status_code")
    if status is not None and 400 <= status < 500 and status not in RETRIED_STATUSES:
        events += claude_turn_end(view, "error", f"API Error: {status} {message or ''}".strip())
    return events


# Codex: `conversation.id` is the session. Its logs carry no turn id; with the trace exporter
# on, the turn's records carry the turn's trace id, and the trace (`traces.codex_span_events`)
# names the turn (`turn.id`, the hooks' run id) and reports its tokens. So in a session whose
# Codex exports traces ("traced": a record with a trace id, or a trace, was seen) the logs
# open no run and count no tokens: the trace and the hooks do, under Codex's own ids. Without
# traces (logs alone), `codex.user_prompt` opens a run that the session's later events join
# and each `response.completed` counts.

CODEX = "codex"
CODEX_TRACED = "codex-traced:"
"""`memory.current_runs` key prefix marking a session whose Codex exports traces."""


def codex_traced(view: LogView, memory: CorrelationMemory) -> bool:
    if not view.session_id:
        return False
    marker = CODEX_TRACED + view.session_id
    if view.trace_id:
        memory.current_runs.put(marker, "yes")
        return True
    return memory.current_runs.get(marker) is not None


def codex_conversation_starts(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    codex_traced(view, memory)
    if view.spawned_as:  # a sub-agent's thread: part of its parent's session
        return []
    payload = {
        "model": view.text("model"),
        "provider": view.text("provider_name"),
        "approval_policy": view.text("approval_policy"),
        "sandbox_policy": view.text("sandbox_policy"),
    }
    return [
        make_event(
            EventType.SESSION_START, view.place(None), view.ts, payload, attributes=view.attrs
        )
    ]


def codex_user_prompt(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """A prompt opens a run, except a sub-agent's task (it runs in its parent's turn, whose
    run its records join) and in a traced session (the trace names the turn)."""
    if codex_traced(view, memory) or view.spawned_as:
        return []
    run_id = derived_id(view.identity, "run")
    if view.session_id:
        memory.current_runs.put(view.session_id, run_id)
    return run_start(view, run_id)


# Codex sub-agents (`spawn_agent`) log under their own conversation id; the parent's
# `codex.tool_result` for the spawn call names it (output `{"agent_id": …}`), and the trace
# of the parent's turn holds the sub-agent's turn (`traces.codex_span_events`). Either puts
# the sub-agent's conversation in `memory.parent_sessions`; its records then go to the
# parent's session: no session or run of their own, tools keyed as the hooks key them,
# tokens (logs alone) in the parent's current run.

SPAWN_TOOL = "spawn_agent"


def learn_codex_export(views: list[LogView], memory: CorrelationMemory) -> None:
    """What one export says of its Codex sessions, before any of its records is mapped (so
    their order in it does not matter): the sub-agents its `spawn_agent` results name, and
    the sessions it shows traced (a record with a trace id; `codex.sse_event` has none)."""
    learn_codex_spawns(views, memory)
    for view in views:
        if view.trace_id and view.name.startswith(CODEX + "."):
            codex_traced(in_parent_session(view, memory), memory)


def learn_codex_spawns(views: list[LogView], memory: CorrelationMemory) -> None:
    for view in views:
        if view.name != "codex.tool_result" or view.text("tool_name") != SPAWN_TOOL:
            continue
        agent_id = _json_object(view.attrs.get("output")).get("agent_id")
        if view.session_id and isinstance(agent_id, str) and agent_id:
            parent = memory.parent_sessions.get(view.session_id) or view.session_id
            memory.parent_sessions.put(agent_id, parent)


def in_parent_session(view: LogView, memory: CorrelationMemory) -> LogView:
    """`view` in its parent's session when it is a known sub-agent's record."""
    parent = memory.parent_sessions.get(view.session_id) if view.session_id else None
    if parent is None or parent == view.session_id:
        return view
    return replace(view, session_id=parent, spawned_as=view.session_id)


def codex_run(view: LogView, memory: CorrelationMemory) -> str | None:
    return memory.current_runs.get(view.session_id) if view.session_id else None


def codex_sse_event(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    if view.text("event.kind") != "response.completed" or codex_traced(view, memory):
        return codex_generic(view, memory)
    usage = usage_payload(
        input_tokens=view.count("input_token_count"),
        output_tokens=view.count("output_token_count"),
        cache_read_tokens=view.count("cached_token_count"),
    )
    return usage_snapshot(
        view.place(codex_run(view, memory)),
        view.ts,
        usage,
        model=view.text("model"),
        attributes=view.attrs,
    ) or codex_generic(view, memory)


def codex_tool_result(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """A tool call; `success` says only that the tool ran, so a command's exit code (the
    ``Process exited with code N`` line of its output) decides too. In a traced session the
    span's run comes from the trace and its `error` event from the hooks (which know the
    run): the log gives the span's status, error and output."""
    succeeded = as_bool(view.attrs.get("success"))
    output = view.text("output") or ""
    exit_code = exit_code_in(output)
    if exit_code:
        succeeded = False
    details = {
        "tool_call_id": view.text("call_id"),
        "input": view.attrs.get("arguments"),
        "output": view.attrs.get("output"),
        "exit_code": exit_code,
    }
    error = None
    if exit_code:
        error = command_failure(exit_code, command_output(output))
    elif succeeded is False:
        error = output
    span_id = hook_tool_span_id(CODEX, view, view.text("call_id"))
    events = reconstructed_span(
        view,
        codex_run(view, memory),
        kind="tool",
        name=view.text("tool_name") or "tool",
        call_id=span_id or view.text("call_id"),
        succeeded=succeeded,
        error=error,
        details=details,
    )
    if codex_traced(view, memory):
        return [event for event in events if event.event.type != EventType.ERROR]
    return with_hook_error_id(CODEX, view, span_id, events)


def codex_api_request(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    message = view.text("error.message")
    status = view.count("http.response.status_code", "status_code")
    if message is None and (status is None or status < 400):
        return codex_generic(view, memory)
    return api_error(view, codex_run(view, memory), message or f"HTTP {status}", "api")


def codex_generic(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """Any other Codex event: kept as a snapshot in the session's current run."""
    return log_snapshot(view, codex_run(view, memory))


# Gemini CLI: `session.id` is the session, `prompt_id` the run (`<session>########<n>` in
# interactive mode). In headless mode (`-p`) `prompt_id` is the session id for every prompt:
# then `gemini_cli.user_prompt` opens a run that the session's later events join. A
# main-model response without a function call ends the run (no OTel event marks a turn's end).
# When agentmon's own Gemini hooks run in the session (Gemini logs each hook as
# `gemini_cli.hook_call`), the hooks own runs, spans and usage: OTel adds only API errors.

GEMINI_HOOKED = "gemini-hooks:"
"""`memory.current_runs` key prefix marking a session whose agentmon hooks are running."""


def gemini_hook_call(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    hook = (view.text("hook_name") or "").lower()
    if view.session_id and "agentmon" in hook:
        memory.current_runs.put(GEMINI_HOOKED + view.session_id, "yes")
    return []


def gemini_hooked(view: LogView, memory: CorrelationMemory) -> bool:
    return (
        bool(view.session_id)
        and memory.current_runs.get(GEMINI_HOOKED + str(view.session_id)) is not None
    )


def gemini_prompt_run(view: LogView) -> str | None:
    """`prompt_id` when it names a prompt (not when it is only the session id)."""
    prompt_id = view.text("prompt_id")
    return prompt_id if prompt_id != view.session_id else None


def gemini_run(view: LogView, memory: CorrelationMemory) -> str | None:
    current = memory.current_runs.get(view.session_id) if view.session_id else None
    return gemini_prompt_run(view) or current or view.text("prompt_id")


def gemini_user_prompt(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    if gemini_hooked(view, memory):
        return []
    run_id = gemini_prompt_run(view) or derived_id(view.identity, "run")
    if view.session_id:
        memory.current_runs.put(view.session_id, run_id)
    return run_start(view, run_id)


def gemini_api_response(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """Gemini's `input_token_count` includes the cached tokens; agentmon's input does not."""
    if gemini_hooked(view, memory):
        return []
    cached = view.count("cached_content_token_count")
    prompt = view.count("input_token_count")
    usage = usage_payload(
        input_tokens=None if prompt is None else max(prompt - (cached or 0), 0),
        output_tokens=view.count("output_token_count"),
        cache_read_tokens=cached,
        total_tokens=view.count("total_token_count"),
    )
    thoughts = view.count("thoughts_token_count")
    if usage is not None and thoughts:
        usage["reasoning_tokens"] = thoughts
    run_id = gemini_run(view, memory)
    events = llm_call(view, run_id, usage, None)
    reply = _gemini_reply(view)
    if view.text("role") in (None, "main") and reply is not None and not reply.calls_tools:
        end = {"status": "ok", "output": reply.text or None, "model": view.text("model")}
        events.append(make_event(EventType.RUN_END, view.place(run_id), view.ts, end))
    return events


@dataclass(frozen=True, slots=True)
class GeminiReply:
    text: str
    calls_tools: bool


def _gemini_reply(view: LogView) -> GeminiReply | None:
    """The text of a logged response (`response_text`: one response or a list of streamed
    chunks) and whether it asks for a tool; None when it is not logged (`logPrompts` off)
    or has no parts to read."""
    raw = view.attrs.get("response_text")
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    parts = _reply_parts(parsed if isinstance(parsed, list) else [parsed])
    if not parts:
        return None
    texts: list[str] = []
    calls_tools = False
    for part in parts:
        calls_tools = calls_tools or "functionCall" in part
        if isinstance(part.get("text"), str) and not part.get("thought"):
            texts.append(part["text"])
    return GeminiReply("".join(texts), calls_tools)


def _reply_parts(chunks: list[Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for chunk in chunks:
        candidates = chunk.get("candidates") if isinstance(chunk, dict) else None
        for candidate in candidates if isinstance(candidates, list) else []:
            content = candidate.get("content") if isinstance(candidate, dict) else None
            found = content.get("parts") if isinstance(content, dict) else None
            if isinstance(found, list):
                parts.extend(part for part in found if isinstance(part, dict))
    return parts


def gemini_api_error(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """The error; without hooks it also ends the run (a headless CLI exits on it)."""
    kind = view.text("error_type") or "api"
    message = view.text("error.message", "error")
    if gemini_hooked(view, memory):
        return api_error(view, None, message, kind)
    run_id = gemini_run(view, memory)
    end = {"status": "error", "error": message or f"{view.name} (no message)"}
    run_end = make_event(EventType.RUN_END, view.place(run_id), view.ts, end)
    return [*api_error(view, run_id, message, kind), run_end]


def gemini_tool_call(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """A shell command that exits non-zero is `success: true`; its `metadata` (a JSON text)
    says `{exitCode, isError}`."""
    if gemini_hooked(view, memory):
        return []
    metadata = _json_object(view.attrs.get("metadata"))
    exit_code = as_int(metadata.get("exitCode"))
    failed_run = metadata.get("isError") is True or bool(exit_code)
    succeeded = False if failed_run else as_bool(view.attrs.get("success"))
    error = view.text("error") or (f"exit code {exit_code}" if failed_run else None)
    details = {
        "input": view.attrs.get("function_args"),
        "decision": view.text("decision"),
        "tool_type": view.text("tool_type"),
        "exit_code": exit_code,
    }
    return reconstructed_span(
        view,
        gemini_run(view, memory),
        kind="tool",
        name=view.text("function_name") or "tool",
        call_id=None,
        succeeded=succeeded,
        error=error,
        details=details,
    )


def gemini_chat_compression(view: LogView, memory: CorrelationMemory) -> list[Envelope]:
    """A compression of the chat history, with Gemini's token counts of the history before
    and after it: a compaction span in the current run. With the hooks on, theirs stands
    (the transcript's checkpoint) and this record adds nothing."""
    if gemini_hooked(view, memory):
        return []
    figures = {
        "tokens_before": view.count("tokens_before"),
        "tokens_after": view.count("tokens_after"),
    }
    figures = {name: value for name, value in figures.items() if value is not None}
    return reconstructed_span(
        view,
        gemini_run(view, memory),
        kind="compaction",
        name="compaction",
        call_id=None,
        succeeded=True,
        error=None,
        details={"output": figures or None, **figures},
    )


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return {}
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


HANDLERS: dict[str, Handler] = {
    "claude_code.user_prompt": claude_user_prompt,
    "claude_code.api_request": claude_api_request,
    "claude_code.tool_result": claude_tool_result,
    "claude_code.api_error": claude_api_error,
    "claude_code.assistant_response": claude_assistant_response,
    "codex.conversation_starts": codex_conversation_starts,
    "codex.user_prompt": codex_user_prompt,
    "codex.sse_event": codex_sse_event,
    "codex.tool_result": codex_tool_result,
    "codex.api_request": codex_api_request,
    "codex.tool_decision": codex_generic,
    "gemini_cli.user_prompt": gemini_user_prompt,
    "gemini_cli.api_response": gemini_api_response,
    "gemini_cli.api_error": gemini_api_error,
    "gemini_cli.tool_call": gemini_tool_call,
    "gemini_cli.hook_call": gemini_hook_call,
    "gemini_cli.chat_compression": gemini_chat_compression,
}
"""Event name → handler; names not listed are kept by `logs.generic_events`."""
