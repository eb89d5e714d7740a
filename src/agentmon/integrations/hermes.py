"""Hermes Agent shell hooks → agentmon events (``agentmon-hermes-handler``, JSON on stdin).

The shell-hook payload has ``hook_event_name``, ``session_id``, ``tool_name``,
``tool_input`` at the top and every other hook argument under ``extra``. Runs use Hermes'
``turn_id``, named after the prompt as ``agentmon import hermes`` names them (see below);
llm spans use ``api_request_id``; tool spans ``tool_call_id``. Note that
``on_session_end`` fires at the end of every turn (it closes the open run), while
``on_session_finalize`` ends the session. Hermes accepts empty stdout, so nothing is printed.

Hermes' database (``agentmon import hermes``) holds neither the ``turn_id`` nor usage per
call, so a run's id is derived from its prompt's text and how many prompts of that text came
before it in the session (`prompt_run_key`, as the importer counts its ``user`` messages),
and the session's state keeps the usage the hooks reported per model (``kept.reported_usage``,
which outlives the state's pruning): the importer adds only what the database holds beyond it.
"""

from __future__ import annotations

from agentmon.client.config import ClientConfig
from agentmon.client.usage import known_usage
from agentmon.integrations._hookio import KEPT, LockedState, MalformedPayload, run_hook
from agentmon.integrations._prompt_keys import prompt_run_key
from agentmon.integrations._tracker import Tracker, clip, first_id, run_mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "hermes"
TOOL_STATUS = {"ok": "ok", "error": "error", "blocked": "cancelled", "cancelled": "cancelled"}
TURNS_KEPT = 20
SUBAGENT_STATUS = {
    "completed": "ok",
    "failed": "error",
    "error": "error",
    "interrupted": "cancelled",
}


def session_of(payload: Payload) -> str:
    extra = _extra(payload)
    return first_id(
        payload.get("session_id"), extra.get("session_id"), extra.get("parent_session_id")
    )


def _extra(payload: Payload) -> Payload:
    extra = payload.get("extra")
    return extra if isinstance(extra, dict) else {}


def map_payload(
    payload: Payload, state: Payload, source: dict[str, str], now: float
) -> list[Event]:
    """One Hermes shell-hook payload → envelopes; ``state`` is the session's saved state."""
    name = payload.get("hook_event_name")
    if not isinstance(name, str):
        raise MalformedPayload("no hook_event_name in the hook input")
    extra = _extra(payload)
    attributes = {
        "cwd": payload.get("cwd"),
        "profile": payload.get("profile"),
        "platform": extra.get("platform"),
    }
    return run_mapping(
        _HANDLERS.get(name),
        payload,
        extra,
        session_id=session_of(payload),
        state=state,
        source=source,
        now=now,
        attributes=attributes,
    )


def _turn(extra: Payload, state: Payload | None = None) -> str | None:
    """The run of Hermes' ``turn_id``: the id its prompt gave it (see the header), else the
    turn id itself."""
    turn = extra.get("turn_id")
    if not turn:
        return None
    runs = (state or {}).get("turn_runs")
    return str(runs.get(str(turn), turn) if isinstance(runs, dict) else turn)


def _prompt_run(tracker: Tracker, extra: Payload) -> str | None:
    """The run id a turn's prompt names (the importer derives the same), remembered for the
    turn's later hooks."""
    prompt, turn = extra.get("user_message"), extra.get("turn_id")
    if not isinstance(prompt, str) or not turn:
        return _turn(extra)
    counts = tracker.state.setdefault("prompt_counts", {})
    run_id = tracker.span_id_for(prompt_run_key(counts, prompt, _earlier(extra, prompt)))
    runs = tracker.state.setdefault("turn_runs", {})
    runs[str(turn)] = run_id
    for stale in list(runs)[:-TURNS_KEPT]:
        del runs[stale]
    return run_id


def _earlier(extra: Payload, prompt: str) -> int:
    """How many prompts of this text the session held before this one (Hermes passes the
    conversation with the new prompt last), so hooks switched on mid-session count as the
    importer does."""
    history = extra.get("conversation_history")
    if not isinstance(history, list):
        return 0
    same = [m for m in history if isinstance(m, dict) and m.get("role") == "user"]
    return max(sum(1 for m in same if m.get("content") == prompt) - 1, 0)


