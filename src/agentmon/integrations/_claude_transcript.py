"""Claude Code transcripts (``projects/<cwd>/<session>.jsonl``): incremental reading and
the records agentmon cares about, shared by the Stop-hook usage reader and ``agentmon import``.

Facts (see the transcripts spec): one JSON object per line; an assistant response is written
as several lines, one per content block, all with the same ``message.id`` and ``requestId``
and equal or growing ``usage``, so calls are de-duplicated on ``requestId``
(``message.id`` when a gateway drops it), keeping the larger token total.
A line still being written (no ``\\n`` yet) is left for the next read. Stdlib only: the
hooks import this on their start-up budget.
"""

from __future__ import annotations

from agentmon.client.usage import known_usage
from agentmon.integrations._hookio import derived_id, parse_ts
from agentmon.integrations._jsonl import parse_line, read_new_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentmon.integrations._tracker import Tracker

    Record = dict[str, Any]

FRAMEWORK = "claude-code"
SKIPPED_PROMPT_PREFIXES = ("<command-name>", "<local-command-caveat>", "<local-command-stdout>")
SYNTHETIC_MODEL = "<synthetic>"
MAX_OWN_ID_CHARS = 128  # a tool's own id used as ours; event ids allow 256


# ---------------------------------------------------------------- ids shared with the importer


def prompt_run_id(session_id: str, prompt: str, occurrence: int) -> str:
    """The run of the `occurrence`-th prompt with this text in a session: the hook (which
    sees the prompt) and the importer (which reads it back) derive the same id."""
    return derived_id(FRAMEWORK, session_id, "run", prompt.strip(), str(occurrence))


def prompt_id_run_id(session_id: str, prompt_id: str) -> str:
    """The run of Claude Code's own prompt id (``prompt_id`` on hooks, ``promptId`` in the
    transcript, ``prompt.id`` in its OTel events): the id itself (a UUID), so every source
    of the same prompt names the same run (a derived id for one too long to be an id)."""
    if len(prompt_id) <= MAX_OWN_ID_CHARS:
        return prompt_id
    return derived_id(FRAMEWORK, session_id, "run", "prompt_id", prompt_id)


def run_id_of(session_id: str, prompt_id: object, counts: dict[str, int], prompt: str) -> str:
    """The run id of a prompt: from its prompt id when given, else from its text (older
    builds); the text's occurrence count is bumped either way, so both stay in step."""
    occurrence = count_prompt(counts, prompt)
    if isinstance(prompt_id, str) and prompt_id:
        return prompt_id_run_id(session_id, prompt_id)
    return prompt_run_id(session_id, prompt, occurrence)


def count_prompt(counts: dict[str, int], prompt: str) -> int:
    """Bump and return how often this prompt text opened a run (kept small: a digest key)."""
    key = derived_id("prompt", prompt.strip())[:13]
    counts[key] = counts.get(key, 0) + 1
    return counts[key]


def llm_span_key(call_key: str) -> str:
    return f"llm:{call_key}"


def llm_call_ids(session_id: str, key: str) -> tuple[str, str]:
    """(span id, usage snapshot event id) of the call `key` (its API request id): the hook,
    the importer and the OTel ``api_request`` event derive the same, so it counts once."""
    span_id = derived_id(FRAMEWORK, session_id, "span", llm_span_key(key))
    return span_id, derived_id(FRAMEWORK, session_id, "event", span_id, "usage")


# ---------------------------------------------------------------- incremental reading


# ---------------------------------------------------------------- what a record is


def prompt_text(record: Record) -> str | None:
    """The text of a user prompt, or None for tool results, meta lines and local commands."""
    if record.get("type") != "user" or record.get("isMeta") or record.get("isCompactSummary"):
        return None
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = [
            block.get("text", "")
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        ]
        if not texts:
            return None
        text = "\n".join(texts)
    else:
        return None
    return None if text.lstrip().startswith(SKIPPED_PROMPT_PREFIXES) else text


