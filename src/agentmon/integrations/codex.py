"""OpenAI Codex CLI → agentmon events (``agentmon-codex-handler``).

Two ways in: the legacy ``notify`` program gets the ``agent-turn-complete`` JSON as its
last argv element; lifecycle hooks (hooks.json) get a Claude-style JSON object on stdin.
Codex gives turn ids, so runs use ``turn_id``; a ``notify`` for a turn already closed by
``Stop`` is dropped, and one for a turn never seen opens a synthetic session and run first.
Usage found on a turn end goes on ``run.end.payload.usage``; it is counted (a
``metric.snapshot``) from the rollout file's ``token_count`` events when the hook names the
rollout (``transcript_path``), else from the payload.
"""

from __future__ import annotations

from agentmon.client.usage import known_usage
from agentmon.integrations import _claude_format as claude_format
from agentmon.integrations._codex_rollout import pick_up_usage
from agentmon.integrations._hookio import MalformedPayload, run_hook
from agentmon.integrations._tracker import Tracker, clip, first_id, run_mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "codex"
NOTIFY_TYPE = "agent-turn-complete"


def event_name(payload: Payload) -> str | None:
    """The hook name, with the original integration's aliases folded in."""
    name = payload.get("hook_event_name") or payload.get("type") or payload.get("event")
    return _ALIASES.get(name, name) if isinstance(name, str) else None


def session_of(payload: Payload) -> str:
    return first_id(
        payload.get("session_id"),
        payload.get("thread-id"),
        payload.get("thread_id"),
        what="session_id / thread-id",
    )


def map_payload(
    payload: Payload, state: Payload, source: dict[str, str], now: float
) -> list[Event]:
    """One Codex hook or notify payload → envelopes; ``state`` is the session's saved state."""
    name = event_name(payload)
    if name is None:
        raise MalformedPayload("no hook_event_name or type in the hook input")
    attributes = {
        "cwd": payload.get("cwd"),
        "model": payload.get("model"),
        "client": payload.get("client"),
    }
    return run_mapping(
        _HANDLERS.get(name),
        payload,
        session_id=session_of(payload),
        state=state,
        source=source,
        now=now,
        attributes=attributes,
    )


def _turn(payload: Payload) -> str | None:
    turn = payload.get("turn_id") or payload.get("turn-id")
    return str(turn) if turn else None


def _usage_of(payload: Payload) -> dict[str, int]:
    for key in ("usage", "token_usage", "last_token_usage"):
        usage = known_usage(payload.get(key))
        if usage:
            return usage
    return {}


def _session_end(tracker: Tracker, payload: Payload) -> None:
    _finish_turn(tracker, payload, status=str(payload.get("status") or "ok"))
    tracker.end_session(reason=payload.get("reason"))


def _prompt(tracker: Tracker, payload: Payload) -> None:
    tracker.start_run(_turn(payload), input=clip(payload.get("prompt")), model=payload.get("model"))


def _finish_turn(tracker: Tracker, payload: Payload, *, status: str, **extra: object) -> None:
    """Close the turn (opening it first if it was never seen) and report its usage."""
    turn = _turn(payload)
    usage = _usage_of(payload)
    if turn is None and not tracker.run_id and not usage:
        return
    closing = tracker.ensure_run(turn)
    tracker.end_run(
        turn,
        status=status,
        output=clip(payload.get("last_assistant_message")),
        usage=usage or None,
        **extra,
    )
    rollout = payload.get("transcript_path")
    if not (isinstance(rollout, str) and rollout and pick_up_usage(tracker, rollout, closing)):
        tracker.usage(usage, run_id=closing, model=payload.get("model"))


def _stop(tracker: Tracker, payload: Payload) -> None:
    _finish_turn(tracker, payload, status="ok")


def _notify(tracker: Tracker, payload: Payload) -> None:
    turn = _turn(payload)
    if turn and not tracker.run_id and turn not in tracker.state.get("recent_runs", []):
        messages = payload.get("input-messages") or payload.get("input_messages") or []
        prompt = (
            "\n".join(str(message) for message in messages) if isinstance(messages, list) else None
        )
        tracker.start_run(turn, input=clip(prompt), synthetic=True)
    _finish_turn(
        tracker,
        {**payload, "last_assistant_message": payload.get("last-assistant-message")},
        status="ok",
    )


def _stop_failure(tracker: Tracker, payload: Payload) -> None:
    category = str(payload.get("error") or "unknown")
    tracker.ensure_run(_turn(payload))
    tracker.error(str(payload.get("error_details") or f"turn failed: {category}"), kind=category)
    _finish_turn(tracker, payload, status="error", error=category)


def _pre_tool(tracker: Tracker, payload: Payload) -> None:
    claude_format.start_tool(tracker, payload, run_id=_turn(payload))


def _tool_failure(response: object) -> str | None:
    """Why a tool response counts as failed (a non-zero exit code or an error), if it does."""
    if not isinstance(response, dict):
        return None
    exit_code = response.get("exit_code")
    if isinstance(exit_code, int) and exit_code != 0:
        stderr = str(response.get("stderr") or "").strip()
        return f"exit code {exit_code}" + (f": {stderr[:500]}" if stderr else "")
    error = response.get("error")
    return str(error) if error else None


def _post_tool(tracker: Tracker, payload: Payload) -> None:
    failure = _tool_failure(payload.get("tool_response"))
    status = "error" if failure else "ok"
    claude_format.end_tool(tracker, payload, status=status, error=failure, run_id=_turn(payload))


def _pre_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.start_span(
        "compaction",
        kind="compaction",
        name="compaction",
        run_id=_turn(payload),
        trigger=payload.get("trigger"),
    )


def _post_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(
        "compaction",
        kind="compaction",
        name="compaction",
        run_id=_turn(payload),
        trigger=payload.get("trigger"),
    )


def _subagent_start(tracker: Tracker, payload: Payload) -> None:
    tracker.start_span(
        f"agent:{payload.get('agent_id')}",
        kind="agent",
        name=payload.get("agent_type"),
        run_id=_turn(payload),
        agent_id=payload.get("agent_id"),
    )


def _subagent_stop(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(
        f"agent:{payload.get('agent_id')}",
        kind="agent",
        name=payload.get("agent_type"),
        run_id=_turn(payload),
        output=clip(payload.get("last_assistant_message")),
        agent_id=payload.get("agent_id"),
        transcript_path=payload.get("agent_transcript_path"),
    )


_ALIASES = {
    "sessionStart": "SessionStart",
    "sessionEnd": "SessionEnd",
    "userpromptsubmit": "UserPromptSubmit",
    "userPromptSubmit": "UserPromptSubmit",
}

_HANDLERS: dict[str, Callable[[Tracker, Payload], None]] = {
    "SessionStart": claude_format.session_start,
    "SessionEnd": _session_end,
    "UserPromptSubmit": _prompt,
    "PreToolUse": _pre_tool,
    "PostToolUse": _post_tool,
    "Stop": _stop,
    "StopFailure": _stop_failure,
    "PreCompact": _pre_compact,
    "PostCompact": _post_compact,
    "SubagentStart": _subagent_start,
    "SubagentStop": _subagent_stop,
    "PermissionRequest": claude_format.permission_request,
    NOTIFY_TYPE: _notify,
}


def main() -> int:
    return run_hook("codex", FRAMEWORK, session_of, map_payload, from_argv=True)
