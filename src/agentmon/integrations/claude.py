"""Claude Code hooks → agentmon events (``agentmon-claude-handler``, JSON on stdin).

Runs are keyed by Claude Code's ``prompt_id`` (on ``UserPromptSubmit`` and every later hook
of the turn, and ``promptId`` in the transcript), so hooks, the transcript and ``agentmon
import`` name the same run; ``UserPromptSubmit`` opens one (closing a run still open as
``unknown``) and ``Stop``/``StopFailure`` closes it. Tool spans are keyed by ``tool_use_id``
and take the tool's own ``duration_ms``; a tool the user or a rule denied (only
``PreToolUse`` fired; ``PermissionDenied`` or ``PostToolBatch`` tell) is closed as denied
with an error. A sub-agent's span is a child of the ``Agent``/``Task`` tool call that
spawned it, and the tools it runs are children of its span.

Hooks carry no token counts: every hook reads what was appended to the session's transcript
since the last one (a byte cursor in the session state) and reports each model call there
as an ``llm`` span plus the ``metric.snapshot`` that counts its usage. ``SubagentStop`` reads
the sub-agent's own transcript the same way, and later hooks read it again until the
session ends or the next prompt begins (its last call may be appended after ``SubagentStop``,
even after the main ``Stop``).
"""

from __future__ import annotations

from agentmon.integrations import _claude_format as claude_format
from agentmon.integrations._claude_format import own_duration_ms, split_model, subagent_key
from agentmon.integrations._claude_transcript import pick_up_calls, prompt_id_run_id, run_id_of
from agentmon.integrations._hookio import MalformedPayload, run_hook
from agentmon.integrations._tracker import Tracker, clip, first_id, run_mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "claude-code"
WAITING_NOTIFICATIONS = ("permission_prompt", "idle_prompt", "elicitation_dialog")
SPAWNING_TOOLS = ("Agent", "Task")  # the tool that starts a sub-agent (renamed in 2.x)


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
# Claude Code writes transcripts every 100 ms and flushes them before SessionEnd's hooks, so
# a stopped sub-agent's last call may land after the main Stop: its file is read until the
# session ends or the next prompt begins.
SUBAGENTS_SETTLED = frozenset(("SessionEnd", "UserPromptSubmit"))


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
        tracker.state.setdefault("subagents", {})[agent_path] = subagent_key(payload)
        spawning_run = _prompt_run(tracker, payload) or (tracker.state.get("run") or {}).get("id")
        tracker.state.setdefault("subagent_runs", {})[agent_path] = spawning_run
    _reading_subagent_transcripts(tracker, forget=event_name in SUBAGENTS_SETTLED)
    handler(tracker, payload)


def _reading_subagent_transcripts(tracker: Tracker, *, forget: bool) -> None:
    """The calls of stopped sub-agents' transcripts. Claude Code fires ``SubagentStop``
    before it has always appended the sub-agent's last call, so each stopped sub-agent's
    file is read again by every later hook until the session ends or the next prompt begins
    (`forget`); the call keys make a second reading add nothing."""
    stopped: dict[str, str | None] = tracker.state.get("subagents", {})
    runs: dict[str, str | None] = tracker.state.get("subagent_runs", {})
    for agent_path, parent in list(stopped.items()):
        run_id = runs.get(agent_path)
        pick_up_calls(
            tracker, agent_path, parent_key=parent, run_id=run_id, finish=True, force=True
        )
        if forget:
            del stopped[agent_path]
            runs.pop(agent_path, None)
            tracker.state.get("transcripts", {}).pop(agent_path, None)


def _session_end(tracker: Tracker, payload: Payload) -> None:
    tracker.end_session(reason=payload.get("reason"))


def _prompt_run(tracker: Tracker, payload: Payload) -> str | None:
    """The run of the hook's ``prompt_id``, None when the build sends none."""
    prompt_id = payload.get("prompt_id")
    if isinstance(prompt_id, str) and prompt_id:
        return prompt_id_run_id(tracker.session_id, prompt_id)
    return None


def _prompt(tracker: Tracker, payload: Payload) -> None:
    """A run whose id the transcript's prompt line derives too (see run_id_of)."""
    prompt = payload.get("prompt")
    run_id = _prompt_run(tracker, payload)
    if isinstance(prompt, str):
        counts = tracker.state.setdefault("prompts", {})
        run_id = run_id_of(tracker.session_id, payload.get("prompt_id"), counts, prompt)
    tracker.start_run(run_id, input=clip(prompt))


def _stop(tracker: Tracker, payload: Payload) -> None:
    tracker.end_run(
        _prompt_run(tracker, payload),
        status="ok",
        output=clip(payload.get("last_assistant_message")),
        model=tracker.state.get("model"),
    )