def hooks_reported_usage(session_id: str) -> dict[str, dict[str, int]]:
    """The usage these hooks reported for a session on this machine, per model (none when
    they never saw it): what `agentmon import hermes` takes off the database's totals."""
    return reported_usage(LockedState(ClientConfig(), FRAMEWORK, session_id).saved())


def reported_usage(state: Payload) -> dict[str, dict[str, int]]:
    """The usage the hooks reported for a session, per model: a ledger in the state's part
    that outlives pruning, so an import long after the session still takes it off."""
    kept = state.get(KEPT)
    ledger = kept.get("reported_usage") if isinstance(kept, dict) else None
    if not isinstance(ledger, dict):
        return {}
    return {
        str(model): {name: n for name, n in counts.items() if type(n) is int}
        for model, counts in ledger.items()
        if isinstance(counts, dict)
    }


def _note_usage(tracker: Tracker, model: object, usage: dict[str, int]) -> None:
    kept = tracker.state.setdefault(KEPT, {})
    ledger = kept.setdefault("reported_usage", {}).setdefault(str(model), {})
    for name, count in usage.items():
        ledger[name] = ledger.get(name, 0) + count


def _epoch(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _session_start(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    tracker.start_session(
        model=extra.get("model"), platform=extra.get("platform"), cwd=payload.get("cwd")
    )


def _session_finalize(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    tracker.end_session(reason=extra.get("reason"))


def _session_reset(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    """The gateway swapped in a new session: the old one ends, the new one starts."""
    old = extra.get("old_session_id")
    if isinstance(old, str) and old and old != tracker.session_id:
        tracker.emit("session.end", {"reason": "reset"}, session_id=old)
    tracker.start_session(platform=extra.get("platform"), previous_session_id=old)


def _pre_llm_call(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    run_id = _prompt_run(tracker, extra)
    tracker.start_run(run_id, input=clip(extra.get("user_message")), model=extra.get("model"))


def _post_llm_call(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    tracker.end_run(
        _turn(extra, tracker.state), status="ok", output=clip(extra.get("assistant_response"))
    )


def _turn_end(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    """``on_session_end`` closes the turn if ``post_llm_call`` did not (interrupt, failure)."""
    if not tracker.run_id:
        return
    if extra.get("completed"):
        status = "ok"
    elif extra.get("interrupted"):
        status = "cancelled"
    else:
        status = "error"
    tracker.end_run(status=status)


def _pre_api_request(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    tracker.start_span(
        f"api:{extra.get('api_request_id')}",
        kind="llm",
        name=extra.get("model"),
        run_id=_turn(extra, tracker.state),
        ts=_epoch(extra.get("started_at")),
        provider=extra.get("provider"),
        api_call_count=extra.get("api_call_count"),
        api_request_id=extra.get("api_request_id"),
    )


def _api_duration_ms(extra: Payload) -> int | None:
    seconds = _epoch(extra.get("api_duration"))
    return None if seconds is None else round(seconds * 1000)


def _post_api_request(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    usage = known_usage(extra.get("usage"))
    model = extra.get("response_model") or extra.get("model")
    tracker.end_span(
        f"api:{extra.get('api_request_id')}",
        kind="llm",
        name=model,
        run_id=_turn(extra, tracker.state),
        ts=_epoch(extra.get("ended_at")),
        duration_ms=_api_duration_ms(extra),
        usage=usage or None,
        finish_reason=extra.get("finish_reason"),
        api_request_id=extra.get("api_request_id"),
    )
    tracker.usage(usage, model=model, provider=extra.get("provider"))
    _note_usage(tracker, model, usage)


def _api_request_error(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    error = extra.get("error")
    error = error if isinstance(error, dict) else {"message": error}
    message = str(error.get("message") or extra.get("reason") or "provider request failed")
    key = f"api:{extra.get('api_request_id')}"
    span_id = tracker.span_id_for(key)
    if not extra.get("retryable"):
        span_id = tracker.end_span(
            key,
            kind="llm",
            name=extra.get("model"),
            status="error",
            run_id=_turn(extra, tracker.state),
            ts=_epoch(extra.get("ended_at")),
            duration_ms=_api_duration_ms(extra),
            error=message,
        )
    tracker.error(
        message,
        kind=str(extra.get("reason") or error.get("type") or "api_error"),
        span_id=span_id,
        status_code=extra.get("status_code"),
        error_type=error.get("type"),
        retryable=extra.get("retryable"),
        retry_count=extra.get("retry_count"),
    )


def _tool_key(tracker: Tracker, payload: Payload, extra: Payload, *, starting: bool) -> str:
    call_id = extra.get("tool_call_id")
    if call_id:
        return f"tool:{call_id}"
    queue = f"tool:{payload.get('tool_name')}"
    return (
        tracker.queue_push(queue) if starting else (tracker.queue_pop(queue) or f"{queue}:unpaired")
    )


def _pre_tool_call(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    tracker.start_span(
        _tool_key(tracker, payload, extra, starting=True),
        kind="tool",
        name=payload.get("tool_name"),
        run_id=_turn(extra, tracker.state),
        input=clip(payload.get("tool_input")),
        tool_call_id=extra.get("tool_call_id"),
    )


def _post_tool_call(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    raw_status = str(extra.get("status") or "ok")
    status = TOOL_STATUS.get(raw_status, "error")
    message = extra.get("error_message") or (raw_status if status != "ok" else None)
    span_id = tracker.end_span(
        _tool_key(tracker, payload, extra, starting=False),
        kind="tool",
        name=payload.get("tool_name"),
        status=status,
        run_id=_turn(extra, tracker.state),
        duration_ms=extra.get("duration_ms"),
        output=clip(extra.get("result")),
        error=message,
        tool_call_id=extra.get("tool_call_id"),
    )
    if status == "error":
        tracker.error(
            str(message),
            kind=str(extra.get("error_type") or "tool"),
            span_id=span_id,
            tool_name=payload.get("tool_name"),
        )


def _subagent_queue(extra: Payload) -> str:
    return f"agent:{extra.get('child_role')}"


def _subagent_id_key(extra: Payload) -> str | None:
    child = extra.get("child_subagent_id") or extra.get("child_session_id")
    return f"agent:{child}" if child else None


def _subagent_start(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    key = tracker.queue_push(_subagent_queue(extra), _subagent_id_key(extra))
    tracker.start_span(
        key,
        kind="agent",
        name=extra.get("child_role"),
        run_id=extra.get("parent_turn_id"),
        input=clip(extra.get("child_goal")),
        child_session_id=extra.get("child_session_id"),
        child_subagent_id=extra.get("child_subagent_id"),
    )


def _subagent_stop(tracker: Tracker, payload: Payload, extra: Payload) -> None:
    key = tracker.queue_pop(_subagent_queue(extra), _subagent_id_key(extra))
    status = SUBAGENT_STATUS.get(str(extra.get("child_status")), "ok")
    tracker.end_span(
        key or f"{_subagent_queue(extra)}:unpaired",
        kind="agent",
        name=extra.get("child_role"),
        status=status,
        duration_ms=extra.get("duration_ms"),
        output=clip(extra.get("child_summary")),
        error=extra.get("child_status") if status == "error" else None,
    )


_HANDLERS: dict[str, Callable[[Tracker, Payload, Payload], None]] = {
    "on_session_start": _session_start,
    "on_session_finalize": _session_finalize,
    "on_session_reset": _session_reset,
    "pre_llm_call": _pre_llm_call,
    "post_llm_call": _post_llm_call,
    "on_session_end": _turn_end,
    "pre_api_request": _pre_api_request,
    "post_api_request": _post_api_request,
    "api_request_error": _api_request_error,
    "pre_tool_call": _pre_tool_call,
    "post_tool_call": _post_tool_call,
    "subagent_start": _subagent_start,
    "subagent_stop": _subagent_stop,
}


def main() -> int:
    return run_hook("hermes", FRAMEWORK, session_of, map_payload)
