"""Codex rollout files (``sessions/YYYY/MM/DD/rollout-*.jsonl``): token usage from their
``token_count`` events, shared by the Codex hook handler and ``agentmon import``.

Codex re-emits ``token_count`` with an unchanged cumulative total, so summing the per-response
``last_token_usage`` overcounts; an event counts only when ``total_token_usage.total_tokens``
advances, by the difference from the previous total (after a drop, ``last_token_usage``).
The differences are summed per turn into one snapshot whose id is derived from the session
and the turn id (`turn_usage_id`): the same for the hook, the importer and Codex's OTel
trace (its ``session_task.turn`` span reports the turn's totals), so a turn counts once
whichever paths bring it. A difference read before any turn is keyed by its cumulative total.
"""

from __future__ import annotations

import os
import time

from agentmon.client.usage import known_usage
from agentmon.integrations._hookio import derived_id, parse_ts
from agentmon.integrations._jsonl import parse_line, read_new_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentmon.integrations._tracker import Tracker

    Record = dict[str, Any]

FRAMEWORK = "codex"


def turn_context(record: Record) -> Record | None:
    """The ``turn_context`` payload (the turn's id and model), or None."""
    payload = record.get("payload")
    if record.get("type") == "turn_context" and isinstance(payload, dict):
        return payload
    return None


def event_payload(record: Record, kind: str) -> Record | None:
    """The payload of an ``event_msg`` of type `kind`, or None."""
    payload = record.get("payload")
    if record.get("type") == "event_msg" and isinstance(payload, dict):
        return payload if payload.get("type") == kind else None
    return None


def token_delta(state: Record, record: Record) -> Record | None:
    """``{key, usage}`` for a ``token_count`` whose total advanced since the last one seen
    (`state["total"]`, updated); None for any other line or an unchanged total."""
    payload = event_payload(record, "token_count")
    info = payload.get("info") if payload else None
    if not isinstance(info, dict):
        return None
    total = info.get("total_token_usage")
    if not isinstance(total, dict) or not isinstance(total.get("total_tokens"), int):
        return None
    previous = state.get("total") or {}
    before = previous.get("total_tokens", 0)
    if total["total_tokens"] == before:
        return None
    if total["total_tokens"] > before:
        delta = {
            name: value - int(previous.get(name, 0))
            for name, value in total.items()
            if isinstance(value, int)
        }
    else:
        last = info.get("last_token_usage")
        delta = last if isinstance(last, dict) else total
    state["total"] = total
    return {"key": str(total["total_tokens"]), "usage": known_usage(delta)}


def turn_usage_id(session_id: str, turn_id: str) -> str:
    """The id of the snapshot counting turn `turn_id`'s tokens (see the module docstring)."""
    return derived_id(FRAMEWORK, session_id, "event", "usage", "turn", turn_id)


class TurnUsage:
    """Token differences summed per turn, reported as one snapshot per turn."""

    def __init__(self) -> None:
        self.turns: dict[str, Record] = {}

    def add(
        self,
        turn: str | None,
        delta: Record,
        model: str | None,
        ts: float | None,
        run_id: str | None = None,
    ) -> None:
        """Add `delta` to `turn`'s sum, reported in run `run_id` (default: the turn's)."""
        key = turn or f"total:{delta['key']}"
        entry = self.turns.setdefault(
            key, {"turn": turn, "usage": {}, "key": delta["key"], "run": run_id or turn}
        )
        for name, count in delta["usage"].items():
            entry["usage"][name] = entry["usage"].get(name, 0) + count
        entry.update(model=model or entry.get("model"), ts=ts, key=delta["key"])

    def emit(self, tracker: Tracker) -> None:
        for entry in self.turns.values():
            turn = entry["turn"]
            event_id = (
                turn_usage_id(tracker.session_id, turn)
                if turn
                else tracker.event_id_for("usage", entry["key"])
            )
            tracker.usage(
                entry["usage"],
                run_id=entry["run"],
                event_id=event_id,
                model=entry.get("model"),
                ts=entry["ts"],
            )
        self.turns.clear()


def pick_up_usage(tracker: Tracker, path: str, run_id: str | None, *, in_run: bool = False) -> bool:
    """Report the usage appended to rollout `path` since the last reading, one snapshot per
    turn (the turn's lines are all written by the time its turn-ending hook runs), in the
    run of its turn; a line before any turn, or every line when `in_run` (a sub-agent's
    rollout, counted in the run that spawned it), in `run_id`. False when the file cannot
    be read."""
    files = tracker.state.setdefault("rollouts", {})
    file_state = files.setdefault(path, {"cursor": {}, "tokens": {}})
    lines = read_new_lines(path, file_state["cursor"])
    if not file_state["cursor"].get("inode"):
        files.pop(path, None)
        return False
    tokens = file_state["tokens"]
    usage = TurnUsage()
    for line in lines:
        try:
            record = parse_line(line)
        except ValueError:
            continue
        if record is None:
            continue
        context = turn_context(record)
        if context is not None:
            tokens.update(turn=context.get("turn_id"), model=context.get("model"))
        delta = token_delta(tokens, record)
        if delta is not None:
            ts = parse_ts(str(record.get("timestamp") or ""))
            turn = tokens.get("turn") or run_id
            usage.add(turn, delta, tokens.get("model"), ts, run_id if in_run else None)
    usage.emit(tracker)
    return True


