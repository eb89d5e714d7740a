"""Gemini CLI hooks → agentmon events (``agentmon-gemini-handler``, JSON on stdin).

Gemini hooks carry a time stamp but no turn id and no tool-call id: runs are the handler's
own (``BeforeAgent`` → ``AfterAgent``), and a tool's ``AfterTool`` is paired with the
oldest open ``BeforeTool`` of the same tool name in the session (first in, first out).
``AfterModel`` fires once per streamed chunk: the chunks of one model call are folded into
one llm span and one usage figure, reported when a chunk carries a ``finishReason`` (or when
the next model call, or the turn's end, shows the call is over). Gemini reads the hook's
stdout as JSON, so the handler always prints ``{}``.
"""

from __future__ import annotations

from agentmon.client.usage import known_usage
from agentmon.integrations._hookio import MalformedPayload, parse_ts, run_hook
from agentmon.integrations._tracker import Tracker, clip, first_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "gemini-cli"
LLM_KEY = "llm"
COMPACTION_KEY = "compaction"


def event_name(payload: Payload) -> str | None:
    """The hook name (``onStart`` and the original's other names are handled as well)."""
    name = payload.get("hook_event_name") or payload.get("event")
    return name if isinstance(name, str) else None


def session_of(payload: Payload) -> str:
    return first_id(payload.get("session_id"))


def map_payload(
    payload: Payload, state: Payload, source: dict[str, str], now: float
) -> list[Event]:
    """One Gemini CLI hook payload → envelopes; ``state`` is the session's saved state."""
    name = event_name(payload)
    if name is None:
        raise MalformedPayload("no hook_event_name in the hook input")
    handler = _HANDLERS.get(name)
    if handler is None:
        return []
    stamp = payload.get("timestamp")
    at = parse_ts(stamp) if isinstance(stamp, str) else None
    tracker = Tracker(
        session_id=session_of(payload),
        state=state,
        source=source,
        now=now if at is None else at,
        attributes={"cwd": payload["cwd"]} if payload.get("cwd") else None,
    )
    if name != "PreCompress":
        _end_compaction(tracker)
    handler(tracker, payload)
    return tracker.events


def _session_start(tracker: Tracker, payload: Payload) -> None:
    tracker.start_session(
        source=payload.get("source"),
        cwd=payload.get("cwd"),
        transcript_path=payload.get("transcript_path"),
    )


def _session_end(tracker: Tracker, payload: Payload) -> None:
    _close_model_call(tracker)
    tracker.end_session(reason=payload.get("reason"))


def _before_agent(tracker: Tracker, payload: Payload) -> None:
    tracker.start_run(input=clip(payload.get("prompt")))


def _after_agent(tracker: Tracker, payload: Payload) -> None:
    _close_model_call(tracker)
    tracker.end_run(status="ok", output=clip(payload.get("prompt_response")))


def _before_tool(tracker: Tracker, payload: Payload) -> None:
    name = str(payload.get("tool_name"))
    tracker.start_span(
        tracker.queue_push(f"tool:{name}"),
        kind="tool",
        name=name,
        input=clip(payload.get("tool_input")),
        mcp_context=payload.get("mcp_context"),
    )


def _after_tool(tracker: Tracker, payload: Payload) -> None:
    name = str(payload.get("tool_name"))
    key = tracker.queue_pop(f"tool:{name}") or tracker.queue_push(f"tool:{name}:unpaired")
    response = payload.get("tool_response")
    error = response.get("error") if isinstance(response, dict) else None
    message = (error.get("message") if isinstance(error, dict) else error) if error else None
    output = response.get("llmContent") if isinstance(response, dict) else response
    span_id = tracker.end_span(
        key,
        kind="tool",
        name=name,
        status="error" if error else "ok",
        output=clip(output),
        error=str(message) if error else None,
    )
    if error:
        tracker.error(str(message or "tool failed"), kind="tool", span_id=span_id, tool_name=name)


def _model_of(payload: Payload) -> str | None:
    request = payload.get("llm_request")
    model = request.get("model") if isinstance(request, dict) else None
    return str(model) if model else None


def _before_model(tracker: Tracker, payload: Payload) -> None:
    _close_model_call(tracker)
    _open_model_call(tracker, _model_of(payload))


def _open_model_call(tracker: Tracker, model: str | None) -> None:
    tracker.start_span(tracker.queue_push(LLM_KEY), kind="llm", name=model)
    tracker.state["llm"] = {"model": model, "usage": {}, "chunks": 0}


def _after_model(tracker: Tracker, payload: Payload) -> None:
    if tracker.state.get("llm") is None:
        _open_model_call(tracker, _model_of(payload))
    call = tracker.state["llm"]
    response = payload.get("llm_response")
    response = response if isinstance(response, dict) else {}
    for key, value in known_usage(response.get("usageMetadata")).items():
        call["usage"][key] = max(value, call["usage"].get(key, 0))
    call["chunks"] += 1
    candidates = response.get("candidates")
    if isinstance(candidates, list) and any(
        isinstance(candidate, dict) and candidate.get("finishReason") for candidate in candidates
    ):
        _close_model_call(tracker)


def _close_model_call(tracker: Tracker) -> None:
    """End the llm span of the model call in progress and report its folded usage once."""
    call = tracker.state.pop("llm", None)
    key = tracker.queue_pop(LLM_KEY)
    if call is None or key is None:
        return
    usage = call["usage"]
    tracker.end_span(
        key, kind="llm", name=call["model"], usage=usage or None, chunks=call["chunks"]
    )
    tracker.usage(usage, model=call["model"])


def _pre_compress(tracker: Tracker, payload: Payload) -> None:
    """Gemini has no after-compression hook: the span ends with the session's next hook."""
    tracker.start_span(
        COMPACTION_KEY, kind="compaction", name="compaction", trigger=payload.get("trigger")
    )


def _end_compaction(tracker: Tracker) -> None:
    if tracker.has_open_span(COMPACTION_KEY):
        tracker.end_span(COMPACTION_KEY, kind="compaction", name="compaction")


def _notification(tracker: Tracker, payload: Payload) -> None:
    if payload.get("notification_type") == "ToolPermission":
        tracker.waiting("permission_prompt", payload.get("message"))


def _on_start(tracker: Tracker, payload: Payload) -> None:
    """The original integration's ``onStart``: a session and its first run."""
    _session_start(tracker, payload)
    _before_agent(tracker, payload)


def _on_stop(tracker: Tracker, payload: Payload) -> None:
    """The original integration's ``onStop``: the run ends, then the session."""
    _after_agent(tracker, payload)
    _session_end(tracker, payload)


_HANDLERS: dict[str, Callable[[Tracker, Payload], None]] = {
    "SessionStart": _session_start,
    "SessionEnd": _session_end,
    "BeforeAgent": _before_agent,
    "AfterAgent": _after_agent,
    "BeforeModel": _before_model,
    "AfterModel": _after_model,
    "BeforeTool": _before_tool,
    "AfterTool": _after_tool,
    "PreCompress": _pre_compress,
    "Notification": _notification,
    "onStart": _on_start,
    "onStop": _on_stop,
    "onToolCall": _before_tool,
    "onToolResult": _after_tool,
}


def main() -> int:
    return run_hook("gemini", FRAMEWORK, session_of, map_payload, answer="{}")
