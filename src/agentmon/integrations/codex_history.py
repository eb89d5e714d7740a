"""Codex CLI history for ``agentmon import``: rollout files → events, replayed through the
Codex hooks' Tracker.

Runs are Codex's turns (``turn_context.turn_id``, the hooks' ``turn_id``), tool spans its
``call_id`` (the hooks' ``tool_use_id``), and usage the ``token_count`` totals as they
advance, summed per turn (see ``_codex_rollout``), so the ids are those the hooks derive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentmon.client.jsonio import json_loads
from agentmon.integrations import _claude_format as claude_format
from agentmon.integrations._codex_rollout import (
    TurnUsage,
    event_payload,
    token_delta,
    turn_context,
)
from agentmon.integrations._history import HistoryReplay, parse_time
from agentmon.integrations._hookio import derived_id
from agentmon.integrations._tracker import clip
from agentmon.integrations.claude_history import SessionImport, quiet, read_records

FRAMEWORK = "codex"
TOOL_CALLS = ("function_call", "custom_tool_call", "local_shell_call")
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output")

Record = dict[str, Any]


def default_roots(env: dict[str, str]) -> list[Path]:
    """``$CODEX_HOME``, else ``~/.codex``."""
    configured = env.get("CODEX_HOME")
    return (
        [Path(configured).expanduser()]
        if configured
        else [Path(env.get("HOME") or Path.home()) / ".codex"]
    )


def find_rollouts(roots: list[Path], since: float | None) -> tuple[list[Path], int]:
    """Plain rollout files under ``sessions/`` and ``archived_sessions/`` (``sessions/``
    wins for a name in both); and how many compressed ones were left unread."""
    found: dict[str, Path] = {}
    compressed = 0
    for root in roots:
        for folder in (root / "sessions", root / "archived_sessions"):
            if not folder.is_dir():
                continue
            compressed += sum(1 for _ in folder.rglob("rollout-*.jsonl.zst"))
            for path in sorted(folder.rglob("rollout-*.jsonl")):
                if since is not None and path.stat().st_mtime < since:
                    continue
                found.setdefault(path.name, path)
    return sorted(found.values()), compressed


def import_rollout(path: Path, source: dict[str, str]) -> SessionImport | None:
    reading = read_records(path)
    meta = next((r["payload"] for r in reading.records if r.get("type") == "session_meta"), None)
    if not isinstance(meta, dict) or not meta.get("id"):
        return None
    replay = _Replay(str(meta["id"]), source, meta)
    for record in reading.records:
        replay.record(record)
    replay.usage.emit(replay.tracker)
    replay.close(ended=quiet(path))
    return SessionImport(replay.tracker.events, reading.skipped, len(reading.records))


class _Replay(HistoryReplay):
    def __init__(self, session_id: str, source: dict[str, str], meta: Record) -> None:
        first = parse_time(meta.get("timestamp")) or 0.0
        cwd = meta.get("cwd") if isinstance(meta.get("cwd"), str) else None
        super().__init__(session_id, source, first, cwd, cli_version=meta.get("cli_version"))
        self.tokens: Record = {}
        self.usage = TurnUsage()
        self.pending_turn: str | None = None
        self.prompts = 0

    def record(self, record: Record) -> None:
        ts = parse_time(record.get("timestamp"))
        if ts is not None:
            self.tracker.now = ts
        context = turn_context(record)
        if context is not None:
            self.tokens["model"] = context.get("model")
            if context.get("turn_id"):
                self.pending_turn = str(context["turn_id"])
            return
        prompt = event_payload(record, "user_message")
        if prompt is not None:
            self._prompt(prompt)
        elif self.pending_turn and _in_turn(record):
            self._open_turn(self.pending_turn, None)
        message = event_payload(record, "agent_message")
        if message is not None:
            self.last_text = str(message.get("message") or "") or self.last_text
        if event_payload(record, "turn_aborted") is not None and self.tracker.state.get("run"):
            self.tracker.end_run(status="cancelled", output=clip(self.last_text))
        if (
            event_payload(record, "context_compacted") is not None
            or record.get("type") == "compacted"
        ):
            self._compaction(record)
        delta = token_delta(self.tokens, record)
        if delta is not None:
            self.usage.add(self.tracker.run_id, delta, self.tokens.get("model"), ts)
        item = record.get("payload") if record.get("type") == "response_item" else None
        if isinstance(item, dict):
            self._item(item)

    def _open_turn(self, turn: str, prompt: str | None) -> None:
        if self.tracker.run_id == turn or turn in self.tracker.state.get("recent_runs", []):
            return
        if self.tracker.state.get("run"):
            self.tracker.end_run(status="ok", output=clip(self.last_text))
        self.tracker.start_run(turn, input=clip(prompt), model=self.tokens.get("model"))
        self.pending_turn = None
        self.last_text = None

    def _prompt(self, payload: Record) -> None:
        self.prompts += 1
        text = str(payload.get("message") or "")
        if self.pending_turn:
            self._open_turn(self.pending_turn, text)
        elif self.tracker.run_id is None:  # a build without turn ids: one run per prompt
            sid = self.tracker.session_id
            self._open_turn(derived_id(FRAMEWORK, sid, "run", str(self.prompts)), text)

    def _item(self, item: Record) -> None:
        kind = item.get("type")
        call_id = item.get("call_id")
        if not call_id:
            return
        if kind in TOOL_CALLS:
            claude_format.start_tool(
                self.tracker,
                {
                    "tool_use_id": call_id,
                    "tool_name": item.get("name") or kind,
                    "tool_input": _arguments(item),
                },
                run_id=self.tracker.run_id,
            )
        elif kind in TOOL_OUTPUTS and self.tracker.has_open_span(f"tool:{call_id}"):
            output = item.get("output")
            failure = _failure(output)
            claude_format.end_tool(
                self.tracker,
                {"tool_use_id": call_id, "tool_response": output},
                status="error" if failure else "ok",
                error=failure,
            )

    def _compaction(self, record: Record) -> None:
        self.compaction(str(record.get("timestamp")))


def _in_turn(record: Record) -> bool:
    """A line of the turn's own work (not the user message Codex injects context into)."""
    payload = record.get("payload")
    if record.get("type") == "response_item" and isinstance(payload, dict):
        return payload.get("role") != "user"
    return record.get("type") in ("event_msg", "compacted")


def _arguments(item: Record) -> Any:
    raw = item.get("arguments", item.get("input", item.get("action")))
    if isinstance(raw, str):
        try:
            return clip(json_loads(raw))
        except ValueError:
            return clip(raw)
    return clip(raw)


def _failure(output: object) -> str | None:
    """Why a tool output counts as failed (its metadata's non-zero exit code), if it does."""
    parsed = output
    if isinstance(output, str) and output.lstrip().startswith("{"):
        try:
            parsed = json_loads(output)
        except ValueError:
            return None
    metadata = parsed.get("metadata") if isinstance(parsed, dict) else None
    exit_code = metadata.get("exit_code") if isinstance(metadata, dict) else None
    if isinstance(exit_code, int) and exit_code != 0:
        return f"exit code {exit_code}"
    return None
