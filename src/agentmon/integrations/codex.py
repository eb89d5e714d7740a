"""OpenAI Codex CLI → agentmon events (``agentmon-codex-handler``).

Two ways in: the legacy ``notify`` program gets the ``agent-turn-complete`` JSON as its
last argv element; lifecycle hooks (hooks.json) get a Claude-style JSON object on stdin.
Codex gives turn ids, so runs use ``turn_id``; a ``notify`` for a turn already closed by
``Stop`` is dropped, and one for a turn never seen opens a synthetic session and run first.
Usage found on a turn end goes on ``run.end.payload.usage``; it is counted (a
``metric.snapshot``) from the rollout file's ``token_count`` events when the hook names the
rollout (``transcript_path``), else from the payload.

Tool hooks name Codex's shell tool ``Bash`` (Claude Code's name) while the rollout, OTel and
``--json`` call it by the model's tool name (``exec_command``): spans take the rollout's
name and keep the hook's as ``hook_tool_name``. A PostToolUse ``tool_response`` is the bare
command output, so a failed command is told by its exit code in the rollout (or an
``Exit code N`` line in the text).
"""

from __future__ import annotations

import os

from agentmon.client.jsonio import json_loads
from agentmon.client.usage import known_usage
from agentmon.integrations import _claude_format as claude_format
from agentmon.integrations._codex_rollout import (
    codex_home,
    is_subagent_rollout,
    pick_up_usage,
    thread_rollout,
    tool_call_records,
    turn_aborted,
    turn_failure,
)
from agentmon.integrations._hookio import MalformedPayload, derived_id, run_hook
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


MAX_TURN_ID_CHARS = 128  # Codex's turn ids are UUIDs; a longer one is hashed to fit


def _turn(payload: Payload) -> str | None:
    turn = payload.get("turn_id") or payload.get("turn-id")
    if not turn:
        return None
    text = str(turn)
    return text if len(text) <= MAX_TURN_ID_CHARS else derived_id(FRAMEWORK, "turn", text)


def _span_run(tracker: Tracker, payload: Payload) -> str | None:
    """The run a span belongs to: the turn, or for a sub-agent's hook (``agent_id``; its
    ``turn_id`` is the sub-agent's own turn) the run its agent span is in."""
    agent = claude_format.subagent_key(payload)
    if agent is None:
        return _turn(payload)
    opened = tracker.state["spans"].get(agent)
    return str(opened["run"]) if opened else tracker.run_id


def _usage_of(payload: Payload) -> dict[str, int]:
    for key in ("usage", "token_usage", "last_token_usage"):
        usage = known_usage(payload.get(key))
        if usage:
            return usage
    return {}


def _session_end(tracker: Tracker, payload: Payload) -> None:
    _close_open_turn(tracker, payload, status=str(payload.get("status") or "ok"))
    tracker.end_session(reason=payload.get("reason"))


def _close_open_turn(tracker: Tracker, payload: Payload, *, status: str) -> None:
    """Close a turn still open when the session ends or the next prompt comes: no hook fires
    when the model API fails (the rollout's ``task_complete`` has the error: the turn
    fails) or when the user aborts the turn (Esc, also the TUI's "No" to an approval: the
    rollout has ``turn_aborted``: the turn is cancelled); else `status`."""
    turn = tracker.run_id
    if not turn:
        return
    closing = {**payload, "turn_id": turn, "last_assistant_message": None}
    rollout = payload.get("transcript_path")
    if not (isinstance(rollout, str) and rollout):
        _finish_turn(tracker, closing, status=status)
        return
    failure = turn_failure(rollout, turn)
    if failure is not None:
        _fail_turn(tracker, closing, "api_error", failure)
        return
    _finish_turn(tracker, closing, status="cancelled" if turn_aborted(rollout, turn) else status)


def _prompt(tracker: Tracker, payload: Payload) -> None:
    if payload.get("agent_id"):  # a sub-agent's task: the input of its spawn_agent call
        return
    if tracker.run_id and tracker.run_id != _turn(payload):
        _close_open_turn(tracker, payload, status="unknown")
    tracker.start_run(_turn(payload), input=clip(payload.get("prompt")), model=payload.get("model"))


