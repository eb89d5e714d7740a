"""Gemini CLI hooks → agentmon events (``agentmon-gemini-handler``, JSON on stdin).

Gemini hooks carry a time stamp but no turn id and no tool-call id: runs are the handler's
own (``BeforeAgent`` → ``AfterAgent``), and a tool's ``AfterTool`` is paired with the
oldest open ``BeforeTool`` of the same tool name in the session (first in, first out).
``AfterModel`` fires once per streamed chunk: the chunks of one model call are folded into
one llm span, closed when a chunk carries a ``finishReason`` (or when the next model call,
or the turn's end, shows the call is over).

What Gemini CLI 0.61 really sends (tests/real_agents/gemini) shapes the rest:

- usage: the hook's ``usageMetadata`` has only prompt, candidates and total tokens; the
  session's transcript (``transcript_path``, JSONL) records every model reply once per id
  with ``tokens{input,output,cached,thoughts,total}``. A finished call's usage waits for its
  transcript entry (read incrementally by later hooks) and is counted from there, with an
  event id derived from the entry's id; at the turn's end a call the transcript never showed
  is counted from the hook's figures.
- a failed shell command has no ``error``: only ``Exit Code: N`` inside ``llmContent``;
- ``PreCompress`` (``trigger: "auto"``) fires before every model call although nothing is
  compressed: a compaction is recorded only when the next request really is shorter than
  the last one (or the user asked for it, ``trigger: "manual"``);
- the model appears only per call (``llm_request.model``): the run's end carries the model
  of its calls.

Gemini reads the hook's stdout as JSON, so the handler always prints ``{}``.
"""

from __future__ import annotations

from agentmon.client.jsonio import json_loads
from agentmon.client.usage import known_usage
from agentmon.integrations._gemini_ids import (
    AGENT_TOOL,
    agent_call_kind,
    agent_span_key,
    answered_errors,
    call_key,
    count_transcript_prompts,
    earlier_prompts,
    end_subagent_span,
    is_cancel_notice,
    is_compression_summary,
    message_text,
    subagent_chat_name,
    unrun_call_status,
    usage_event_parts,
)
from agentmon.integrations._hookio import MalformedPayload, parse_ts, run_hook
from agentmon.integrations._prompt_keys import prompt_run_key
from agentmon.integrations._tracker import Tracker, clip, first_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from agentmon.integrations._hookio import Event, Payload

FRAMEWORK = "gemini-cli"
LLM_KEY = "llm"
COMPACTION_KEY = "compaction"
SEEN_ENTRIES_KEPT = 200
TRANSCRIPT_READ_LIMIT = 4 * 1024 * 1024
HISTORY_IDS_KEPT = 500
MAX_QUESTION_CHARS = 500


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
    _read_transcript(tracker, payload.get("transcript_path"))
    handler(tracker, payload)
    return tracker.events


def _session_start(tracker: Tracker, payload: Payload) -> None:
    tracker.start_session(
        source=payload.get("source"),
        cwd=payload.get("cwd"),
        transcript_path=payload.get("transcript_path"),
    )


def _session_end(tracker: Tracker, payload: Payload) -> None:
    _finish_turn_usage(tracker, payload)
    tracker.end_session(reason=payload.get("reason"))


def _before_agent(tracker: Tracker, payload: Payload) -> None:
    tracker.state.pop("turn_model", None)
    tracker.state.pop("answer", None)
    prompt = str(payload.get("prompt") or "")
    earlier = earlier_prompts(tracker.state.get("transcript_prompts") or {}, prompt)
    key = prompt_run_key(tracker.state.setdefault("prompts", {}), prompt, earlier)
    tracker.start_run(tracker.span_id_for(key), input=clip(payload.get("prompt")))


def _after_agent(tracker: Tracker, payload: Payload) -> None:
    _finish_turn_usage(tracker, payload)
    answer = tracker.state.pop("answer", None) or payload.get("prompt_response")
    tracker.end_run(status="ok", output=clip(answer), model=tracker.state.pop("turn_model", None))


def _finish_turn_usage(tracker: Tracker, payload: Payload) -> None:
    """Close the model call in progress and count every call of the turn exactly once."""
    _close_model_call(tracker)
    _read_transcript(tracker, payload.get("transcript_path"), final=True)


def _before_tool(tracker: Tracker, payload: Payload) -> None:
    name = str(payload.get("tool_name"))
    key = _next_call_key(tracker, f"tool:{name}")
    tracker.start_span(
        tracker.queue_push(f"tool:{name}", key),
        kind="tool",
        name=name,
        parent_key=_agent_key(tracker),
        input=clip(payload.get("tool_input")),
        mcp_context=payload.get("mcp_context"),
        once=True,
    )
    if name == AGENT_TOOL:
        _start_subagent(tracker, key, payload.get("tool_input"))