def _stop_failure(tracker: Tracker, payload: Payload) -> None:
    """A turn the API ended: ``error`` is a category (often just ``unknown``); the message
    the user saw ("API Error: 400 …") is ``last_assistant_message``."""
    error_type = str(payload.get("error_type") or payload.get("error") or "unknown")
    shown = payload.get("last_assistant_message")
    message = str(shown) if isinstance(shown, str) and shown else f"turn failed: {error_type}"
    run_id = tracker.ensure_run(_prompt_run(tracker, payload))
    tracker.error(
        clip(message),
        kind=error_type,
        run_id=run_id,
        event_id=tracker.event_id_for(run_id, "stop-failure"),
    )
    if run_id in tracker.state.get("recent_runs", []):
        # Claude Code does not wait for StopFailure: SessionEnd may have closed the run as
        # `unknown` first; a run.end of its own id corrects it (the later status wins)
        ending = {"status": "error", "error": clip(message), "error_type": error_type}
        tracker.emit(
            "run.end", ending, run_id=run_id, event_id=tracker.event_id_for(run_id, "failed")
        )
        return
    tracker.end_run(run_id, status="error", error=clip(message), error_type=error_type)


def _start_tool(tracker: Tracker, payload: Payload) -> None:
    claude_format.start_tool(tracker, payload, run_id=_prompt_run(tracker, payload))
    if payload.get("tool_name") in SPAWNING_TOOLS and payload.get("tool_use_id"):
        tracker.queue_push(_spawn_queue(payload.get("tool_input")), claude_format.tool_key(payload))


def _spawn_queue(tool_input: object) -> str:
    kind = tool_input.get("subagent_type") if isinstance(tool_input, dict) else None
    return f"spawn:{kind or 'general-purpose'}"


def _post_tool(tracker: Tracker, payload: Payload) -> None:
    claude_format.end_tool(
        tracker,
        payload,
        status="ok",
        run_id=_prompt_run(tracker, payload),
        extra={"duration_ms": own_duration_ms(payload), **_spawned_agent(tracker, payload)},
    )


def _spawned_agent(tracker: Tracker, payload: Payload) -> dict[str, object]:
    """What an ``Agent`` tool's response says of its sub-agent (shown on the tool span; its
    usage is counted once, from the sub-agent's own transcript at ``SubagentStop``)."""
    response = payload.get("tool_response")
    if payload.get("tool_name") not in SPAWNING_TOOLS or not isinstance(response, dict):
        return {}
    tracker.queue_pop(_spawn_queue(payload.get("tool_input")), claude_format.tool_key(payload))
    model, model_raw = split_model(response.get("resolvedModel"))
    details = {
        "agent_id": response.get("agentId"),
        "model": model,
        "model_raw": model_raw,
        "usage": response.get("usage") if isinstance(response.get("usage"), dict) else None,
        "total_tokens": response.get("totalTokens"),
        "agent_duration_ms": response.get("totalDurationMs"),
        "tool_use_count": response.get("totalToolUseCount"),
    }
    return {key: value for key, value in details.items() if value is not None}


def _post_tool_failure(tracker: Tracker, payload: Payload) -> None:
    status = "cancelled" if payload.get("is_interrupt") else "error"
    claude_format.end_tool(
        tracker,
        payload,
        status=status,
        error=str(payload.get("error") or "tool failed"),
        run_id=_prompt_run(tracker, payload),
        extra={"duration_ms": own_duration_ms(payload)},
    )


def _deny_tool(tracker: Tracker, payload: Payload, reason: object) -> None:
    """Close a tool call that never ran because permission was refused."""
    message = str(reason) if reason else "permission denied"
    claude_format.end_tool(
        tracker,
        payload,
        status="denied",
        error=clip(message),
        run_id=_prompt_run(tracker, payload),
        error_kind="permission_denied",
    )


def _permission_denied(tracker: Tracker, payload: Payload) -> None:
    if tracker.has_open_span(claude_format.tool_key(payload)):
        _deny_tool(tracker, payload, payload.get("reason") or payload.get("message"))


def _post_tool_batch(tracker: Tracker, payload: Payload) -> None:
    """The batch's results: a call still open never got PostToolUse(Failure), so it was
    refused before it ran (its ``tool_response`` is the refusal)."""
    calls = payload.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue
        hook_like = {**payload, **call}
        hook_like.pop("tool_calls", None)
        if call.get("tool_use_id") and tracker.has_open_span(claude_format.tool_key(hook_like)):
            _deny_tool(tracker, hook_like, call.get("tool_response"))


def _subagent_start(tracker: Tracker, payload: Payload) -> None:
    key = subagent_key(payload) or tracker.queue_push(f"agent:{payload.get('agent_type')}")
    spawned_by = tracker.queue_pop(f"spawn:{payload.get('agent_type') or 'general-purpose'}")
    tracker.start_span(
        key,
        kind="agent",
        name=payload.get("agent_type"),
        run_id=_prompt_run(tracker, payload),
        parent_key=spawned_by,
        agent_id=payload.get("agent_id"),
        once=bool(payload.get("agent_id")),
    )