def _finish_turn(tracker: Tracker, payload: Payload, *, status: str, **extra: object) -> None:
    """Close the turn (opening it first if it was never seen) and report its usage."""
    turn = _turn(payload)
    usage = _usage_of(payload)
    if turn is None and not tracker.run_id and not usage:
        return
    closing = tracker.ensure_run(turn)
    _close_refused_tools(tracker, payload)
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


REFUSAL_MARKERS = ("reject", "denied", "not approved")


def _permission_request(tracker: Tracker, payload: Payload) -> None:
    """Waiting for the user; the turn's open tool calls are marked asked (the hook names no
    call id), so one aborted after the prompt closes as denied."""
    claude_format.permission_request(tracker, payload)
    for key, opened in tracker.state["spans"].items():
        if key.startswith("tool:") and opened.get("run") == tracker.run_id:
            opened["asked"] = True


def _close_refused_tools(tracker: Tracker, payload: Payload) -> None:
    """Tool calls the turn leaves open never got PostToolUse: the model was answered without
    running them. `codex exec` refuses a call asking to leave the sandbox ("approval policy
    is Never; reject command …", its only trace is the rollout's ``function_call_output``):
    such a call is closed as denied with that text; one answered otherwise closes as it was
    answered; one with no answer is left to the session's end."""
    rollout = payload.get("transcript_path")
    if not (isinstance(rollout, str) and rollout):
        return
    for key, opened in list(tracker.state["spans"].items()):
        call_id = key.removeprefix("tool:")
        if opened.get("kind") != "tool" or call_id == key:
            continue
        answer = tool_call_records(rollout, call_id).get("output")
        if not isinstance(answer, str):
            continue
        status = _unrun_call_status(answer, asked=bool(opened.get("asked")))
        claude_format.end_tool(
            tracker,
            {"tool_use_id": call_id, "tool_name": opened.get("name"), "tool_response": answer},
            status=status,
            error=clip(answer) if status != "ok" else None,
            run_id=opened.get("run"),
            error_kind="permission_denied" if status == "denied" else "cancelled",
        )


ABORTED_MARKER = "aborted by user"


def _unrun_call_status(answer: str, *, asked: bool) -> str:
    """A call closed without PostToolUse: ``denied`` when refused (by policy, or by the user
    answering an approval prompt with No: the TUI then aborts the call), ``cancelled`` when
    aborted unasked (Esc while it ran), else ``ok``."""
    lowered = answer.lower()
    if any(marker in lowered for marker in REFUSAL_MARKERS):
        return "denied"
    if ABORTED_MARKER in lowered:
        return "denied" if asked else "cancelled"
    return "ok"


def _stop(tracker: Tracker, payload: Payload) -> None:
    if payload.get("agent_id"):  # a sub-agent's turn: SubagentStop closes its span
        return
    _finish_turn(tracker, payload, status="ok")


def _notify(tracker: Tracker, payload: Payload) -> None:
    if _subagent_thread(tracker.session_id):
        return
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


def _subagent_thread(thread_id: str) -> bool:
    """Whether `thread_id` is a sub-agent's thread. Codex fires ``notify`` for a sub-agent's
    turns too, with the sub-agent's own thread id and nothing saying it is one; its rollout
    (in ``$CODEX_HOME``, which Codex passes on to ``notify``) says so. The sub-agent is
    reported in its parent's session (``SubagentStart``/``SubagentStop``), never as one."""
    rollout = thread_rollout(codex_home(dict(os.environ)), thread_id)
    return rollout is not None and is_subagent_rollout(rollout)


def _stop_failure(tracker: Tracker, payload: Payload) -> None:
    category = str(payload.get("error") or "unknown")
    message = str(payload.get("error_details") or f"turn failed: {category}")
    agent = claude_format.subagent_key(payload)
    if agent is None:
        _fail_turn(tracker, payload, category, message)
        return
    run_id = _span_run(tracker, payload)  # a sub-agent failed: its parent's turn goes on
    event_id = tracker.event_id_for(agent, str(payload.get("turn_id")), "failed")
    tracker.error(clip(message), kind=category, run_id=run_id, event_id=event_id)