def _next_call_key(tracker: Tracker, kind: str) -> str:
    """The key `agentmon import` derives for the same call (see ``_gemini_ids``); a
    sub-agent's calls are numbered apart, so the main agent's keep their numbers."""
    kind = agent_call_kind(_agent_key(tracker), kind)
    return call_key(tracker.state.setdefault("ordinals", {}), tracker.ensure_run(), kind)


# ---------------------------------------------------------------- sub-agents


def _agent_key(tracker: Tracker) -> str | None:
    """The span key of the sub-agent running now (its hooks come between the
    ``invoke_agent`` call's ``BeforeTool`` and ``AfterTool``, with the session's id)."""
    agents = tracker.state.get("agents") or []
    return str(agents[-1]["key"]) if agents else None


def _start_subagent(tracker: Tracker, tool_key: str, tool_input: object) -> None:
    name = tool_input.get("agent_name") if isinstance(tool_input, dict) else None
    key = agent_span_key(tool_key)
    tracker.start_span(
        key, kind="agent", name=str(name or "subagent"), parent_key=tool_key, once=True
    )
    tracker.state.setdefault("agents", []).append({"key": key, "unsettled": []})


def _end_subagent(tracker: Tracker, response: object, transcript_path: object) -> None:
    """Close the sub-agent's span and count its model calls once: from its own transcript
    (``chats/<session>/<agent id>.jsonl``, the id named by the tool's ``returnDisplay``),
    else from the hooks' figures."""
    agents = tracker.state.get("agents") or []
    if not agents:
        return
    _close_model_call(tracker)  # its last call, if no chunk said it was over
    agent = agents.pop()
    display = response.get("returnDisplay") if isinstance(response, dict) else None
    display = display if isinstance(display, dict) else {}
    agent_id = _subagent_id(display)
    path = _subagent_transcript(transcript_path, tracker.session_id, agent_id)
    replies = _new_transcript_entries({}, path).replies if path else []
    _count_calls(tracker, agent["unsettled"], replies)
    end_subagent_span(tracker, agent["key"], display, agent_id)


def _subagent_id(display: Payload) -> str | None:
    activity = display.get("recentActivity")
    for item in activity if isinstance(activity, list) else []:
        item_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(item_id, str) and item_id:
            return item_id.split("#", 1)[0]
    return None


def _subagent_transcript(
    transcript_path: object, session_id: str, agent_id: str | None
) -> str | None:
    name = subagent_chat_name(session_id, agent_id)
    if not (isinstance(transcript_path, str) and transcript_path and name):
        return None
    return f"{transcript_path.rsplit('/', 1)[0]}/{name}"


def _after_tool(tracker: Tracker, payload: Payload) -> None:
    name = str(payload.get("tool_name"))
    paired = tracker.queue_pop(f"tool:{name}")
    key = paired or tracker.queue_push(f"tool:{name}:unpaired")
    response = payload.get("tool_response")
    if name == AGENT_TOOL:
        _end_subagent(tracker, response, payload.get("transcript_path"))
    output = response.get("llmContent") if isinstance(response, dict) else response
    message = _tool_failure(response)
    span_id = tracker.end_span(
        key,
        kind="tool",
        name=name,
        status="error" if message else "ok",
        output=clip(output),
        error=message,
        exit_code=_exit_code(output),
        once=paired is not None,
    )
    if message:
        once = tracker.event_id_for(span_id, "error") if paired else None
        tracker.error(message, kind="tool", span_id=span_id, tool_name=name, event_id=once)


def _tool_failure(response: object) -> str | None:
    """Why the tool failed: its ``error``, or a shell's non-zero ``Exit Code: N``."""
    if isinstance(response, dict) and response.get("error"):
        error = response["error"]
        message = error.get("message") if isinstance(error, dict) else error
        return str(message or "tool failed")
    output = response.get("llmContent") if isinstance(response, dict) else response
    code = _exit_code(output)
    if not code:
        return None
    display = response.get("returnDisplay") if isinstance(response, dict) else None
    detail = display if isinstance(display, str) and display else None
    return f"exit code {code}" + (f": {clip(detail)}" if detail else "")


def _exit_code(output: object) -> int | None:
    """The ``Exit Code: N`` line of a shell tool's output, if there is one."""
    if not isinstance(output, str):
        return None
    marker = output.rfind("\nExit Code: ")
    if marker < 0:
        return None
    digits = output[marker + len("\nExit Code: ") :].split("\n", 1)[0].strip()
    return int(digits) if digits.lstrip("-").isdigit() else None