# ---------------------------------------------------------------- one tool call's records

TAIL_BYTES = 1 << 20  # a tool hook looks this far back for its call; a call is recent


def tool_call_records(path: str, call_id: str) -> Record:
    """What the rollout's last `TAIL_BYTES` say of tool call `call_id`: its tool ``name``
    (the model's ``function_call``), once it ran, ``exit_code`` and ``status`` (the
    ``CommandExecution`` item, written before Codex fires PostToolUse), and the ``output``
    the model was given (``function_call_output``: a refusal too). {} if none."""
    found: Record = {}
    for record in _recent_records(path, call_id):
        found.update(_call_facts(record, call_id))
    return found


def turn_failure(path: str, turn_id: str) -> str | None:
    """The error a turn ended with (its ``task_complete`` has ``error`` when the model API
    failed; Codex fires no StopFailure for it), or None."""
    for record in _recent_records(path, turn_id):
        payload = event_payload(record, "task_complete")
        error = payload.get("error") if payload and payload.get("turn_id") == turn_id else None
        if isinstance(error, dict):
            return str(error.get("message") or error.get("codex_error_info") or "turn failed")
    return None


def turn_aborted(path: str, turn_id: str) -> bool:
    """Whether the rollout says the turn was aborted (``turn_aborted``: Esc, or No to an
    approval prompt in the TUI; no hook fires for it)."""
    return any(
        (event_payload(record, "turn_aborted") or {}).get("turn_id") == turn_id
        for record in _recent_records(path, turn_id)
    )


def _recent_records(path: str, needle: str) -> list[Record]:
    """The records among the last `TAIL_BYTES` of rollout `path` that mention `needle`."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            handle.seek(max(handle.tell() - TAIL_BYTES, 0))
            data = handle.read()
    except OSError:
        return []
    records = []
    for line in data.splitlines():
        if needle.encode() not in line:
            continue
        try:
            record = parse_line(line)
        except ValueError:
            continue
        if record is not None:
            records.append(record)
    return records


def _call_facts(record: Record, call_id: str) -> Record:
    payload = record.get("payload")
    if not isinstance(payload, dict):
        return {}
    if payload.get("type") == "function_call" and payload.get("call_id") == call_id:
        return {"name": payload.get("name")}
    if payload.get("type") == "function_call_output" and payload.get("call_id") == call_id:
        return {"output": payload.get("output")}
    item = payload.get("item") if payload.get("type") == "item_completed" else None
    if isinstance(item, dict) and item.get("id") == call_id:
        facts = {"status": item.get("status"), "exit_code": item.get("exit_code")}
        return {key: value for key, value in facts.items() if value is not None}
    return {}


# ---------------------------------------------------------------- a thread's own rollout


def codex_home(env: dict[str, str]) -> str:
    """``$CODEX_HOME``, else ``~/.codex``."""
    return env.get("CODEX_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".codex"
    )


DAY_SECONDS = 86_400


def thread_rollout(home: str, thread_id: str) -> str | None:
    """The rollout file of thread `thread_id` under `home`: ``sessions/YYYY/MM/DD/
    rollout-<time>-<thread id>.jsonl``, in the folder of the day the thread started (Codex's
    thread ids are UUID v7: their first 48 bits are that time in ms; another id: today; the
    folder is named in local time, so the days around it are looked in too). None if not
    found."""
    suffix = f"-{thread_id}.jsonl"
    for folder in _day_folders(home, _uuid7_seconds(thread_id) or time.time()):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.startswith("rollout-") and name.endswith(suffix):
                return os.path.join(folder, name)
    return None


def _day_folders(home: str, moment: float) -> list[str]:
    """``sessions/YYYY/MM/DD`` of `moment`'s day and the days either side, local and UTC."""
    days: list[str] = []
    for shift in (0, -DAY_SECONDS, DAY_SECONDS):
        for clock in (time.localtime, time.gmtime):
            day = time.strftime("%Y/%m/%d", clock(moment + shift))
            if day not in days:
                days.append(day)
    return [os.path.join(home, "sessions", day) for day in days]


def _uuid7_seconds(thread_id: str) -> float | None:
    digits = thread_id.replace("-", "")
    if len(digits) != 32 or digits[12:13] != "7":
        return None
    try:
        return int(digits[:12], 16) / 1000
    except ValueError:
        return None


def is_subagent_rollout(path: str) -> bool:
    """Whether rollout `path` is a sub-agent's: its ``session_meta`` names a parent thread
    (``parent_thread_id``, ``source.subagent``, ``thread_source = "subagent"``)."""
    try:
        with open(path, "rb") as handle:
            record = parse_line(handle.readline())
    except (OSError, ValueError):
        return False
    meta = record.get("payload") if record and record.get("type") == "session_meta" else None
    if not isinstance(meta, dict):
        return False
    source = meta.get("source")
    spawned = isinstance(source, dict) and "subagent" in source
    return bool(meta.get("parent_thread_id")) or spawned or meta.get("thread_source") == "subagent"