def tool_results(record: Record) -> list[Record]:
    """The ``tool_result`` blocks of a user line (answers to earlier ``tool_use`` blocks)."""
    if record.get("type") != "user":
        return []
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def compaction(record: Record) -> Record | None:
    """``{trigger, pre_tokens}`` of a compaction boundary (or an old build's summary line)."""
    if record.get("type") == "system" and record.get("subtype") == "compact_boundary":
        meta = record.get("compactMetadata")
        meta = meta if isinstance(meta, dict) else {}
        return {"trigger": meta.get("trigger"), "pre_tokens": meta.get("preTokens")}
    if record.get("type") == "summary" and record.get("leafUuid"):
        return {"trigger": None, "pre_tokens": None}
    return None


def call_key(record: Record) -> str | None:
    """The API ``requestId`` of a counted assistant line (``message.id`` when a gateway drops
    it; the OTel ``api_request`` event has the request id too); None for other lines,
    API-error rows and the ``<synthetic>`` model, which Claude Code writes without a call."""
    if record.get("type") != "assistant" or record.get("isApiErrorMessage"):
        return None
    message = record.get("message")
    if not isinstance(message, dict) or message.get("model") == SYNTHETIC_MODEL:
        return None
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id:
        return None
    request_id = record.get("requestId")
    return request_id if isinstance(request_id, str) and request_id else message_id


def record_ts(record: Record) -> float | None:
    """A transcript line's ``timestamp`` in epoch seconds (None when missing or unreadable)."""
    return parse_ts(str(record.get("timestamp") or ""))


def call_of(record: Record, key: str, ts: float | None) -> Record:
    """The LLM call a (first) assistant line (written at `ts`) describes: model, usage,
    stop reason, times."""
    message = record["message"]
    call: Record = {
        "key": key,
        "message_id": message.get("id"),
        "model": message.get("model"),
        "usage": known_usage(message.get("usage")),
        "stop_reason": message.get("stop_reason"),
        "ts": ts,
        "first_ts": ts,
        "tool_use_ids": _tool_use_ids(message),
    }
    cost = record.get("costUSD")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        call["cost_usd"] = float(cost)
    if record.get("isSidechain"):
        call["sidechain"] = True
    return call


def merge_call(call: Record, record: Record, ts: float | None) -> None:
    """Fold a repeated line of the same call (written at `ts`) in: the larger usage wins,
    the end moves on."""
    message = record["message"]
    usage = known_usage(message.get("usage"))
    if _total(usage) >= _total(call["usage"]):
        call["usage"] = usage
    if message.get("stop_reason"):
        call["stop_reason"] = message["stop_reason"]
    if ts is not None:
        call["ts"] = ts
    call["tool_use_ids"] = [*call["tool_use_ids"], *_tool_use_ids(message)]


def _tool_use_ids(message: Record) -> list[str]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [
        str(block["id"])
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id")
    ]


def _total(usage: dict[str, int]) -> int:
    return sum(value for name, value in usage.items() if name != "total_tokens")


def llm_span_payload(call: Record, started_at: float | None) -> Record:
    """The ``span.end`` payload of one call (usage for display; counting is the snapshot's)."""
    payload: Record = {
        "kind": "llm",
        "name": call.get("model") or "llm",
        "status": "ok",
        "model": call.get("model"),
        "usage": call["usage"],
        "stop_reason": call.get("stop_reason"),
        "message_id": call.get("message_id"),
    }
    end = call.get("ts")
    if started_at is not None and end is not None and end >= started_at:
        payload["duration_ms"] = round((end - started_at) * 1000)
        payload["started_at"] = _rfc3339(started_at)
    if "cost_usd" in call:
        payload["cost_usd"] = call["cost_usd"]
    return {key: value for key, value in payload.items() if value is not None}


def _rfc3339(epoch: float) -> str:
    from agentmon.integrations._hookio import format_ts

    return format_ts(epoch)


# ---------------------------------------------------------------- folding lines into calls