def _request_of(payload: Payload) -> Payload:
    request = payload.get("llm_request")
    return request if isinstance(request, dict) else {}


def _model_of(payload: Payload) -> str | None:
    model = _request_of(payload).get("model")
    return str(model) if model else None


def _before_model(tracker: Tracker, payload: Payload) -> None:
    _close_model_call(tracker)
    _settle_compression(tracker, payload)
    _open_model_call(tracker, _model_of(payload))


def _open_model_call(tracker: Tracker, model: str | None) -> None:
    key = _next_call_key(tracker, LLM_KEY)
    tracker.start_span(
        tracker.queue_push(LLM_KEY, key),
        kind="llm",
        name=model,
        parent_key=_agent_key(tracker),
        once=True,
    )
    tracker.state["llm"] = {"model": model, "usage": {}, "chunks": 0}
    if model:
        tracker.state["turn_model"] = model


def _after_model(tracker: Tracker, payload: Payload) -> None:
    if tracker.state.get("llm") is None:
        _open_model_call(tracker, _model_of(payload))
    call = tracker.state["llm"]
    response = payload.get("llm_response")
    response = response if isinstance(response, dict) else {}
    for key, value in known_usage(response.get("usageMetadata")).items():
        call["usage"][key] = max(value, call["usage"].get(key, 0))
    call["chunks"] += 1
    text = response.get("text")
    if isinstance(text, str) and text:
        tracker.state["answer"] = clip((tracker.state.get("answer") or "") + text)
    candidates = response.get("candidates")
    if isinstance(candidates, list) and any(
        isinstance(candidate, dict) and candidate.get("finishReason") for candidate in candidates
    ):
        _close_model_call(tracker)


def _close_model_call(tracker: Tracker) -> None:
    """End the llm span of the model call in progress; its usage waits for the transcript."""
    call = tracker.state.pop("llm", None)
    key = tracker.queue_pop(LLM_KEY)
    if call is None or key is None:
        return
    usage = call["usage"]
    span_id = tracker.end_span(
        key,
        kind="llm",
        name=call["model"],
        usage=usage or None,
        chunks=call["chunks"],
        once=True,
    )
    pending = {"span": span_id, "run": tracker.run_id, "model": call["model"], "usage": usage}
    agents = tracker.state.get("agents")  # a sub-agent's calls are in its own transcript
    unsettled = agents[-1]["unsettled"] if agents else tracker.state.setdefault("unsettled", [])
    unsettled.append({**pending, "at": tracker.now})


# ---------------------------------------------------------------- what the transcript adds


class _TranscriptNews:
    """What a read of the transcript found (a plain class: ``typing`` costs start-up time)."""

    def __init__(self) -> None:
        self.replies: list[tuple[str, Payload, str | None]] = []  # (id, tokens, model)
        self.tool_errors: list[tuple[str, str]] = []  # (tool name, error) of tool answers
        self.cancelled = False  # the user cancelled the turn


def _read_transcript(tracker: Tracker, transcript_path: object, *, final: bool = False) -> None:
    news = _new_transcript_entries(tracker.state, transcript_path)
    _settle_usage(tracker, news.replies, final=final)
    _close_unrun_tools(tracker, news.tool_errors)
    if news.cancelled:
        _cancel_turn(tracker)


def _cancel_turn(tracker: Tracker) -> None:
    """End the open run as cancelled: the user cancelled it (refused a tool call in the
    TUI, or pressed Esc), and Gemini fires no hook after that, not even ``AfterAgent``."""
    if not tracker.state.get("run"):
        return
    _close_model_call(tracker)
    _count_calls(tracker, tracker.state.pop("unsettled", None) or [], [])
    tracker.end_run(
        status="cancelled",
        output=clip(tracker.state.pop("answer", None)),
        model=tracker.state.pop("turn_model", None),
    )


def _settle_usage(
    tracker: Tracker, replies: list[tuple[str, Payload, str | None]], *, final: bool
) -> None:
    """Count the finished calls the transcript now records (its figures include cache reads
    and thoughts); with ``final``, count the calls it never showed from the hook's figures."""
    for reply in replies:
        unsettled = tracker.state.get("unsettled") or []
        if not unsettled and tracker.state.get("llm") is not None:
            _close_model_call(tracker)
            unsettled = tracker.state.get("unsettled") or []
        _count_reply(tracker, unsettled.pop(0) if unsettled else {}, reply)
    if final:
        _count_calls(tracker, tracker.state.pop("unsettled", None) or [], [])


