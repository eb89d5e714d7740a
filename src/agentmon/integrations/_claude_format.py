"""Hooks in Claude Code's format, which Codex's hooks.json speaks too.

Both tools send `session_id`, `hook_event_name`, `tool_name`/`tool_input`/`tool_use_id` on
tool hooks and `agent_id`/`agent_type` inside subagents; these handlers map the parts the
two share. `run_id` is Codex's `turn_id`; Claude Code gives none (the tracker's open run).
"""

from __future__ import annotations

from agentmon.integrations._tracker import Tracker, clip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentmon.integrations._hookio import Payload


def tool_key(payload: Payload) -> str:
    tool_use_id = payload.get("tool_use_id")
    return f"tool:{tool_use_id}" if tool_use_id else f"tool:{payload.get('tool_name')}:anonymous"


def subagent_key(payload: Payload) -> str | None:
    agent_id = payload.get("agent_id")
    return f"agent:{agent_id}" if agent_id else None


def split_model(raw: object) -> tuple[str | None, str | None]:
    """``(model, raw)``: a model name without a context-window suffix such as
    ``claude-opus-4-8[1m]`` (which prices and groups as ``claude-opus-4-8``), and the name as
    the tool sent it when that differs (else None)."""
    if not isinstance(raw, str) or not raw:
        return None, None
    model = raw.split("[", 1)[0].strip() or raw
    return model, (raw if model != raw else None)


def session_start(tracker: Tracker, payload: Payload) -> None:
    model, model_raw = split_model(payload.get("model"))
    tracker.start_session(
        source=payload.get("source"),
        model=model,
        model_raw=model_raw,
        cwd=payload.get("cwd"),
        transcript_path=payload.get("transcript_path"),
    )


def start_tool(tracker: Tracker, payload: Payload, run_id: str | None = None) -> None:
    tracker.start_span(
        tool_key(payload),
        kind="tool",
        name=payload.get("tool_name"),
        run_id=run_id,
        parent_key=subagent_key(payload),
        input=clip(payload.get("tool_input")),
        tool_use_id=payload.get("tool_use_id"),
        once=bool(payload.get("tool_use_id")),
    )


def end_tool(
    tracker: Tracker,
    payload: Payload,
    *,
    status: str,
    error: str | None = None,
    run_id: str | None = None,
    error_kind: str = "tool",
    extra: dict[str, object] | None = None,
) -> None:
    """Close a tool span (`extra`: more span fields, such as the tool's own ``duration_ms``);
    a failed, denied or interrupted one also reports an `error` event of `error_kind`."""
    details = {"output": clip(payload.get("tool_response")), "error": error, **(extra or {})}
    span_id = tracker.end_span(
        tool_key(payload),
        kind="tool",
        name=payload.get("tool_name"),
        run_id=run_id,
        status=status,
        parent_key=subagent_key(payload),
        tool_use_id=payload.get("tool_use_id"),
        once=bool(payload.get("tool_use_id")),
        **{key: value for key, value in details.items() if value is not None},
    )
    if error:
        once = tracker.event_id_for(span_id, "error") if payload.get("tool_use_id") else None
        tracker.error(
            error,
            kind=error_kind,
            span_id=span_id,
            event_id=once,
            tool_name=payload.get("tool_name"),
        )


def own_duration_ms(payload: Payload) -> int | None:
    """The tool's own ``duration_ms`` (Claude Code ≥ 2.1 sends it on PostToolUse), when sane."""
    value = payload.get("duration_ms")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e12:
        return round(value)
    return None


def permission_request(tracker: Tracker, payload: Payload) -> None:
    tracker.waiting("permission_prompt", f"permission requested for {payload.get('tool_name')}")