def _fail_turn(tracker: Tracker, payload: Payload, category: str, message: str) -> None:
    run_id = tracker.ensure_run(_turn(payload))
    tracker.error(
        clip(message),
        kind=category,
        run_id=run_id,
        event_id=tracker.event_id_for(run_id, "turn-failed"),
    )
    _finish_turn(tracker, payload, status="error", error=clip(message))


EXIT_CODE_MARKERS = ("exit code:", "exit code", "exited with code")


def exit_code_in(text: str) -> int | None:
    """The code of an ``Exit code: 2`` / ``Process exited with code 2`` line in `text` (no
    ``re``: the hooks start on a tight import budget)."""
    lowered = text[:500].lower()
    for marker in EXIT_CODE_MARKERS:
        at = lowered.find(marker)
        if at < 0:
            continue
        digits = lowered[at + len(marker) :].lstrip().split(maxsplit=1)
        word = digits[0] if digits else ""
        if word.lstrip("-").isdigit():
            return int(word)
    return None


OUTPUT_MARKER = "\nOutput:\n"
"""Where the command's own output starts in the text Codex gives the model (and logs in
OTel): ``Chunk ID …`` / ``Process exited with code N`` / … header lines first."""


def command_output(text: str) -> str:
    """The command's own output in the model-facing text of its result."""
    head, marker, output = text.partition(OUTPUT_MARKER)
    return output if marker and "exit" in head.lower() else text


def command_failure(exit_code: int, output: str) -> str:
    """The error of a command that exited `exit_code`: the same text from hooks and OTel."""
    output = output.strip()
    return f"exit code {exit_code}" + (f": {output[:500]}" if output else "")


def _with_rollout_facts(payload: Payload) -> tuple[Payload, Payload]:
    """The payload under the tool's rollout name (the hook's kept as ``hook_tool_name``),
    and what the rollout says of the call."""
    rollout, call_id = payload.get("transcript_path"), payload.get("tool_use_id")
    facts: Payload = {}
    if isinstance(rollout, str) and rollout and isinstance(call_id, str) and call_id:
        facts = tool_call_records(rollout, call_id)
    name = facts.get("name")
    if not isinstance(name, str) or not name or name == payload.get("tool_name"):
        return payload, facts
    return {**payload, "tool_name": name, "hook_tool_name": payload.get("tool_name")}, facts


def _pre_tool(tracker: Tracker, payload: Payload) -> None:
    payload, _ = _with_rollout_facts(payload)
    claude_format.start_tool(tracker, payload, run_id=_span_run(tracker, payload))


def _tool_failure(response: object, facts: Payload) -> str | None:
    """Why a tool call counts as failed (a non-zero exit code or an error), if it does."""
    exit_code = facts.get("exit_code")
    if isinstance(response, dict):
        exit_code = response.get("exit_code", exit_code)
        error = response.get("error")
        if error and not (isinstance(exit_code, int) and exit_code != 0):
            return str(error)
        output = str(response.get("stderr") or "").strip()
    else:
        output = str(response or "").strip()
        if exit_code is None:
            exit_code = exit_code_in(output)
    if isinstance(exit_code, int) and exit_code != 0:
        return command_failure(exit_code, output)
    if facts.get("status") == "failed":
        return "failed" + (f": {output[:500]}" if output else "")
    return None


def _post_tool(tracker: Tracker, payload: Payload) -> None:
    payload, facts = _with_rollout_facts(payload)
    failure = _tool_failure(payload.get("tool_response"), facts)
    status = "error" if failure else "ok"
    extra = {"hook_tool_name": payload.get("hook_tool_name"), "exit_code": facts.get("exit_code")}
    claude_format.end_tool(
        tracker,
        payload,
        status=status,
        error=failure,
        run_id=_span_run(tracker, payload),
        extra=extra,
    )
    agent_id = _spawned_agent(payload)
    if agent_id:
        spawned = tracker.state.setdefault("spawned", {})
        call = claude_format.tool_key(payload)
        for other in [agent for agent, key in spawned.items() if key == call]:
            del spawned[other]  # a guess made before the call's result named its agent
        spawned[agent_id] = call