class CallFolder:
    """Folds transcript records, in file order, into de-duplicated LLM calls.

    Its `state` (a JSON-able dict, kept between hook firings) holds the call still being
    streamed (`pending`), the time the next call starts from (`since`: the previous prompt,
    tool result or call), the run of the latest prompt (`run`) and the prompt counts that
    derive run ids. A call is complete once another record follows it; `finish` also
    releases a pending call that has its stop reason (or any, when `force`).
    """

    def __init__(self, session_id: str, state: Record, *, subagent: bool = False) -> None:
        self.session_id = session_id
        self.state = state
        self.subagent = subagent
        self.seen: list[str] = state.setdefault("seen", [])

    def feed(self, record: Record, ts: float | None) -> list[Record]:
        """The calls `record` (written at `ts`, see `record_ts`) completes (each with its
        `run` and `started_at`)."""
        key = call_key(record)
        sidechain_copy = not self.subagent and record.get("isSidechain")
        if key is not None and not sidechain_copy:
            return self._assistant(record, key, ts)
        done = self._release()
        if sidechain_copy:
            return done
        prompt = None if self.subagent else prompt_text(record)
        if prompt is not None:
            counts = self.state.setdefault("prompts", {})
            prompt_id = record.get("promptId")
            self.state["run"] = run_id_of(self.session_id, prompt_id, counts, prompt)
        if prompt is not None or tool_results(record):
            self.state["since"] = ts
        return done

    def finish(self, *, force: bool = False) -> list[Record]:
        pending = self.state.get("pending")
        if pending and (force or pending.get("stop_reason")):
            return self._release()
        return []

    def _assistant(self, record: Record, key: str, ts: float | None) -> list[Record]:
        pending = self.state.get("pending")
        if pending and pending["key"] == key:
            merge_call(pending, record, ts)
            return []
        done = self._release()
        if key in self.seen:
            return done
        call = call_of(record, key, ts)
        call["run"] = self.state.get("run")
        call["started_at"] = self.state.get("since")
        self.state["pending"] = call
        return done

    def _release(self) -> list[Record]:
        pending = self.state.pop("pending", None)
        if not pending:
            return []
        self.seen.append(pending["key"])
        del self.seen[:-SEEN_KEPT]
        self.state["since"] = pending.get("ts")
        return [pending]


SEEN_KEPT = 200


# ---------------------------------------------------------------- calls → events


def emit_call(tracker: Tracker, call: Record, parent_key: str | None = None) -> None:
    """One call's ``llm`` span (usage shown on it) and the ``metric.snapshot`` that counts
    its usage, both with ids derived from the call key, so a second reading adds nothing."""
    run_id = call.get("run") or tracker.ensure_run()
    span_id, usage_event_id = llm_call_ids(tracker.session_id, call["key"])
    tracker.emit(
        "span.end",
        llm_span_payload(call, call.get("started_at")),
        run_id=run_id,
        span_id=span_id,
        parent_span_id=tracker.span_id_for(parent_key) if parent_key else None,
        ts=call.get("ts"),
        event_id=tracker.event_id_for(span_id, "end"),
    )
    tracker.usage(
        call["usage"],
        run_id=run_id,
        span_id=span_id,
        event_id=usage_event_id,
        model=call.get("model"),
        cost_usd=call.get("cost_usd"),
        ts=call.get("ts"),
    )


def pick_up_calls(
    tracker: Tracker,
    path: str,
    *,
    parent_key: str | None = None,
    run_id: str | None = None,
    finish: bool = False,
    force: bool = False,
) -> None:
    """Emit the calls written to transcript `path` since the last reading (cursor and the
    call being streamed kept in the session state). `parent_key`: the sub-agent span whose
    own transcript this is; `run_id`: the run that spawned it (a sub-agent's file names no
    prompt, and its last call may be read after that run ended). `finish`: the turn is over,
    release the last call if it is complete (`force`: in any case, as at session end)."""
    files = tracker.state.setdefault("transcripts", {})
    file_state = files.setdefault(path, {"cursor": {}, "calls": {}})
    folder = CallFolder(tracker.session_id, file_state["calls"], subagent=parent_key is not None)
    calls: list[Record] = []
    for line in read_new_lines(path, file_state["cursor"]):
        try:
            record = parse_line(line)
        except ValueError:
            file_state["skipped"] = file_state.get("skipped", 0) + 1
            continue
        if record is not None:
            calls += folder.feed(record, record_ts(record))
    if finish:
        calls += folder.finish(force=force)
    for call in calls:
        if run_id and not call.get("run"):
            call["run"] = run_id
        emit_call(tracker, call, parent_key)
        if parent_key is None and call.get("model"):
            tracker.state["model"] = call["model"]  # the session's model, for run.end