def _subagent_stop(tracker: Tracker, payload: Payload) -> None:
    """A sub-agent's end; one never started while a compaction is open is the compaction's
    own summariser (Claude Code fires only SubagentStop for it, ``agent_type`` empty)."""
    key = subagent_key(payload) or tracker.queue_pop(f"agent:{payload.get('agent_type')}")
    summariser = tracker.has_open_span("compaction") and not tracker.has_open_span(key or "")
    tracker.end_span(
        key or f"agent:{payload.get('agent_type')}:anonymous",
        kind="agent",
        name=payload.get("agent_type") or ("compaction" if summariser else None),
        run_id=_prompt_run(tracker, payload),
        parent_key="compaction" if summariser else None,
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
        run_id=_prompt_run(tracker, payload),
        trigger=payload.get("trigger"),
        input=clip(payload.get("custom_instructions")),
    )


def _post_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(
        "compaction",
        kind="compaction",
        name="compaction",
        run_id=_prompt_run(tracker, payload),
        trigger=payload.get("trigger"),
        output=clip(payload.get("compact_summary")),
    )


def _notification(tracker: Tracker, payload: Payload) -> None:
    message = payload.get("message")
    kind = payload.get("notification_type") or _older_notification_type(message)
    if kind in WAITING_NOTIFICATIONS:
        tracker.waiting(str(kind), message)


def _task_created(tracker: Tracker, payload: Payload) -> None:
    """A task of the session's task list (``task_id``), open until ``TaskCompleted``."""
    tracker.start_span(
        _task_key(payload),
        input=clip(payload.get("task_description")),
        team_name=payload.get("team_name"),
        **_task_fields(tracker, payload),
    )


def _task_completed(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(_task_key(payload), **_task_fields(tracker, payload))


def _task_fields(tracker: Tracker, payload: Payload) -> dict[str, Any]:
    """What a task's start and end both say of it."""
    return {
        "kind": "task",
        "name": payload.get("task_subject"),
        "run_id": _prompt_run(tracker, payload),
        "task_id": payload.get("task_id"),
        "teammate_name": payload.get("teammate_name"),
        "once": bool(payload.get("task_id")),
    }


def _task_key(payload: Payload) -> str:
    return f"task:{payload.get('task_id') or payload.get('task_subject')}"


# an MCP server's request for input: `accept` answers it, `decline`/`cancel` refuse it
ELICITATION_STATUSES = {"accept": "ok", "decline": "denied", "cancel": "cancelled"}


def _elicitation(tracker: Tracker, payload: Payload) -> None:
    """An MCP server asks the user for input: a span until ``ElicitationResult``, and the
    session waits for a human meanwhile (as the ``elicitation_dialog`` notification says)."""
    message = payload.get("message")
    tracker.start_span(
        _elicitation_key(payload),
        kind="elicitation",
        name=payload.get("mcp_server_name"),
        run_id=_prompt_run(tracker, payload),
        input=clip(message),
        mode=payload.get("mode"),
        url=payload.get("url"),
        requested_schema=clip(payload.get("requested_schema")),
    )
    tracker.waiting("elicitation_dialog", message if isinstance(message, str) else None)


def _elicitation_result(tracker: Tracker, payload: Payload) -> None:
    action = str(payload.get("action") or "")
    status = ELICITATION_STATUSES.get(action, "ok")
    tracker.end_span(
        _elicitation_key(payload),
        kind="elicitation",
        name=payload.get("mcp_server_name"),
        status=status,
        run_id=_prompt_run(tracker, payload),
        action=action or None,
        output=clip(payload.get("content")),
        error=None if status == "ok" else f"elicitation {action}d by the user",
    )


def _elicitation_key(payload: Payload) -> str:
    return f"elicitation:{payload.get('elicitation_id') or payload.get('mcp_server_name')}"


def _older_notification_type(message: object) -> str:
    """Builds without ``notification_type`` notify only to ask permission or for input."""
    return "permission_prompt" if "permission" in str(message).lower() else "idle_prompt"


_HANDLERS: dict[str, Callable[[Tracker, Payload], None]] = {
    "SessionStart": claude_format.session_start,
    "SessionEnd": _session_end,
    "UserPromptSubmit": _prompt,
    "Stop": _stop,
    "StopFailure": _stop_failure,
    "PreToolUse": _start_tool,
    "PostToolUse": _post_tool,
    "PostToolUseFailure": _post_tool_failure,
    "PostToolBatch": _post_tool_batch,
    "PermissionDenied": _permission_denied,
    "SubagentStart": _subagent_start,
    "SubagentStop": _subagent_stop,
    "PreCompact": _pre_compact,
    "PostCompact": _post_compact,
    "Notification": _notification,
    "PermissionRequest": claude_format.permission_request,
    "TaskCreated": _task_created,
    "TaskCompleted": _task_completed,
    "Elicitation": _elicitation,
    "ElicitationResult": _elicitation_result,
}


def main() -> int:
    return run_hook("claude", FRAMEWORK, session_of, map_payload)