def _count_calls(
    tracker: Tracker, calls: list[Payload], replies: list[tuple[str, Payload, str | None]]
) -> None:
    """Count `calls` in order from the transcript's `replies`, the rest from the hooks."""
    for index, call in enumerate(calls):
        if index < len(replies):
            _count_reply(tracker, call, replies[index])
        else:
            tracker.usage(
                call["usage"],
                model=call["model"],
                run_id=call["run"],
                span_id=call["span"],
                ts=call["at"],
            )


def _count_reply(tracker: Tracker, call: Payload, reply: tuple[str, Payload, str | None]) -> None:
    entry_id, tokens, model = reply
    tracker.usage(
        _transcript_usage(tokens),
        model=model or call.get("model"),
        run_id=call.get("run"),
        span_id=call.get("span"),
        ts=call.get("at"),
        event_id=tracker.event_id_for(*usage_event_parts(entry_id)),
    )


def _transcript_usage(tokens: Payload) -> dict[str, int]:
    """The transcript's ``tokens`` → agentmon's counters (whose input excludes cache reads)."""
    usage = known_usage(tokens)
    cached = usage.get("cache_read_tokens", 0)
    if "input_tokens" in usage:
        usage["input_tokens"] = max(usage["input_tokens"] - cached, 0)
    return usage


def _close_unrun_tools(tracker: Tracker, tool_errors: list[tuple[str, str]]) -> None:
    """Close the calls refused before they ran (a policy rule, a call needing approval in
    headless mode, the user's "No" in the TUI): only ``BeforeTool`` fired, and the refusal
    is the error of the answer the transcript records; ``AfterTool`` pairs by order, so
    they must be closed before it."""
    for name, message in tool_errors:
        status = unrun_call_status(message)
        key = tracker.queue_pop(f"tool:{name}") if status else None
        if key is None or status is None:
            continue
        error = clip(message)
        span_id = tracker.end_span(
            key, kind="tool", name=name, status=status, error=error, once=True
        )
        kind = "permission_denied" if status == "denied" else "cancelled"
        once = tracker.event_id_for(span_id, "error")
        tracker.error(error, kind=kind, span_id=span_id, tool_name=name, event_id=once)


TRANSCRIPT_MARKERS = ('"user"', '"tokens"', '"info"')  # the lines worth parsing


def _new_transcript_entries(state: Payload, transcript_path: object) -> _TranscriptNews:
    """What the transcript gained since the last read: the model replies, each once although
    Gemini rewrites an entry (adding its tool calls) under the same id, the tool answers
    that are errors (each call once), and whether the user cancelled the turn."""
    news = _TranscriptNews()
    if not isinstance(transcript_path, str) or not transcript_path:
        return news
    offset = state.get("transcript_offset", 0)
    if state.get("transcript_path") != transcript_path:
        offset = 0
        state.pop("transcript_prompts", None)
        state.pop("history_ids", None)
    try:
        with open(transcript_path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read(TRANSCRIPT_READ_LIMIT)
    except OSError:
        return news
    complete = chunk[: chunk.rfind(b"\n") + 1]
    state.update(transcript_path=transcript_path, transcript_offset=offset + len(complete))
    for line in complete.decode("utf-8", "replace").splitlines():
        entry = _entry_of(line) if any(m in line for m in TRANSCRIPT_MARKERS) else None
        if entry is not None:
            _read_entry(entry, state, news)
    del state.setdefault("transcript_seen", [])[:-SEEN_ENTRIES_KEPT]
    del state.setdefault("answered_ids", [])[:-SEEN_ENTRIES_KEPT]
    return news


def _entry_of(line: str) -> Payload | None:
    try:
        entry = json_loads(line)
    except (ValueError, RecursionError):  # a transcript is input like any other
        return None
    return entry if isinstance(entry, dict) else None


def _read_entry(entry: Payload, state: Payload, news: _TranscriptNews) -> None:
    """One transcript line: count the prompts it holds (they number the runs, see
    _gemini_ids); note a history checkpoint, a cancelled turn, the tool answers that are
    errors and a model reply."""
    count_transcript_prompts(entry, state.setdefault("transcript_prompts", {}))
    checkpoint = entry.get("$set")
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("messages"), list):
        _note_checkpoint(state, checkpoint["messages"])
        return
    if is_cancel_notice(entry):
        news.cancelled = True
        return
    answered: list[str] = state.setdefault("answered_ids", [])
    for call_id, name, error in answered_errors(entry):
        if call_id not in answered:  # a refusal is in the reply's call and in the answer
            answered.append(call_id)
            news.tool_errors.append((name, error))
    reply = _reply_entry(entry)
    if isinstance(entry.get("id"), str):
        _note_in_history(state, [entry["id"]])
    if reply is None:
        return
    state["last_prompt_tokens"] = reply[1].get("input")
    seen: list[str] = state.setdefault("transcript_seen", [])
    if reply[0] not in seen:
        seen.append(reply[0])
        news.replies.append(reply)