SPAWN_TOOL = "spawn_agent"


def _spawned_agent(payload: Payload) -> str | None:
    """The sub-agent a ``spawn_agent`` call started (its result: ``{"agent_id": …}``)."""
    response = payload.get("tool_response")
    if payload.get("tool_name") != SPAWN_TOOL or not isinstance(response, str):
        return None
    try:
        answer = json_loads(response)
    except (ValueError, RecursionError):
        return None
    agent_id = answer.get("agent_id") if isinstance(answer, dict) else None
    return agent_id if isinstance(agent_id, str) and agent_id else None


def _pre_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.start_span(
        _compaction_key(payload),
        kind="compaction",
        name="compaction",
        run_id=_span_run(tracker, payload),
        parent_key=claude_format.subagent_key(payload),
        trigger=payload.get("trigger"),
    )


def _post_compact(tracker: Tracker, payload: Payload) -> None:
    tracker.end_span(
        _compaction_key(payload),
        kind="compaction",
        name="compaction",
        run_id=_span_run(tracker, payload),
        parent_key=claude_format.subagent_key(payload),
        trigger=payload.get("trigger"),
    )


def _compaction_key(payload: Payload) -> str:
    agent = claude_format.subagent_key(payload)
    return f"{agent}:compaction" if agent else "compaction"


def _spawn_call_of(tracker: Tracker, agent_id: str) -> str | None:
    """The span key of the ``spawn_agent`` call that started `agent_id`: named by the call's
    result once PostToolUse came; before it (SubagentStart and PostToolUse race), the
    oldest ``spawn_agent`` call still open and not yet paired."""
    spawned: dict[str, str] = tracker.state.setdefault("spawned", {})
    if agent_id in spawned:
        return str(spawned[agent_id])
    paired = set(spawned.values())
    for key, opened in tracker.state["spans"].items():
        if opened.get("name") == SPAWN_TOOL and key not in paired:
            spawned[agent_id] = str(key)
            return str(key)
    return None


def _subagent_start(tracker: Tracker, payload: Payload) -> None:
    """The sub-agent's span, in the run that spawned it and under its ``spawn_agent`` call
    (Codex fires SubagentStart with the sub-agent's own turn id)."""
    agent_id = str(payload.get("agent_id"))
    tracker.start_span(
        f"agent:{agent_id}",
        kind="agent",
        name=payload.get("agent_type"),
        run_id=tracker.run_id,
        parent_key=_spawn_call_of(tracker, agent_id),
        agent_id=payload.get("agent_id"),
        agent_turn_id=payload.get("turn_id"),
    )


def _subagent_stop(tracker: Tracker, payload: Payload) -> None:
    """Close the sub-agent's span and count its tokens, from its own rollout
    (``agent_transcript_path``), in the run that spawned it."""
    run_id = _span_run(tracker, payload)
    transcript = payload.get("agent_transcript_path")
    key, call = (
        f"agent:{payload.get('agent_id')}",
        _spawn_call_of(tracker, str(payload.get("agent_id"))),
    )
    opened = tracker.state["spans"].get(key)
    if opened is not None and call and not opened.get("parent"):
        opened["parent"] = tracker.span_id_for(call)  # SubagentStart came before the call
    tracker.end_span(
        key,
        kind="agent",
        name=payload.get("agent_type"),
        run_id=run_id,
        parent_key=call,
        output=clip(payload.get("last_assistant_message")),
        agent_id=payload.get("agent_id"),
        transcript_path=transcript,
    )
    tracker.state.get("spawned", {}).pop(str(payload.get("agent_id")), None)
    if isinstance(transcript, str) and transcript:
        pick_up_usage(tracker, transcript, run_id, in_run=True)


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
    "PermissionRequest": _permission_request,
    NOTIFY_TYPE: _notify,
}


def main() -> int:
    return run_hook("codex", FRAMEWORK, session_of, map_payload, from_argv=True)
