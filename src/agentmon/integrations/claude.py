"""Claude Code hooks → agentmon events (``agentmon-claude-handler``, JSON on stdin).

Claude Code gives no turn id, so runs are the handler's own: ``UserPromptSubmit`` opens one
(closing a run still open as ``unknown``) and ``Stop``/``StopFailure`` closes it. Tool spans
are keyed by ``tool_use_id``; tools run inside a subagent are children of its span.
"""

from __future__ import annotations

from agentmon.integrations._hookio import MalformedPayload, run_hook
from agentmon.integrations._tracker import Tracker, clip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "claude-code"
WAITING_NOTIFICATIONS = ("permission_prompt", "idle_prompt", "elicitation_dialog")


def session_of(payload: Payload) -> str:
    session_id = payload.get("session_id")
    if not isinstance(session_id, str) or not session_id:
        raise MalformedPayload("no session_id in the hook input")
    return session_id


def map_payload(
    payload: Payload, state: Payload, source: dict[str, str], now: float
) -> list[Event]:
    """One Claude Code hook payload → envelopes; ``state`` is the session's saved state."""
    event_name = payload.get("hook_event_name")
    if not isinstance(event_name, str):
        raise MalformedPayload("no hook_event_name in the hook input")
    handler = _HANDLERS.get(event_name)
    if handler is None:
        return []
    attributes = {"cwd": payload.get("cwd"), "permission_mode": payload.get("permission_mode")}
    tracker = Tracker(
        session_id=session_of(payload),
        state=state,
        source=source,
        now=now,
        attributes={key: value for key, value in attributes.items() if value},
    )
    handler(tracker, payload)
    return tracker.events


def _session_start(tracker: Tracker, payload: Payload) -> None:
    tracker.start_session(
        source=payload.get("source"),
        model=payload.get("model"),
        cwd=payload.get("cwd"),
        transcript_path=payload.get("transcript_path"),
    )


def _session_end(tracker: Tracker, payload: Payload) -> None:
    tracker.end_session(reason=payload.get("reason"))


def _prompt(tracker: Tracker, payload: Payload) -> None:
    tracker.start_run(input=clip(payload.get("prompt")))


def _stop(tracker: Tracker, payload: Payload) -> None:
    tracker.end_run(status="ok", output=clip(payload.get("last_assistant_message")))


def _stop_failure(tracker: Tracker, payload: Payload) -> None:
    error_type = str(payload.get("error_type") or payload.get("error") or "unknown")
    tracker.ensure_run()
    tracker.error(f"turn failed: {error_type}", kind=error_type)
    tracker.end_run(status="error", error=error_type)


def _tool_key(payload: Payload) -> str:
    tool_use_id = payload.get("tool_use_id")
    return f"tool:{tool_use_id}" if tool_use_id else f"tool:{payload.get('tool_name')}:anonymous"


def _subagent_key(payload: Payload) -> str | None:
    agent_id = payload.get("agent_id")
    return f"agent:{agent_id}" if agent_id else None


def _pre_tool(tracker: Tracker, payload: Payload) -> None:
    tracker.start_span(
        _tool_key(payload),
        kind="tool",
        name=payload.get("tool_name"),
        parent_key=_subagent_key(payload),
        input=clip(payload.get("tool_input")),
        tool_use_id=payload.get("tool_use_id"),
    )


def _post_tool(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(
        _tool_key(payload),
        kind="tool",
        name=payload.get("tool_name"),
        status="ok",
        parent_key=_subagent_key(payload),
        output=clip(payload.get("tool_response")),
        tool_use_id=payload.get("tool_use_id"),
    )


def _post_tool_failure(tracker: Tracker, payload: Payload) -> None:
    interrupted = bool(payload.get("is_interrupt"))
    message = str(payload.get("error") or "tool failed")
    span_id = tracker.end_span(
        _tool_key(payload),
        kind="tool",
        name=payload.get("tool_name"),
        status="cancelled" if interrupted else "error",
        parent_key=_subagent_key(payload),
        error=message,
        tool_use_id=payload.get("tool_use_id"),
    )
    tracker.error(message, kind="tool", span_id=span_id, tool_name=payload.get("tool_name"))


def _subagent_start(tracker: Tracker, payload: Payload) -> None:
    key = _subagent_key(payload) or tracker.queue_push(f"agent:{payload.get('agent_type')}")
    tracker.start_span(
        key, kind="agent", name=payload.get("agent_type"), agent_id=payload.get("agent_id")
    )


def _subagent_stop(tracker: Tracker, payload: Payload) -> None:
    key = _subagent_key(payload) or tracker.queue_pop(f"agent:{payload.get('agent_type')}")
    tracker.end_span(
        key or f"agent:{payload.get('agent_type')}:anonymous",
        kind="agent",
        name=payload.get("agent_type"),
        output=clip(payload.get("last_assistant_message")),
        agent_id=payload.get("agent_id"),
        transcript_path=payload.get("agent_transcript_path"),
    )


def _pre_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.start_span(
        "compaction",
        kind="compaction",
        name="compaction",
        trigger=payload.get("trigger"),
        input=clip(payload.get("custom_instructions")),
    )


def _post_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(
        "compaction", kind="compaction", name="compaction", trigger=payload.get("trigger")
    )


def _notification(tracker: Tracker, payload: Payload) -> None:
    message = payload.get("message")
    kind = payload.get("notification_type") or _older_notification_type(message)
    if kind in WAITING_NOTIFICATIONS:
        tracker.waiting(str(kind), message)


def _older_notification_type(message: object) -> str:
    """Builds without ``notification_type`` notify only to ask permission or for input."""
    return "permission_prompt" if "permission" in str(message).lower() else "idle_prompt"


def _permission_request(tracker: Tracker, payload: Payload) -> None:
    tracker.waiting("permission_prompt", f"permission requested for {payload.get('tool_name')}")


_HANDLERS: dict[str, Callable[[Tracker, Payload], None]] = {
    "SessionStart": _session_start,
    "SessionEnd": _session_end,
    "UserPromptSubmit": _prompt,
    "Stop": _stop,
    "StopFailure": _stop_failure,
    "PreToolUse": _pre_tool,
    "PostToolUse": _post_tool,
    "PostToolUseFailure": _post_tool_failure,
    "SubagentStart": _subagent_start,
    "SubagentStop": _subagent_stop,
    "PreCompact": _pre_compact,
    "PostCompact": _post_compact,
    "Notification": _notification,
    "PermissionRequest": _permission_request,
}


def main() -> int:
    return run_hook("claude", FRAMEWORK, session_of, map_payload)
