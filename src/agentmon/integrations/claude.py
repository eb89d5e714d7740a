"""Claude Code hooks → agentmon events (``agentmon-claude-handler``, JSON on stdin).

Claude Code gives no turn id, so runs are the handler's own: ``UserPromptSubmit`` opens one
(closing a run still open as ``unknown``) and ``Stop``/``StopFailure`` closes it. Tool spans
are keyed by ``tool_use_id``; tools run inside a subagent are children of its span.

Hooks carry no token counts: every hook reads what was appended to the session's transcript
since the last one (a byte cursor in the session state) and reports each model call there
as an ``llm`` span plus the ``metric.snapshot`` that counts its usage. ``SubagentStop`` reads
the sub-agent's own transcript the same way.
"""

from __future__ import annotations

from agentmon.integrations import _claude_format as claude_format
from agentmon.integrations._claude_format import subagent_key
from agentmon.integrations._claude_transcript import count_prompt, pick_up_calls, prompt_run_id
from agentmon.integrations._hookio import MalformedPayload, run_hook
from agentmon.integrations._tracker import Tracker, clip, first_id, run_mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "claude-code"
WAITING_NOTIFICATIONS = ("permission_prompt", "idle_prompt", "elicitation_dialog")


def session_of(payload: Payload) -> str:
    return first_id(payload.get("session_id"))


def map_payload(
    payload: Payload, state: Payload, source: dict[str, str], now: float
) -> list[Event]:
    """One Claude Code hook payload → envelopes; ``state`` is the session's saved state."""
    event_name = payload.get("hook_event_name")
    if not isinstance(event_name, str):
        raise MalformedPayload("no hook_event_name in the hook input")
    handler = _HANDLERS.get(event_name)
    return run_mapping(
        _reading_transcripts if handler else None,
        payload,
        handler,
        session_id=session_of(payload),
        state=state,
        source=source,
        now=now,
        attributes={"cwd": payload.get("cwd"), "permission_mode": payload.get("permission_mode")},
    )


TURN_OVER = frozenset(("Stop", "StopFailure", "SubagentStop", "PreCompact", "SessionEnd"))


def _reading_transcripts(
    tracker: Tracker, payload: Payload, handler: Callable[[Tracker, Payload], None]
) -> None:
    """The model calls written since the last hook, then the hook's own events."""
    event_name = payload.get("hook_event_name")
    path = payload.get("transcript_path")
    if isinstance(path, str) and path:
        finish = event_name in TURN_OVER
        pick_up_calls(tracker, path, finish=finish, force=event_name == "SessionEnd")
    agent_path = payload.get("agent_transcript_path")
    if event_name == "SubagentStop" and isinstance(agent_path, str) and agent_path:
        parent = subagent_key(payload)
        pick_up_calls(tracker, agent_path, parent_key=parent, finish=True, force=True)
        tracker.state.get("transcripts", {}).pop(agent_path, None)
    handler(tracker, payload)


def _session_end(tracker: Tracker, payload: Payload) -> None:
    tracker.end_session(reason=payload.get("reason"))


def _prompt(tracker: Tracker, payload: Payload) -> None:
    """A run whose id the transcript's prompt line derives too (see prompt_run_id)."""
    prompt = payload.get("prompt")
    run_id = None
    if isinstance(prompt, str):
        occurrence = count_prompt(tracker.state.setdefault("prompts", {}), prompt)
        run_id = prompt_run_id(tracker.session_id, prompt, occurrence)
    tracker.start_run(run_id, input=clip(prompt))


def _stop(tracker: Tracker, payload: Payload) -> None:
    tracker.end_run(status="ok", output=clip(payload.get("last_assistant_message")))


def _stop_failure(tracker: Tracker, payload: Payload) -> None:
    error_type = str(payload.get("error_type") or payload.get("error") or "unknown")
    tracker.ensure_run()
    tracker.error(f"turn failed: {error_type}", kind=error_type)
    tracker.end_run(status="error", error=error_type)


def _post_tool(tracker: Tracker, payload: Payload) -> None:
    claude_format.end_tool(tracker, payload, status="ok")


def _post_tool_failure(tracker: Tracker, payload: Payload) -> None:
    status = "cancelled" if payload.get("is_interrupt") else "error"
    claude_format.end_tool(
        tracker, payload, status=status, error=str(payload.get("error") or "tool failed")
    )


def _subagent_start(tracker: Tracker, payload: Payload) -> None:
    key = subagent_key(payload) or tracker.queue_push(f"agent:{payload.get('agent_type')}")
    tracker.start_span(
        key,
        kind="agent",
        name=payload.get("agent_type"),
        agent_id=payload.get("agent_id"),
        once=bool(payload.get("agent_id")),
    )


def _subagent_stop(tracker: Tracker, payload: Payload) -> None:
    key = subagent_key(payload) or tracker.queue_pop(f"agent:{payload.get('agent_type')}")
    tracker.end_span(
        key or f"agent:{payload.get('agent_type')}:anonymous",
        kind="agent",
        name=payload.get("agent_type"),
        output=clip(payload.get("last_assistant_message")),
        agent_id=payload.get("agent_id"),
        transcript_path=payload.get("agent_transcript_path"),
        once=bool(payload.get("agent_id")),
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


_HANDLERS: dict[str, Callable[[Tracker, Payload], None]] = {
    "SessionStart": claude_format.session_start,
    "SessionEnd": _session_end,
    "UserPromptSubmit": _prompt,
    "Stop": _stop,
    "StopFailure": _stop_failure,
    "PreToolUse": claude_format.start_tool,
    "PostToolUse": _post_tool,
    "PostToolUseFailure": _post_tool_failure,
    "SubagentStart": _subagent_start,
    "SubagentStop": _subagent_stop,
    "PreCompact": _pre_compact,
    "PostCompact": _post_compact,
    "Notification": _notification,
    "PermissionRequest": claude_format.permission_request,
}


def main() -> int:
    return run_hook("claude", FRAMEWORK, session_of, map_payload)