def _note_in_history(state: Payload, ids: list[str]) -> None:
    known: list[str] = state.setdefault("history_ids", [])
    known.extend(message_id for message_id in ids if message_id not in known)
    del known[:-HISTORY_IDS_KEPT]


def _note_checkpoint(state: Payload, messages: list[object]) -> None:
    """A ``$set.messages`` checkpoint: the chat's history as the CLI now holds it. One that
    drops messages of the history and brings a ``<state_snapshot>`` summary is a
    compression; the checkpoints a resume writes only repeat the history, or a part of it,
    and the one after a cancelled turn rebuilds it under new ids."""
    ids = [m["id"] for m in messages if isinstance(m, dict) and isinstance(m.get("id"), str)]
    known: list[str] = state.get("history_ids") or []
    dropped = [message_id for message_id in known if message_id not in ids]
    added = [message_id for message_id in ids if message_id not in known]
    if not (dropped and added):
        _note_in_history(state, added)
        return
    summaries = [m for m in messages if isinstance(m, dict) and is_compression_summary(m)]
    summary = next((m for m in summaries if m["id"] in added), None)
    if summary is not None:
        state["compressed"] = {
            "summary": clip(message_text(summary.get("content"))),
            "tokens_before": state.get("last_prompt_tokens"),
            "messages_before": len(known),
            "messages_after": len(ids),
        }
    state["history_ids"] = ids[-HISTORY_IDS_KEPT:]


def _reply_entry(entry: Payload) -> tuple[str, Payload, str | None] | None:
    if entry.get("type") != "gemini":
        return None
    tokens, entry_id, model = entry.get("tokens"), entry.get("id"), entry.get("model")
    if not isinstance(tokens, dict) or not isinstance(entry_id, str) or not entry_id:
        return None
    return entry_id, tokens, model if isinstance(model, str) and model else None


# ---------------------------------------------------------------- compression


def _pre_compress(tracker: Tracker, payload: Payload) -> None:
    """Gemini fires this before every model call; whether anything was compressed shows
    only in the next request (see ``_settle_compression``)."""
    tracker.state["compress"] = {"at": tracker.now, "trigger": payload.get("trigger")}


def _settle_compression(tracker: Tracker, payload: Payload) -> None:
    """Record the pending compression if it really happened: the transcript's history was
    replaced by a summary (read just before this request), or the request is shorter."""
    pending = tracker.state.pop("compress", None)
    compressed = tracker.state.pop("compressed", None)
    messages = _request_of(payload).get("messages")
    count = len(messages) if isinstance(messages, list) else None
    previous = tracker.state.get("request_messages")
    if count is not None:
        tracker.state["request_messages"] = count
    shrank = count is not None and previous is not None and count < previous
    asked = pending is not None and (shrank or pending.get("trigger") == "manual")
    if compressed is None and not asked:
        return
    figures = compressed or {"messages_before": previous, "messages_after": count}
    tracker.state["compactions"] = tracker.state.get("compactions", 0) + 1
    key = f"{COMPACTION_KEY}:{tracker.state['compactions']}"  # one span per compaction
    tracker.start_span(
        key,
        kind="compaction",
        name="compaction",
        trigger=pending.get("trigger") if pending else None,
        ts=pending["at"] if pending else None,
    )
    output = {name: value for name, value in figures.items() if value is not None}
    # the figures also as the event's own fields (as before): the store keeps the output
    tracker.end_span(key, kind="compaction", name="compaction", output=output, **output)


def _notification(tracker: Tracker, payload: Payload) -> None:
    if payload.get("notification_type") == "ToolPermission":
        tracker.waiting("permission_prompt", _permission_question(payload))


def _permission_question(payload: Payload) -> str | None:
    """What the TUI asks the user to allow: the confirmation's title and the command
    (``details``: ``{"title": "Confirm Shell Command", "command": "…"}``), else the
    hook's message ("Tool Confirm Shell Command requires execution")."""
    details = payload.get("details")
    details = details if isinstance(details, dict) else {}
    title, command = details.get("title"), details.get("command")
    if isinstance(title, str) and title and isinstance(command, str) and command:
        return f"{title}: {command}"[:MAX_QUESTION_CHARS]
    message = payload.get("message")
    return message if isinstance(message, str) else None


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
